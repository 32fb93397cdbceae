"""Rules the data partner hears about: confirmation files and HMIS export reconciliation.

``EXPORT-ROW-*`` are rows of an export refused by our HMIS CSV models
(:data:`schemas.hmis_csv.EXPORT_ROW_RULES`): reported with file, row and column, the row
left out, the others used.

Same contract as :mod:`schemas.rules` (an id is never renamed or reused; guidance is fixed
text that never quotes a value), but written for data-partner staff. :func:`guidance_for`
also answers for the shared ids of :mod:`schemas.rules` (``DATE-FORMAT``, ``FILE-EMPTY``,
...), which confirmation files can trip too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from schemas.rules import RULES

__all__ = ["PARTNER_RULES", "guidance_for"]

_PARTNER: Final[dict[str, str]] = {
    "CONF-UNKNOWN-ID": (
        "No intake with this IntakeID (and AgencyID, if given) was sent to your organisation. "
        "Check the IntakeID against the package you entered it from."
    ),
    "CONF-AGENCY-NEEDED": (
        "Several agencies sent you an intake with this IntakeID. Add the AgencyID column "
        "(the agency id shown in the package manifest) and send the row again."
    ),
    "CONF-DUPLICATE-ID": (
        "This intake appears more than once in the file, so none of its rows was used. "
        "Keep one row per intake, with the date it was entered, and send the file again."
    ),
    "CONF-DATE-FUTURE": (
        "DateEntered is later than today. Use the date the intake was actually entered "
        "into HMIS (yyyy-mm-dd)."
    ),
    "CONF-DATE-BEFORE-INTAKE": (
        "DateEntered is earlier than the intake itself. Check the date it was entered into "
        "HMIS (yyyy-mm-dd)."
    ),
    "CONF-FILE-UNREADABLE": (
        "The confirmation file could not be read. Send a CSV (UTF-8) with the columns "
        "IntakeID and DateEntered (AgencyID and PersonalID optional)."
    ),
    "RECON-NOT-FOUND": (
        "This intake was delivered to you but was not found in the HMIS export (no client "
        "matched with a Coordinated Entry enrollment, assessment or event on the intake "
        "date). If it was entered, send a confirmation file for it."
    ),
    "RECON-NO-KEYS": (
        "This intake carried too little identifying data (name, date of birth or SSN) to "
        "be found in an HMIS export. If it was entered, send a confirmation file for it."
    ),
    "RECON-AMBIGUOUS-CLIENTS": (
        "Several HMIS clients match this intake and have an entry on its date, so we did "
        "not choose one. Merge the duplicate clients in HMIS, or send a confirmation file "
        "for this intake."
    ),
    "RECON-AMBIGUOUS-RECORDS": (
        "One HMIS client matches several intakes with the same date, so we did not choose. "
        "Send a confirmation file for these intakes."
    ),
    "RECON-DATE-FUTURE": (
        "The HMIS entry for this intake is dated later than today; the export's dates may "
        "be wrong. Send a confirmation file for this intake."
    ),
    "EXPORT-NOT-ZIP": (
        "The export is not a readable zip file. Export the HMIS CSV again as a zip and drop "
        "it into your confirmations folder."
    ),
    "EXPORT-ZIP-UNSAFE": (
        "The zip holds entries with folder paths that point outside the zip, links, or "
        "encrypted entries. Export the HMIS CSV again as a plain, flat zip."
    ),
    "EXPORT-ZIP-BOMB": (
        "The zip expands to more data than we accept. Export a shorter period, or only the "
        "Client, Enrollment, Assessment, Event and Export files."
    ),
    "EXPORT-TOO-LARGE": (
        "The export is larger than we accept. Export a shorter period, or only the Client, "
        "Enrollment, Assessment, Event and Export files."
    ),
    "EXPORT-MISSING-FILE": (
        "The export lacks one of Export.csv, Client.csv or Enrollment.csv. Export the full "
        "HMIS CSV set again."
    ),
    "EXPORT-DUPLICATE-FILE": (
        "The export holds two copies of one of its CSV files. Export the HMIS CSV again."
    ),
    "EXPORT-MISSING-COLUMNS": (
        "A CSV file of the export lacks columns of the HMIS CSV specification (FY2024 or "
        "FY2026). Export it again with the standard layout."
    ),
    "EXPORT-DUPLICATE-COLUMNS": (
        "A CSV file of the export names a column twice. Export the HMIS CSV again."
    ),
    "EXPORT-CSV-MALFORMED": (
        "A CSV file of the export could not be parsed (quoting or line endings). Export the "
        "HMIS CSV again without editing it in Excel."
    ),
    "EXPORT-ENCODING": ("A CSV file of the export is not UTF-8 text. Export it again as UTF-8."),
    "EXPORT-EXPORT-ROW": ("Export.csv must hold exactly one row. Export the HMIS CSV again."),
    "EXPORT-HASH-UNSUPPORTED": (
        "The export's HashStatus is neither 1 (unhashed) nor 4 (SHA-256). Export with "
        "HashStatus 1 or 4."
    ),
    "EXPORT-TOO-MANY-ROWS": (
        "A CSV file of the export has more rows than we accept. Export a shorter period."
    ),
    "EXPORT-ROW-TEXT": (
        "A required cell of this row (an id such as PersonalID or ExportID, or CSVVersion) is "
        "blank, or a text cell holds a line break, so the row was not used; the other rows "
        "were. Fix the record in HMIS and export again."
    ),
    "EXPORT-ROW-CODE": (
        "A coded cell of this row (such as SSNDataQuality or DOBDataQuality) is blank, not a "
        "whole number, or not a code of its HUD list (1, 2, 8, 9 or 99 for data quality), so "
        "the row was not used; the other rows were. Fix the record in HMIS and export again."
    ),
    "EXPORT-ROW-DATE": (
        "A date cell of this row (such as DOB or EntryDate) is missing where required or is "
        "not a real date written yyyy-mm-dd (Excel often rewrites dates as 5/17/1980), so the "
        "row was not used; the other rows were. Export again without opening it in Excel."
    ),
    "EXPORT-ROW-DATETIME": (
        "A date-and-time cell of this row (such as DateCreated) is missing or not written "
        "yyyy-mm-dd hh:mm:ss, so the row was not used; the other rows were. Export again "
        "without opening the file in Excel."
    ),
    "EXPORT-ROW-FIELDS": (
        "This row of the export has a different number of fields than the header (often a "
        "comma or quote inside a value that was not quoted), so it was not used; the other "
        "rows were. Export again without editing the file."
    ),
}

PARTNER_RULES: Final[Mapping[str, str]] = MappingProxyType(_PARTNER)
_FALLBACK = "See the HMIS Handoff guide for data partners, or contact the CoC."


def guidance_for(rule_id: str) -> str:
    """Partner-facing guidance for ``rule_id`` (ours first, then the shared catalogue)."""
    if rule_id in PARTNER_RULES:
        return PARTNER_RULES[rule_id]
    shared = RULES.get(rule_id)
    return shared.guidance if shared is not None else _FALLBACK
