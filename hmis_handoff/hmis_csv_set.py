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
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from schemas.hmis_csv import CSV_VERSION, hmis_csv_columns

__all__ = ["HmisCsvSource", "build_hmis_csv_set", "derived_id", "project_id"]

SOFTWARE_NAME: Final = "HMIS Handoff"
USER_ID: Final = "hmis-handoff"
# HMIS CSV 1.6 SourceType 2: a standalone, agency-specific application (the agency's intake).
SOURCE_TYPE: Final = "2"
# ExportPeriodType 4 "Other" and ExportDirective 3 "Other": one package, not a period export.
EXPORT_PERIOD_TYPE: Final = "4"
EXPORT_DIRECTIVE: Final = "3"
_FY2024_HISPANIC: Final = "HispanicLatinaeo"


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


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _csv(member: str, rows: Iterable[Mapping[str, str]]) -> bytes:
    columns = hmis_csv_columns(member)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return buffer.getvalue().encode("utf-8")


def build_hmis_csv_set(
    rows: Iterable[Mapping[str, str]], source: HmisCsvSource
) -> dict[str, bytes]:
    """The five files (name -> bytes) for intake ``rows`` (canonical columns, all text)."""
    stamp = _stamp(source.created_at)
    audit = {
        "DateCreated": stamp,
        "DateUpdated": stamp,
        "UserID": USER_ID,
        "DateDeleted": "",
        "ExportID": source.export_id,
    }
    clients: list[dict[str, str]] = []
    enrollments: list[dict[str, str]] = []
    assessments: list[dict[str, str]] = []
    events: list[dict[str, str]] = []
    first: date | None = None
    for row in rows:
        cell = {k: ("" if v is None else str(v)) for k, v in row.items()}
        intake_id = cell["IntakeID"]
        personal = derived_id("P", source.agency_id, intake_id)
        enrollment = derived_id("E", source.agency_id, intake_id)
        if cell.get("IntakeDate"):
            day = date.fromisoformat(cell["IntakeDate"])
            first = day if first is None or day < first else first
        client = {c: cell.get(c, "") for c in hmis_csv_columns("Client.csv")}
        if _FY2024_HISPANIC in cell and not client["HispanicLatinao"]:
            client["HispanicLatinao"] = cell[_FY2024_HISPANIC]
        clients.append({**client, "PersonalID": personal, **audit})
        enrollments.append(
            {
                **{c: cell.get(c, "") for c in hmis_csv_columns("Enrollment.csv")},
                "EnrollmentID": enrollment,
                "PersonalID": personal,
                "ProjectID": project_id(source.agency_id),
                "EntryDate": cell.get("EntryDate") or cell.get("IntakeDate", ""),
                "HouseholdID": derived_id(
                    "H", source.agency_id, cell.get("HouseholdID") or intake_id
                ),
                **audit,
            }
        )
        linked = {"EnrollmentID": enrollment, "PersonalID": personal, **audit}
        if cell.get("AssessmentDate"):
            assessments.append(
                {
                    **{c: cell.get(c, "") for c in hmis_csv_columns("Assessment.csv")},
                    "AssessmentID": derived_id("A", source.agency_id, intake_id),
                    **linked,
                }
            )
        if cell.get("EventDate"):
            events.append(
                {
                    **{c: cell.get(c, "") for c in hmis_csv_columns("Event.csv")},
                    "EventID": derived_id("V", source.agency_id, intake_id),
                    **linked,
                }
            )
    export = {
        "ExportID": source.export_id,
        "SourceType": SOURCE_TYPE,
        "SourceID": source.agency_id[:32],
        "SourceName": source.agency_name,
        "ExportDate": stamp,
        "ExportStartDate": (first or source.created_at.date()).isoformat(),
        "ExportEndDate": source.created_at.date().isoformat(),
        "SoftwareName": SOFTWARE_NAME,
        "SoftwareVersion": source.software_version,
        "CSVVersion": CSV_VERSION,
        "ExportPeriodType": EXPORT_PERIOD_TYPE,
        "ExportDirective": EXPORT_DIRECTIVE,
        "HashStatus": "1",
        "ImplementationID": f"{source.coc_code}-hmis-handoff",
    }
    return {
        "Export.csv": _csv("Export.csv", [export]),
        "Client.csv": _csv("Client.csv", clients),
        "Enrollment.csv": _csv("Enrollment.csv", enrollments),
        "Assessment.csv": _csv("Assessment.csv", assessments),
        "Event.csv": _csv("Event.csv", events),
    }
