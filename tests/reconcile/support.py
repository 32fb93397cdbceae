"""Builders for reconciliation tests: a data root, delivered records, synthetic HMIS exports.

Every person here is made up. Names and numbers double as *markers*: tests assert they never
appear in reports, digests, e-mails, events or the ledger.
"""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from hmis_handoff.config import Settings, load_settings
from hmis_handoff.crypto.age import X25519Identity
from hmis_handoff.deadlines import calendar_for
from hmis_handoff.hashing import RecordKeyer, hud_hashed_name, hud_hashed_ssn
from hmis_handoff.layout import Layout
from hmis_handoff.ledger import FileCounts, Ledger, NewRecord, RecordState
from hmis_handoff.timeliness import submitted_late
from usecases.match_keys import keyer_for, record_match_keys

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata"
AGENCY = "demo-agency"
PARTNER = "demo-partner"
OTHER_AGENCY = "other-agency"
OTHER_PARTNER = "other-partner"


@dataclass(frozen=True)
class Person:
    """A made-up client; every field is a marker no output may contain."""

    first: str
    last: str
    dob: str
    ssn: str

    def intake_row(self) -> dict[str, str]:
        return {
            "FirstName": self.first,
            "LastName": self.last,
            "DOB": self.dob,
            "SSN": self.ssn,
            "SSNDataQuality": "1",
            "DOBDataQuality": "1",
        }

    @property
    def markers(self) -> tuple[str, ...]:
        return (self.first, self.last, self.dob, self.ssn)


ZED = Person("Zebulonmark", "Quixplanted", "1971-07-13", "701234568")
YAN = Person("Yaromirmark", "Vorplanted", "1985-11-02", "702345679")
XIA = Person("Xanthemark", "Wulplanted", "1990-02-20", "703456781")
PEOPLE = (ZED, YAN, XIA)


_TOML = """\
data_root = "."
timezone = "America/Chicago"
coc_code = "MO-606"
archive_recipient = "{archive}"

[calendar]
calendar = "us-mo"
business_days = 3
due_soon_within = 1

[intake]
stable_seconds = 0.0

[notifications]
webhook_url = "{webhook}"
[notifications.email]
host = "{smtp_host}"
port = {smtp_port}
sender = "handoff@test.invalid"
to = ["ce-lead@test.invalid"]
"""
_ENTITY = """
[[partners]]
id = "{partner}"
name = "Shownname Partner {partner}"
recipients = ["{recipient}"]

[[agencies]]
id = "{agency}"
name = "Shownname Agency {agency}"
partner = "{partner}"
"""


def make_root(
    tmp_path: Path,
    *,
    second_partner: bool = True,
    archive: bool = False,
    smtp: tuple[str, int] = ("", 25),
    webhook: str = "",
) -> Settings:
    """A data root like ``handoff init --demo`` (written directly: config, folders, HMAC key),
    with a second agency and partner unless told otherwise."""
    root = tmp_path / "root"
    pairs = [(AGENCY, PARTNER)] + ([(OTHER_AGENCY, OTHER_PARTNER)] if second_partner else [])
    text = _TOML.format(
        archive=X25519Identity.generate().recipient if archive else "",
        webhook=webhook,
        smtp_host=smtp[0],
        smtp_port=smtp[1],
    )
    for agency, partner in pairs:
        recipient = X25519Identity.generate().recipient
        text += _ENTITY.format(agency=agency, partner=partner, recipient=recipient)
    layout = Layout(root)
    layout.create([a for a, _ in pairs], [p for _, p in pairs])
    (root / "handoff.toml").write_text(text, encoding="utf-8")
    layout.hmac_key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    layout.hmac_key.write_bytes(secrets.token_bytes(32))
    layout.hmac_key.chmod(0o600)
    return load_settings(root / "handoff.toml")


_file_counter = iter(range(1, 10_000))


