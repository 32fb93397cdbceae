"""The scale path: Prefect server on PostgreSQL, `prefect deploy` of prefect.yaml, two
process workers on the `handoff` pool, and the ledger on PostgreSQL.

Everything is real and on 127.0.0.1: the PostgreSQL service of this machine (a fresh
database per test, dropped afterwards), `prefect server start`, `prefect deploy --all`,
`prefect worker start` twice, and a deployment run of `ingest-sweep`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from flows.automations import load_spec
from tests.conftest import REPO_ROOT, run_cli
from tests.stack.prefect_server import free_port, prefect_server
from tests.synthetic import make_valid_row, write_sample_csv

PG_ADMIN = os.environ.get(
    "HANDOFF_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PREFECT_BIN = str(Path(sys.executable).parent / "prefect")


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh PostgreSQL database name (dropped afterwards)."""
    name = f"hh_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _base_url(database: str, driver: str) -> str:
    head = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql+psycopg", f"postgresql+{driver}")
    return f"{head}/{database}"


@pytest.mark.server
@pytest.mark.postgres
def test_deployments_run_on_workers_with_postgres_everywhere(tmp_path: Path) -> None:
    with scratch_database() as prefect_db, scratch_database() as ledger_db:
        home = tmp_path / "prefect-home"
        home.mkdir()
        server_env = {"PREFECT_API_DATABASE_CONNECTION_URL": _base_url(prefect_db, "asyncpg")}
        with prefect_server(home, extra_env=server_env) as api:
            data = tmp_path / "data"
            run_cli("init", str(data), "--demo", "--port", str(free_port()))
            env = {
                **os.environ,
                "PREFECT_HOME": str(home),
                "PREFECT_API_URL": api,
                "PREFECT_WORKER_QUERY_SECONDS": "1",
                "HANDOFF_CONFIG": str(data / "handoff.toml"),
                "HANDOFF_LEDGER__URL": _base_url(ledger_db, "psycopg"),
                "HANDOFF_CODE_DIR": str(REPO_ROOT),
                "HANDOFF_INTAKE__STABLE_SECONDS": "0.2",
            }

            def prefect(*args: str) -> str:
                done = subprocess.run(
                    [PREFECT_BIN, *args],
                    env=env,
                    cwd=REPO_ROOT,
                    capture_output=True,
                    text=True,
                    timeout=180,
                    stdin=subprocess.DEVNULL,
                )
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
            workers = [
                subprocess.Popen(
                    [PREFECT_BIN, "worker", "start", "--pool", "handoff", "--limit", "1"],
                    env=env,
                    cwd=REPO_ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
                for _ in range(2)
            ]
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
                for worker in workers:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(worker.pid, signal.SIGTERM)
                for worker in workers:
                    try:
                        worker.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        os.killpg(worker.pid, signal.SIGKILL)

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
