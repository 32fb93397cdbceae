"""Benchmark: ``handoff process`` for one small file with no Prefect server, whole process.

For each run: a fresh demo data root whose Prefect port answers nobody (one untimed
``process`` first, so its ledger exists as in daily use), one new 3-row file
in the drop folder, aged past the settle window, then ``/usr/bin/time python -m cli
process`` (wall, user and system seconds, the command's own figures). ``--code DIR`` runs
another checkout of the code (e.g. ``git archive`` of an earlier commit) with this venv, for
before/after figures in one sitting; both are interleaved run by run when given twice.

    .venv/bin/python bench/oneshot.py --runs 5
    .venv/bin/python bench/oneshot.py --runs 5 --code /tmp/base --code .
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.synthetic import make_valid_frame, write_sample_csv  # noqa: E402

_TIME = re.compile(r"^([\d.]+) ([\d.]+) ([\d.]+)$", re.MULTILINE)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_run(code: Path, run: int) -> tuple[float, float]:
    """(wall, user + system seconds) of one ``handoff process`` over one new file."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        init = ["init", str(root), "--demo", "--port", str(_free_port())]
        subprocess.run(
            [sys.executable, "-m", "cli", *init],
            cwd=code,
            check=True,
            capture_output=True,
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HANDOFF_"))}
        process = [sys.executable, "-m", "cli", "process", "--config", str(root / "handoff.toml")]
        # An existing data root, as in daily use: its ledger is already made (migrated).
        subprocess.run(process, cwd=code, env=env, check=True, capture_output=True)
        frame = make_valid_frame(3, household_size=3, start=1000 * run)
        drop = root / "agencies" / "demo-agency" / "drop"
        write_sample_csv(drop / "intake.csv", frame.to_dict("records"))  # type: ignore[arg-type]
        time.sleep(2.2)  # older than the settle window: settled on first sight
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%e %U %S", *process, "--json"],
            cwd=code,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or '"delivered": 1' not in done.stdout:
            raise SystemExit(f"run failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        match = _TIME.findall(done.stderr)[-1]
        return float(match[0]), float(match[1]) + float(match[2])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--code", action="append", type=Path, default=None)
    args = parser.parse_args()
    codes = [c.resolve() for c in (args.code or [REPO_ROOT])]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    figures: dict[Path, list[tuple[float, float]]] = {c: [] for c in codes}
    for run in range(args.runs):
        for code in codes:
            figures[code].append(one_run(code, run))
    for code, runs in figures.items():
        walls = sorted(w for w, _ in runs)
        cpus = sorted(c for _, c in runs)
        print(
            f"{code}: wall median {statistics.median(walls):.2f} s "
            f"({walls[0]:.2f}-{walls[-1]:.2f}), CPU median {statistics.median(cpus):.2f} s "
            f"({cpus[0]:.2f}-{cpus[-1]:.2f}) over {len(runs)} runs"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
