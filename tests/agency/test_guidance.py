"""Guidance a non-technical person understands, as the receipt shows it: code lists name
the codes of *that* column with their meanings; household rules name the household by its
rows and point at the head's row; a wrong relationship code is the cause, not a cascade;
the SSN texts agree with each other; FY2024/FY2026 mix-ups name the columns in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from schemas.rules import RULES
from tests.agency.support import drop_folder, make_pipeline, process
from tests.schemas.helpers import validate_rows
from tests.synthetic import make_valid_row, write_sample_csv
from usecases.initialise import initialise


def head(n: int, **changes: str) -> dict[str, str]:
    values = {"IntakeID": f"G{n:04d}", "HouseholdID": f"HG{n:04d}", "SSN": f"701{n:02d}1{n:03d}"}
    return make_valid_row(**{**values, **changes})


def member(n: int, household: int, **changes: str) -> dict[str, str]:
    values = {
        "IntakeID": f"G{n:04d}",
        "HouseholdID": f"HG{household:04d}",
        "SSN": f"702{n:02d}2{n:03d}",
        "FirstName": "Bravo",
        "RelationshipToHoH": "2",
        "DOB": "2015-04-03",
    }
    return make_valid_row(**{**values, **changes})


@dataclass(frozen=True)
class Case:
    name: str
    rows: list[dict[str, str]]
    #: (row, column, rule id, detail) expected, exactly.
    problems: set[tuple[int, str, str, str]]


HOUSEHOLDS = [
    Case(
        "head-with-bad-dob-holds-member-and-names-head",
        [head(1, DOB="abc"), member(2, 1)],
        {
            (2, "DOB", "DATE-FORMAT", ""),
            (3, "", "HOUSEHOLD-HOH-NOT-SENT",
             "Household of rows 2 and 3; its head is row 2, which was not sent (see that "
             "row's messages)"),
        },
    ),
    Case(
        "wrong-relationship-code-is-the-cause-not-hoh-count",
        [head(1, RelationshipToHoH="x"), member(2, 1)],
        {
            (2, "RelationshipToHoH", "CODE-NOT-IN-LIST", ""),
            (3, "", "HOUSEHOLD-HOH-NOT-SENT",
             "Household of rows 2 and 3; the head cannot be known until RelationshipToHoH "
             "on row 2 is fixed"),
        },
    ),
    Case(
        "two-heads",
        [head(1), head(2, HouseholdID="HG0001"), member(3, 1)],
        {
            (row, "", "HOH-COUNT", "Household of rows 2, 3 and 4; it has 2 heads of household")
            for row in (2, 3, 4)
        },
    ),
    Case(
        "no-head",
        [member(2, 7), member(3, 7)],
        {
            (row, "", "HOH-COUNT", "Household of rows 2 and 3; it has no heads of household")
            for row in (2, 3)
        },
    ),
    Case(
        "member-entered-before-head",
        [
            head(1),
            member(
                2, 1, EntryDate="2026-03-01", IntakeDate="2026-03-01", ROISignedDate="2026-03-01"
            ),
        ],
        {(3, "EntryDate", "HOUSEHOLD-ENTRY-DATE", "Household of rows 2 and 3; its head is row 2")},
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", HOUSEHOLDS, ids=lambda c: c.name)
def test_household_messages_name_household_and_head(case: Case) -> None:
    outcome = validate_rows(case.rows)
    found = {(p.row, p.column, p.rule_id, p.detail) for p in outcome.problems}
    assert found == case.problems


def test_code_list_rule_names_that_columns_codes_in_the_receipt(tmp_path: Path) -> None:
    root = tmp_path / "data"
    initialise(root, demo=True)
    rows = [head(1, VeteranStatus="3"), head(2, DisablingCondition="5"), head(3)]
    write_sample_csv(drop_folder(root) / "codes.csv", rows)
    (handled,) = process(make_pipeline(root))
    page = handled.receipt
    assert (
        "VeteranStatus allows: 0 = No; 1 = Yes; 8 = Client doesn&#x27;t know; "
        "9 = Client prefers not to answer; 99 = Data not collected."
    ) in page
    assert "DisablingCondition allows: 0 = No; 1 = Yes;" in page
    assert "1, 8, 9 or 99" not in page
    # One line per column in "What to fix".
    assert page.count("CODE-NOT-IN-LIST &middot;") == 2


def test_ssn_texts_agree() -> None:
    """Dashes are accepted now, so no SSN text may forbid them; every text that mentions
    unknown digits says x with SSNDataQuality 2; every blank-SSN text says 8, 9 or 99."""
    texts = {rid: r.guidance for rid, r in RULES.items() if rid.startswith("SSN-")}
    for rule_id, text in texts.items():
        assert "no dashes" not in text, rule_id
        if " x " in text or "an x" in text:
            assert "SSNDataQuality" in text and "2" in text, rule_id
        if "blank" in text:
            assert "8, 9 or 99" in text, rule_id


MIXED = [
    (
        {"Sex": "1", "HispanicLatinaeo": "0"},
        ("HispanicLatinao",),
        "columns of the current template: Sex; columns of the old FY2024 template: "
        "HispanicLatinaeo (the current template spells it HispanicLatinao)",
    ),
    (
        {"Woman": "1", "Man": "0"},
        (),
        "columns of the current template: HispanicLatinao, Sex; columns of the old FY2024 "
        "template: Woman, Man (FY2024 gender columns; the current template has Sex)",
    ),
]


@pytest.mark.parametrize(("extra", "dropped", "detail"), MIXED)
def test_fy2024_fy2026_mix_up_names_the_columns(
    extra: dict[str, str], dropped: tuple[str, ...], detail: str
) -> None:
    from hmis_handoff.errors import FileRejected

    row = {k: v for k, v in head(1).items() if k not in dropped}
    row.update(extra)
    with pytest.raises(FileRejected) as caught:
        validate_rows([row])
    assert caught.value.rule_id == "FILE-MIXED-SPEC-VERSION"
    assert caught.value.detail == detail
