"""What Excel users type, table by table: each case states the verdict (sent or not), the
rule id and column reported, the value that goes into the package, and the report text.

The text checked is the catalogue's title, i.e. exactly what the agency's receipt shows for
that rule; no case's report text may quote the cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from schemas.rules import RULES
from tests.schemas.helpers import validate_rows
from tests.synthetic import make_valid_row


@dataclass(frozen=True)
class Case:
    name: str
    column: str
    typed: str
    sent: bool
    #: The value in the package when the row is sent.
    packaged: str | None = None
    #: (rule id, report title) reported on the cell, or None for a clean row.
    rule: str | None = None
    title: str | None = None
    context: dict[str, object] = field(default_factory=dict)
    #: Other cells changed with it (e.g. a DOB typed like the IntakeDate).
    also: dict[str, str] = field(default_factory=dict)
    #: Further (rule, column) pairs that follow from the same value by HUD's rules.
    extra: frozenset[tuple[str, str]] = frozenset()


DATES = [
    # Accepted month-first forms, normalised to ISO.
    Case("iso", "DOB", "1980-05-17", True, "1980-05-17"),
    Case("m-d-yyyy", "DOB", "5/7/1980", True, "1980-05-07"),
    Case("mm-dd-yyyy", "DOB", "05/07/1980", True, "1980-05-07"),
    Case("m-dd-yyyy", "DOB", "5/17/1980", True, "1980-05-17"),
    Case("excel-csv-midnight", "DOB", "5/17/1980 0:00", True, "1980-05-17"),
    Case("yy-before-pivot", "DOB", "5/17/80", True, "1980-05-17"),
    Case("yy-this-century", "DOB", "5/17/05", True, "2005-05-17"),
    Case("yy-pivot-is-this-year", "IntakeDate", "3/2/26", True, "2026-03-02"),
    Case("leap-day", "DOB", "2/29/1980", True, "1980-02-29"),
    # Refused forms, each with its own reason.
    Case(
        "day-first-only", "DOB", "17/5/1980", False,
        rule="DATE-DAY-FIRST", title="The date only makes sense day first",
    ),
    Case(
        "day-first-only-yy", "DOB", "31/12/79", False,
        rule="DATE-DAY-FIRST", title="The date only makes sense day first",
    ),
    Case(
        "no-such-day-either-way", "DOB", "2/30/1980", False,
        rule="DATE-INVALID", title=RULES["DATE-INVALID"].title,
    ),
    Case(
        "not-leap", "DOB", "2/29/1981", False,
        rule="DATE-INVALID", title=RULES["DATE-INVALID"].title,
    ),
    Case(
        "dots", "DOB", "5.17.1980", False,
        rule="DATE-US-FORMAT", title=RULES["DATE-US-FORMAT"].title,
    ),
    Case(
        "excel-serial", "DOB", "29358", False,
        rule="DATE-EXCEL-SERIAL", title=RULES["DATE-EXCEL-SERIAL"].title,
    ),
    Case(
        "yy-pivot-makes-future", "DOB", "12/1/26", False,
        rule="DATE-FUTURE", title=RULES["DATE-FUTURE"].title,
        extra=frozenset({("DOB-AFTER-ENTRY", "DOB")}),
    ),
    Case(
        "iso-only-agency", "DOB", "5/17/1980", False,
        rule="DATE-US-FORMAT", title="The date is in month/day/year form",
        context={"date_order": "iso-only"},
    ),
    Case(
        "iso-only-agency-iso", "DOB", "1980-05-17", True, "1980-05-17",
        context={"date_order": "iso-only"},
    ),
]  # fmt: skip

SSNS = [
    Case("nine-digits", "SSN", "700010001", True, "700010001"),
    Case("dashes", "SSN", "700-01-0001", True, "700010001"),
    Case("spaces", "SSN", "700 01 0001", True, "700010001"),
    Case(
        "partial-dashes", "SSN", "xxx-xx-0001", True, "xxxxx0001",
        also={"SSNDataQuality": "2"},
    ),
    Case(
        "mixed-separators", "SSN", "700-01 0001", False,
        rule="SSN-FORMAT", title=RULES["SSN-FORMAT"].title,
    ),
    Case(
        "csv-eight-digits", "SSN", "70010001", False,
        rule="SSN-LEADING-ZERO-LOST",
        title="The SSN has 8 digits: Excel probably dropped a leading zero",
    ),
    Case(
        "xlsx-eight-digits", "SSN", "70010001", True, "070010001",
        rule="SSN-LEADING-ZEROS-PADDED",
        title="Excel dropped the SSN's leading zeros; they were put back",
        context={"source_format": "xlsx"},
    ),
    Case(
        "xlsx-seven-digits", "SSN", "7010001", True, "007010001",
        rule="SSN-LEADING-ZEROS-PADDED",
        title="Excel dropped the SSN's leading zeros; they were put back",
        context={"source_format": "xlsx"},
    ),
    Case(
        "xlsx-six-digits", "SSN", "710001", False,
        rule="SSN-FORMAT", title=RULES["SSN-FORMAT"].title,
        context={"source_format": "xlsx"},
    ),
    Case(
        "padded-still-checked", "SSN", "10001", False,
        rule="SSN-FORMAT", title=RULES["SSN-FORMAT"].title,
        context={"source_format": "xlsx"},
    ),
]  # fmt: skip

MOJIBAKE = [
    Case("clean-accent", "FirstName", "José", True, "José"),
    Case(
        "double-encoded-accent", "FirstName", "JosÃ©", True, "JosÃ©",
        rule="TEXT-MOJIBAKE", title="Accented letters or quotes look garbled",
    ),
    Case(
        "double-encoded-apostrophe", "LastName", "Oâ€™Brien", True, "Oâ€™Brien",
        rule="TEXT-MOJIBAKE", title="Accented letters or quotes look garbled",
    ),
    Case(
        "double-encoded-nbsp", "LastName", "Test\u00c2\u00a0person", True, "Test\u00c2\u00a0person",
        rule="TEXT-MOJIBAKE", title="Accented letters or quotes look garbled",
    ),
    Case("plain-apostrophe", "LastName", "O'Brien", True, "O'Brien"),
]  # fmt: skip


@pytest.mark.parametrize("case", DATES + SSNS + MOJIBAKE, ids=lambda c: c.name)
def test_excel_form(case: Case) -> None:
    row = make_valid_row(**{case.column: case.typed, **case.also})
    outcome = validate_rows([row], **case.context)
    found = {(p.rule_id, p.column) for p in outcome.problems}
    assert bool(outcome.sendable.iloc[0]) is case.sent, found
    if case.rule is None:
        assert found == set()
    else:
        # One cause, one message: the rule named, and nothing else on that cell.
        assert found == {(case.rule, case.column), *case.extra}
        assert RULES[case.rule].title == case.title
        assert case.typed not in RULES[case.rule].title + RULES[case.rule].guidance
    if case.sent:
        assert outcome.sendable_frame().iloc[0][case.column] == case.packaged


def test_agency_date_order_setting_defaults_to_us() -> None:
    from hmis_handoff.config import AgencyConfig

    agency = AgencyConfig(id="a1", name="Agency One", partner="p1")
    assert agency.date_order == "us"
    strict = AgencyConfig(id="a1", name="Agency One", partner="p1", date_order="iso-only")
    assert strict.date_order == "iso-only"


CODES = [
    Case("code", "VeteranStatus", "0", True, "0"),
    Case("dropdown-code-meaning", "VeteranStatus", "0 - No", True, "0"),
    Case("dropdown-reason", "VeteranStatus", "99 - Data not collected", True, "99"),
    Case(
        "meaning-with-unknown-code", "VeteranStatus", "7 - Maybe", False,
        rule="CODE-NOT-IN-LIST", title=RULES["CODE-NOT-IN-LIST"].title,
    ),
    Case(
        "meaning-only", "VeteranStatus", "Not a veteran", False,
        rule="CODE-NOT-IN-LIST", title=RULES["CODE-NOT-IN-LIST"].title,
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CODES, ids=lambda c: c.name)
def test_template_dropdown_value(case: Case) -> None:
    test_excel_form(case)


def test_pandera_model_judges_the_excel_forms_like_the_fast_path() -> None:
    """The declarative model (schemas/intake.py) sees the same normalised frame."""
    import pandas as pd

    from schemas.intake import pandera_problems
    from schemas.normalise import NormaliseOptions
    from tests.synthetic import TODAY

    rows = [
        make_valid_row(IntakeID="P1", HouseholdID="HP1", DOB="5/17/1980", SSN="700-01-0001"),
        make_valid_row(IntakeID="P2", HouseholdID="HP2", DOB="17/5/1980", SSN="701 02 1002"),
        make_valid_row(IntakeID="P3", HouseholdID="HP3", SSN="70103103", VeteranStatus="0 - No"),
    ]
    frame = pd.DataFrame(rows, dtype=object)
    slow = {
        (p.row, p.column, p.rule_id)
        for p in pandera_problems(frame, "FY2026", NormaliseOptions(today=TODAY))
    }
    fast = {(p.row, p.column, p.rule_id) for p in validate_rows(rows).problems}
    expected = {(3, "DOB", "DATE-DAY-FIRST"), (4, "SSN", "SSN-LEADING-ZERO-LOST")}
    assert slow == expected
    assert fast == expected
