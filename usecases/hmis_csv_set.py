"""Build the HUD HMIS CSV set (FY2026) of a package from its intake rows.

Five files: Export.csv (one row: the agency as the source, ``HashStatus`` 1,
``CSVVersion`` "2026 v1"), Client.csv (one client per intake row), Enrollment.csv (the
agency's Coordinated Entry project: ``EntryDate``, ``RelationshipToHoH``, ``HouseholdID``,
``EnrollmentCoC``, the 3.917 prior-living-situation fields), Assessment.csv (4.19, rows
that carry an assessment) and Event.csv (4.20, rows that carry an event).

Ids are stable and derived from the agency's ids, never from a value about the person:
``PersonalID`` and ``EnrollmentID`` from (agency, IntakeID), ``HouseholdID`` from (agency,
HouseholdID), each a letter and 20 hex digits of a SHA-256, so the same intake always gets
the same ids in every package and re-import updates instead of duplicating, and an IntakeID
that happens to hold sensitive digits does not travel into HMIS ids.

Format, as the specification asks: UTF-8 without BOM, comma separated, a field quoted only
when it holds a comma, a quote or a line break, CRLF line ends, dates ``yyyy-mm-dd`` and
date-times ``yyyy-mm-dd hh:mm:ss`` in the CoC's local time.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Final

import pandas as pd

from schemas.hmis_csv import CSV_VERSION, hmis_csv_columns

__all__ = [
    "EXPORT_DIRECTIVE",
    "EXPORT_PERIOD_TYPE",
    "SOFTWARE_NAME",
    "SOURCE_TYPE",
    "USER_ID",
    "HmisCsvSetWriter",
    "HmisCsvSource",
    "derived_id",
    "project_id",
]

SOFTWARE_NAME: Final = "HMIS Handoff"
USER_ID: Final = "hmis-handoff"
# HMIS CSV 1.6 SourceType 2: a standalone, agency-specific application (the agency's intake).
SOURCE_TYPE: Final = "2"
# ExportPeriodType 4 "Other" and ExportDirective 3 "Other": one package, not a period export.
EXPORT_PERIOD_TYPE: Final = "4"
EXPORT_DIRECTIVE: Final = "3"
_FY2024_HISPANIC: Final = "HispanicLatinaeo"
_CREATE: Final = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)


def derived_id(prefix: str, agency_id: str, local_id: str) -> str:
    """``prefix`` + 20 hex digits of SHA-256(agency, id): stable, 21 characters."""
    digest = hashlib.sha256(f"{agency_id}\x00{local_id}".encode()).hexdigest()
    return prefix + digest[:20]


def project_id(agency_id: str) -> str:
    """The agency's Coordinated Entry project id in HMIS (partners map it on import)."""
    return f"CE-{agency_id}"[:32]


@dataclass(frozen=True)
class HmisCsvSource:
    """Who and when: the agency as the export's source, the package as the export."""

    export_id: str
    agency_id: str
    agency_name: str
    coc_code: str
    created_at: datetime  # local time of the CoC
    software_version: str


