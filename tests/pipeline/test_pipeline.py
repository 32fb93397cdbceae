"""The handoff of one file through the core pipeline (no Prefect): real files, real SQLite.

Each test drops files into a fresh demo data root, claims them with the real scanner and
runs :meth:`Handoff.process_claim`; the ingest flow adds only orchestration on top.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim
from hmis_handoff.config import load_settings
from hmis_handoff.crypto.age import decrypt_file, parse_identities_file
from hmis_handoff.ledger import FileState, RecordState
from schemas.columns import column_names
from tests.packages import intake_text
from tests.synthetic import TODAY, make_valid_row, write_sample_csv
from usecases.handoff import FileOutcome, Handoff
from usecases.initialise import initialise


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def make_pipeline(root: Path, **env: str) -> Handoff:
    for key, value in env.items():
        os.environ[key] = value
    try:
        settings = load_settings(root / "handoff.toml")
    finally:
        for key in env:
            os.environ.pop(key, None)
    # The synthetic rows are valid as of TODAY (March 2026); validate as of that day.
    return Handoff(settings, clock=lambda: datetime(2026, 3, 9, 15, 0, tzinfo=UTC))


def drop_rows(root: Path, rows: list[dict[str, str]], name: str = "intake.csv") -> Path:
    path = root / "agencies" / "demo-agency" / "drop" / name
    write_sample_csv(path, rows)
    return path


def run_all(pipe: Handoff) -> tuple[list[FileOutcome], list[str]]:
    scanner = DropFolderScanner(
        pipe.layout.agencies, ["demo-agency"], SettlePolicy(stable_seconds=0.05)
    )
    outcomes: list[FileOutcome] = []
    refusals: list[str] = []
    for _ in range(40):
        result = scanner.scan()
        for refusal in result.refused:
            pipe.answer_refusal(refusal)
            refusals.append(refusal.reason_rule_id)
        for candidate in result.settled:
            claimed = claim(candidate, pipe.layout.work)
            if claimed is not None:
                outcome = pipe.process_claim(claimed)
                assert outcome is not None
                outcomes.append(outcome)
        if not result.pending and not result.settled:
            break
        time.sleep(0.06)
    return outcomes, refusals


def partner_key(root: Path) -> list[object]:
    return list(parse_identities_file(root / "demo-keys" / "demo-partner.key"))


def rows(n: int, marker: str) -> list[dict[str, str]]:
    return [
        make_valid_row(
            IntakeID=f"T{i:05d}",
            HouseholdID=f"HH{i:05d}",
            SSN=f"701{i:02d}{1000 + i:04d}",
            CollectedByUser=f"{marker}{i}",
        )
        for i in range(1, n + 1)
    ]


def test_valid_rows_are_delivered_and_invalid_ones_reported(root: Path) -> None:
    pipe = make_pipeline(root)
    data = rows(3, "CNRY")
    data[1]["SSN"] = "123456789"  # a sequential run: never issued
    data[2]["DOBDataQuality"] = ""
    drop_rows(root, data)
    (outcome,), _ = run_all(pipe)
    assert outcome.state == FileState.DELIVERED
    assert (outcome.rows_sent, outcome.rows_held) == (1, 2)
    package = root / "partners" / "demo-partner" / "outbox" / f"{outcome.package_id}.age"
    out = root.parent / "plain.csv"
    decrypt_file(package, out, partner_key(root))  # type: ignore[arg-type]
    assert "T00001" in intake_text(out)
    assert "T00002" not in intake_text(out)


def test_victim_service_provider_rows_are_never_sent(root: Path) -> None:
    toml = root / "handoff.toml"
    toml.write_text(
        toml.read_text().replace(
            "victim_service_provider = false", "victim_service_provider = true"
        )
    )
    pipe = make_pipeline(root)
    drop_rows(root, rows(2, "VSP"))
    (outcome,), _ = run_all(pipe)
    # Nothing left the agency, so the file is not "delivered" (issue 13).
    assert outcome.state == FileState.NOT_SENT
    assert (outcome.rows_sent, outcome.rows_not_transmittable) == (0, 2)
    assert outcome.package_id is None
    assert not list((root / "partners" / "demo-partner" / "outbox").iterdir())
    assert {r.state for r in pipe.ledger.records()} == {RecordState.NOT_TRANSMITTABLE}
    assert {r.reason_rule for r in pipe.ledger.records()} == {"VSP-NO-PII"}


def test_reject_file_policy_turns_back_a_file_with_any_error(root: Path) -> None:
    pipe = make_pipeline(root, HANDOFF_INTAKE__ERROR_POLICY="reject_file")
    data = rows(2, "POL")
    data[0]["VeteranStatus"] = "7"
    drop_rows(root, data)
    (outcome,), _ = run_all(pipe)
    assert outcome.state == FileState.REJECTED and outcome.reject_rule == "FILE-HAS-ERRORS"
    quarantined = list((root / "quarantine").glob("*.age"))
    assert len(quarantined) == 1


def test_a_file_for_another_agency_is_quarantined_not_delivered(root: Path) -> None:
    pipe = make_pipeline(root)
    data = [dict(r, SubmittingAgencyID="other-agency") for r in rows(2, "WRONG")]
    drop_rows(root, data)
    (outcome,), _ = run_all(pipe)
    assert outcome.state == FileState.REJECTED and outcome.reject_rule == "FILE-WRONG-AGENCY"
    assert not list((root / "partners" / "demo-partner" / "outbox").iterdir())


def test_unreadable_structure_is_rejected_with_the_readers_rule(root: Path) -> None:
    pipe = make_pipeline(root)
    (root / "agencies" / "demo-agency" / "drop" / "empty.csv").write_bytes(b"")
    (outcome,), _ = run_all(pipe)
    assert outcome.state == FileState.REJECTED and outcome.reject_rule == "FILE-EMPTY"
    report = next((root / "agencies" / "demo-agency" / "reports").glob("*.html"))
    assert "FILE-EMPTY" in report.read_text(encoding="utf-8")


def test_xlsx_intake_is_delivered(root: Path) -> None:
    pipe = make_pipeline(root)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    columns = list(column_names("FY2026"))
    sheet.append(columns)
    for row in rows(2, "XL"):
        sheet.append([row.get(c, "") for c in columns])
    for column_cells in sheet.iter_cols():
        for cell in column_cells:
            cell.number_format = "@"
    workbook.save(root / "agencies" / "demo-agency" / "drop" / "intake.xlsx")
    (outcome,), _ = run_all(pipe)
    assert outcome.state == FileState.DELIVERED and outcome.rows_sent == 2


def test_same_name_new_content_is_a_new_submission(root: Path) -> None:
    pipe = make_pipeline(root)
    drop_rows(root, rows(1, "FIRST"))
    first, _ = run_all(pipe)
    second_rows = [make_valid_row(IntakeID="T09999", HouseholdID="HH9", SSN="700099999")]
    drop_rows(root, second_rows)
    second, _ = run_all(pipe)
    assert [o.state for o in first + second] == ["delivered", "delivered"]
    assert len(list((root / "partners" / "demo-partner" / "outbox").glob("*.age"))) == 2


def test_an_intake_id_already_sent_is_held_back(root: Path) -> None:
    pipe = make_pipeline(root)
    drop_rows(root, rows(1, "ONCE"))
    run_all(pipe)
    again = rows(1, "TWICE")  # same IntakeID, different bytes
    drop_rows(root, again)
    (outcome,), _ = run_all(pipe)
    assert outcome.rows_sent == 0 and outcome.state == FileState.REJECTED


def test_hostile_objects_are_quarantined_unread_and_answered(root: Path) -> None:
    pipe = make_pipeline(root)
    drop = root / "agencies" / "demo-agency" / "drop"
    secret = root.parent / f"secret-{uuid.uuid4().hex}.csv"
    secret.write_text("not for us")
    os.symlink(secret, drop / "link.csv")
    os.mkfifo(drop / "pipe.csv")
    drop_rows(root, rows(1, "OK"))
    outcomes, refusals = run_all(pipe)
    assert [o.state for o in outcomes] == ["delivered"]
    assert sorted(refusals) == ["FILE-NOT-REGULAR", "FILE-NOT-REGULAR"]
    assert not list(drop.iterdir())
    assert secret.read_text() == "not for us"
    reports = list((root / "agencies" / "demo-agency" / "reports").glob("*_rejected.html"))
    assert sum("FILE-NOT-REGULAR" in p.read_text(encoding="utf-8") for p in reports) == 2


def test_no_plaintext_client_data_remains_outside_the_drop_folders(root: Path) -> None:
    pipe = make_pipeline(root)
    marker = f"CNRY{uuid.uuid4().hex[:8]}"
    data = rows(3, marker)
    data[2]["SSN"] = "000000000"
    drop_rows(root, data)
    drop_rows(
        root, [dict(r, SubmittingAgencyID="someone-else") for r in rows(1, marker)], "other.csv"
    )
    run_all(pipe)
    for path in root.rglob("*"):
        if path.is_file() and "samples" not in path.parts:
            assert marker.encode() not in path.read_bytes(), path.relative_to(root)


def test_chunked_handoff_matches_the_whole_file_verdict(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Households and duplicates that straddle chunk boundaries get the same verdict."""
    import usecases.handoff as pipeline_module
    from schemas.validate import ValidationContext, validate_intake
    from tests.synthetic import make_valid_frame

    frame = make_valid_frame(30, household_size=3)
    frame.loc[4, "RelationshipToHoH"] = "1"  # a second head in one household
    frame.loc[11, "SSN"] = "000000000"
    frame.loc[20, "ROIConsent"] = "0"
    frame.loc[20, "ROISignedDate"] = ""
    path = root / "agencies" / "demo-agency" / "drop" / "big.csv"
    write_sample_csv(path, frame.to_dict("records"))  # type: ignore[arg-type]
    whole = validate_intake(frame, ValidationContext(agency_id="demo-agency", today=TODAY))

    monkeypatch.setattr(pipeline_module, "CHUNK_ROWS", 7)
    pipe = make_pipeline(root)
    (outcome,), _ = run_all(pipe)
    assert outcome.rows_total == len(frame)
    assert outcome.rows_sent == int(whole.sendable.sum())
    assert outcome.rows_not_transmittable == len(whole.not_transmittable)
    records = pipe.ledger.records()
    delivered = {r.row_number for r in records if r.state == RecordState.DELIVERED}
    expected = {int(i) + 2 for i in frame.index[whole.sendable.to_numpy()]}
    assert delivered == expected


