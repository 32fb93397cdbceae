"""Outcomes that tell the truth, and re-sends (identical and changed), through the real
pipeline: real files, real scanner and claim, real SQLite ledger, real age packages.

Decision for changed content under a delivered IntakeID: the row is held
(``INTAKE-ID-ALREADY-SENT``, error) with guidance to tell the data partner what changed or
to use a new IntakeID for a different client. The partner already entered (or is entering)
the first version; sending a second version of the same intake silently would create a
duplicate or an unnoticed overwrite in HMIS. Identical content is information only
(``INTAKE-ID-ALREADY-SENT-SAME``): not sent twice, not counted as held back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from hmis_handoff.ledger import FileState
from tests.agency.support import drop_folder, make_pipeline, process
from tests.synthetic import make_valid_row, write_sample_csv
from usecases.initialise import initialise

Rows = list[dict[str, str]]


def head(n: int, **changes: str) -> dict[str, str]:
    values = {"IntakeID": f"R{n:04d}", "HouseholdID": f"HH{n:04d}"}
    values["SSN"] = f"701{n:02d}{1000 + n:04d}"
    return make_valid_row(**{**values, **changes})


def child(n: int, household: int, **changes: str) -> dict[str, str]:
    return make_valid_row(
        IntakeID=f"R{n:04d}",
        HouseholdID=f"HH{household:04d}",
        SSN=f"702{n:02d}{2000 + n:04d}",
        FirstName="Bravo",
        RelationshipToHoH="2",
        DOB="2015-04-03",
        **changes,
    )


def us_dates(row: dict[str, str]) -> dict[str, str]:
    """The same row as Excel users type it: month/day/year dates."""
    out = dict(row)
    for column, value in row.items():
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            y, m, d = value.split("-")
            out[column] = f"{int(m)}/{int(d)}/{y}"
    return out


@dataclass(frozen=True)
class Case:
    name: str
    first: Rows | None
    second: Rows
    state: str
    sent: int
    held: int
    #: (row, rule id, label shown in the receipt's Severity column)
    shown: list[tuple[int, str, str]]
    headline: str
    absent: tuple[str, ...] = ()


CASES = [
    Case(
        "identical-resend-typed-as-us-dates",
        [head(1), head(2)],
        [us_dates(head(1)), us_dates(head(2))],
        FileState.NOT_SENT, 0, 0,
        [(2, "INTAKE-ID-ALREADY-SENT-SAME", "Already sent, not sent again"),
         (3, "INTAKE-ID-ALREADY-SENT-SAME", "Already sent, not sent again")],
        "2 were already sent earlier",
        ("Must fix", "What to fix", "No problems were found"),
    ),
    Case(
        "corrected-file-one-changed-one-new",
        [head(1), head(2)],
        [head(1), head(2, VeteranStatus="1"), head(3)],
        FileState.DELIVERED, 1, 1,
        [(2, "INTAKE-ID-ALREADY-SENT-SAME", "Already sent, not sent again"),
         (3, "INTAKE-ID-ALREADY-SENT", "Must fix")],
        "<b>1</b> of 3 rows were sent",
    ),
    Case(
        "new-member-of-an-already-sent-household",
        [head(1)],
        [head(1), child(5, 1)],
        FileState.DELIVERED, 1, 0,
        [(2, "INTAKE-ID-ALREADY-SENT-SAME", "Already sent, not sent again")],
        "<b>1</b> of 2 rows were sent",
        ("HOUSEHOLD-HOH-NOT-SENT",),
    ),
    Case(
        "consent-only-file",
        None,
        [head(1, ROIConsent="0", ROISignedDate=""), head(2, ROIConsent="0", ROISignedDate="")],
        FileState.NOT_SENT, 0, 0,
        [(2, "ROI-MISSING", "Not sent"), (3, "ROI-MISSING", "Not sent")],
        "2 may not be shared (no consent)",
        ("Please check", "Must fix"),
    ),
    Case(
        "every-row-has-an-error",
        None,
        [head(1, SSN="123456789")],
        FileState.REJECTED, 0, 1,
        [(2, "SSN-INVALID", "Must fix")],
        "not accepted",
        ("No problems were found",),
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_outcome_tells_the_truth(tmp_path: Path, case: Case) -> None:
    root = tmp_path / "data"
    initialise(root, demo=True)
    pipe = make_pipeline(root)
    if case.first is not None:
        write_sample_csv(drop_folder(root) / "first.csv", case.first)
        (first,) = process(pipe)
        assert first.outcome.state == FileState.DELIVERED
    write_sample_csv(drop_folder(root) / "second.csv", case.second)
    (handled,) = process(pipe)
    outcome, page = handled.outcome, handled.receipt
    assert (outcome.state, outcome.rows_sent, outcome.rows_held) == (
        case.state,
        case.sent,
        case.held,
    )
    assert (outcome.package_id is not None) == (case.state == FileState.DELIVERED)
    for row, rule_id, label in case.shown:
        assert f"<tr><td>{row}</td>" in page
        cell = page.split(f"<tr><td>{row}</td>", 1)[1].split("</tr>", 1)[0]
        assert rule_id in cell and label in cell, cell
    assert case.headline in page
    for text in case.absent:
        assert text not in page
    # The ledger agrees: a file that sent nothing is never "delivered".
    views = [f for f in pipe.ledger.files() if f.ref == outcome.file_ref]
    assert [v.state for v in views] == [case.state]


def test_refused_file_never_says_zero_rows_or_no_problems(tmp_path: Path) -> None:
    root = tmp_path / "data"
    initialise(root, demo=True)
    pipe = make_pipeline(root)
    row = head(1)
    del row["SSN"]  # a required column missing: the whole file is turned back unread
    write_sample_csv(drop_folder(root) / "missing-column.csv", [row])
    (handled,) = process(pipe)
    assert handled.outcome.state == FileState.REJECTED
    assert "FILE-MISSING-COLUMNS" in handled.receipt
    assert "Rows received" not in handled.receipt
    assert "No problems were found" not in handled.receipt
    assert "not accepted" in handled.receipt
