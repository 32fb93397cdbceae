"""The HUD HMIS CSV files we write and read (FY2026): columns in spec order and pandera models.

Five files of the HMIS CSV format (HUD HMIS CSV Format Specifications FY2026): Export,
Client, Enrollment, Assessment (4.19) and Event (4.20). For each column: its name, its
kind (``S`` string, ``I`` integer code, ``D`` date ``yyyy-mm-dd``, ``T`` date and time
``yyyy-mm-dd hh:mm:ss``) and whether it may be blank, in the order the specification lists
them. :func:`hmis_csv_schema` builds the pandera model of one file from that table: every
column present, in order, nothing else (``strict``, ``ordered``), all text, each cell of the
right shape. Failure reports name file, row, column and check, never a value.
"""

from __future__ import annotations

from functools import cache
from typing import Final, Literal

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

__all__ = [
    "CSV_VERSION",
    "HMIS_CSV_FILES",
    "HmisCsvProblem",
    "hmis_csv_columns",
    "hmis_csv_problems",
    "hmis_csv_schema",
]

Kind = Literal["S", "I", "D", "T"]
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

HmisCsvProblem = tuple[str, int, str, str]
"""(file, row number counting the header as 1, column, check name): no value."""


def hmis_csv_columns(member: str) -> tuple[str, ...]:
    """The columns of ``member`` (e.g. ``"Client.csv"``) in spec order."""
    return tuple(name for name, _, _ in HMIS_CSV_FILES[member])


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


@cache
def hmis_csv_schema(member: str) -> pa.DataFrameSchema:
    """The pandera model of one HMIS CSV file (all-text frame, canonical header)."""
    columns = {
        name: pa.Column(str, checks=[_cell_check(kind, nullable)], nullable=False)
        for name, kind, nullable in HMIS_CSV_FILES[member]
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=member, coerce=False)


def hmis_csv_problems(member: str, frame: pd.DataFrame) -> list[HmisCsvProblem]:
    """Validate an all-text frame of ``member``; value-free problems, sorted."""
    try:
        hmis_csv_schema(member).validate(frame, lazy=True)
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
