"""Synthetic intake rows and files for tests and samples: obviously fake, always valid.

Everything here is made up: first names come from the NATO alphabet, last names are
``Testperson<n>``, SSNs are generated in areas 700-764 so they pass the validity rules
without being anyone's number on purpose, and dates fall around March 2026. Never put real
client data in a fixture.

* :func:`make_valid_row` - one valid head-of-household row as ``dict[str, str]``; pass
  column overrides as keyword arguments (``make_valid_row(SSN="", SSNDataQuality="99")``).
* :func:`make_valid_frame` - ``n`` valid rows as an all-text DataFrame, vectorised so a
  million rows take seconds; ``household_size`` > 1 adds a spouse and children.
* :func:`write_sample_csv` - write rows as a UTF-8 CSV the reader accepts.

The validation day that makes these rows valid is :data:`TODAY` (dates are on or before it).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from schemas.columns import SPEC_VERSIONS, SpecVersion, column_names

AGENCY_ID = "demo-agency"
TODAY = date(2026, 3, 9)
INTAKE_DATE = "2026-03-02"
FIRST_NAMES = (
    "Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel",
    "India", "Juliett", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa",
)  # fmt: skip

_BASE: dict[str, str] = {
    "IntakeID": "T000001",
    "SubmittingAgencyID": AGENCY_ID,
    "IntakeDate": INTAKE_DATE,
    "CollectedByUser": "worker01",
    "ROIConsent": "1",
    "ROISignedDate": INTAKE_DATE,
    "ROIExpirationDate": "",
    "HMISConsent": "1",
    "HouseholdID": "HH000001",
    "FirstName": "Alpha",
    "MiddleName": "",
    "LastName": "Testperson",
    "NameSuffix": "",
    "NameDataQuality": "1",
    "SSN": "700010001",
    "SSNDataQuality": "1",
    "DOB": "1980-05-17",
    "DOBDataQuality": "1",
    "AmIndAKNative": "0",
    "Asian": "0",
    "BlackAfAmerican": "0",
    "MidEastNAfrican": "0",
    "NativeHIPacific": "0",
    "White": "1",
    "RaceNone": "",
    "AdditionalRaceEthnicity": "",
    "VeteranStatus": "0",
    "EntryDate": INTAKE_DATE,
    "RelationshipToHoH": "1",
    "EnrollmentCoC": "MO-606",
    "DisablingCondition": "0",
    "LivingSituation": "116",
    "RentalSubsidyType": "",
    "LengthOfStay": "2",
    "LOSUnderThreshold": "",
    "PreviousStreetESSH": "",
    "DateToStreetESSH": "2026-01-15",
    "TimesHomelessPastThreeYears": "1",
    # January to March, both counted, as HUD's Eva counts months homeless: 3 months.
    "MonthsHomelessPastThreeYears": "103",
    "AssessmentDate": INTAKE_DATE,
    "AssessmentLocation": "Testville Access Point",
    "AssessmentType": "3",
    "AssessmentLevel": "1",
    "PrioritizationStatus": "1",
    "EventDate": INTAKE_DATE,
    "Event": "3",
    "ProbSolDivRRResult": "",
    "ReferralCaseManageAfter": "",
    "LocationCrisisOrPHHousing": "",
    "ReferralResult": "",
    "ResultDate": "",
}
_FY2026_EXTRA = {"Sex": "0", "HispanicLatinao": "0"}
_FY2024_EXTRA = {
    "HispanicLatinaeo": "0",
    "Woman": "1",
    "Man": "0",
    "NonBinary": "0",
    "CulturallySpecific": "0",
    "Transgender": "0",
    "Questioning": "0",
    "DifferentIdentity": "0",
    "GenderNone": "",
    "DifferentIdentityText": "",
}


def _spec(spec_version: str) -> SpecVersion:
    if spec_version not in SPEC_VERSIONS:
        raise ValueError(f"unknown spec version {spec_version!r}")
    return spec_version


def _template(spec_version: str) -> dict[str, str]:
    spec = _spec(spec_version)
    extra = _FY2026_EXTRA if spec == "FY2026" else _FY2024_EXTRA
    values = {**_BASE, **extra}
    return {name: values[name] for name in column_names(spec)}


def make_valid_row(*, spec_version: str = "FY2026", **overrides: str) -> dict[str, str]:
    """One valid head-of-household row (every column of ``spec_version``, canonical order).

    ``spec_version`` is ``"FY2026"`` or ``"FY2024"``. ``overrides`` replace column values;
    an unknown column name raises ``KeyError`` so a typo cannot silently test nothing.
    """
    row = _template(spec_version)
    for name, value in overrides.items():
        if name not in row:
            raise KeyError(name)
        row[name] = value
    return row


def _numbered(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    return prefix + pd.Series(numbers, dtype="int64").astype("str").str.zfill(width)


def _days(start: str, offsets: np.ndarray) -> pd.Series:
    days = np.datetime64(start, "D") + offsets.astype("timedelta64[D]")
    return pd.Series(np.datetime_as_string(days, unit="D"), dtype="str")


def make_valid_frame(
    n: int, *, spec_version: str = "FY2026", household_size: int = 1, start: int = 0
) -> pd.DataFrame:
    """``n`` valid rows as an all-text frame with a RangeIndex.

    Households have ``household_size`` members: the head, then (from the second) a spouse,
    then children under 18 with VeteranStatus 99 and no prior-living or CE data. Every
    person has a unique name, DOB-and-SSN combination and IntakeID; ``start`` offsets the
    numbering so two frames can be combined without duplicates.
    """
    if household_size < 1:
        raise ValueError("household_size must be at least 1")
    numbers = np.arange(start, start + n, dtype=np.int64)
    role = numbers % household_size
    head = role == 0
    child = role >= 2
    template = _template(spec_version)
    frame = pd.DataFrame(
        {name: pd.Series([value] * n, dtype="str") for name, value in template.items()}
    )
    frame["IntakeID"] = _numbered("T", numbers, 7)
    frame["HouseholdID"] = _numbered("HH", numbers // household_size, 7)
    frame["FirstName"] = pd.Series(np.array(FIRST_NAMES)[numbers % len(FIRST_NAMES)], dtype="str")
    frame["LastName"] = _numbered("Testperson", numbers, 1)
    area = 700 + numbers % 65
    group = 1 + (numbers // 65) % 99
    serial = 1 + (numbers // (65 * 99)) % 9999
    frame["SSN"] = (
        pd.Series(area).astype("str")
        + pd.Series(group).astype("str").str.zfill(2)
        + pd.Series(serial).astype("str").str.zfill(4)
    ).astype("str")
    adult_dob = _days("1950-01-01", numbers % 15000)
    child_dob = _days("2010-01-01", numbers % 3000)
    frame["DOB"] = adult_dob.where(~child, child_dob)
    frame["RelationshipToHoH"] = pd.Series(
        np.where(head, "1", np.where(child, "2", "3")), dtype="str"
    )
    member = ~head
    for name in (
        "EnrollmentCoC",
        "AssessmentDate",
        "AssessmentLocation",
        "AssessmentType",
        "AssessmentLevel",
        "PrioritizationStatus",
        "EventDate",
        "Event",
    ):
        frame[name] = frame[name].where(~member, "")
    frame["VeteranStatus"] = frame["VeteranStatus"].where(~child, "99")
    for name in (
        "LivingSituation",
        "LengthOfStay",
        "DateToStreetESSH",
        "TimesHomelessPastThreeYears",
        "MonthsHomelessPastThreeYears",
    ):
        frame[name] = frame[name].where(~child, "")
    return frame


def write_sample_csv(
    path: Path, rows: Iterable[Mapping[str, str]] | pd.DataFrame, *, bom: bool = False
) -> Path:
    """Write ``rows`` as an RFC 4180 CSV (UTF-8, CRLF, optional BOM) and return ``path``.

    The header is the first row's keys (or the frame's columns) in their given order.
    """
    records: Iterable[Mapping[str, str]]
    if isinstance(rows, pd.DataFrame):
        header = [str(c) for c in rows.columns]
        records = (
            dict(zip(header, values, strict=True)) for values in rows.itertuples(index=False)
        )
    else:
        listed = list(rows)
        header = list(listed[0]) if listed else []
        records = listed
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        for record in records:
            writer.writerow(dict(record))
    return path
