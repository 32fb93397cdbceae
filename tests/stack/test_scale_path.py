"""The scale path: Prefect server on PostgreSQL, `prefect deploy` of prefect.yaml, two
process workers on the `handoff` pool, and the ledger on PostgreSQL.

Everything is real and on 127.0.0.1: the PostgreSQL service of this machine (a fresh
database per test, dropped afterwards), `prefect server start`, `prefect deploy --all`,
`prefect worker start` twice, and a deployment run of `ingest-sweep`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from flows.automations import load_spec
from tests.conftest import REPO_ROOT, run_cli
from tests.stack.prefect_server import free_port, prefect_server
from tests.stack.workers import (
    database_url,
    prefect_cli,
    scratch_database,
    start_workers,
    stop_workers,
    worker_env,
)
from tests.synthetic import make_valid_row, write_sample_csv


@pytest.mark.server
@pytest.mark.postgres
def test_deployments_run_on_workers_with_postgres_everywhere(tmp_path: Path) -> None:
    with scratch_database() as prefect_db, scratch_database() as ledger_db:
        home = tmp_path / "prefect-home"
        home.mkdir()
        server_env = {"PREFECT_API_DATABASE_CONNECTION_URL": database_url(prefect_db, "asyncpg")}
        with prefect_server(home, extra_env=server_env) as api:
            data = tmp_path / "data"
            run_cli("init", str(data), "--demo", "--port", str(free_port()))
            env = worker_env(
                home,
                api,
                HANDOFF_CONFIG=str(data / "handoff.toml"),
                HANDOFF_LEDGER__URL=database_url(ledger_db),
            )

            def prefect(*args: str) -> str:
                done = prefect_cli(env, *args)
                assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
                return done.stdout

            prefect("work-pool", "create", "handoff", "--type", "process")
            prefect("--no-prompt", "deploy", "--all")
            # The scale recipe applies automations.yaml; applying twice leaves one of each.
            for _ in range(2):
                applied = subprocess.run(
                    [sys.executable, "-m", "flows.automations"],
                    env=env,
                    cwd=REPO_ROOT,
                    capture_output=True,
                    text=True,
                    timeout=180,
                    stdin=subprocess.DEVNULL,
                )
                assert applied.returncode == 0, applied.stderr[-3000:]
            request = urllib.request.Request(
                f"{api}/automations/filter",
                data=b"{}",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=15) as response:
                names = [a["name"] for a in json.loads(response.read())]
            assert sorted(n for n in names if n.startswith("handoff: ")) == sorted(
                a["name"] for a in load_spec()
            )
            workers = start_workers(env, 2)
            try:
                drop = data / "agencies" / "demo-agency" / "drop"
                for n in range(3):
                    write_sample_csv(
                        drop / f"intake-{n}.csv",
                        [
                            make_valid_row(
                                IntakeID=f"S{n}", HouseholdID=f"H{n}", SSN=f"70{n + 1}011234"
                            )
                        ],
                    )
                shutil.copyfile(drop / "intake-0.csv", drop / "again.csv")
                prefect("deployment", "run", "ingest/ingest-sweep")
                outbox = data / "partners" / "demo-partner" / "outbox"
                deadline = time.monotonic() + 240
                while time.monotonic() < deadline:
                    if len(list(outbox.glob("*.sig"))) == 3 and not list(drop.iterdir()):
                        break
                    time.sleep(1)
                assert len(list(outbox.glob("*.sig"))) == 3
                assert not list(drop.iterdir())
                # An empty drop folder means every file is claimed, not that every claim is
                # recorded: the copy may still be in flight on the other worker, and the
                # workers are stopped below. Wait for the ledger to hold all four outcomes.
                deadline = time.monotonic() + 180  # its own wait, whatever the first one took
                while time.monotonic() < deadline:
                    settled = json.loads(run_cli("status", "--json", env=env).stdout)
                    final = ("delivered", "rejected", "duplicate", "not_sent")
                    if sum(r["count"] for r in settled["files"] if r["state"] in final) >= 4:
                        break
                    time.sleep(1)
            finally:
                stop_workers(workers)

            status = json.loads(run_cli("status", "--json", env=env).stdout)
            files = {row["state"]: row["count"] for row in status["files"]}
            assert files == {"delivered": 3, "duplicate": 1}
            engine = create_engine(env["HANDOFF_LEDGER__URL"])
            with engine.connect() as conn:
                tables = set(
                    conn.execute(
                        text("select tablename from pg_tables where schemaname = 'public'")
                    ).scalars()
                )
                records = conn.execute(text("select count(*) from intake_record")).scalar_one()
            engine.dispose()
            assert {"intake_file", "intake_record", "handoff_alembic_version"} <= tables
            assert records == 3
