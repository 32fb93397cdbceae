"""The outcome contract: row numbers, sendable frame, repr, column checks, sample files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hmis_handoff.errors import FileRejected
from schemas.columns import ASSESSMENT_COLUMNS, column_names
from schemas.validate import validate_intake
from tests.schemas.helpers import CONTEXT, validate_rows
from tests.synthetic import make_valid_frame, make_valid_row, write_sample_csv

NAMES = "José O’Brien Zoë Ægir"


def test_sendable_frame_is_byte_exact_and_canonically_ordered() -> None:
    row = make_valid_row(FirstName=NAMES, LastName=" Testperson  ", AssessmentLocation="A\nB")
    shuffled = dict(reversed(list(row.items())))
    outcome = validate_rows([shuffled])
    sent = outcome.sendable_frame()
    assert list(sent.columns) == list(column_names("FY2026"))
    assert sent.iloc[0]["FirstName"] == NAMES
    assert sent.iloc[0]["FirstName"].encode() == NAMES.encode()
    assert sent.iloc[0]["LastName"] == " Testperson  "
    assert sent.iloc[0]["AssessmentLocation"] == "A\nB"


def test_optional_columns_may_be_absent() -> None:
    assessment = [c.name for c in ASSESSMENT_COLUMNS]
    frame = make_valid_frame(4).drop(columns=["MiddleName", "ResultDate", *assessment])
    outcome = validate_intake(frame, CONTEXT)
    assert outcome.problems == []
    assert "MiddleName" not in outcome.sendable_frame().columns


def test_missing_assessment_column_leaves_the_rest_incomplete() -> None:
    frame = make_valid_frame(1).drop(columns=["AssessmentLevel"])
    outcome = validate_intake(frame, CONTEXT)
    assert {(p.rule_id, p.column) for p in outcome.problems} == {
        ("ASSESSMENT-INCOMPLETE", "AssessmentLevel")
    }


def test_row_numbers_follow_the_frame_index() -> None:
    """The reader keeps spreadsheet numbering when it drops blank rows: index 5 is row 7."""
    frame = make_valid_frame(3)
    frame.index = pd.Index([0, 5, 9])
    frame.loc[5, "SSN"] = "123456789"
    frame.loc[9, "ROIConsent"] = "0"
    outcome = validate_intake(frame, CONTEXT)
    assert [(p.row, p.rule_id) for p in outcome.problems] == [(7, "SSN-INVALID")]
    assert outcome.not_transmittable == {11: "ROI-MISSING"}
    assert outcome.sendable.index.tolist() == [0, 5, 9]
    assert outcome.sendable.tolist() == [True, False, False]
    assert outcome.frame is frame


def test_problems_are_sorted_and_unique() -> None:
    rows = [
        make_valid_row(SSN="1", DOB="x", Sex="", RaceNone="8"),
        make_valid_row(IntakeID="T2", HouseholdID="H2", SSN="2", LastName="", Event=""),
    ]
    problems = validate_rows(rows).problems
    keys = [(p.row, p.column, p.rule_id) for p in problems]
    assert keys == sorted(keys)
    assert len(keys) == len(set(keys))


def test_repr_shows_counts_only() -> None:
    outcome = validate_rows([make_valid_row(FirstName=NAMES)])
    text = repr(outcome)
    assert "José" not in text and "Testperson" not in text
    assert "rows=1" in text and "sendable=1" in text


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda f: f.drop(columns=["SSN", "DOB"]), "FILE-MISSING-COLUMNS"),
        (lambda f: f.assign(Notes=""), "FILE-UNKNOWN-COLUMNS"),
        (lambda f: f.assign(Woman="0"), "FILE-MIXED-SPEC-VERSION"),
        (lambda f: pd.concat([f, f[["SSN"]]], axis=1), "FILE-DUPLICATE-HEADER"),
    ],
)
def test_column_set_problems_reject_the_file(change: object, rule: str) -> None:
    frame = change(make_valid_frame(2))  # type: ignore[operator]
    with pytest.raises(FileRejected) as caught:
        validate_intake(frame, CONTEXT)
    assert caught.value.rule_id == rule


def test_missing_columns_are_named() -> None:
    with pytest.raises(FileRejected) as caught:
        validate_intake(make_valid_frame(1).drop(columns=["SSN", "DOB"]), CONTEXT)
    assert caught.value.detail == "missing columns: SSN, DOB"


def test_empty_frame_validates_to_nothing() -> None:
    outcome = validate_intake(make_valid_frame(0), CONTEXT)
    assert outcome.problems == [] and outcome.sendable.empty


def test_write_sample_csv_round_trips(tmp_path: Path) -> None:
    frame = make_valid_frame(5, household_size=2)
    frame.loc[0, "FirstName"] = NAMES
    path = write_sample_csv(tmp_path / "sample.csv", frame, bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(back.astype(object), frame.astype(object))
    rows_path = write_sample_csv(tmp_path / "rows.csv", [make_valid_row()])
    assert rows_path.read_text(encoding="utf-8").splitlines()[0].startswith("IntakeID,")


def test_make_valid_row_rejects_unknown_columns() -> None:
    with pytest.raises(KeyError):
        make_valid_row(NotAColumn="x")
