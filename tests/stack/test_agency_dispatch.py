"""A backlog split across Prefect process workers, fair per agency (issue 12).

Real Prefect server on PostgreSQL, `prefect deploy --all`, three `prefect worker start
--pool handoff`, the ledger on PostgreSQL. Agency A drops a backlog, agency B one file; the
``dispatch-ingest`` deployment creates one ``ingest-agency`` run per agency on its own work
queue (limit 1). B's run proceeds beside A's and ends first; a second dispatch while A's run
is busy queues a second A run that never runs beside the first, although a worker is free;
every file is delivered exactly once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

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
from tests.synthetic import make_valid_frame, write_sample_csv

BIG = "demo-agency"
SMALL = "agency-b"
BACKLOG = 24
#: One runs the dispatch; A's and B's runs then start together on the other two.
WORKERS = 3
DISPATCH = (
    "import json; from flows.dispatch import dispatch_ingest; print(json.dumps(dispatch_ingest()))"
)


def _post(api: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{api}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def _agency_runs(api: str) -> list[dict[str, Any]]:
    return list(
        _post(
            api,
            "/flow_runs/filter",
            {"deployments": {"name": {"any_": ["ingest-agency"]}}, "sort": "START_TIME_ASC"},
        )
    )


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


@pytest.mark.server
@pytest.mark.postgres
def test_dispatch_splits_a_backlog_per_agency_and_keeps_agencies_apart(tmp_path: Path) -> None:
    with scratch_database() as prefect_db, scratch_database() as ledger_db:
        home = tmp_path / "prefect-home"
        home.mkdir()
        server_env = {"PREFECT_API_DATABASE_CONNECTION_URL": database_url(prefect_db, "asyncpg")}
        with prefect_server(home, extra_env=server_env) as api:
            data = tmp_path / "data"
            run_cli("init", str(data), "--demo", "--port", str(free_port()))
            toml = data / "handoff.toml"
            toml.write_text(
                toml.read_text()
                + f'\n[[agencies]]\nid = "{SMALL}"\nname = "Agency B"\npartner = "demo-partner"\n'
            )
            for kind in ("drop", "reports"):
                (data / "agencies" / SMALL / kind).mkdir(parents=True, mode=0o700)
            env = worker_env(
                home, api, HANDOFF_CONFIG=str(toml), HANDOFF_LEDGER__URL=database_url(ledger_db)
            )

            def prefect(*args: str) -> str:
                done = prefect_cli(env, *args)
                assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
                return done.stdout

            prefect("work-pool", "create", "handoff", "--type", "process")
            prefect("--no-prompt", "deploy", "--all")
            # Only the runs this test makes: no scheduled sweep or dispatch in between
            # (pausing deletes the runs already scheduled, but one may be created meanwhile).
            prefect("deployment", "schedule", "pause", "--all")
            scheduled = {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}
            for run in _post(api, "/flow_runs/filter", scheduled):
                request = urllib.request.Request(f"{api}/flow_runs/{run['id']}", method="DELETE")
                urllib.request.urlopen(request, timeout=15).close()
            for i in range(BACKLOG):
                frame = make_valid_frame(3, household_size=3, start=3 * i)
                write_sample_csv(
                    data / "agencies" / BIG / "drop" / f"a{i:02d}.csv",
                    frame.to_dict("records"),  # type: ignore[arg-type]
                )
            frame = make_valid_frame(3, household_size=3, start=3 * BACKLOG)
            frame["SubmittingAgencyID"] = SMALL  # B's own intakes
            write_sample_csv(
                data / "agencies" / SMALL / "drop" / "b.csv",
                frame.to_dict("records"),  # type: ignore[arg-type]
            )
            workers = start_workers(env, WORKERS)
            total = BACKLOG + 2
            try:
                prefect("deployment", "run", "dispatch-ingest/ingest-dispatch")
                big_drop = data / "agencies" / BIG / "drop"
                deadline = time.monotonic() + 300
                # A's run has swept (its drop folder is empty) and is busy with its backlog:
                # one more file for A, and a dispatch (in this process's child, no worker
                # needed) gives A a second run, which must wait for the first on A's queue.
                while time.monotonic() < deadline and list(big_drop.iterdir()):
                    time.sleep(0.1)
                frame = make_valid_frame(3, household_size=3, start=3 * (BACKLOG + 1))
                write_sample_csv(big_drop / "late.csv", frame.to_dict("records"))  # type: ignore[arg-type]
                dispatched = subprocess.run(
                    [sys.executable, "-c", DISPATCH],
                    env=env,
                    cwd=REPO_ROOT,
                    capture_output=True,
                    text=True,
                    timeout=180,
                    stdin=subprocess.DEVNULL,
                )
                assert dispatched.returncode == 0, dispatched.stderr[-3000:]
                assert BIG in json.loads(dispatched.stdout.splitlines()[-1])["dispatched"]
                while time.monotonic() < deadline:
                    runs = _agency_runs(api)
                    settled = json.loads(run_cli("status", "--json", env=env).stdout)
                    final = ("delivered", "rejected", "duplicate", "not_sent")
                    done = sum(r["count"] for r in settled["files"] if r["state"] in final)
                    if done >= total and all(r["state_type"] == "COMPLETED" for r in runs):
                        break
                    time.sleep(1)
            finally:
                stop_workers(workers)

            runs = _agency_runs(api)
            assert all(r["state_type"] == "COMPLETED" for r in runs), [
                r["state_type"] for r in runs
            ]
            big = [r for r in runs if f"agency:{BIG}" in r["tags"]]
            small = [r for r in runs if f"agency:{SMALL}" in r["tags"]]
            assert len(big) == 2 and len(small) == 1, [r["tags"] for r in runs]
            assert {r["work_queue_name"] for r in big} == {f"agency-{BIG}"}
            assert small[0]["work_queue_name"] == f"agency-{SMALL}"
            assert all(r["parameters"]["agencies"] in ([BIG], [SMALL]) for r in runs)
            first, second = sorted(big, key=lambda r: _when(r["start_time"]))
            # B's single file went beside A's backlog, not after it.
            assert _when(small[0]["start_time"]) < _when(first["end_time"])
            assert _when(small[0]["end_time"]) < _when(first["end_time"])
            # A's queue holds one run at a time: its second run started after the first ended.
            assert _when(second["start_time"]) >= _when(first["end_time"])
            queue = _post(api, "/work_pools/handoff/queues/filter", {})
            limits = {q["name"]: q["concurrency_limit"] for q in queue}
            assert limits[f"agency-{BIG}"] == limits[f"agency-{SMALL}"] == 1

            status = json.loads(run_cli("status", "--json", env=env).stdout)
            by_state: dict[str, int] = {}
            for row in status["files"]:  # one row per agency and state
                by_state[row["state"]] = by_state.get(row["state"], 0) + row["count"]
            assert by_state == {"delivered": total}
            outbox = data / "partners" / "demo-partner" / "outbox"
            assert len(list(outbox.glob("*.manifest.json.sig"))) == total
            for agency in (BIG, SMALL):
                assert not list((data / "agencies" / agency / "drop").iterdir())
            engine = create_engine(env["HANDOFF_LEDGER__URL"])
            with engine.connect() as conn:
                hashes = conn.execute(text("select count(distinct sha256) from intake_file"))
                records = conn.execute(text("select count(*) from intake_record"))
                assert (hashes.scalar_one(), records.scalar_one()) == (total, 3 * total)
            engine.dispose()
