"""Benchmark: hand-off throughput with 1, 2 and 4 worker processes, ledger on PostgreSQL.

What it measures (and what not): the core hand-off path of a worker (claim, read, validate,
package, report, ledger), with ``--workers`` processes sharing one data root and one
PostgreSQL ledger, each claiming files from the drop folder by atomic rename as workers do.
It does **not** start Prefect process workers: the ingest deployment hands every settled
file to the one run that sweeps first, so more workers do not split a backlog yet (issue 12
left that part undone). Per-run Prefect overhead comes on top (see bench/latency.py).

For each worker count: a fresh demo data root and a fresh PostgreSQL database (dropped
afterwards), ``--files`` distinct small files (3 rows each) written first, then the workers
are forked at once and the clock stops when the last one exits. Prints files/s and
records/s, and checks every file ended delivered exactly once (one ledger row each).

    .venv/bin/python bench/scale.py --files 60 --workers 1,2,4
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim  # noqa: E402
from hmis_handoff.config import load_settings  # noqa: E402
from tests.synthetic import make_valid_frame, write_sample_csv  # noqa: E402
from usecases.handoff import Pipeline  # noqa: E402
from usecases.initialise import initialise  # noqa: E402

PG_ADMIN = os.environ.get(
    "HANDOFF_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ROWS_PER_FILE = 3


def worker(config: Path) -> None:
    """Claim and hand off settled files until the drop folder is empty (a forked child)."""
    settings = load_settings(config)
    pipe = Pipeline(settings)
    scanner = DropFolderScanner(pipe.layout.agencies, ["demo-agency"], SettlePolicy(0.0))
    while True:
        settled = scanner.scan().settled
        if not settled:
            return
        for candidate in settled:
            claimed = claim(candidate, pipe.layout.work)  # None: another worker won it
            if claimed is not None:
                pipe.process_claim(claimed)


def run(files: int, workers: int) -> tuple[float, int]:
    """(seconds, delivered files) for ``files`` files and ``workers`` processes."""
    database = f"hh_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {database}"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "data"
            initialise(root, demo=True)
            url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{database}"
            os.environ["HANDOFF_LEDGER__URL"] = url
            config = root / "handoff.toml"
            drop = root / "agencies" / "demo-agency" / "drop"
            for i in range(files):
                frame = make_valid_frame(ROWS_PER_FILE, household_size=3, start=i * 3)
                write_sample_csv(drop / f"s{i:04d}.csv", frame.to_dict("records"))  # type: ignore[arg-type]
            Pipeline(load_settings(config)).ledger.close()  # migrate before the clock starts
            started = time.perf_counter()
            children = []
            for _ in range(workers):
                pid = os.fork()
                if pid == 0:
                    try:
                        worker(config)
                    finally:
                        os._exit(0)
                children.append(pid)
            for pid in children:
                os.waitpid(pid, 0)
            elapsed = time.perf_counter() - started
            engine = create_engine(url)
            with engine.connect() as conn:
                rows = conn.execute(text("select state, count(*) from intake_file group by 1"))
                states = {str(state): int(count) for state, count in rows}
            engine.dispose()
            if states != {"delivered": files}:
                raise SystemExit(f"not exactly once: {states}")
            return elapsed, states["delivered"]
    finally:
        os.environ.pop("HANDOFF_LEDGER__URL", None)
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    base = None
    for count in (int(w) for w in args.workers.split(",")):
        seconds, delivered = run(args.files, count)
        rate = delivered / seconds
        base = base or rate
        print(
            f"{count} worker(s): {delivered} files in {seconds:.1f} s, {rate:.2f} files/s, "
            f"{rate * ROWS_PER_FILE:.1f} records/s, {rate / base:.2f}x one worker"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
