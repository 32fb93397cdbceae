"""What a partner gets from a package: outputs of `handoff decrypt`, the worklist, the
HMIS CSV set (checked against our models and the public FY2026 column lists) and the
payload as Debian's `age` sees it."""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd

from hmis_handoff.config import load_settings
from hmis_handoff.deadlines import calendar_for
from hmis_handoff.hashing import RecordKeyer
from hmis_handoff.layout import Layout
from hmis_handoff.ledger import Ledger, RecordState
from hmis_handoff.payload import PAYLOAD_LAYOUT
from hmis_handoff.workarea import load_or_create_secret
from hmis_handoff.worklist import read_worklist
from schemas.hmis_csv import HMIS_CSV_FILES, hmis_csv_columns, hmis_csv_problems
from tests.conftest import SHARED, age_binary, run_cli
from tests.partners.conftest import BEFORE_HOLIDAY, Delivered
from usecases.partner_inbox import process_inbox
from usecases.reconcile import reconcile_export

HMIS_FILES = ("Export.csv", "Client.csv", "Enrollment.csv", "Assessment.csv", "Event.csv")
DOCUMENTED_MEMBERS = {
    "README.txt", "package.json", "intake.csv", "worklist.csv", "confirmation-sheet.csv",
    "confirmation-sheet.xlsx", *(f"hmis-csv/{name}" for name in HMIS_FILES),
}  # fmt: skip


def decrypt(d: Delivered, *args: str) -> str:
    return run_cli(
        "decrypt", str(d.package), "-i", str(d.key), "--signer", d.fingerprint, *args
    ).stdout


def test_xlsx_output_keeps_leading_zeros_and_accents_as_text(
    delivered: Delivered, tmp_path: Path
) -> None:
    out = tmp_path / "intakes.xlsx"
    decrypt(delivered, "-o", str(out))
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        table = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()  # read-only workbooks keep the file open until closed
    header, body = table[0], table[1:]
    got = {row[header.index("IntakeID")]: dict(zip(header, row, strict=True)) for row in body}
    for sent in delivered.rows:
        row = got[sent["IntakeID"]]
        for column in ("SSN", "FirstName", "LastName", "IntakeDate", "HouseholdID"):
            assert row[column] == sent[column], column
    assert all(isinstance(v, str) or v is None for row in body for v in row)


def test_csv_output_is_utf8_with_bom(delivered: Delivered, tmp_path: Path) -> None:
    out = tmp_path / "intakes.csv"
    decrypt(delivered, "-o", str(out))
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert {r["SSN"] for r in rows} == {r["SSN"] for r in delivered.rows}
    assert {r["LastName"] for r in rows} == {r["LastName"] for r in delivered.rows}


def test_worklist_has_due_dates_around_the_holiday_sorted_and_printed(
    delivered: Delivered, tmp_path: Path
) -> None:
    settings = load_settings(delivered.root / "handoff.toml")
    calendar = calendar_for(settings)
    assert calendar.holiday_name(date(2026, 7, 3)), "July 3 2026 is the observed holiday"
    target = tmp_path / "worklist.csv"
    printed = decrypt(delivered, "--worklist", str(target))
    rows = read_worklist(target.read_bytes())
    # Thu 07/02 + 3 business days skips Fri 07/03 (observed) and the weekend: Wed 07/08.
    assert [(r.intake_id, r.due_date, r.business_days_left) for r in rows] == [
        ("PT-0002", date(2026, 7, 8), 2),
        ("PT-0001", date(2026, 7, 8), 2),
        ("PT-0003", date(2026, 7, 9), 3),
    ]
    assert [r.head_of_household for r in rows] == [True, False, True]
    assert {r.household_id for r in rows[:2]} == {"HH-77"}
    assert rows[0].intake_date == date.fromisoformat(BEFORE_HOLIDAY)
    # Printed for the partner with US dates; the CoC's zone is named; no PII on screen.
    assert "Wed 07/08/2026" in printed and "America/Chicago" in printed
    assert printed.index("PT-0002") < printed.index("PT-0003")
    for sent in delivered.rows:
        assert sent["SSN"] not in printed and sent["LastName"] not in printed


