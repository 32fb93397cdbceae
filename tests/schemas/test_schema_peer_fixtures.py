"""Our verdicts against the hmis-warehouse importer's, on its own validation fixtures.

Peer data: ``../shared/testdata/hmis-warehouse/validation_files/source/Client.csv`` and
``Enrollment.csv`` (greenriver/hmis-warehouse, FY2026 "validation_files", GPL-3.0; read in
place at test time, never copied). Each row's primary key names the verdict that importer
gives it.

Mapping onto an intake row: start from a valid synthetic head-of-household row
(tests.synthetic) and overwrite every column the fixture row shares with our intake
(Client: names, SSN, DOB, their data-quality codes, Sex, race, VeteranStatus; Enrollment:
EntryDate, HouseholdID, RelationshipToHoH, EnrollmentCoC, DisablingCondition and the 3.917
prior-living-situation columns). The primary key becomes the IntakeID when it fits our
IntakeID pattern (else the IntakeID is blank: a missing key). For Enrollment rows the
local IntakeDate and ROISignedDate follow the fixture's EntryDate (they have no HUD
counterpart). Each fixture row is validated as its own one-row file, so their deliberately
repeated keys do not turn into our duplicate rules.

Expected verdicts:

* ``VALID`` → sendable with no error (warnings allowed: these rows use CoC MA-500, so
  ``COC-UNEXPECTED``, and leave 3.917 questions blank, so ``PRIOR-LIVING-INCOMPLETE``).
* ``VALIDATION`` → the warehouse accepts it with warnings for out-of-list codes (999) and
  blanks. Our rules are stricter there by design: an out-of-list code is
  ``CODE-NOT-IN-LIST`` and a required blank is ``VALUE-REQUIRED``, both errors, because
  the partner cannot key such a value into HMIS. So: not sendable, with exactly those rule
  ids on the affected columns.
* ``ERROR`` → not sendable (required values missing).
* ``FAILURE`` (Client.csv) and the row with no PersonalID → not sendable.

Not applicable: Enrollment rows whose verdict concerns ``ProjectID`` (ours has no
project), i.e. the row keyed ``VALID`` with ProjectID ``FAILURE``, which maps to a valid
intake; and the ``PRE_ENTRY``/``RRH*`` rows, whose keys name scenarios, not verdicts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from schemas.columns import column_names
from tests.schemas.helpers import validate_rows
from tests.synthetic import make_valid_row

SOURCE = (
    Path(__file__).resolve().parents[2]
    / "../shared/testdata/hmis-warehouse/validation_files/source"
).resolve()

CLIENT_COLUMNS = (
    "FirstName", "MiddleName", "LastName", "NameSuffix", "NameDataQuality", "SSN",
    "SSNDataQuality", "DOB", "DOBDataQuality", "Sex", "AmIndAKNative", "Asian",
    "BlackAfAmerican", "HispanicLatinao", "MidEastNAfrican", "NativeHIPacific", "White",
    "RaceNone", "AdditionalRaceEthnicity", "VeteranStatus",
)  # fmt: skip
ENROLLMENT_COLUMNS = (
    "EntryDate", "HouseholdID", "RelationshipToHoH", "EnrollmentCoC", "LivingSituation",
    "RentalSubsidyType", "LengthOfStay", "LOSUnderThreshold", "PreviousStreetESSH",
    "DateToStreetESSH", "TimesHomelessPastThreeYears", "MonthsHomelessPastThreeYears",
    "DisablingCondition",
)  # fmt: skip


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(SOURCE / name, dtype=str, keep_default_na=False)


def _key(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9_-]{1,32}", value) else ""


def _client_row(record: pd.Series) -> dict[str, str]:
    fields = {c: str(record[c]) for c in CLIENT_COLUMNS}
    return make_valid_row(IntakeID=_key(str(record["PersonalID"])), **fields)


def _enrollment_row(record: pd.Series) -> dict[str, str]:
    fields = {c: str(record[c]) for c in ENROLLMENT_COLUMNS}
    entry = fields["EntryDate"]
    local = {"IntakeDate": entry, "ROISignedDate": entry} if entry else {}
    # The CE assessment and event of the synthetic row are dated in 2026; keep them, they
    # are after any fixture entry date.
    return make_valid_row(IntakeID=_key(str(record["EnrollmentID"])), **fields, **local)


def _verdict(row: dict[str, str]) -> tuple[bool, set[tuple[str, str]]]:
    outcome = validate_rows([row])
    errors = {(p.rule_id, p.column) for p in outcome.problems if p.severity == "error"}
    return bool(outcome.sendable.iloc[0]), errors


def test_fixture_columns_exist_in_our_contract() -> None:
    ours = set(column_names("FY2026"))
    assert set(CLIENT_COLUMNS) <= ours and set(ENROLLMENT_COLUMNS) <= ours
    assert set(CLIENT_COLUMNS) <= set(_read("Client.csv").columns)
    assert set(ENROLLMENT_COLUMNS) <= set(_read("Enrollment.csv").columns)


def test_client_rows_agree() -> None:
    clients = _read("Client.csv")
    verdicts = {
        str(r["PersonalID"]) or "<missing>": _verdict(_client_row(r)) for _, r in clients.iterrows()
    }
    assert set(verdicts) == {"VALID", "VALIDATION", "ERROR", "FAILURE", "<missing>"}

    sendable, errors = verdicts["VALID"]
    assert sendable and not errors

    sendable, errors = verdicts["VALIDATION"]
    assert not sendable
    assert errors == {
        ("CODE-NOT-IN-LIST", "NameDataQuality"),
        ("CODE-NOT-IN-LIST", "SSNDataQuality"),
        ("CODE-NOT-IN-LIST", "DOBDataQuality"),
        ("VALUE-REQUIRED", "VeteranStatus"),
    }

    for key in ("ERROR", "FAILURE"):
        sendable, errors = verdicts[key]
        assert not sendable
        assert ("VALUE-REQUIRED", "NameDataQuality") in errors

    sendable, errors = verdicts["<missing>"]
    assert not sendable
    assert ("VALUE-REQUIRED", "IntakeID") in errors


def test_enrollment_rows_agree() -> None:
    enrollments = _read("Enrollment.csv")
    by_key: dict[str, list[tuple[bool, set[tuple[str, str]]]]] = {}
    for _, record in enrollments.iterrows():
        key = str(record["EnrollmentID"])
        if key in ("VALID", "VALIDATION", "ERROR"):
            by_key.setdefault(key, []).append(_verdict(_enrollment_row(record)))

    assert len(by_key["VALID"]) == 2  # one of them is the ProjectID FAILURE row (see above)
    for sendable, errors in by_key["VALID"]:
        assert sendable and not errors

    [(sendable, errors)] = by_key["VALIDATION"]
    assert not sendable
    assert errors == {
        ("VALUE-REQUIRED", "HouseholdID"),
        ("CODE-NOT-IN-LIST", "RelationshipToHoH"),
        ("CODE-NOT-IN-LIST", "LivingSituation"),
        ("CODE-NOT-IN-LIST", "LengthOfStay"),
        ("CODE-NOT-IN-LIST", "DisablingCondition"),
    }

    [(sendable, errors)] = by_key["ERROR"]
    assert not sendable
    assert ("VALUE-REQUIRED", "EntryDate") in errors
    assert ("VALUE-REQUIRED", "RelationshipToHoH") in errors
