"""The column contract: canonical names, header aliases, spec detection, header checks."""

from __future__ import annotations

import pytest

from schemas import codes
from schemas.columns import (
    GENDER_COLUMNS,
    canonical_header,
    check_header,
    column_names,
    column_spec,
    columns_for,
    detect_spec_version,
    free_text_columns,
    optional_columns,
    required_columns,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Date of Birth", "DOB"),
        ("date_of_birth", "DOB"),
        ("DOB", "DOB"),
        ("SSN #", "SSN"),
        ("Social Security Number", "SSN"),
        ("First Name", "FirstName"),
        ("first_name", "FirstName"),
        ("LAST NAME", "LastName"),
        (" Intake ID ", "IntakeID"),
        ("\ufeffIntakeID", "IntakeID"),
        ("Intake\u200bID", "IntakeID"),
        ("Relationship to Head of Household", "RelationshipToHoH"),
        ("relationship_to_hoh", "RelationshipToHoH"),
        ("Hispanic/Latina/o", "HispanicLatinao"),
        ("Hispanic/Latina/e/o", "HispanicLatinaeo"),
        ("Enrollment CoC", "EnrollmentCoC"),
        ("Project Start Date", "EntryDate"),
        ("ROI Signed Date", "ROISignedDate"),
        ("Agency ID", "SubmittingAgencyID"),
        ("ＳＳＮ", "SSN"),  # full-width letters fold under NFKC
    ],
)
def test_canonical_header(raw: str, canonical: str) -> None:
    assert canonical_header(raw) == canonical


@pytest.mark.parametrize("raw", ["", "Name", "Notes", "Client", "Alpha Testperson", "SSN2"])
def test_unknown_headers_map_to_none(raw: str) -> None:
    assert canonical_header(raw) is None


def test_every_canonical_name_maps_to_itself() -> None:
    for spec in ("FY2026", "FY2024"):
        for name in column_names(spec):
            assert canonical_header(name) == name
            assert canonical_header(name.lower()) == name


@pytest.mark.parametrize(
    ("headers", "spec"),
    [
        (["IntakeID", "HispanicLatinao", "Sex"], "FY2026"),
        (["IntakeID", "Sex"], "FY2026"),
        (["IntakeID", "Hispanic/Latina/e/o"], "FY2024"),
        (["IntakeID", "Woman", "Man"], "FY2024"),
        (["IntakeID", "GenderNone"], "FY2024"),
        (["IntakeID", "HispanicLatinao", "Woman"], "FY2026"),
        (["IntakeID"], "FY2026"),
        ([], "FY2026"),
    ],
)
def test_detect_spec_version(headers: list[str], spec: str) -> None:
    assert detect_spec_version(headers) == spec


def test_versions_differ_only_in_identity_columns() -> None:
    fy26, fy24 = set(column_names("FY2026")), set(column_names("FY2024"))
    assert fy26 - fy24 == {"Sex", "HispanicLatinao"}
    assert fy24 - fy26 == {
        *GENDER_COLUMNS,
        "GenderNone",
        "DifferentIdentityText",
        "HispanicLatinaeo",
    }


def test_pipeline_set_columns_are_not_intake_columns() -> None:
    for spec in ("FY2026", "FY2024"):
        assert "ReceivedAt" not in column_names(spec)
        assert "IsVictimServiceProvider" not in column_names(spec)
    assert canonical_header("ReceivedAt") is None


def test_required_and_optional_partition_the_columns() -> None:
    for spec in ("FY2026", "FY2024"):
        required, optional = set(required_columns(spec)), set(optional_columns(spec))
        assert required.isdisjoint(optional)
        assert required | optional == set(column_names(spec))
        assert {"IntakeID", "SSN", "DOB", "RelationshipToHoH", "ROIConsent"} <= required
        assert {"MiddleName", "AssessmentDate", "Event", "ROIExpirationDate"} <= optional
    assert set(free_text_columns("FY2026")) == {
        "AdditionalRaceEthnicity",
        "AssessmentLocation",
        "LocationCrisisOrPHHousing",
    }


def test_code_columns_have_code_lists() -> None:
    for spec in columns_for("FY2026"):
        assert bool(spec.codes) is (spec.kind == "code")
    assert column_spec("FY2026", "LivingSituation").codes == codes.LIVING_SITUATION
    assert column_spec("FY2026", "Event").codes == frozenset(str(i) for i in range(1, 19))
    assert "435" in codes.LIVING_SITUATION and "113" in codes.MONTHS_HOMELESS


def test_check_header_reports_names_we_own_and_positions_for_the_rest() -> None:
    headers = [*required_columns("FY2026"), "SSN", None, "Woman"]
    headers.remove("DOB")
    result = check_header(headers, "FY2026")
    assert result.missing == ("DOB",)
    assert result.duplicated == ("SSN",)
    assert result.unknown == (len(headers) - 1, len(headers))
    assert not result.ok
    assert check_header(list(column_names("FY2026")), "FY2026").ok
