"""Benchmark: timeliness flags for a 1,000,000-record ledger on SQLite (budget: under 2 s).

Measures what the deadline check does each run: load the due date, entry date and
transmittable bit of every record, then flag them all for an as-of date.

    .venv/bin/python bench/deadlines.py                      # synthetic 1,000,000 rows
    .venv/bin/python bench/deadlines.py --rows 200000 --repeat 5
    .venv/bin/python bench/deadlines.py --db var/state/ledger.db --table intake_records \
        --transmittable-sql "state != 'not_transmittable'"

Loading is the slow part: fetching a million row tuples through ``sqlite3`` costs more than a
second on its own. So :func:`load` makes SQLite concatenate every record into one fixed-width
ASCII string (``due_date``, ``entered_on`` or a sentinel, the transmittable bit and the id
offset to 12 digits: 33 bytes per record), which numpy then splits and parses without a
Python object per row. This relies on the ledger storing dates as ISO ``YYYY-MM-DD`` text,
which is how SQLAlchemy stores ``Date`` on SQLite; :func:`load` checks it.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hmis_handoff.business_days import BusinessCalendar
from hmis_handoff.timeliness import TimelinessPolicy, flags_vectorised

NO_DATE = "0001-01-01"  # stands for NULL so that every record stays 33 bytes wide
ID_OFFSET = 100_000_000_000  # ids up to 899,999,999,999 print as exactly 12 digits
RECORD = np.dtype([("due", "S10"), ("entered", "S10"), ("ok", "S1"), ("id", "S12")])

SCHEMA = """
CREATE TABLE records(
    id INTEGER PRIMARY KEY,
    agency_id TEXT,
    partner_id TEXT,
    intake_date TEXT,
    due_date TEXT,
    entered_on TEXT NULL,
    transmittable INTEGER
)
"""


@dataclass(frozen=True)
class LedgerArrays:
    """The columns the flags need, one entry per record, in the same order."""

    ids: npt.NDArray[np.int64]
    due: npt.NDArray[np.datetime64]
    entered: npt.NDArray[np.datetime64]  # NaT where not entered
    transmittable: npt.NDArray[np.bool_]


def load(
    conn: sqlite3.Connection,
    *,
    table: str = "records",
    transmittable_sql: str = "transmittable",
) -> LedgerArrays:
    """Every record's id, due date, entry date and transmittable bit, as numpy arrays.

    ``table`` and ``transmittable_sql`` (an SQL expression giving 0 or 1) are trusted
    operator input, not data: they are pasted into the query.

    Raises:
        ValueError: if a due date is missing or a date is not ISO ``YYYY-MM-DD`` text.
    """
    sql = (
        "SELECT group_concat("
        f"ifnull(due_date, '{NO_DATE}') || ifnull(entered_on, '{NO_DATE}')"
        f" || (CASE WHEN {transmittable_sql} THEN 1 ELSE 0 END) || (id + {ID_OFFSET}), '')"
        f" FROM {table}"
    )
    (text,) = conn.execute(sql).fetchone()
    buffer = (text or "").encode("ascii")
    if len(buffer) % RECORD.itemsize:
        raise ValueError("a date column is not 10-character ISO text")
    raw = np.frombuffer(buffer, dtype=RECORD)
    sentinel = np.datetime64(NO_DATE, "D")
    due = raw["due"].astype("datetime64[D]")
    if (due == sentinel).any():
        raise ValueError("a record has no due date")
    entered = raw["entered"].astype("datetime64[D]")
    entered[entered == sentinel] = np.datetime64("NaT")
    return LedgerArrays(
        ids=raw["id"].astype(np.int64) - ID_OFFSET,
        due=due,
        entered=entered,
        transmittable=raw["ok"] == b"1",
    )


def compute(
    arrays: LedgerArrays,
    as_of: date,
    *,
    calendar: BusinessCalendar | None = None,
    policy: TimelinessPolicy | None = None,
) -> npt.NDArray[np.str_]:
    """Flags for every record as of ``as_of`` (a fresh default calendar unless given)."""
    return flags_vectorised(
        arrays.due,
        arrays.entered,
        arrays.transmittable,
        as_of,
        calendar or BusinessCalendar(),
        policy or TimelinessPolicy(),
    )


def _synthetic_rows(rows: int, seed: int) -> Iterator[tuple[object, ...]]:
    rng = np.random.default_rng(seed)
    calendar = BusinessCalendar()
    intake = np.datetime64("2025-01-01") + rng.integers(0, 730, rows).astype("timedelta64[D]")
    due = calendar.due_dates(intake, 3)
    entered = due + rng.integers(-3, 5, rows).astype("timedelta64[D]")
    not_entered = rng.random(rows) < 0.3
    transmittable = rng.random(rows) > 0.03
    agency = rng.integers(0, 40, rows)
    partner = agency % 7
    intake_s, due_s, entered_s = (a.astype(str).tolist() for a in (intake, due, entered))
    for i in range(rows):
        yield (
            i + 1,
            f"agency-{agency[i]:02d}",
            f"partner-{partner[i]}",
            intake_s[i],
            due_s[i],
            None if not_entered[i] else entered_s[i],
            int(transmittable[i]),
        )


def build(path: Path, rows: int, seed: int = 2026) -> None:
    """A SQLite ledger stand-in at ``path`` with ``rows`` synthetic records (ids and dates)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(SCHEMA)
        conn.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", _synthetic_rows(rows, seed)
        )
    conn.close()


def _run(db: Path, table: str, transmittable_sql: str, as_of: date) -> tuple[float, float, int]:
    conn = sqlite3.connect(db)
    try:
        began = time.perf_counter()
        arrays = load(conn, table=table, transmittable_sql=transmittable_sql)
        loaded = time.perf_counter()
        flags = compute(arrays, as_of)
        done = time.perf_counter()
    finally:
        conn.close()
    return loaded - began, done - loaded, int(flags.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="synthetic rows to create")
    parser.add_argument("--db", type=Path, help="an existing SQLite ledger instead")
    parser.add_argument("--table", default="records")
    parser.add_argument("--transmittable-sql", default="transmittable")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 15))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-deadlines-") as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "ledger.db"
            began = time.perf_counter()
            build(db, args.rows)
            print(f"built {args.rows:,} rows in {time.perf_counter() - began:.1f} s (untimed)")
        totals: list[float] = []
        for run in range(1, args.repeat + 1):
            load_s, compute_s, rows = _run(db, args.table, args.transmittable_sql, args.as_of)
            total = load_s + compute_s
            totals.append(total)
            print(
                f"run {run}: rows {rows:,}  load {load_s:.3f} s  compute {compute_s:.3f} s  "
                f"total {total:.3f} s  {rows / total:,.0f} rows/s"
            )
        print(f"median total {statistics.median(totals):.3f} s (budget 2.000 s)")


if __name__ == "__main__":
    main()
