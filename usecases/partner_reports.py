"""Reports for the data partner, written into ``partners/<id>/confirmations/reports/``.

One CSV per processed confirmation file or HMIS export: a ``SUMMARY`` row with counts in
plain words, then one row per problem (row number, intake id, agency id, rule id, the
rule's guidance, and for a row of an export its file and our column name). Intake and agency
ids are ids, not client data; nothing else from the partner's file is written. File names
are ours: time stamp, content hash, kind.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from hmis_handoff.fsutil import atomic_write_text, ensure_private_dir
from schemas.partner_rules import guidance_for

__all__ = ["PartnerReportRow", "ReportKind", "report_name", "write_partner_report"]

ReportKind = Literal["confirmation", "reconcile"]
_COLUMNS = ("row", "intake_id", "agency_id", "rule_id", "guidance", "file", "column")
_FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class PartnerReportRow:
    """One problem: ``row`` is the spreadsheet row (None for a record's export result).

    ``file`` and ``column`` name the export's CSV file and our column name for a refused
    row of an export ("" otherwise).
    """

    row: int | None
    intake_id: str
    agency_id: str
    rule_id: str
    file: str = ""
    column: str = ""


def report_name(kind: ReportKind, ref: str, created: datetime) -> str:
    """``<yyyymmdd-hhmmss>-<ref>-<kind>-report.csv``."""
    return f"{created:%Y%m%d-%H%M%S}-{ref}-{kind}-report.csv"


def _cell(text: str) -> str:
    # Excel runs a cell starting with = + - @ as a formula; an id must stay an id.
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_partner_report(
    directory: Path,
    *,
    kind: ReportKind,
    ref: str,
    created: datetime,
    summary: str,
    rows: Sequence[PartnerReportRow],
) -> Path:
    """Write the report atomically (0600); returns its path. ``summary`` must be value-free."""
    ensure_private_dir(directory)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_COLUMNS)
    writer.writerow(["", "", "", "SUMMARY", summary, "", ""])
    for item in sorted(rows, key=lambda r: (r.file, r.row or 0, r.intake_id, r.rule_id, r.column)):
        writer.writerow(
            [
                "" if item.row is None else str(item.row),
                _cell(item.intake_id),
                _cell(item.agency_id),
                item.rule_id,
                guidance_for(item.rule_id),
                item.file,
                item.column,
            ]
        )
    path = directory / report_name(kind, ref, created)
    # A BOM so Excel opens the UTF-8 text as UTF-8.
    atomic_write_text(path, "\ufeff" + buffer.getvalue())
    return path