def deliver(
    settings: Settings,
    ledger: Ledger,
    records: Sequence[tuple[str, Person | None, date]],
    *,
    agency: str = AGENCY,
    received_on: date | None = None,
    keyer: RecordKeyer | None = None,
    state: RecordState = RecordState.DELIVERED,
) -> None:
    """One delivered file holding ``(intake_id, person, intake_date)`` records."""
    keyer = keyer or keyer_for(settings)
    calendar = calendar_for(settings)
    partner = settings.agency(agency).partner
    number = next(_file_counter)
    file_id = ledger.register_claim(
        claim_id=f"claim-{number}",
        sha256=f"{number:064x}",
        agency_id=agency,
        partner_id=partner,
        received_at=datetime.now(UTC),
    ).id
    new: list[NewRecord] = []
    for row_number, (intake_id, person, intake_date) in enumerate(records, start=2):
        due = calendar.due_date(intake_date, settings.calendar.business_days)
        arrived = received_on or intake_date
        keys = record_match_keys(keyer, person.intake_row()) if person else {}
        new.append(
            NewRecord(
                intake_id=intake_id,
                row_number=row_number,
                state=state,
                intake_date=intake_date,
                received_on=arrived,
                due_date=due,
                submitted_late=submitted_late(
                    intake_date=intake_date, received_on=arrived, due=due
                ),
                reason_rule="ROI-MISSING" if state == RecordState.NOT_TRANSMITTABLE else None,
                **keys,
            )
        )
    counts = FileCounts(len(new), len(new), 0, 0, 0)
    ledger.mark_delivered(file_id, counts=counts, package=None, records=new)


# HMIS CSV export --------------------------------------------------------------------------


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",")]


EXPORT_COLUMNS = _names(
    "ExportID,SourceType,SourceID,SourceName,SourceContactFirst,SourceContactLast,"
    "SourceContactPhone,SourceContactExtension,SourceContactEmail,ExportDate,ExportStartDate,"
    "ExportEndDate,SoftwareName,SoftwareVersion,CSVVersion,ExportPeriodType,ExportDirective,"
    "HashStatus,ImplementationID"
)
_CLIENT_HEAD = _names(
    "PersonalID,FirstName,MiddleName,LastName,NameSuffix,NameDataQuality,SSN,SSNDataQuality,"
    "DOB,DOBDataQuality,AmIndAKNative,Asian,BlackAfAmerican,HispanicLatinaeo,MidEastNAfrican,"
    "NativeHIPacific,White,RaceNone,AdditionalRaceEthnicity"
)
_CLIENT_FY2024 = _names(
    "Woman,Man,NonBinary,CulturallySpecific,Transgender,Questioning,DifferentIdentity,"
    "GenderNone,DifferentIdentityText"
)
_CLIENT_TAIL = _names("VeteranStatus,DateCreated,DateUpdated,UserID,DateDeleted,ExportID")
CLIENT_COLUMNS = {
    "FY2024": [*_CLIENT_HEAD, *_CLIENT_FY2024, *_CLIENT_TAIL],
    "FY2026": [*_CLIENT_HEAD, "Sex", *_CLIENT_TAIL],
}
_AUDIT = ["DateCreated", "DateUpdated", "UserID", "DateDeleted", "ExportID"]
ENROLLMENT_COLUMNS = {
    "FY2024": [
        "EnrollmentID", "PersonalID", "ProjectID", "EntryDate", "HouseholdID",
        "RelationshipToHoH", "EnrollmentCoC", "LivingSituation", "DisablingCondition", *_AUDIT,
    ],
    "FY2026": [
        "EnrollmentID", "PersonalID", "ProjectID", "EntryDate", "HouseholdID",
        "RelationshipToHoH", "EnrollmentCoC", "LivingSituation", "DisablingCondition",
        "MentalHealthConsultation", *_AUDIT,
    ],
}  # fmt: skip
ASSESSMENT_COLUMNS = [
    "AssessmentID", "EnrollmentID", "PersonalID", "AssessmentDate", "AssessmentLocation",
    "AssessmentType", "AssessmentLevel", "PrioritizationStatus", *_AUDIT,
]  # fmt: skip
EVENT_COLUMNS = [
    "EventID", "EnrollmentID", "PersonalID", "EventDate", "Event", "ProbSolDivRRResult",
    "ReferralCaseManageAfter", "LocationCrisisOrPHHousing", "ReferralResult", "ResultDate",
    *_AUDIT,
]  # fmt: skip


