"""HUD's Eva data-quality warnings that fit an intake (EvaChecks.csv 105, 71, 70, 61, 32),
one table: each case's cells, the exact (rule, column) set reported, and the receipt title.
All are warnings, so every row is still sent. Month counts follow Eva: the calendar months
from DateToStreetESSH to EntryDate, both counted, 13 or more = 113 ("more than 12")."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from schemas.rules import RULES
from tests.schemas.helpers import validate_rows
from tests.synthetic import make_valid_row

# The synthetic head of household: homeless since 2026-01-15, entered 2026-03-02 (3 months).
T, M = "TimesHomelessPastThreeYears", "MonthsHomelessPastThreeYears"


@dataclass(frozen=True)
class Case:
    name: str
    changes: dict[str, str]
    found: set[tuple[str, str]]


CASES = [
    Case("consistent-3-months", {T: "1", M: "103"}, set()),
    Case("one-month-off", {T: "1", M: "102"}, {("MONTHS-HOMELESS-MISMATCH", M)}),
    Case("same-month-is-1", {"DateToStreetESSH": "2026-03-01", M: "101"}, set()),
    Case("21-months-is-more-than-12", {"DateToStreetESSH": "2024-06-01", M: "113"}, set()),
    Case(
        "21-months-but-12-said",
        {"DateToStreetESSH": "2024-06-01", M: "112"},
        {("MONTHS-HOMELESS-MISMATCH", M)},
    ),
    Case("months-unknown-but-determinable", {M: "99"}, {("MONTHS-HOMELESS-CAN-BE-DETERMINED", M)}),
    Case("months-doesnt-know", {M: "8"}, {("MONTHS-HOMELESS-CAN-BE-DETERMINED", M)}),
    Case(
        "over-3-years-but-3-times",
        {"DateToStreetESSH": "2022-01-10", T: "3", M: "113"},
        {("HOMELESS-START-OVER-3-YEARS", T)},
    ),
    Case(
        "over-3-years-but-6-months",
        {"DateToStreetESSH": "2022-01-10", T: "1", M: "106"},
        {("HOMELESS-START-OVER-3-YEARS", M)},
    ),
    Case("over-3-years-12-months-ok", {"DateToStreetESSH": "2022-01-10", M: "112"}, set()),
    Case("exactly-3-years-is-over", {"DateToStreetESSH": "2023-03-02", M: "113"}, set()),
    Case(
        "a-day-under-3-years-counts-months",
        {"DateToStreetESSH": "2023-03-03", M: "111"},
        {("MONTHS-HOMELESS-MISMATCH", M)},
    ),
    Case("times-unknown", {T: "9"}, {("HOMELESS-HISTORY-UNKNOWN", T)}),
    Case("months-unknown-two-times", {T: "2", M: "99"}, {("HOMELESS-HISTORY-UNKNOWN", M)}),
    Case("two-times-months-free", {T: "2", M: "104"}, set()),
    Case(
        "disabling-condition-not-collected",
        {"DisablingCondition": "99"},
        {("DISABLING-CONDITION-UNKNOWN", "DisablingCondition")},
    ),
]

TITLES = {
    "MONTHS-HOMELESS-MISMATCH": "Months homeless do not match the homelessness start date",
    "MONTHS-HOMELESS-CAN-BE-DETERMINED": "Months homeless can be worked out from the dates",
    "HOMELESS-START-OVER-3-YEARS": "Homeless for over 3 years, but times or months say otherwise",
    "HOMELESS-HISTORY-UNKNOWN": "Times or months homeless not known",
    "DISABLING-CONDITION-UNKNOWN": "Disabling condition not known",
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hud_consistency_warning(case: Case) -> None:
    outcome = validate_rows([make_valid_row(**case.changes)])
    found = {(p.rule_id, p.column) for p in outcome.problems}
    assert found == case.found
    assert bool(outcome.sendable.iloc[0]), "warnings never hold a row back"
    for rule_id, _ in case.found:
        assert RULES[rule_id].severity == "warning"
        assert RULES[rule_id].title == TITLES[rule_id]


def test_children_are_not_asked_about_homeless_history() -> None:
    head = make_valid_row(IntakeID="K1", HouseholdID="HK1", SSN="701011001")
    child = make_valid_row(
        IntakeID="K2",
        HouseholdID="HK1",
        SSN="702021002",
        FirstName="Bravo",
        RelationshipToHoH="2",
        DOB="2015-04-03",
        **{T: "1", M: "110"},
    )
    outcome = validate_rows([head, child])
    assert not [p for p in outcome.problems if p.rule_id == "MONTHS-HOMELESS-MISMATCH"]
