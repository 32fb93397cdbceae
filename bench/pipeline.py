"""End-to-end handoff of one large intake file: time and peak memory.

Generates a synthetic valid CSV of N rows (households of 3), drops it into a fresh demo data
root, and runs the core pipeline (scan, claim, read, validate, package, report, ledger) in a
fresh child process per size, printing rows/s and the child's peak RSS (VmHWM). Prefect is
not involved: its per-file overhead does not depend on the file's size.

    .venv/bin/python bench/pipeline.py --sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(data_root: Path) -> None:
    from datetime import UTC, datetime

    from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim
    from hmis_handoff.config import load_settings
    from usecases.handoff import Handoff

    settings = load_settings(data_root / "handoff.toml")
    pipe = Handoff(settings, clock=lambda: datetime(2026, 3, 9, 15, 0, tzinfo=UTC))
    scanner = DropFolderScanner(pipe.layout.agencies, ["demo-agency"], SettlePolicy(0.0))
    start = time.perf_counter()
    outcome = None
    for _ in range(5):
        result = scanner.scan()
        for candidate in result.settled:
            claimed = claim(candidate, pipe.layout.work)
            if claimed is not None:
                outcome = pipe.process_claim(claimed)
        if outcome is not None:
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    peak_kb = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    assert outcome is not None
    print(f"{outcome.rows_total}\t{outcome.rows_sent}\t{elapsed:.2f}\t{peak_kb / 1024:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    if os.environ.get("BENCH_CHILD"):
        child(Path(os.environ["BENCH_CHILD"]))
        return
    from tests.synthetic import make_valid_frame, write_sample_csv
    from usecases.initialise import initialise

    print("rows\tsent\tseconds\trows/s\tpeak RSS MB")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            data_root = Path(tmp) / "data"
            initialise(data_root, demo=True)
            frame = make_valid_frame(size, household_size=3)
            drop = data_root / "agencies" / "demo-agency" / "drop" / "big.csv"
            write_sample_csv(drop, frame.to_dict("records"))  # type: ignore[arg-type]
            del frame
            env = {
                **os.environ,
                "BENCH_CHILD": str(data_root),
                "HANDOFF_INTAKE__MAX_ROWS": str(size + 1),
                "HANDOFF_INTAKE__MAX_BYTES": str(4 * 2**30),
            }
            out = (
                subprocess.run(
                    [sys.executable, __file__], env=env, capture_output=True, text=True, check=True
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            rows, sent, seconds, peak = out.split("\t")
            rate = int(rows) / float(seconds)
            print(f"{rows}\t{sent}\t{seconds}\t{rate:,.0f}\t{peak}", flush=True)


if __name__ == "__main__":
    main()
