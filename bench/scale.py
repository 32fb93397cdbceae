"""Benchmark: files/s and records/s with 1, 2 and 4 Prefect process workers, all on PostgreSQL.

``--mode prefect`` (the default) runs the scale path of the README: a real ``prefect server``
whose database is a fresh PostgreSQL database, ``prefect deploy --all`` of prefect.yaml, the
ledger on PostgreSQL, and for each worker count ``prefect worker start --pool handoff
--limit 1`` that many times. For each count: a fresh data root with ``--agencies`` agencies
and a fresh ledger database; ``--files`` distinct 3-row files are written round-robin across
the agencies; the workers start and register; then the clock starts, one run of
``dispatch-ingest/ingest-dispatch`` is created (it creates one ``ingest-agency`` run per
agency, each on its agency's work queue, limit 1), and the clock stops when the ledger holds
every file's outcome. Each file must end delivered exactly once (one ledger row per content
hash, three records each, one package each): checked. Worker start-up is outside the clock;
each flow run's own process start (a process worker forks ``python -m prefect.engine`` per
run) is inside it. Also printed: CPU seconds per file of the workers with their flow runs
(reaped children) and of the Prefect server's processes (PostgreSQL's own CPU not counted).

``--mode core`` keeps the earlier comparison: forked processes on the core hand-off path
(claim by rename, hand off), no Prefect, one agency, the ledger on PostgreSQL.

    .venv/bin/python bench/scale.py --files 120 --agencies 4 --workers 1,2,4
    .venv/bin/python bench/scale.py --mode core --files 40
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim  # noqa: E402
from hmis_handoff.config import load_settings  # noqa: E402
from tests.stack.prefect_server import prefect_server  # noqa: E402
from tests.stack.workers import (  # noqa: E402
    database_url,
    prefect_cli,
    scratch_database,
    start_workers,
    stop_workers,
    worker_env,
)
from tests.synthetic import make_valid_frame, write_sample_csv  # noqa: E402
from usecases.handoff import Handoff  # noqa: E402
from usecases.initialise import initialise  # noqa: E402

PG_ADMIN = os.environ.get(
    "HANDOFF_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ROWS_PER_FILE = 3
FINAL = ("delivered", "rejected", "duplicate", "not_sent")


def database() -> contextlib.AbstractContextManager[str]:
    """A fresh PostgreSQL database (its name), dropped afterwards."""
    return scratch_database("hh_scale", admin=PG_ADMIN)


def url_of(name: str, driver: str = "psycopg") -> str:
    return database_url(name, driver, admin=PG_ADMIN)


def data_root(tmp: Path, files: int, agencies: int) -> tuple[Path, list[str]]:
    """A demo data root with ``agencies`` agencies and ``files`` files across them."""
    root = tmp / "data"
    initialise(root, demo=True)
    ids = ["demo-agency", *(f"agency-{n}" for n in range(2, agencies + 1))]
    config = root / "handoff.toml"
    extra = "".join(
        f'\n[[agencies]]\nid = "{a}"\nname = "Agency {a}"\npartner = "demo-partner"\n'
        for a in ids[1:]
    )
    config.write_text(config.read_text() + extra)
    for agency in ids[1:]:
        for kind in ("drop", "reports"):
            (root / "agencies" / agency / kind).mkdir(parents=True, mode=0o700)
    for i in range(files):
        agency = ids[i % len(ids)]
        frame = make_valid_frame(ROWS_PER_FILE, household_size=3, start=i * ROWS_PER_FILE)
        frame["SubmittingAgencyID"] = agency
        path = root / "agencies" / agency / "drop" / f"s{i:04d}.csv"
        write_sample_csv(path, frame.to_dict("records"))  # type: ignore[arg-type]
    return root, ids


def ledger_states(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select state, count(*) from intake_file group by 1"))
            return {str(state): int(count) for state, count in rows}
    finally:
        engine.dispose()


def check_exactly_once(root: Path, url: str, files: int) -> None:
    """Every file delivered once: one row per content hash, its records, one package."""
    states = ledger_states(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        hashes = conn.execute(text("select count(distinct sha256) from intake_file")).scalar_one()
        records = conn.execute(text("select count(*) from intake_record")).scalar_one()
    engine.dispose()
    packages = len(list((root / "partners" / "demo-partner" / "outbox").glob("*.age")))
    left = list((root / "agencies").glob("*/drop/*"))
    got = (states, hashes, records, packages, len(left))
    want = ({"delivered": files}, files, files * ROWS_PER_FILE, files, 0)
    if got != want:
        raise SystemExit(f"not exactly once: {got} != {want}")


# Prefect process workers ------------------------------------------------------------------


def api_call(api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"{api}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def prefect(env: dict[str, str], *args: str) -> None:
    done = prefect_cli(env, *args)
    if done.returncode != 0:
        raise SystemExit(f"prefect {' '.join(args)} failed: {done.stderr[-2000:]}")


def drop_scheduled_runs(api: str) -> None:
    """Delete every flow run still waiting in the Scheduled state."""
    body = {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}, "limit": 200}
    for run in api_call(api, "/flow_runs/filter", body):
        request = urllib.request.Request(f"{api}/flow_runs/{run['id']}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def wait_runs_finished(api: str, timeout: float = 120.0) -> None:
    """Wait until no flow run is Pending or Running (or ``timeout`` seconds pass)."""
    body = {"flow_runs": {"state": {"type": {"any_": ["PENDING", "RUNNING"]}}}, "limit": 1}
    deadline = time.monotonic() + timeout
    while api_call(api, "/flow_runs/filter", body) and time.monotonic() < deadline:
        time.sleep(0.5)


def session_cpu(api: str) -> float:
    """CPU seconds (user + system) so far of the Prefect server's process session."""
    port = api.rsplit(":", 1)[1].split("/")[0]
    ticks = os.sysconf("SC_CLK_TCK")
    stats = {}
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit():
                argv = (proc / "cmdline").read_bytes().split(b"\0")
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(proc.name)] = (argv, int(fields[3]), int(fields[11]) + int(fields[12]))
    leader = next(
        pid
        for pid, (argv, sid, _cpu) in stats.items()
        if pid == sid and b"server" in argv and port.encode() in argv
    )
    return sum(cpu for _argv, sid, cpu in stats.values() if sid == leader) / ticks


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def online_workers(api: str, names: list[str]) -> int:
    workers = api_call(api, "/work_pools/handoff/workers/filter", {})
    return sum(1 for w in workers if w["name"] in names and w["status"] == "ONLINE")