def test_hmis_csv_set_passes_our_models_and_matches_the_public_column_lists(
    delivered: Delivered, tmp_path: Path
) -> None:
    target = tmp_path / "hmis"
    decrypt(delivered, "--hmis-csv", str(target))
    assert sorted(p.name for p in target.iterdir()) == sorted(HMIS_FILES)
    eva = pd.read_csv(SHARED / "testdata" / "eva-checks" / "columns.csv", dtype=str)
    for name in HMIS_FILES:
        raw = (target / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
        frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
        assert hmis_csv_problems(name, frame) == [], name
        header = list(frame.columns)
        listed = eva[eva["File"] == name.removesuffix(".csv")]
        assert header == list(listed.sort_values("ColumnNo", key=lambda s: s.astype(int))["Column"])
        warehouse = SHARED / "testdata" / "hmis-warehouse" / "source" / name
        with warehouse.open(encoding="utf-8-sig", newline="") as handle:
            reference = next(csv.reader(handle))
        # The importer's fixture lists the same columns (it places MentalHealthConsultation
        # elsewhere in Enrollment; HUD's Eva list gives the spec order we follow).
        assert sorted(header) == sorted(reference), name
        assert header == list(hmis_csv_columns(name))
    client = pd.read_csv(target / "Client.csv", dtype=str, keep_default_na=False)
    enrollment = pd.read_csv(target / "Enrollment.csv", dtype=str, keep_default_na=False)
    assert set(client["SSN"]) == {r["SSN"] for r in delivered.rows}
    assert len(set(enrollment["HouseholdID"])) == 2
    assert sorted(enrollment["RelationshipToHoH"]) == ["1", "1", "2"]
    export = pd.read_csv(target / "Export.csv", dtype=str, keep_default_na=False)
    assert export.loc[0, "HashStatus"] == "1" and export.loc[0, "CSVVersion"] == "2026 v1"
    assert export.loc[0, "SourceID"] == "demo-agency"
    assert len(pd.read_csv(target / "Assessment.csv", dtype=str)) == 2
    assert len(pd.read_csv(target / "Event.csv", dtype=str)) == 3


def test_hmis_csv_ids_are_stable_across_packages(delivered: Delivered, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    decrypt(delivered, "--hmis-csv", str(first))
    decrypt(delivered, "--hmis-csv", str(second))
    for name in ("Client.csv", "Enrollment.csv"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    ids = pd.read_csv(first / "Client.csv", dtype=str)["PersonalID"]
    assert ids.str.fullmatch(r"P[0-9a-f]{20}").all()
    assert not any(r["IntakeID"] in "".join(ids) for r in delivered.rows)


def test_our_model_refuses_a_broken_file() -> None:
    frame = pd.DataFrame([{c: "" for c in hmis_csv_columns("Client.csv")}])
    frame.loc[0, "DOB"] = "05/17/1980"
    problems = hmis_csv_problems("Client.csv", frame)
    assert ("Client.csv", 2, "DOB", "optional-D") in problems
    assert ("Client.csv", 2, "PersonalID", "required-S") in problems
    assert not [p for p in problems if p[2] == "MiddleName"]  # may be blank
    reordered = frame[list(reversed(frame.columns))]
    assert hmis_csv_problems("Client.csv", reordered)
    assert set(HMIS_CSV_FILES) == set(HMIS_FILES)


def test_age_d_yields_the_documented_payload(delivered: Delivered) -> None:
    age = age_binary()
    assert age, "Debian's age must be installed (make system-deps)"
    plain = subprocess.run(
        [age, "-d", "-i", str(delivered.key), str(delivered.package)],
        capture_output=True,
        check=True,
    ).stdout
    manifest = delivered.package.parent / f"{delivered.outcome.package_id}.manifest.json"
    assert f'"payload": "{PAYLOAD_LAYOUT}"' in manifest.read_text()
    assert '"format": "hmis-handoff-package/2"' in manifest.read_text()
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        assert set(archive.namelist()) == DOCUMENTED_MEMBERS
        intake = archive.read("intake.csv").decode("utf-8-sig")
        sheet = archive.read("confirmation-sheet.csv").decode("utf-8-sig")
    assert {r["IntakeID"] for r in csv.DictReader(io.StringIO(intake))} == {
        r["IntakeID"] for r in delivered.rows
    }
    assert [r["IntakeID"] for r in csv.DictReader(io.StringIO(sheet))] == [
        "PT-0002", "PT-0001", "PT-0003",
    ]  # fmt: skip


def test_hmis_export_of_what_was_imported_reconciles_to_the_same_records(
    delivered: Delivered, tmp_path: Path
) -> None:
    """Round trip: import the set, export it again (HMIS stamps DateCreated), reconcile."""
    target = tmp_path / "hmis"
    decrypt(delivered, "--hmis-csv", str(target))
    exported = tmp_path / "export.zip"
    with zipfile.ZipFile(exported, "w") as archive:
        for name in HMIS_FILES:
            frame = pd.read_csv(target / name, dtype=str, keep_default_na=False)
            if "DateCreated" in frame:
                frame["DateCreated"] = "2026-07-07 09:30:00"  # entered the next day
            archive.writestr(name, frame.to_csv(index=False, lineterminator="\r\n"))
    settings = load_settings(delivered.root / "handoff.toml")
    ledger = Ledger(settings.ledger_url)
    try:
        keyer = RecordKeyer(load_or_create_secret(Layout(delivered.root).hmac_key))
        result = reconcile_export(
            exported, partner_id="demo-partner", ledger=ledger, keyer=keyer,
            today=date(2026, 7, 7),
        )  # fmt: skip
        entered = {r.intake_id: r for r in ledger.records() if r.state == RecordState.ENTERED}
    finally:
        ledger.close()
    assert sorted(entered) == sorted(r["IntakeID"] for r in delivered.rows)
    assert {r.entered_on for r in entered.values()} == {date(2026, 7, 7)}
    assert result.newly_entered()
    # Every row went through our HMIS CSV models (FY2026, as the set's CSVVersion says).
    assert result.summary.csv_version == "FY2026"
    assert result.row_problems == () and result.summary.rows_invalid == 0


def test_a_malformed_client_row_of_the_round_trip_is_reported_and_the_rest_reconciles(
    delivered: Delivered, tmp_path: Path
) -> None:
    """As above, through the partner's inbox; Excel rewrote one DOB and one SSN quality code
    was mistyped: those clients' rows get rule ids in the report, the third is entered."""
    target = tmp_path / "hmis"
    decrypt(delivered, "--hmis-csv", str(target))
    client = pd.read_csv(target / "Client.csv", dtype=str, keep_default_na=False)
    by_ssn = {r["SSN"]: r["IntakeID"] for r in delivered.rows}
    broken = {"DOB": client.index[0], "SSNDataQuality": client.index[1]}
    client.loc[broken["DOB"], "DOB"] = "4/3/2015"
    client.loc[broken["SSNDataQuality"], "SSNDataQuality"] = "x"
    left_out = {by_ssn[client.loc[i, "SSN"]] for i in broken.values()}
    inbox = delivered.root / "partners" / "demo-partner" / "confirmations"
    with zipfile.ZipFile(inbox / "hmis-export.zip", "w") as archive:
        for name in HMIS_FILES:
            frame = (
                client
                if name == "Client.csv"
                else pd.read_csv(target / name, dtype=str, keep_default_na=False)
            )
            if "DateCreated" in frame:
                frame["DateCreated"] = "2026-07-07 09:30:00"
            archive.writestr(name, frame.to_csv(index=False, lineterminator="\r\n"))
    settings = load_settings(delivered.root / "handoff.toml")
    ledger = Ledger(settings.ledger_url)
    try:
        now = datetime(2026, 7, 7, 12, 0, tzinfo=settings.tz)
        outcome = process_inbox(settings, "demo-partner", ledger=ledger, now=now, settle_seconds=0)
        entered = {r.intake_id for r in ledger.records() if r.state == RecordState.ENTERED}
    finally:
        ledger.close()
    assert entered == {r["IntakeID"] for r in delivered.rows} - left_out
    assert outcome.items[0].counts["export_row_problems"] == 2
    (report,) = (inbox / "reports").glob("*-reconcile-report.csv")
    text = report.read_text(encoding="utf-8-sig")
    listed = [
        (r["file"], r["row"], r["column"], r["rule_id"])
        for r in csv.DictReader(io.StringIO(text))
        if r["file"]
    ]
    assert listed == [
        ("Client.csv", str(broken["DOB"] + 2), "DOB", "EXPORT-ROW-DATE"),
        ("Client.csv", str(broken["SSNDataQuality"] + 2), "SSNDataQuality", "EXPORT-ROW-CODE"),
    ]
    for sent in delivered.rows:
        for column in ("SSN", "LastName", "FirstName", "DOB"):
            assert sent[column] not in text
    assert "4/3/2015" not in text
