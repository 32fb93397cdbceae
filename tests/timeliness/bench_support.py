"""Load ``bench/deadlines.py``'s ledger builder for tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "deadlines.py"


def build_ledger(db: Path, rows: int) -> None:
    spec = importlib.util.spec_from_file_location("bench_deadlines", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(db, rows)
