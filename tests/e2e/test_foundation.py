"""Issue 2's acceptance path, through the real command line and a real Prefect server.

init --demo, drop the sample, `handoff process`, decrypt with Debian's `age`, check the
ledger, the report and the deadlines; then drop the same bytes again.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hmis_handoff.business_days import BusinessCalendar
from tests.conftest import age_binary, api_port, run_cli
from tests.packages import intake_text
from tests.server_runs import flow_runs, task_run_names

VALID_IDS = ["DEMO-0001", "DEMO-0002", "DEMO-0003", "DEMO-0004"]


@pytest.fixture()
def demo(tmp_path: Path, prefect_api: str) -> Path:
    root = tmp_path / "x"
    run_cli("init", str(root), "--demo", "--port", str(api_port(prefect_api)))
    return root


def _drop(root: Path, name: str = "demo-intake.csv") -> Path:
    target = root / "agencies" / "demo-agency" / "drop" / name
    shutil.copyfile(root / "samples" / "demo-intake.csv", target)
    return target


def _sample_rows(root: Path) -> dict[str, dict[str, str]]:
    with (root / "samples" / "demo-intake.csv").open(encoding="utf-8", newline="") as handle:
        return {row["IntakeID"]: row for row in csv.DictReader(handle)}


@pytest.mark.server
def test_sample_becomes_one_package_a_report_and_tracked_records(
    demo: Path, prefect_api: str
) -> None:
    config = str(demo / "handoff.toml")
    _drop(demo)
    started = datetime.now(UTC) - timedelta(seconds=1)
    result = run_cli("process", "--config", config, "--json")
    summary = json.loads(result.stdout)
    assert summary["by_state"] == {"delivered": 1}

    # The run is on the server under test (not on a temporary fallback server): exactly one
    # completed ingest run since we started, which handed off one file.
    runs = flow_runs(prefect_api, "ingest", since=started)
    assert [r["state_type"] for r in runs] == ["COMPLETED"], runs
    # Task runs are named as steps (issue 15): "hand off <agency> claim <id>".
    names = task_run_names(prefect_api, runs[0]["id"])
    assert any(name.startswith("hand off demo-agency claim ") for name in names), names

    outbox = demo / "partners" / "demo-partner" / "outbox"
    packages = sorted(outbox.glob("*.age"))
    assert len(packages) == 1
    assert not list((demo / "agencies" / "demo-agency" / "drop").iterdir())
    assert not [p for p in (demo / "work").iterdir()]

    # The partner decrypts with the standard tool nobody on our team wrote.
    age = age_binary()
    assert age, "Debian's age must be installed (make test installs it)"
    plain = subprocess.run(
        [age, "-d", "-i", str(demo / "demo-keys" / "demo-partner.key"), str(packages[0])],
        capture_output=True,
        check=True,
    ).stdout
    delivered = list(csv.DictReader(io.StringIO(intake_text(plain))))
    sample = _sample_rows(demo)
    assert [row["IntakeID"] for row in delivered] == VALID_IDS
    for row in delivered:  # byte-exact, including Zoë / Ægir / José O’Examplez
        assert row == {k: sample[row["IntakeID"]][k] for k in row}

    # The agency's report names rows, columns and rules, never a value.
    reports = list((demo / "agencies" / "demo-agency" / "reports").iterdir())
    assert reports
    report_text = "\n".join(p.read_text(encoding="utf-8") for p in reports)
    assert "SSN" in report_text and "DOBDataQuality" in report_text
    for row in sample.values():
        for column in ("FirstName", "LastName", "SSN", "DOB"):
            if row[column]:
                assert row[column] not in report_text

    # The ledger knows each record; deadlines carry the right due dates.
    intake_date = date.fromisoformat(sample["DEMO-0001"]["IntakeDate"])
    as_of = intake_date.isoformat()
    rows = json.loads(run_cli("deadlines", "--config", config, "--as-of", as_of, "--json").stdout)
    by_id = {row["intake_id"]: row for row in rows}
    assert set(by_id) == {*VALID_IDS, "DEMO-0007"}
    expected_due = BusinessCalendar().add_business_days(intake_date, 3).isoformat()
    for intake_id in VALID_IDS:
        assert by_id[intake_id]["due"] == expected_due
        assert by_id[intake_id]["state"] == "pending"
        assert by_id[intake_id]["agency"] == "demo-agency"
        assert by_id[intake_id]["partner"] == "demo-partner"
    assert by_id["DEMO-0007"]["state"] == "not_transmittable"
    late = json.loads(
        run_cli("deadlines", "--config", config, "--as-of", "2099-01-05", "--json").stdout
    )
    assert {r["state"] for r in late if r["intake_id"] in VALID_IDS} == {"overdue"}

    # Same bytes again, under another name: answered as a duplicate, delivered once.
    _drop(demo, "again.csv")
    again = json.loads(run_cli("process", "--config", config, "--json").stdout)
    assert again["by_state"] == {"duplicate": 1}
    assert len(flow_runs(prefect_api, "ingest", since=started)) == 2, "both runs on this server"
    assert len(list(outbox.glob("*.age"))) == 1
    status = json.loads(run_cli("status", "--config", config, "--json").stdout)
    file_states = {row["state"]: row["count"] for row in status["files"]}
    assert file_states == {"delivered": 1, "duplicate": 1}
