"""The HUD HMIS CSV files we write and read: columns in spec order and pandera models.

Five files of the HMIS CSV format (HUD HMIS CSV Format Specifications FY2026): Export,
Client, Enrollment, Assessment (4.19) and Event (4.20). For each column: its name, its
kind (``S`` string, ``I`` integer code, ``D`` date ``yyyy-mm-dd``, ``T`` date and time
``yyyy-mm-dd hh:mm:ss``) and whether it may be blank, in the order the specification lists
them. :func:`hmis_csv_schema` builds the pandera model of one file from that table: every
column present, in order, nothing else (``strict``, ``ordered``), all text, each cell of the
right shape; the data-quality columns also hold a code of their HUD list.

Two years are modelled: FY2026 (what packages carry) and FY2024, which exports still come
in. They differ in Client.csv (FY2024: the 3.06 gender columns and ``HispanicLatinaeo``;
FY2026: 4.21 ``Sex`` and ``HispanicLatinao``) and Enrollment.csv (FY2024: R3 sexual
orientation and C4 translation columns; FY2026: V10 ``MentalHealthConsultation``); Export,
Assessment and Event are the same. :func:`hmis_csv_year` reads the year from Export.csv's
``CSVVersion``.

Reconciliation reads a few columns of a partner's export: ``partial=True`` validates just
the columns a frame holds, in any order (the reader has already required the ones it needs).

Failures are reported as (file, row, column, check), never a value; :func:`hmis_csv_rule`
folds a check into the partner rule id (:mod:`schemas.partner_rules`) for its kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Final, Literal

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from schemas import codes

__all__ = [
    "CSV_VERSION",
    "EXPORT_ROW_RULES",
    "HMIS_CSV_FILES",
    "HMIS_CSV_YEARS",
    "HmisCsvProblem",
    "HmisYear",
    "Kind",
    "Table",
    "hmis_csv_columns",
    "hmis_csv_problems",
    "hmis_csv_rule",
    "hmis_csv_schema",
    "hmis_csv_year",
]

Kind = Literal["S", "I", "D", "T"]
HmisYear = Literal["FY2024", "FY2026"]
Table = tuple[tuple[str, Kind, bool], ...]
CSV_VERSION: Final = "2026 v1"
_PATTERN: Final[dict[Kind, str]] = {
    "S": r"[^\r\n]{0,}",
    "I": r"-?[0-9]{1,9}",
    "D": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "T": r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
}

HMIS_CSV_FILES: Final[dict[str, tuple[tuple[str, Kind, bool], ...]]] = {
    "Export.csv": (
        ("ExportID", "S", False),
        ("SourceType", "I", False),
        ("SourceID", "S", True),
        ("SourceName", "S", True),
        ("SourceContactFirst", "S", True),
        ("SourceContactLast", "S", True),
        ("SourceContactPhone", "S", True),
        ("SourceContactExtension", "S", True),
        ("SourceContactEmail", "S", True),
        ("ExportDate", "T", False),
        ("ExportStartDate", "D", False),
        ("ExportEndDate", "D", False),
        ("SoftwareName", "S", True),
        ("SoftwareVersion", "S", True),
        ("CSVVersion", "S", False),
        ("ExportPeriodType", "I", False),
        ("ExportDirective", "I", False),
        ("HashStatus", "I", False),
        ("ImplementationID", "S", False),
    ),
    "Client.csv": (
        ("PersonalID", "S", False),
        ("FirstName", "S", True),
        ("MiddleName", "S", True),
        ("LastName", "S", True),
        ("NameSuffix", "S", True),
        ("NameDataQuality", "I", False),
        ("SSN", "S", True),
        ("SSNDataQuality", "I", False),
        ("DOB", "D", True),
        ("DOBDataQuality", "I", False),
        ("Sex", "I", True),
        ("AmIndAKNative", "I", False),
        ("Asian", "I", False),
        ("BlackAfAmerican", "I", False),
        ("HispanicLatinao", "I", False),
        ("MidEastNAfrican", "I", False),
        ("NativeHIPacific", "I", False),
        ("White", "I", False),
        ("RaceNone", "I", True),
        ("AdditionalRaceEthnicity", "S", True),
        ("VeteranStatus", "I", False),
        ("YearEnteredService", "I", True),
        ("YearSeparated", "I", True),
        ("WorldWarII", "I", True),
        ("KoreanWar", "I", True),
        ("VietnamWar", "I", True),
        ("DesertStorm", "I", True),
        ("AfghanistanOEF", "I", True),
        ("IraqOIF", "I", True),
        ("IraqOND", "I", True),
        ("OtherTheater", "I", True),
        ("MilitaryBranch", "I", True),
        ("DischargeStatus", "I", True),
        ("DateCreated", "T", False),
        ("DateUpdated", "T", False),
        ("UserID", "S", False),
        ("DateDeleted", "S", True),
        ("ExportID", "S", False),
    ),
    "Enrollment.csv": (
        ("EnrollmentID", "S", False),
        ("PersonalID", "S", False),
        ("ProjectID", "S", False),
        ("EntryDate", "D", False),
        ("HouseholdID", "S", False),
        ("RelationshipToHoH", "I", False),
        ("EnrollmentCoC", "S", True),
        ("LivingSituation", "I", True),
        ("RentalSubsidyType", "I", True),
        ("LengthOfStay", "I", True),
        ("LOSUnderThreshold", "I", True),
        ("PreviousStreetESSH", "I", True),
        ("DateToStreetESSH", "D", True),
        ("TimesHomelessPastThreeYears", "I", True),
        ("MonthsHomelessPastThreeYears", "I", True),
        ("DisablingCondition", "I", False),
        ("DateOfEngagement", "D", True),
        ("MoveInDate", "D", True),
        ("DateOfPATHStatus", "D", True),
        ("ClientEnrolledInPATH", "I", True),
        ("ReasonNotEnrolled", "I", True),
        ("PercentAMI", "I", True),
        ("ReferralSource", "I", True),
        ("CountOutreachReferralApproaches", "I", True),
        ("DateOfBCPStatus", "D", True),
        ("EligibleForRHY", "I", True),
        ("ReasonNoServices", "I", True),
        ("RunawayYouth", "I", True),
        ("MentalHealthConsultation", "I", True),
        ("FormerWardChildWelfare", "I", True),
        ("ChildWelfareYears", "I", True),
        ("ChildWelfareMonths", "I", True),
        ("FormerWardJuvenileJustice", "I", True),
        ("JuvenileJusticeYears", "I", True),
        ("JuvenileJusticeMonths", "I", True),
        ("UnemploymentFam", "I", True),
        ("MentalHealthDisorderFam", "I", True),
        ("PhysicalDisabilityFam", "I", True),
        ("AlcoholDrugUseDisorderFam", "I", True),
        ("InsufficientIncome", "I", True),
        ("IncarceratedParent", "I", True),
        ("VAMCStation", "S", True),
        ("TargetScreenReqd", "I", True),
        ("TimeToHousingLoss", "I", True),
        ("AnnualPercentAMI", "I", True),
        ("LiteralHomelessHistory", "I", True),
        ("ClientLeaseholder", "I", True),
        ("HOHLeaseholder", "I", True),
        ("SubsidyAtRisk", "I", True),
        ("EvictionHistory", "I", True),
        ("CriminalRecord", "I", True),
        ("IncarceratedAdult", "I", True),
        ("PrisonDischarge", "I", True),
        ("SexOffender", "I", True),
        ("DisabledHoH", "I", True),
        ("CurrentPregnant", "I", True),
        ("SingleParent", "I", True),
        ("DependentUnder6", "I", True),
        ("HH5Plus", "I", True),
        ("CoCPrioritized", "I", True),
        ("HPScreeningScore", "I", True),
        ("ThresholdScore", "I", True),
        ("DateCreated", "T", False),
        ("DateUpdated", "T", False),
        ("UserID", "S", False),
        ("DateDeleted", "S", True),
        ("ExportID", "S", False),
    ),
    "Assessment.csv": (
        ("AssessmentID", "S", False),
        ("EnrollmentID", "S", False),
        ("PersonalID", "S", False),
        ("AssessmentDate", "D", False),
        ("AssessmentLocation", "S", True),
        ("AssessmentType", "I", True),
        ("AssessmentLevel", "I", True),
        ("PrioritizationStatus", "I", True),
        ("DateCreated", "T", False),
        ("DateUpdated", "T", False),
        ("UserID", "S", False),
        ("DateDeleted", "S", True),
        ("ExportID", "S", False),
    ),
    "Event.csv": (
        ("EventID", "S", False),
        ("EnrollmentID", "S", False),
        ("PersonalID", "S", False),
        ("EventDate", "D", False),
        ("Event", "I", False),
        ("ProbSolDivRRResult", "I", True),
        ("ReferralCaseManageAfter", "I", True),
        ("LocationCrisisOrPHHousing", "S", True),
        ("ReferralResult", "I", True),
        ("ResultDate", "D", True),
        ("DateCreated", "T", False),
        ("DateUpdated", "T", False),
        ("UserID", "S", False),
        ("DateDeleted", "S", True),
        ("ExportID", "S", False),
    ),
}

#: Columns that must hold a code of a HUD list (blank is judged by the column's own check).
_CODE_LISTS: Final[dict[str, frozenset[str]]] = {
    "NameDataQuality": codes.NAME_DATA_QUALITY,
    "SSNDataQuality": codes.SSN_DATA_QUALITY,
    "DOBDataQuality": codes.DOB_DATA_QUALITY,
}
_CODE_CHECK: Final = "code-list"

_FY2024_GENDER: Final[Table] = (
    *((name, "I", False) for name in ("Woman", "Man", "NonBinary", "CulturallySpecific")),
    *((name, "I", False) for name in ("Transgender", "Questioning", "DifferentIdentity")),
    ("GenderNone", "I", True),
    ("DifferentIdentityText", "S", True),
)


def _fy2024_client(fy2026: Table) -> Table:
    out: list[tuple[str, Kind, bool]] = []
    for name, kind, nullable in fy2026:
        if name == "Sex":
            continue
        if name == "HispanicLatinao":
            out.append(("HispanicLatinaeo", kind, nullable))
            continue
        if name == "VeteranStatus":
            out.extend(_FY2024_GENDER)
        out.append((name, kind, nullable))
    return tuple(out)


def _fy2024_enrollment(fy2026: Table) -> Table:
    out: list[tuple[str, Kind, bool]] = []
    for name, kind, nullable in fy2026:
        if name == "MentalHealthConsultation":
            out.extend((("SexualOrientation", "I", True), ("SexualOrientationOther", "S", True)))
            continue
        if name == "DateCreated":
            out.extend(
                (
                    ("TranslationNeeded", "I", True),
                    ("PreferredLanguage", "I", True),
                    ("PreferredLanguageDifferent", "S", True),
                )
            )
        out.append((name, kind, nullable))
    return tuple(out)


HMIS_CSV_YEARS: Final[Mapping[HmisYear, Mapping[str, Table]]] = MappingProxyType(
    {
        "FY2026": MappingProxyType(HMIS_CSV_FILES),
        "FY2024": MappingProxyType(
            {
                **HMIS_CSV_FILES,
                "Client.csv": _fy2024_client(HMIS_CSV_FILES["Client.csv"]),
                "Enrollment.csv": _fy2024_enrollment(HMIS_CSV_FILES["Enrollment.csv"]),
            }
        ),
    }
)
"""Each year's columns per file (FY2024 derived from FY2026 by the listed differences)."""

