"""Benchmark: the deadline check's flags over a 1,000,000-record ledger on SQLite (< 2 s).

Builds a real ledger (the Alembic schema, via :class:`hmis_handoff.ledger.Ledger`) with N
synthetic records (ids and dates only), then times exactly what the ``deadline-check`` flow
runs: :func:`hmis_handoff.deadlines.flag_pairs` (fast column scan + vectorised flags), and
the per-agency timeliness summary.

    .venv/bin/python bench/deadlines.py                 # 1,000,000 records, 3 runs
    .venv/bin/python bench/deadlines.py --rows 200000 --repeat 5

Two figures, because the hourly check runs cold: **cold** is a fresh process per run (its
imports untimed) that opens the ledger and computes the flags once, as a new flow run does
(the OS page cache is not dropped: that needs root and hits every job on the machine);
**warm** is the same call repeated in one process with the ledger already open.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hmis_handoff.config import load_settings
from hmis_handoff.deadlines import flag_pairs, timeliness_by
from hmis_handoff.ledger import Ledger
from usecases.initialise import initialise

AS_OF = date(2026, 6, 1)


def _records(rows: int, seed: int) -> Iterator[tuple[object, ...]]:
    rng = random.Random(seed)
    base = date(2025, 1, 1)
    agencies = [f"agency-{n}" for n in range(8)]
    for i in range(rows):
        intake = base + timedelta(days=rng.randrange(500))
        entered = intake + timedelta(days=rng.randrange(9)) if rng.random() < 0.7 else None
        state = (
            "entered" if entered else ("not_transmittable" if rng.random() < 0.02 else "delivered")
        )
        yield (
            1, agencies[i % 8], f"partner-{i % 3}", f"I{i:08d}", i + 2, state,
            intake.isoformat(), intake.isoformat(), (intake + timedelta(days=5)).isoformat(),
            0, entered.isoformat() if entered else None,
        )  # fmt: skip


def build(db: Path, rows: int, seed: int = 2026) -> None:
    """A migrated ledger holding ``rows`` synthetic records (written with sqlite3 for speed)."""
    Ledger(f"sqlite:///{db}").close()
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO intake_file (id, claim_id, sha256, agency_id, partner_id, state,"
        " received_at, updated_at, rows_total, rows_sent, rows_held, rows_not_transmittable,"
        " warnings) VALUES (1, 'c', 'x', 'a', 'p', 'delivered', '2026-01-01', '2026-01-01',"
        " 0, 0, 0, 0, 0)"
    )
    conn.executemany(
        "INSERT INTO intake_record (file_id, agency_id, partner_id, intake_id, row_number,"
        " state, intake_date, received_on, due_date, submitted_late, entered_on)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        _records(rows, seed),
    )
    conn.commit()
    conn.close()


def _cold(config: Path) -> None:
    """Child: open the ledger and compute the flags once; print the seconds as JSON."""
    started = time.perf_counter()
    settings = load_settings(config)
    ledger = Ledger(settings.ledger_url)
    flag_pairs(settings, ledger, as_of=AS_OF)
    print(json.dumps({"seconds": time.perf_counter() - started}))
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        _cold(args.cold_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        initialise(root, demo=True)
        db = root / "state" / "ledger.db"
        started = time.perf_counter()
        build(db, args.rows)
        print(f"built {args.rows:,} records in {time.perf_counter() - started:.1f} s (untimed)")
        cold = []
        for run in range(1, args.repeat + 1):
            child = [sys.executable, __file__, "--cold-child", str(root / "handoff.toml")]
            done = subprocess.run(child, capture_output=True, text=True, check=True)
            cold.append(float(json.loads(done.stdout)["seconds"]))
            print(f"cold run {run} (fresh process, ledger opened): {cold[-1]:.3f} s")
        settings = load_settings(root / "handoff.toml")
        ledger = Ledger(settings.ledger_url)
        totals = []
        for run in range(1, args.repeat + 1):
            started = time.perf_counter()
            pairs = flag_pairs(settings, ledger, as_of=AS_OF)
            elapsed = time.perf_counter() - started
            totals.append(elapsed)
            flagged = sum(sum(p.counts.values()) for p in pairs)
            print(
                f"warm run {run}: flags for {flagged:,} records in {elapsed:.3f} s "
                f"({flagged / elapsed:,.0f} records/s)"
            )
        started = time.perf_counter()
        timeliness_by(settings, ledger, group="agency", as_of=AS_OF)
        print(f"per-agency timeliness summary: {time.perf_counter() - started:.3f} s")
        print(
            f"median flags: cold {statistics.median(cold):.3f} s (max {max(cold):.3f} s), "
            f"warm {statistics.median(totals):.3f} s (budget 2.000 s)"
        )
        ledger.close()


if __name__ == "__main__":
    main()
