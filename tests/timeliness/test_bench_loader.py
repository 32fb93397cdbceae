"""The deadline bench's fixed-width SQLite loader returns exactly what a plain query does."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from hmis_handoff.business_days import BusinessCalendar
from hmis_handoff.timeliness import TimelinessPolicy, flag_for

BENCH = Path(__file__).resolve().parents[2] / "bench" / "deadlines.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_deadlines", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_loader_matches_plain_query(bench: ModuleType, tmp_path: Path) -> None:
    """Ids, dates, NULL entry dates and the transmittable bit survive the round trip."""
    db = tmp_path / "ledger.db"
    bench.build(db, 2_000, seed=5)
    with sqlite3.connect(db) as conn:
        arrays = bench.load(conn)
        rows = conn.execute(
            "SELECT id, due_date, entered_on, transmittable FROM records ORDER BY id"
        ).fetchall()
    conn.close()
    order = np.argsort(arrays.ids)
    assert arrays.ids[order].tolist() == [r[0] for r in rows]
    assert arrays.due[order].astype(str).tolist() == [r[1] for r in rows]
    entered = arrays.entered[order]
    assert [None if np.isnat(e) else str(e) for e in entered] == [r[2] for r in rows]
    assert arrays.transmittable[order].tolist() == [bool(r[3]) for r in rows]

    as_of = date(2026, 1, 15)
    flags = bench.compute(arrays, as_of)[order]
    cal, policy = BusinessCalendar(), TimelinessPolicy()
    want = [
        flag_for(
            due=date.fromisoformat(r[1]),
            as_of=as_of,
            entered_on=None if r[2] is None else date.fromisoformat(r[2]),
            transmittable=bool(r[3]),
            calendar=cal,
            policy=policy,
        ).value
        for r in rows
    ]
    assert flags.tolist() == want


def test_loader_refuses_non_iso_dates(bench: ModuleType, tmp_path: Path) -> None:
    """A date stored in another format would shift every column after it: refuse it."""
    db = tmp_path / "ledger.db"
    bench.build(db, 10)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE records SET entered_on = '2026-1-5' WHERE id = 3")
        with pytest.raises(ValueError):
            bench.load(conn)
    conn.close()