#: Partner rule id per failing check: one per kind of cell, one for a code off its list.
EXPORT_ROW_RULES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "S": "EXPORT-ROW-TEXT",
        "I": "EXPORT-ROW-CODE",
        "D": "EXPORT-ROW-DATE",
        "T": "EXPORT-ROW-DATETIME",
        _CODE_CHECK: "EXPORT-ROW-CODE",
    }
)
_YEAR = re.compile(r"\s*(20[0-9]{2})\b")


def hmis_csv_year(csv_version: str) -> HmisYear | None:
    """The modelled year of an Export.csv ``CSVVersion`` ("2026 v1.0" -> FY2026), else None.

    A version before 2026 that names a year from 2024 on is read with the FY2024 model.
    """
    found = _YEAR.match(csv_version)
    if found is None:
        return None
    year = int(found.group(1))
    if year >= 2026:
        return "FY2026"
    return "FY2024" if year >= 2024 else None


def hmis_csv_rule(check: str) -> str:
    """The partner rule id for a failed check of these models (see :data:`EXPORT_ROW_RULES`)."""
    if check == _CODE_CHECK:
        return EXPORT_ROW_RULES[_CODE_CHECK]
    kind = check.removeprefix("required-").removeprefix("optional-")
    # Anything else (a column or type check) means the file's layout, not a cell, is wrong.
    return EXPORT_ROW_RULES.get(kind, "EXPORT-CSV-MALFORMED")