def _cell(value: object) -> str:
    """A cell as text, a missing value (None, NaN, NA) as blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class HmisCsvSetWriter:
    """Writes the five files into ``directory`` row by row (memory stays bounded by a chunk).

    Use :meth:`add` for each chunk of intake rows (canonical columns, all text), then
    :meth:`finish`, which writes Export.csv and returns ``{member name: path}`` in spec order.
    """

    MEMBERS: Final = ("Export.csv", "Client.csv", "Enrollment.csv", "Assessment.csv", "Event.csv")

    def __init__(self, directory: Path, source: HmisCsvSource, *, prefix: str = "") -> None:
        self._source = source
        self._paths = {name: directory / f"{prefix}{name}" for name in self.MEMBERS}
        self._handles: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}
        for name in self.MEMBERS[1:]:
            fd = os.open(self._paths[name], _CREATE, 0o600)
            handle = open(fd, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in finish
            self._handles[name] = handle
            self._writers[name] = csv.writer(handle, lineterminator="\r\n")
            self._writers[name].writerow(hmis_csv_columns(name))
        stamp = _stamp(source.created_at)
        self._audit = {
            "DateCreated": stamp,
            "DateUpdated": stamp,
            "UserID": USER_ID,
            "DateDeleted": "",
            "ExportID": source.export_id,
        }
        self._first: date | None = None

    def _write(
        self, member: str, table: dict[str, list[str]], count: int, values: dict[str, Any]
    ) -> None:
        """``table``'s cells under the member's columns (blank if absent), ``values`` over
        them (a list per row, or one string for every row). Plain lists and the csv module:
        for the few rows of a typical file, pandas' reindex and ``to_csv`` cost far more
        than the rows themselves."""
        cells: list[list[str]] = []
        for column in hmis_csv_columns(member):
            if column in values:
                value = values[column]
                cells.append(value if isinstance(value, list) else [value] * count)
            else:
                cells.append(table.get(column) or [""] * count)
        self._writers[member].writerows(zip(*cells, strict=True))

    def add(self, frame: pd.DataFrame) -> None:
        """Client, Enrollment and (where filled) Assessment and Event rows for ``frame``
        (intake rows with canonical columns, all text)."""
        if frame.empty:
            return
        agency = self._source.agency_id
        count = len(frame)
        text = {str(c): [_cell(v) for v in frame[c].tolist()] for c in frame.columns}
        intake_ids = text["IntakeID"]
        personal = [derived_id("P", agency, i) for i in intake_ids]
        enrollment = [derived_id("E", agency, i) for i in intake_ids]
        households = [
            h or i for h, i in zip(text.get("HouseholdID", intake_ids), intake_ids, strict=True)
        ]
        days = [day for day in text["IntakeDate"] if day]
        if days:
            first = date.fromisoformat(min(days))
            self._first = first if self._first is None or first < self._first else self._first
        client = text
        if _FY2024_HISPANIC in text and "HispanicLatinao" not in text:
            client = {**text, "HispanicLatinao": text[_FY2024_HISPANIC]}
        self._write("Client.csv", client, count, {"PersonalID": personal, **self._audit})
        entry = text.get("EntryDate", text["IntakeDate"])
        self._write(
            "Enrollment.csv",
            text,
            count,
            {
                "EnrollmentID": enrollment,
                "PersonalID": personal,
                "ProjectID": project_id(agency),
                "EntryDate": [e or d for e, d in zip(entry, text["IntakeDate"], strict=True)],
                "HouseholdID": [derived_id("H", agency, h) for h in households],
                **self._audit,
            },
        )
        linked = {"EnrollmentID": enrollment, "PersonalID": personal, **self._audit}
        for member, date_column, id_column, prefix in (
            ("Assessment.csv", "AssessmentDate", "AssessmentID", "A"),
            ("Event.csv", "EventDate", "EventID", "V"),
        ):
            if date_column not in text:
                continue
            has = [value != "" for value in text[date_column]]
            if not any(has):
                continue

            def picked(values: list[str], has: list[bool] = has) -> list[str]:
                return [v for v, h in zip(values, has, strict=True) if h]

            ids = picked([derived_id(prefix, agency, i) for i in intake_ids])
            chosen = {k: picked(vs) if isinstance(vs, list) else vs for k, vs in linked.items()}
            self._write(
                member,
                {name: picked(column) for name, column in text.items()},
                sum(has),
                {id_column: ids, **chosen},
            )

    def finish(self) -> dict[str, Path]:
        """Close the row files, write Export.csv; the five paths in spec order."""
        for handle in self._handles.values():
            handle.close()
        source = self._source
        export = {
            "ExportID": source.export_id,
            "SourceType": SOURCE_TYPE,
            "SourceID": source.agency_id[:32],
            "SourceName": source.agency_name,
            "ExportDate": _stamp(source.created_at),
            "ExportStartDate": (self._first or source.created_at.date()).isoformat(),
            "ExportEndDate": source.created_at.date().isoformat(),
            "SoftwareName": SOFTWARE_NAME,
            "SoftwareVersion": source.software_version,
            "CSVVersion": CSV_VERSION,
            "ExportPeriodType": EXPORT_PERIOD_TYPE,
            "ExportDirective": EXPORT_DIRECTIVE,
            "HashStatus": "1",
            "ImplementationID": f"{source.coc_code}-hmis-handoff",
        }
        fd = os.open(self._paths["Export.csv"], _CREATE, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(hmis_csv_columns("Export.csv"))
            writer.writerow([export.get(c, "") for c in hmis_csv_columns("Export.csv")])
        return dict(self._paths)

    def close(self) -> None:
        """Close any open file (after an error); the caller removes the directory."""
        for handle in self._handles.values():
            handle.close()
