"""``handoff template``: intake templates generated from the schema (so they never drift)."""

from __future__ import annotations

from pathlib import Path

from hmis_handoff.templates import write_csv_template, write_xlsx_template
from schemas.code_labels import code_list
from schemas.columns import SpecVersion, column_names, columns_for

__all__ = ["INSTRUCTIONS", "write_template"]

INSTRUCTIONS = (
    "One row per household member. Keep the header row exactly as it is.",
    "Dates are written yyyy-mm-dd (for example 2026-02-11).",
    "SSN: 9 digits, no dashes; use x for digits you do not know (with SSNDataQuality 2).",
    "Pick codes from the dropdowns; each column's meanings are on this sheet.",
    "Exactly one person per HouseholdID has RelationshipToHoH 1 (head of household).",
    "Only rows with ROIConsent 1 (a signed, current release) are sent to the data partner.",
    "Save as .xlsx (or CSV UTF-8) and drop the file in your agency's folder.",
)


def write_template(out: Path, *, xlsx: bool, spec_version: SpecVersion = "FY2026") -> None:
    """Write the CSV or XLSX template for ``spec_version`` (mode 0600, atomic)."""
    names = list(column_names(spec_version))
    if not xlsx:
        write_csv_template(out, names)
        return
    code_lists = {
        spec.name: code_list(spec) for spec in columns_for(spec_version) if spec.kind == "code"
    }
    write_xlsx_template(out, names, code_lists, INSTRUCTIONS)
