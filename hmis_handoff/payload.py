"""The plaintext inside a format-2 package: a flat zip a partner can open with any tool.

Layout ``hmis-handoff-payload/zip-1`` (named in the signed manifest's ``payload`` field)::

    README.txt                 this layout in plain words
    package.json               ids, counts, the CoC's timezone, when it was packaged; no PII
    intake.csv                 the delivered rows, canonical columns (UTF-8 with BOM)
    worklist.csv               one row per record with its due date (see hmis_handoff.worklist)
    confirmation-sheet.csv     IntakeID + AgencyID prefilled; fill DateEntered, drop it back
    confirmation-sheet.xlsx    the same sheet for Excel (ids as text, DateEntered a date)
    hmis-csv/Export.csv        the HUD HMIS CSV set FY2026 (usecases.hmis_csv_set)
    hmis-csv/Client.csv
    hmis-csv/Enrollment.csv
    hmis-csv/Assessment.csv
    hmis-csv/Event.csv

So ``age -d -i KEY PKG.age > payload.zip && unzip payload.zip`` works without our tools.
Format-1 packages (no ``payload`` in the manifest) hold the intake CSV alone.
Entries carry a fixed timestamp (the packaging time) so the same rows give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

from hmis_handoff.text_xlsx import write_text_xlsx

__all__ = [
    "CONFIRMATION_CSV",
    "CONFIRMATION_HEADER",
    "CONFIRMATION_XLSX",
    "HMIS_DIR",
    "INTAKE",
    "PACKAGE_INFO",
    "PAYLOAD_LAYOUT",
    "README",
    "WORKLIST",
    "PackageInfoDoc",
    "Payload",
    "confirmation_sheet_csv",
    "confirmation_sheet_xlsx",
    "write_payload",
]

PAYLOAD_LAYOUT: Final = "hmis-handoff-payload/zip-1"
README: Final = "README.txt"
PACKAGE_INFO: Final = "package.json"
INTAKE: Final = "intake.csv"
WORKLIST: Final = "worklist.csv"
CONFIRMATION_CSV: Final = "confirmation-sheet.csv"
CONFIRMATION_XLSX: Final = "confirmation-sheet.xlsx"
HMIS_DIR: Final = "hmis-csv/"
CONFIRMATION_HEADER: Final = ("IntakeID", "AgencyID", "PersonalID", "DateEntered")
_MAX_INFO: Final = 64 * 1024
#: Up to this many rows the confirmation sheet is built in memory (no spill files).
_XLSX_IN_MEMORY_ROWS: Final = 10_000

_README_TEXT: Final = f"""HMIS Handoff package payload ({PAYLOAD_LAYOUT})

{INTAKE:<26} the intake rows delivered to you (UTF-8 with BOM; HUD column names)
{WORKLIST:<26} what to enter and by when: one row per intake, sorted by due date
{CONFIRMATION_CSV:<26} fill DateEntered (12/05/2026 or 2026-12-05) for each intake
{CONFIRMATION_XLSX:<26} the same sheet for Excel; save it and drop it in your
{"":<26} confirmations folder
{HMIS_DIR + "*.csv":<26} HUD HMIS CSV FY2026: Export, Client, Enrollment, Assessment,
{"":<26} Event, ready for your HMIS's CSV import
{PACKAGE_INFO:<26} package id, agency, partner, CoC timezone, packaging time

This file holds client data: keep it on an encrypted disk and delete it once entered.
"""


@dataclass(frozen=True)
class PackageInfoDoc:
    """``package.json``: ids and times only."""

    package_id: str
    agency_id: str
    partner_id: str
    record_count: int
    timezone: str
    packaged_at: str  # ISO 8601 with the CoC's UTC offset

    def to_json(self) -> bytes:
        document: dict[str, Any] = {"layout": PAYLOAD_LAYOUT, **self.__dict__}
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("ascii")

    @classmethod
    def from_json(cls, data: bytes) -> PackageInfoDoc:
        document = json.loads(data)
        if not isinstance(document, dict) or document.get("layout") != PAYLOAD_LAYOUT:
            raise ValueError("package.json is not of the expected layout")
        return cls(
            package_id=str(document["package_id"]),
            agency_id=str(document["agency_id"]),
            partner_id=str(document["partner_id"]),
            record_count=int(document["record_count"]),
            timezone=str(document["timezone"]),
            packaged_at=str(document["packaged_at"]),
        )


def confirmation_sheet_csv(intake_ids: Sequence[str], agency_id: str) -> bytes:
    """The confirmation CSV, one row per intake id, ``DateEntered`` left blank."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CONFIRMATION_HEADER)
    writer.writerows([intake_id, agency_id, "", ""] for intake_id in intake_ids)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def confirmation_sheet_xlsx(intake_ids: Sequence[str], agency_id: str, scratch: Path) -> bytes:
    """The confirmation sheet for Excel: ids stored as text, DateEntered formatted as a date
    (``scratch``: a private directory for the writer's spill files)."""
    out = io.BytesIO()
    write_text_xlsx(
        out,
        [CONFIRMATION_HEADER, *([i, agency_id, "", ""] for i in intake_ids)],
        sheet_title="Confirmations",
        scratch=scratch,
        widths=(24, 20, 16, 14),
        date_columns=(3,),
        in_memory=len(intake_ids) <= _XLSX_IN_MEMORY_ROWS,
    )
    return out.getvalue()


def write_payload(
    target: IO[bytes],
    *,
    intake_csv: Path,
    members: Mapping[str, bytes | Path],
    packaged_at: datetime,
) -> None:
    """Write the payload zip to ``target``: README, ``intake.csv`` streamed from
    ``intake_csv``, then ``members`` (name -> bytes, or a file streamed) in the given order."""
    stamp = packaged_at.timetuple()[:6]

    def info(name: str) -> zipfile.ZipInfo:
        entry = zipfile.ZipInfo(name, date_time=stamp)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o600 << 16
        return entry

    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr(info(README), _README_TEXT.encode("utf-8"))
        for name, data in {INTAKE: intake_csv, **members}.items():
            if isinstance(data, bytes):
                archive.writestr(info(name), data)
                continue
            with open(data, "rb") as source, archive.open(info(name), "w") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)


class Payload:
    """A decrypted, verified payload zip (trusted: its hash is in the signed manifest)."""

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Payload:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def names(self) -> list[str]:
        return self._zip.namelist()

    def read(self, name: str) -> bytes:
        return self._zip.read(name)

    def open(self, name: str) -> IO[bytes]:
        return self._zip.open(name)

    def info(self) -> PackageInfoDoc:
        with self._zip.open(PACKAGE_INFO) as handle:
            return PackageInfoDoc.from_json(handle.read(_MAX_INFO))

    def hmis_members(self) -> list[str]:
        return [n for n in self._zip.namelist() if n.startswith(HMIS_DIR) and n.endswith(".csv")]