def run_prefect(
    api: str, base_env: dict[str, str], args: argparse.Namespace, count: int
) -> tuple[float, str]:
    """Seconds for ``args.files`` files with ``count`` process workers (checked once each),
    and the CPU seconds per file of the workers with their flow runs, and of the server."""
    with tempfile.TemporaryDirectory() as tmp, database() as ledger_db:
        root, _ids = data_root(Path(tmp), args.files, args.agencies)
        ledger = url_of(ledger_db)
        env = {**base_env, "HANDOFF_CONFIG": str(root / "handoff.toml")}
        env["HANDOFF_LEDGER__URL"] = ledger
        os.environ["HANDOFF_LEDGER__URL"] = ledger
        try:
            Handoff(load_settings(root / "handoff.toml")).ledger.close()  # migrated now
        finally:
            os.environ.pop("HANDOFF_LEDGER__URL")
        drop_scheduled_runs(api)  # none may wait for the workers but the bench's own
        cpu_before = (children_cpu(), session_cpu(api))
        names = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(count)]
        workers = start_workers(env, count, names)
        try:
            deadline = time.monotonic() + 300
            while online_workers(api, names) < count:
                if time.monotonic() > deadline:
                    raise SystemExit("workers did not come online")
                time.sleep(0.5)
            dispatch = api_call(api, "/deployments/name/dispatch-ingest/ingest-dispatch")
            started = time.perf_counter()
            api_call(api, f"/deployments/{dispatch['id']}/create_flow_run", {})
            deadline = time.monotonic() + args.timeout
            while sum(n for s, n in ledger_states(ledger).items() if s in FINAL) < args.files:
                if time.monotonic() > deadline:
                    raise SystemExit(f"timed out: {ledger_states(ledger)}")
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            server_cpu = session_cpu(api) - cpu_before[1]
            # Outside the clock: a run still finishing (its dashboard refresh) when the ledger
            # is complete would be killed with its worker and stay Running, holding its
            # agency's queue slot (limit 1) for the next worker count.
            wait_runs_finished(api)
        finally:
            stop_workers(workers)
        check_exactly_once(root, ledger, args.files)
        runs_cpu = children_cpu() - cpu_before[0]  # reaped workers, with their flow runs
        runs, server = runs_cpu / args.files, server_cpu / args.files
        return elapsed, f"CPU per file: workers and runs {runs:.2f} s, server {server:.2f} s"


