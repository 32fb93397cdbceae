"""The rules page (``docs/rules.md``), generated from the catalogue and the pandera schema.

Every rule id with its severity, scope, title, guidance, where it is judged (a check of the
pandera intake schema, the cross-row pass, the reader/pipeline for file rules, or the
consent gate) and the columns it touches; then the data partner's rules with their guidance.
Regenerate with ``python -m schemas.rules_page``;
``tests/schemas/test_schema_rules_page.py`` fails when the committed page is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

from schemas.columns import (
    ASSESSMENT_COLUMNS,
    EVENT_COLUMNS,
    FY2024,
    FY2026,
    GENDER_COLUMNS,
    ColumnSpec,
    SpecVersion,
    columns_for,
    race_columns,
)
from schemas.intake_schema import CROSS_ROW_RULE_IDS, GROUP_OF
from schemas.partner_rules import PARTNER_RULES
from schemas.rules import RULES, Rule

__all__ = ["PAGE", "columns_touched", "judged_by", "main", "render"]

PAGE: Final = Path(__file__).resolve().parent.parent / "docs" / "rules.md"

_TEXT_KINDS: Final = ("id", "name", "text", "freetext")
#: Column-level rules: which columns of a spec they judge.
_BY_SPEC: Final[dict[str, Callable[[ColumnSpec], bool]]] = {
    "VALUE-REQUIRED": lambda c: c.value_required,
    "VALUE-WHITESPACE": lambda c: c.kind in ("code", "date", "ssn", "coc", "id"),
    "CODE-NOT-IN-LIST": lambda c: c.kind == "code",
    "TEXT-TOO-LONG": lambda c: c.kind in _TEXT_KINDS and c.max_length is not None,
    "TEXT-LINE-BREAK": lambda c: c.kind in ("id", "name", "text"),
    "TEXT-IMPERMISSIBLE-CHARS": lambda c: c.kind in _TEXT_KINDS,
    "NUMBER-SCIENTIFIC": lambda c: c.kind in ("id", "ssn"),
    "DATE-FORMAT": lambda c: c.kind == "date",
    "DATE-US-FORMAT": lambda c: c.kind == "date",
    "DATE-EXCEL-SERIAL": lambda c: c.kind == "date",
    "DATE-INVALID": lambda c: c.kind == "date",
    "DATE-TOO-EARLY": lambda c: c.kind == "date",
    "DATE-DAY-FIRST": lambda c: c.kind == "date",
    "DATE-FUTURE": lambda c: c.kind == "date" and c.not_future,
    "INTAKE-ID-FORMAT": lambda c: c.name == "IntakeID",
    "SSN-FORMAT": lambda c: c.kind == "ssn",
    "SSN-INVALID": lambda c: c.kind == "ssn",
    "SSN-LEADING-ZEROS-PADDED": lambda c: c.kind == "ssn",
    "SSN-LEADING-ZERO-LOST": lambda c: c.kind == "ssn",
    "COC-FORMAT": lambda c: c.kind == "coc",
    "TEXT-MOJIBAKE": lambda c: c.kind in ("name", "text", "freetext"),
    "CELL-FORMULA": lambda c: True,
    "NAME-DIGITS-ONLY": lambda c: c.kind == "name",
}
_PRIOR_LIVING: Final = (
    "LengthOfStay",
    "LOSUnderThreshold",
    "PreviousStreetESSH",
    "DateToStreetESSH",
    "TimesHomelessPastThreeYears",
    "MonthsHomelessPastThreeYears",
)
#: Cross-field rules: the columns they read (the first is where a failure is reported).
_FIXED: Final[dict[str, tuple[str, ...]]] = {
    "INTAKE-ID-DUPLICATE": ("IntakeID",),
    "INTAKE-ID-ALREADY-SENT": ("IntakeID",),
    "INTAKE-ID-ALREADY-SENT-SAME": ("IntakeID",),
    "INTAKE-ID-HAS-PII": ("IntakeID", "FirstName", "LastName", "DOB", "SSN"),
    "AGENCY-MISMATCH": ("SubmittingAgencyID",),
    "NAME-DQ-MISMATCH": ("NameDataQuality", "FirstName", "LastName"),
    "SSN-DQ-MISMATCH": ("SSNDataQuality", "SSN"),
    "SSN-PARTIAL-DQ": ("SSN", "SSNDataQuality"),
    "DOB-DQ-MISMATCH": ("DOBDataQuality", "DOB"),
    "DOB-AFTER-ENTRY": ("DOB", "EntryDate", "RelationshipToHoH"),
    "AGE-OVER-100": ("DOB", "EntryDate"),
    "SEX-MISSING": ("Sex",),
    "GENDER-TEXT-MISMATCH": ("DifferentIdentityText", "DifferentIdentity"),
    "VETERAN-MINOR": ("VeteranStatus", "DOB", "EntryDate"),
    "ENTRY-DATE-NOT-INTAKE-DATE": ("EntryDate", "IntakeDate"),
    "HOH-RELATIONSHIP-99": ("RelationshipToHoH",),
    "COC-REQUIRED-HOH": ("EnrollmentCoC", "RelationshipToHoH"),
    "COC-UNEXPECTED": ("EnrollmentCoC",),
    "LIVING-SITUATION-REQUIRED": ("LivingSituation", "RelationshipToHoH", "DOB"),
    "RENTAL-SUBSIDY-REQUIRED": ("RentalSubsidyType", "LivingSituation"),
    "RENTAL-SUBSIDY-NOT-APPLICABLE": ("RentalSubsidyType", "LivingSituation"),
    "PRIOR-LIVING-INCOMPLETE": (*_PRIOR_LIVING, "LivingSituation"),
    "DATE-TO-STREET-AFTER-ENTRY": ("DateToStreetESSH", "EntryDate"),
    "ASSESSMENT-INCOMPLETE": tuple(c.name for c in ASSESSMENT_COLUMNS),
    "ASSESSMENT-DATE-BEFORE-ENTRY": ("AssessmentDate", "EntryDate"),
    "EVENT-INCOMPLETE": ("EventDate", "Event"),
    "EVENT-DATE-BEFORE-ENTRY": ("EventDate", "EntryDate"),
    "EVENT-FIELD-NOT-APPLICABLE": tuple(c.name for c in EVENT_COLUMNS),
    "EVENT-RESULT-DATE-REQUIRED": ("ResultDate", "ReferralResult"),
    "EVENT-RESULT-DATE-BEFORE-EVENT": ("ResultDate", "EventDate"),
    "ROI-DATE-REQUIRED": ("ROISignedDate", "ROIConsent"),
    "HOH-COUNT": ("SubmittingAgencyID", "HouseholdID", "RelationshipToHoH"),
    "HOUSEHOLD-ENTRY-DATE": ("EntryDate", "HouseholdID", "RelationshipToHoH"),
    "HOUSEHOLD-HOH-NOT-SENT": ("HouseholdID", "RelationshipToHoH"),
    "PERSON-DUPLICATE": ("FirstName", "LastName", "DOB", "SSN"),
    "HOMELESS-START-OVER-3-YEARS": (
        "TimesHomelessPastThreeYears",
        "MonthsHomelessPastThreeYears",
        "DateToStreetESSH",
        "EntryDate",
    ),
    "MONTHS-HOMELESS-MISMATCH": ("MonthsHomelessPastThreeYears", "DateToStreetESSH", "EntryDate"),
    "MONTHS-HOMELESS-CAN-BE-DETERMINED": ("MonthsHomelessPastThreeYears", "DateToStreetESSH"),
    "HOMELESS-HISTORY-UNKNOWN": ("TimesHomelessPastThreeYears", "MonthsHomelessPastThreeYears"),
    "DISABLING-CONDITION-UNKNOWN": ("DisablingCondition",),
    "ROI-MISSING": ("ROIConsent", "ROISignedDate", "IntakeDate"),
    "ROI-EXPIRED": ("ROIExpirationDate", "IntakeDate"),
    "VSP-NO-PII": (),
}


def columns_touched(rule_id: str, spec_version: SpecVersion) -> tuple[str, ...]:
    """The columns ``rule_id`` reads in ``spec_version`` (empty for file-level rules)."""
    if rule_id in _BY_SPEC:
        return tuple(c.name for c in columns_for(spec_version) if _BY_SPEC[rule_id](c))
    if rule_id == "RACE-NONE-MISMATCH":
        return ("RaceNone", *race_columns(spec_version))
    if rule_id == "GENDER-NONE-MISMATCH":
        return ("GenderNone", *GENDER_COLUMNS) if spec_version == FY2024 else ()
    if rule_id in ("SEX-MISSING",) and spec_version == FY2024:
        return ()
    return _FIXED.get(rule_id, ())


def judged_by(rule: Rule) -> str:
    """Where the rule is judged, in the page's words."""
    if rule.id in GROUP_OF:
        return "pandera check (intake schema)"
    if rule.id in CROSS_ROW_RULE_IDS:
        return "cross-row pass (whole file)"
    if rule.scope == "gate":
        return "consent gate (not a problem)"
    return "reader / pipeline (whole file)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The page's Markdown text."""
    lines = [
        "# Intake rules",
        "",
        "Generated by `python -m schemas.rules_page` from the rule catalogue "
        "(`schemas/rules.py`) and the pandera intake schema (`schemas/intake_schema.py`). "
        "Do not edit by hand.",
        "",
        "| Rule id | Severity | Scope | Judged by | Title | What to do | Columns FY2026 "
        "| Columns FY2024 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rule in RULES.values():
        new = ", ".join(columns_touched(rule.id, FY2026)) or "-"
        old = ", ".join(columns_touched(rule.id, FY2024)) or "-"
        lines.append(
            f"| `{rule.id}` | {rule.severity} | {rule.scope} | {judged_by(rule)} "
            f"| {_cell(rule.title)} | {_cell(rule.guidance)} | {new} | {old} |"
        )
    return "\n".join([*lines, *_partner_lines()]) + "\n"


def _partner_scope(rule_id: str) -> str:
    if rule_id.startswith("CONF-"):
        return "confirmation file"
    if rule_id.startswith("RECON-"):
        return "intake not matched in an HMIS export"
    if rule_id.startswith("EXPORT-ROW-"):
        return "row of an HMIS export (pandera HMIS CSV model); the row is left out"
    return "HMIS export (whole file)"


def _partner_lines() -> list[str]:
    """The data partner's rules (:mod:`schemas.partner_rules`), as their reports show them."""
    lines = [
        "",
        "## Data partner rules",
        "",
        "Rule ids in the reports written to a partner's `confirmations/reports/` "
        "(`schemas/partner_rules.py`; export rows are judged by `schemas/hmis_csv.py`). "
        "A confirmation file can also trip the shared ids above "
        "(`DATE-FORMAT`, `FILE-EMPTY`, ...).",
        "",
        "| Rule id | Applies to | What to do |",
        "|---|---|---|",
    ]
    for rule_id, guidance in PARTNER_RULES.items():
        lines.append(f"| `{rule_id}` | {_partner_scope(rule_id)} | {_cell(guidance)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Write the page (``--check``: exit 1 when the committed page is stale)."""
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        return 0 if PAGE.exists() and PAGE.read_text(encoding="utf-8") == text else 1
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