def test_recovery_finishes_a_refusal_a_crash_left_in_plaintext(root: Path) -> None:
    from connectors.dropfolder import quarantine_refusal

    pipe = make_pipeline(root)
    drop = root / "agencies" / "demo-agency" / "drop"
    marker = f"CNRY{uuid.uuid4().hex[:8]}"
    (drop / "old.xls").write_text(f"legacy workbook {marker}")
    scanner = DropFolderScanner(pipe.layout.agencies, ["demo-agency"], SettlePolicy(0.05))
    refusals = []
    for _ in range(20):
        refusals = scanner.scan().refused
        if refusals:
            break
        time.sleep(0.06)
    assert [r.reason_rule_id for r in refusals] == ["FILE-BAD-TYPE"]
    moved = quarantine_refusal(refusals[0], pipe.layout.quarantine)  # then "crash"
    assert moved is not None and marker in moved.read_text()
    pipe.recover()
    assert not moved.exists()
    assert moved.with_name(moved.name + ".age").exists()
    reports = list((root / "agencies" / "demo-agency" / "reports").glob("*.html"))
    assert any("FILE-BAD-TYPE" in p.read_text(encoding="utf-8") for p in reports)
    for path in root.rglob("*"):
        if path.is_file():
            assert marker.encode() not in path.read_bytes()