HmisCsvProblem = tuple[str, int, str, str]
"""(file, row number counting the header as 1, column, check name): no value."""


def hmis_csv_columns(member: str, year: HmisYear = "FY2026") -> tuple[str, ...]:
    """The columns of ``member`` (e.g. ``"Client.csv"``) in spec order."""
    return tuple(name for name, _, _ in HMIS_CSV_YEARS[year][member])


def _cell_check(kind: Kind, nullable: bool) -> pa.Check:
    pattern = _PATTERN[kind]
    name = f"{'optional' if nullable else 'required'}-{kind}"

    def check(series: pd.Series) -> pd.Series:
        text = series.astype("str")
        shaped = text.str.fullmatch(pattern).fillna(False)
        if kind in "DT":
            parsed = pd.to_datetime(text.where(shaped, ""), format="ISO8601", errors="coerce")
            shaped = shaped & parsed.notna()
        blank = text == ""
        return (blank & nullable) | (~blank & shaped)

    return pa.Check(check, name=name, error=name)


def _code_check(allowed: frozenset[str]) -> pa.Check:
    def check(series: pd.Series) -> pd.Series:
        text = series.astype("str")
        return (text == "") | text.isin(allowed)

    return pa.Check(check, name=_CODE_CHECK, error=_CODE_CHECK)