def prefect_mode(args: argparse.Namespace, counts: list[int]) -> list[tuple[int, float, str]]:
    with tempfile.TemporaryDirectory() as tmp, database() as prefect_db:
        home = Path(tmp) / "prefect-home"
        home.mkdir()
        server_env = {"PREFECT_API_DATABASE_CONNECTION_URL": url_of(prefect_db, "asyncpg")}
        with prefect_server(home, extra_env=server_env) as api:
            env = worker_env(home, api)
            prefect(env, "work-pool", "create", "handoff", "--type", "process")
            prefect(env, "--no-prompt", "deploy", "--all")
            # Only the runs the bench makes: no scheduled sweep or dispatch inside the clock
            # (pausing deletes the runs already scheduled, but one may be created meanwhile).
            prefect(env, "deployment", "schedule", "pause", "--all")
            drop_scheduled_runs(api)
            return [(count, *run_prefect(api, env, args, count)) for count in counts]


# The core path, no Prefect (the earlier figures) ------------------------------------------


def core_worker(config: Path) -> None:
    """Claim and hand off settled files until the drop folder is empty (a forked child)."""
    pipe = Handoff(load_settings(config))
    scanner = DropFolderScanner(pipe.layout.agencies, ["demo-agency"], SettlePolicy(0.0))
    while settled := scanner.scan().settled:
        for candidate in settled:
            claimed = claim(candidate, pipe.layout.work)  # None: another worker won it
            if claimed is not None:
                pipe.process_claim(claimed)


def run_core(files: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp, database() as ledger_db:
        root, _ids = data_root(Path(tmp), files, 1)
        url = url_of(ledger_db)
        os.environ["HANDOFF_LEDGER__URL"] = url
        try:
            config = root / "handoff.toml"
            Handoff(load_settings(config)).ledger.close()  # migrate before the clock starts
            started = time.perf_counter()
            children = []
            for _ in range(workers):
                pid = os.fork()
                if pid == 0:
                    try:
                        core_worker(config)
                    finally:
                        os._exit(0)
                children.append(pid)
            for pid in children:
                os.waitpid(pid, 0)
            elapsed = time.perf_counter() - started
        finally:
            os.environ.pop("HANDOFF_LEDGER__URL", None)
        check_exactly_once(root, url, files)
        return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("prefect", "core"), default="prefect")
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--agencies", type=int, default=4)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start, {args.mode}")
    if args.mode == "prefect":
        results = prefect_mode(args, counts)
    else:
        results = [(count, run_core(args.files, count), "") for count in counts]
    base = None
    for count, seconds, cpu in results:
        rate = args.files / seconds
        base = base or rate
        print(
            f"{count} worker(s): {args.files} files in {seconds:.1f} s, {rate:.2f} files/s, "
            f"{rate * ROWS_PER_FILE:.1f} records/s, {rate / base:.2f}x one worker "
            f"(each delivered exactly once: checked) {cpu}"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
