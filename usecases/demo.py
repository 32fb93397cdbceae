"""A synthetic demo intake for ``handoff init --demo``.

Names are obviously fictional; SSNs are drawn at random when the file is made (nothing
real-looking is committed). The file holds valid rows plus one of each common mistake, so
the demo shows a package *and* a report:

* rows 2-5: valid (a two-person household, a single adult, one with partial data);
* row 6: an SSN that can never be issued (area 666) with SSNDataQuality 1;
* row 7: a missing DOBDataQuality code;
* row 8: no release of information: valid, but not transmittable.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path

from hmis_handoff.fsutil import atomic_write_bytes
from schemas.columns import column_names

__all__ = [
    "demo_rows",
    "months_homeless",
    "previous_weekday",
    "random_valid_ssn",
    "write_demo_intake",
]


def random_valid_ssn(rng: random.Random) -> str:
    """A 9-digit SSN that passes the SSA/HUD structural rules (random; not a real person's)."""
    while True:
        area = rng.randint(1, 899)
        if area == 666:
            continue
        digits = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if (
            len(set(digits)) > 2
            and digits not in "0123456789012345678"
            and digits not in ("9876543210987654321")
        ):
            return digits


def previous_weekday(day: date) -> date:
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def months_homeless(since: date, entry: date) -> int:
    """Calendar months from ``since`` to ``entry``, both counted, capped at 13 ("more than
    12"): the count HUD's 3.917 answer uses, so the valid rows raise no warning on any day."""
    return min((entry.year - since.year) * 12 + entry.month - since.month + 1, 13)


def demo_rows(agency_id: str, today: date, seed: int | None = None) -> list[dict[str, str]]:
    """The demo rows as canonical-column dicts (FY2026)."""
    rng = random.Random(seed)
    intake_day = previous_weekday(today)
    street_day = intake_day - timedelta(days=200)
    intake = intake_day.isoformat()
    roi_signed = intake
    base = {
        "SubmittingAgencyID": agency_id,
        "ROIConsent": "1",
        "ROISignedDate": roi_signed,
        "HMISConsent": "1",
        "IntakeDate": intake,
        "EntryDate": intake,
        "CollectedByUser": "demo-assessor-1",
        "NameDataQuality": "1",
        "SSNDataQuality": "1",
        "DOBDataQuality": "1",
        "AmIndAKNative": "0",
        "Asian": "0",
        "BlackAfAmerican": "0",
        "HispanicLatinao": "0",
        "MidEastNAfrican": "0",
        "NativeHIPacific": "0",
        "White": "0",
        "Sex": "99",
        "VeteranStatus": "0",
        "RelationshipToHoH": "1",
        "EnrollmentCoC": "MO-606",
        "DisablingCondition": "0",
        "LivingSituation": "116",
        "LengthOfStay": "4",
        "LOSUnderThreshold": "",
        "PreviousStreetESSH": "",
        "DateToStreetESSH": street_day.isoformat(),
        "TimesHomelessPastThreeYears": "1",
        "MonthsHomelessPastThreeYears": str(100 + months_homeless(street_day, intake_day)),
        "AssessmentDate": intake,
        "AssessmentLocation": "Demo Agency front desk",
        "AssessmentType": "3",
        "AssessmentLevel": "1",
        "PrioritizationStatus": "1",
    }
    people = [
        # (IntakeID, HouseholdID, First, Last, DOB, relationship, race column, overrides)
        ("DEMO-0001", "HH-DEMO-1", "Zoë", "Testperson", "1986-03-14", "1", "White", {}),
        (
            "DEMO-0002",
            "HH-DEMO-1",
            "Ægir",
            "Testperson",
            "2015-07-02",
            "2",
            "White",
            {
                "VeteranStatus": "99",
                "LivingSituation": "",
                "LengthOfStay": "",
                "DateToStreetESSH": "",
                "TimesHomelessPastThreeYears": "",
                "MonthsHomelessPastThreeYears": "",
                "AssessmentDate": "",
                "AssessmentLocation": "",
                "AssessmentType": "",
                "AssessmentLevel": "",
                "PrioritizationStatus": "",
                "EnrollmentCoC": "",
            },
        ),
        (
            "DEMO-0003",
            "HH-DEMO-2",
            "José",
            "O’Examplez",
            "1971-11-30",
            "1",
            "HispanicLatinao",
            {"Sex": "1"},
        ),
        (
            "DEMO-0004",
            "HH-DEMO-3",
            "Alpha",
            "Sampleton",
            "1990-01-01",
            "1",
            "Asian",
            {"DOBDataQuality": "2", "Sex": "0"},
        ),
        (
            "DEMO-0005",
            "HH-DEMO-4",
            "Bravo",
            "Sampleton",
            "1968-05-20",
            "1",
            "BlackAfAmerican",
            {"SSN": "666" + f"{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"},
        ),
        (
            "DEMO-0006",
            "HH-DEMO-5",
            "Charlie",
            "Sampleton",
            "1979-09-09",
            "1",
            "White",
            {"DOBDataQuality": ""},
        ),
        (
            "DEMO-0007",
            "HH-DEMO-6",
            "Delta",
            "Sampleton",
            "1982-02-02",
            "1",
            "AmIndAKNative",
            {"ROIConsent": "0", "ROISignedDate": ""},
        ),
    ]
    rows: list[dict[str, str]] = []
    for intake_id, household, first, last, dob, relation, race, overrides in people:
        row = dict(base)
        row.update(
            IntakeID=intake_id,
            HouseholdID=household,
            FirstName=first,
            LastName=last,
            DOB=dob,
            SSN=random_valid_ssn(rng),
            RelationshipToHoH=relation,
        )
        row[race] = "1"
        row.update(overrides)
        rows.append(row)
    return rows


def write_demo_intake(path: Path, *, agency_id: str, today: date, seed: int | None = None) -> None:
    """Write the demo intake CSV (UTF-8, FY2026 columns) atomically, mode 0600."""
    columns = list(column_names("FY2026"))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n", restval="")
    writer.writeheader()
    for row in demo_rows(agency_id, today, seed):
        writer.writerow({c: row.get(c, "") for c in columns})
    atomic_write_bytes(path, buffer.getvalue().encode("utf-8"))