def _column(name: str, kind: Kind, nullable: bool) -> pa.Column:
    checks = [_cell_check(kind, nullable)]
    if name in _CODE_LISTS:
        checks.append(_code_check(_CODE_LISTS[name]))
    return pa.Column(str, checks=checks, nullable=False)


@cache
def hmis_csv_schema(member: str, year: HmisYear = "FY2026") -> pa.DataFrameSchema:
    """The pandera model of one HMIS CSV file (all-text frame, canonical header)."""
    columns = {spec[0]: _column(*spec) for spec in HMIS_CSV_YEARS[year][member]}
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=member, coerce=False)


@cache
def _partial_schema(member: str, year: HmisYear, present: frozenset[str]) -> pa.DataFrameSchema:
    columns = {
        spec[0]: _column(*spec) for spec in HMIS_CSV_YEARS[year][member] if spec[0] in present
    }
    return pa.DataFrameSchema(columns, strict=False, ordered=False, name=member, coerce=False)


def hmis_csv_problems(
    member: str, frame: pd.DataFrame, *, year: HmisYear = "FY2026", partial: bool = False
) -> list[HmisCsvProblem]:
    """Validate an all-text frame of ``member``; value-free problems, sorted.

    Row labels are spreadsheet row numbers minus 2 (the first data row is label 0), as the
    readers make them. With ``partial`` only the model's columns the frame holds are judged,
    in any order; other columns of the frame are ignored.
    """
    if partial:
        schema = _partial_schema(member, year, frozenset(map(str, frame.columns)))
    else:
        schema = hmis_csv_schema(member, year)
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        cases = errors.failure_cases
        found = {
            (
                member,
                int(index) + 2 if pd.notna(index) else 1,
                str(column),
                str(check),
            )
            for index, column, check in zip(
                cases["index"], cases["column"], cases["check"], strict=True
            )
        }
        return sorted(found)
    return []
