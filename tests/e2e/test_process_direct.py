"""``handoff process`` with no Prefect server running: the ingest steps run directly, in
seconds, with no temporary server (issue 12). The partner decrypts with Debian's ``age``."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.conftest import age_binary, run_cli
from tests.packages import intake_text
from tests.stack.prefect_server import free_port

VALID_IDS = ["DEMO-0001", "DEMO-0002", "DEMO-0003", "DEMO-0004"]


def _env() -> dict[str, str]:
    """No Prefect API anywhere: nothing inherited, and the config's port answers nobody."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["HANDOFF_PREFECT__PORT"] = str(free_port())
    return env


def test_process_without_a_server_hands_off_in_seconds(tmp_path: Path) -> None:
    root = tmp_path / "x"
    run_cli("init", str(root), "--demo")
    config = str(root / "handoff.toml")
    drop = root / "agencies" / "demo-agency" / "drop"
    shutil.copyfile(root / "samples" / "demo-intake.csv", drop / "demo-intake.csv")
    time.sleep(2.1)  # older than the settle window: claimed on first sight, no second look

    # How long it takes is bench material (README figures); here: that no server ran.
    result = run_cli("process", "--config", config, "--json", env=_env())
    summary = json.loads(result.stdout)
    assert summary["by_state"] == {"delivered": 1}
    assert summary["claims_failed"] == 0
    assert "temporary server" not in result.stderr
    # No Prefect server ever ran for this data root: it would have created its database.
    assert not list((root / "state").rglob("prefect.db"))

    outbox = root / "partners" / "demo-partner" / "outbox"
    [package] = sorted(outbox.glob("*.age"))
    assert (outbox / f"{package.name[: -len('.age')]}.manifest.json.sig").exists()
    assert not list(drop.iterdir()) and not list((root / "work").iterdir())
    age = age_binary()
    assert age, "Debian's age must be installed (make test installs it)"
    plain = subprocess.run(
        [age, "-d", "-i", str(root / "demo-keys" / "demo-partner.key"), str(package)],
        capture_output=True,
        check=True,
    ).stdout
    delivered = list(csv.DictReader(io.StringIO(intake_text(plain))))
    assert [row["IntakeID"] for row in delivered] == VALID_IDS
    assert list((root / "agencies" / "demo-agency" / "reports").iterdir())

    # Nothing twice: a second run finds nothing; the same bytes again are a duplicate.
    again = json.loads(run_cli("process", "--config", config, "--json", env=_env()).stdout)
    assert again["files"] == 0
    shutil.copyfile(root / "samples" / "demo-intake.csv", drop / "again.csv")
    third = json.loads(run_cli("process", "--config", config, "--json", env=_env()).stdout)
    assert third["by_state"] == {"duplicate": 1}
    assert len(list(outbox.glob("*.age"))) == 1
    status = json.loads(run_cli("status", "--config", config, "--json", env=_env()).stdout)
    files = {row["state"]: row["count"] for row in status["files"]}
    assert files == {"delivered": 1, "duplicate": 1}  # one ledger row per dropped file
