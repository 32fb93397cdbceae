"""Rows of an HMIS export are validated with our pandera models of the HMIS CSV files.

A row our model refuses is left out and reported (file, row, column, rule id, never the
value); the other rows still reconcile. FY2024 and FY2026 are told apart by CSVVersion.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from hmis_handoff.config import Settings
from hmis_handoff.layout import Layout
from hmis_handoff.ledger import Ledger
from schemas.hmis_csv import (
    EXPORT_ROW_RULES,
    hmis_csv_columns,
    hmis_csv_problems,
    hmis_csv_rule,
    hmis_csv_year,
)
from schemas.partner_rules import PARTNER_RULES
from tests.reconcile.support import (
    PARTNER,
    PEOPLE,
    XIA,
    YAN,
    ZED,
    Export,
    Person,
    deliver,
    make_root,
)
from usecases.match_keys import keyer_for
from usecases.partner_inbox import process_inbox
from usecases.reconcile import (
    MAX_LISTED_ROW_PROBLEMS,
    ExportRowProblem,
    ReconcileResult,
    reconcile_export,
)

INTAKE = date(2026, 3, 2)
TODAY = date(2026, 3, 20)
BAD_DOB = "05/17/1980"  # what Excel makes of a DOB: a marker that must never be reported


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[tuple[Settings, Ledger]]:
    settings = make_root(tmp_path)
    ledger = Ledger(settings.ledger_url)
    deliver(settings, ledger, [("I-1", ZED, INTAKE), ("I-2", YAN, INTAKE), ("I-3", XIA, INTAKE)])
    yield settings, ledger
    ledger.close()


def _run(settings: Settings, ledger: Ledger, export: Path) -> ReconcileResult:
    return reconcile_export(
        export, partner_id=PARTNER, ledger=ledger, keyer=keyer_for(settings), today=TODAY
    )


def _three_clients(fy: str = "FY2026") -> Export:
    export = Export(fy=fy)
    for number, person in enumerate(PEOPLE, start=1):
        export.client(f"P{number}", person)
        export.enrollment(f"P{number}", "2026-03-02", "2026-03-04 10:00:00")
    return export


@pytest.mark.parametrize("fy", ["FY2024", "FY2026"])
def test_a_malformed_client_row_is_reported_and_the_others_reconcile(
    env: tuple[Settings, Ledger], tmp_path: Path, fy: str
) -> None:
    settings, ledger = env
    export = _three_clients(fy)
    export.clients[0]["DOB"] = BAD_DOB  # row 2 of Client.csv
    export.clients[1]["SSNDataQuality"] = "7"  # row 3: not on the HUD list
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert result.summary.csv_version == fy
    assert result.row_problems == (
        ExportRowProblem("Client.csv", 2, "DOB", "EXPORT-ROW-DATE"),
        ExportRowProblem("Client.csv", 3, "SSNDataQuality", "EXPORT-ROW-CODE"),
    )
    assert result.row_problem_counts == {"EXPORT-ROW-DATE": 1, "EXPORT-ROW-CODE": 1}
    assert result.summary.rows_invalid == 2
    assert [(o.intake_id, o.personal_id) for o in result.matched] == [("I-3", "P3")]
    assert {o.intake_id: o.rule_id for o in result.problems} == {
        "I-1": "RECON-NOT-FOUND",
        "I-2": "RECON-NOT-FOUND",
    }


def test_evidence_rows_are_validated_too(env: tuple[Settings, Ledger], tmp_path: Path) -> None:
    settings, ledger = env
    export = _three_clients()
    export.enrollments[0]["DateCreated"] = "3/4/2026 10:00"  # Excel's rewrite
    export.assessment("P1", "2026-03-02", "2026-03-05 09:00:00")  # still evidence for P1
    export.enrollments[1]["EntryDate"] = "2026-02-30"  # no such day
    export.enrollments[2]["PersonalID"] = ""
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert result.row_problems == (
        ExportRowProblem("Enrollment.csv", 2, "DateCreated", "EXPORT-ROW-DATETIME"),
        ExportRowProblem("Enrollment.csv", 3, "EntryDate", "EXPORT-ROW-DATE"),
        ExportRowProblem("Enrollment.csv", 4, "PersonalID", "EXPORT-ROW-TEXT"),
    )
    assert [(o.intake_id, o.entered_on) for o in result.matched] == [("I-1", date(2026, 3, 5))]


def test_a_row_with_the_wrong_number_of_fields_is_reported(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    folder = _three_clients().write_folder(tmp_path / "x")
    client = folder / "Client.csv"
    lines = client.read_bytes().split(b"\r\n")
    lines[3] = lines[3] + b',"extra"'  # row 4: P3
    client.write_bytes(b"\r\n".join(lines))
    result = _run(settings, ledger, folder)
    assert result.row_problems == (ExportRowProblem("Client.csv", 4, "", "EXPORT-ROW-FIELDS"),)
    assert result.summary.rows_skipped == 1
    assert sorted(o.intake_id for o in result.matched) == ["I-1", "I-2"]


def test_export_row_problems_reach_the_partner_report_without_values(
    env: tuple[Settings, Ledger],
) -> None:
    settings, ledger = env
    export = _three_clients()
    export.clients[0]["DOB"] = BAD_DOB
    inbox = Layout(settings.root).partner_confirmations(PARTNER)
    export.write_zip(inbox / "export.zip")
    now = datetime(2026, 3, 20, 9, 0, tzinfo=settings.tz)
    outcome = process_inbox(settings, PARTNER, ledger=ledger, now=now, settle_seconds=0)
    (item,) = outcome.items
    assert item.counts["export_row_problems"] == 1
    assert outcome.newly_entered() == {"demo-agency": ["I-2", "I-3"]}
    (path,) = (inbox / "reports").glob("*-reconcile-report.csv")
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert "EXPORT-ROW-DATE 1" in rows[0]["guidance"]
    listed = [(r["file"], r["row"], r["column"], r["rule_id"], r["intake_id"]) for r in rows[1:]]
    assert listed == [
        ("", "", "", "RECON-NOT-FOUND", "I-1"),
        ("Client.csv", "2", "DOB", "EXPORT-ROW-DATE", ""),
    ]
    assert rows[2]["guidance"] == PARTNER_RULES["EXPORT-ROW-DATE"]
    for marker in (BAD_DOB, *(m for p in PEOPLE for m in p.markers)):
        assert marker not in text


def test_listing_is_capped_and_counting_is_not(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    export = _three_clients()
    extra = MAX_LISTED_ROW_PROBLEMS + 5
    for number in range(extra):
        export.client(f"Q{number}", Person("Someone", "Else", "1980-01-01", ""))
        export.clients[-1]["DOBDataQuality"] = ""
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert len(result.row_problems) == MAX_LISTED_ROW_PROBLEMS
    assert result.row_problem_counts == {"EXPORT-ROW-CODE": extra}
    assert sorted(o.intake_id for o in result.matched) == ["I-1", "I-2", "I-3"]


def test_every_row_rule_has_partner_guidance() -> None:
    for rule_id in {*EXPORT_ROW_RULES.values(), "EXPORT-ROW-FIELDS"}:
        assert rule_id in PARTNER_RULES, rule_id
    assert hmis_csv_rule("required-T") == "EXPORT-ROW-DATETIME"
    assert hmis_csv_rule("optional-S") == "EXPORT-ROW-TEXT"
    assert hmis_csv_rule("code-list") == "EXPORT-ROW-CODE"


@pytest.mark.parametrize(
    ("version", "year"),
    [
        ("2026 v1", "FY2026"),
        ("2026 v1.0", "FY2026"),
        ("2024 v1.3", "FY2024"),
        ("2022 v1.2", None),
        ("", None),
        ("v2026", None),
    ],
)
def test_csv_version_names_the_model_year(version: str, year: str | None) -> None:
    assert hmis_csv_year(version) == year


# The FY2024 headers of HUD's HMIS CSV specification as an HMIS importer's FY2024 fixtures
# carry them (greenriver/hmis-warehouse, twenty_twenty_four/bad_data/source).
FY2024_CLIENT = (
    "PersonalID,FirstName,MiddleName,LastName,NameSuffix,NameDataQuality,SSN,SSNDataQuality,"
    "DOB,DOBDataQuality,AmIndAKNative,Asian,BlackAfAmerican,HispanicLatinaeo,MidEastNAfrican,"
    "NativeHIPacific,White,RaceNone,AdditionalRaceEthnicity,Woman,Man,NonBinary,"
    "CulturallySpecific,Transgender,Questioning,DifferentIdentity,GenderNone,"
    "DifferentIdentityText,VeteranStatus,YearEnteredService,YearSeparated,WorldWarII,KoreanWar,"
    "VietnamWar,DesertStorm,AfghanistanOEF,IraqOIF,IraqOND,OtherTheater,MilitaryBranch,"
    "DischargeStatus,DateCreated,DateUpdated,UserID,DateDeleted,ExportID"
)
FY2024_ENROLLMENT = (
    "EnrollmentID,PersonalID,ProjectID,EntryDate,HouseholdID,RelationshipToHoH,EnrollmentCoC,"
    "LivingSituation,RentalSubsidyType,LengthOfStay,LOSUnderThreshold,PreviousStreetESSH,"
    "DateToStreetESSH,TimesHomelessPastThreeYears,MonthsHomelessPastThreeYears,"
    "DisablingCondition,DateOfEngagement,MoveInDate,DateOfPATHStatus,ClientEnrolledInPATH,"
    "ReasonNotEnrolled,PercentAMI,ReferralSource,CountOutreachReferralApproaches,"
    "DateOfBCPStatus,EligibleForRHY,ReasonNoServices,RunawayYouth,SexualOrientation,"
    "SexualOrientationOther,FormerWardChildWelfare,ChildWelfareYears,ChildWelfareMonths,"
    "FormerWardJuvenileJustice,JuvenileJusticeYears,JuvenileJusticeMonths,UnemploymentFam,"
    "MentalHealthDisorderFam,PhysicalDisabilityFam,AlcoholDrugUseDisorderFam,"
    "InsufficientIncome,IncarceratedParent,VAMCStation,TargetScreenReqd,TimeToHousingLoss,"
    "AnnualPercentAMI,LiteralHomelessHistory,ClientLeaseholder,HOHLeaseholder,SubsidyAtRisk,"
    "EvictionHistory,CriminalRecord,IncarceratedAdult,PrisonDischarge,SexOffender,DisabledHoH,"
    "CurrentPregnant,SingleParent,DependentUnder6,HH5Plus,CoCPrioritized,HPScreeningScore,"
    "ThresholdScore,TranslationNeeded,PreferredLanguage,PreferredLanguageDifferent,"
    "DateCreated,DateUpdated,UserID,DateDeleted,ExportID"
)


def test_fy2024_models_have_the_fy2024_columns_and_judge_full_files() -> None:
    assert ",".join(hmis_csv_columns("Client.csv", "FY2024")) == FY2024_CLIENT
    assert ",".join(hmis_csv_columns("Enrollment.csv", "FY2024")) == FY2024_ENROLLMENT
    for member in ("Export.csv", "Assessment.csv", "Event.csv"):
        assert hmis_csv_columns(member, "FY2024") == hmis_csv_columns(member, "FY2026")
    row = dict.fromkeys(hmis_csv_columns("Client.csv", "FY2024"), "0")
    row |= {
        "PersonalID": "P1", "NameDataQuality": "99", "SSNDataQuality": "99", "DOB": "",
        "DOBDataQuality": "99", "AdditionalRaceEthnicity": "", "DifferentIdentityText": "",
        "GenderNone": "", "RaceNone": "", "DateCreated": "2024-01-02 03:04:05",
        "DateUpdated": "2024-01-02 03:04:05", "UserID": "u1", "DateDeleted": "",
        "ExportID": "X1",
    }  # fmt: skip
    frame = pd.DataFrame([row], dtype=object)
    assert hmis_csv_problems("Client.csv", frame, year="FY2024") == []
    assert hmis_csv_problems("Client.csv", frame)  # not an FY2026 Client.csv