@dataclass
class Export:
    """A synthetic HMIS CSV export; add rows, then :meth:`write_zip` or :meth:`write_folder`."""

    hash_status: int = 1
    fy: str = "FY2026"
    start: str = "2026-01-01"
    end: str = "2026-12-31"

    def __post_init__(self) -> None:
        self.clients: list[dict[str, str]] = []
        self.enrollments: list[dict[str, str]] = []
        self.assessments: list[dict[str, str]] = []
        self.events: list[dict[str, str]] = []

    def client(self, personal_id: str, person: Person, *, deleted: str = "") -> None:
        first, last, ssn = person.first, person.last, person.ssn
        if self.hash_status == 4:
            first, last, ssn = hud_hashed_name(first), hud_hashed_name(last), hud_hashed_ssn(ssn)
        self.clients.append(
            {
                "PersonalID": personal_id, "FirstName": first, "LastName": last, "SSN": ssn,
                "SSNDataQuality": "1", "DOB": person.dob, "DOBDataQuality": "1",
                "NameDataQuality": "1", "DateCreated": "2020-01-01 09:00:00",
                "DateUpdated": "2020-01-01 09:00:00", "UserID": "u1", "DateDeleted": deleted,
            }
        )  # fmt: skip

    def enrollment(
        self, personal_id: str, entry: str, created: str, *, deleted: str = "", eid: str = ""
    ) -> None:
        self.enrollments.append(
            {
                "EnrollmentID": eid or f"E{len(self.enrollments) + 1}", "PersonalID": personal_id,
                "ProjectID": "CE1", "EntryDate": entry, "HouseholdID": "H1",
                "RelationshipToHoH": "1", "EnrollmentCoC": "MO-606", "DateCreated": created,
                "DateUpdated": created, "UserID": "u1", "DateDeleted": deleted,
            }
        )  # fmt: skip

    def assessment(self, personal_id: str, day: str, created: str, *, deleted: str = "") -> None:
        self.assessments.append(
            {
                "AssessmentID": f"A{len(self.assessments) + 1}", "EnrollmentID": "E1",
                "PersonalID": personal_id, "AssessmentDate": day, "AssessmentType": "3",
                "DateCreated": created, "DateUpdated": created, "UserID": "u1",
                "DateDeleted": deleted,
            }
        )  # fmt: skip

    def event(self, personal_id: str, day: str, created: str, *, deleted: str = "") -> None:
        self.events.append(
            {
                "EventID": f"V{len(self.events) + 1}", "EnrollmentID": "E1",
                "PersonalID": personal_id, "EventDate": day, "Event": "4",
                "DateCreated": created, "DateUpdated": created, "UserID": "u1",
                "DateDeleted": deleted,
            }
        )  # fmt: skip

    def files(self) -> dict[str, bytes]:
        version = "2026 v1.0" if self.fy == "FY2026" else "2024 v1.3"
        export_row = {
            "ExportID": "X1", "SourceType": "1", "SourceID": "MO-606", "SourceName": "Test",
            "ExportDate": "2026-03-20 10:00:00", "ExportStartDate": self.start,
            "ExportEndDate": self.end, "CSVVersion": version, "ExportPeriodType": "3",
            "ExportDirective": "2", "HashStatus": str(self.hash_status),
        }  # fmt: skip
        return {
            "Export.csv": _csv(EXPORT_COLUMNS, [export_row]),
            "Client.csv": _csv(CLIENT_COLUMNS[self.fy], self.clients),
            "Enrollment.csv": _csv(ENROLLMENT_COLUMNS[self.fy], self.enrollments),
            "Assessment.csv": _csv(ASSESSMENT_COLUMNS, self.assessments),
            "Event.csv": _csv(EVENT_COLUMNS, self.events),
        }

    def write_zip(self, path: Path) -> Path:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.files().items():
                archive.writestr(name, data)
        return path

    def write_folder(self, path: Path) -> Path:
        path.mkdir(parents=True)
        for name, data in self.files().items():
            (path / name).write_bytes(data)
        return path


def _csv(columns: Sequence[str], rows: Sequence[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_confirmation(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    return path
