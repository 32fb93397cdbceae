"""Benchmark: the core hand-off of a backlog of small files, without Prefect.

Writes ``--files`` distinct small valid files (3 rows each) into a fresh demo data root,
claims them all (as a sweep does), then hands them off with the use case the ingest flow
calls (:func:`usecases.handoff_batch.hand_off_batch` when it exists, else one
``Handoff.process_claim`` per claim), in batches of ``--batch``. Prints files/s and checks
each file ended delivered exactly once (one ledger row, one package). ``--profile FILE``
writes a cProfile dump of the hand-off part; ``--top N`` prints its top functions.

    .venv/bin/python bench/handoff.py --files 200 --batch 50
    .venv/bin/python bench/handoff.py --files 50 --profile /tmp/handoff.prof --top 40
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from connectors.dropfolder import ClaimedFile, DropFolderScanner, SettlePolicy, claim  # noqa: E402
from hmis_handoff.config import load_settings  # noqa: E402
from tests.synthetic import make_valid_frame, write_sample_csv  # noqa: E402
from usecases.handoff import Handoff  # noqa: E402
from usecases.initialise import initialise  # noqa: E402

ROWS_PER_FILE = 3
NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


def in_processes(pipe: Handoff, claims: list[ClaimedFile], processes: int) -> None:
    """Judge the batch together, then hand its claims off in ``processes`` forked
    processes (each with its own ledger connection); the bench's files share no IntakeID,
    so the order between them does not matter."""
    from usecases.handoff_batch import BatchJudge
    from usecases.isolation import hand_off_guarded

    judge = BatchJudge()
    judge.judge(pipe, claims)
    ready = [(c, judge.take(c)) for c in claims]
    pipe.ledger.engine.dispose(close=False)
    children = []
    for k in range(processes):
        pid = os.fork()
        if pid == 0:
            try:
                child = Handoff(pipe.settings, clock=lambda: NOW)
                with child.report_pages_once():
                    for claimed, prepared in ready[k::processes]:
                        hand_off_guarded(child, claimed, prepared=prepared)
            finally:
                os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)


def run(
    files: int,
    batch: int,
    profile: Path | None,
    top: int,
    one_by_one: bool,
    threads: int = 1,
    processes: int = 1,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        initialise(root, demo=True)
        drop = root / "agencies" / "demo-agency" / "drop"
        for i in range(files):
            frame = make_valid_frame(ROWS_PER_FILE, household_size=3, start=i * 3)
            write_sample_csv(drop / f"s{i:04d}.csv", frame.to_dict("records"))  # type: ignore[arg-type]
        settings = load_settings(root / "handoff.toml")
        pipe = Handoff(settings, clock=lambda: NOW)
        scanner = DropFolderScanner(pipe.layout.agencies, ["demo-agency"], SettlePolicy(0.0))
        claims = [
            got
            for candidate in scanner.scan().settled
            if (got := claim(candidate, pipe.layout.work)) is not None
        ]
        assert len(claims) == files, len(claims)
        batch_fn = None
        if not one_by_one:
            try:
                from usecases.handoff_batch import hand_off_batch

                batch_fn = hand_off_batch
            except ImportError:
                batch_fn = None
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        for at in range(0, files, batch):
            part = claims[at : at + batch]
            if processes > 1:
                in_processes(pipe, part, processes)
            elif batch_fn is not None:
                batch_fn(pipe, part, workers=threads)
            else:
                for claimed in part:
                    pipe.process_claim(claimed)
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - started
        states: dict[str, int] = {}
        for view in pipe.ledger.files():
            states[view.state] = states.get(view.state, 0) + 1
        packages = len(list(pipe.layout.partner_outbox("demo-partner").glob("*.sig")))
        mode = "batch" if batch_fn is not None else "one by one"
        if batch_fn is not None and processes == 1:
            mode += f", {threads} thread(s)"
        if processes > 1:
            mode += f", {processes} processes"
        print(
            f"{files} files ({mode}, batches of {batch}) in {elapsed:.2f} s: "
            f"{elapsed / files * 1000:.0f} ms/file, {files / elapsed:.1f} files/s; "
            f"ledger {states}, packages {packages}; load average {os.getloadavg()[0]:.1f}"
        )
        if states != {"delivered": files} or packages != files:
            raise SystemExit("not exactly once")
        if profiler and profile:
            profiler.dump_stats(profile)
            if top:
                pstats.Stats(str(profile)).sort_stats("cumulative").print_stats(top)
                pstats.Stats(str(profile)).sort_stats("tottime").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--one-by-one", action="store_true", help="process_claim per claim")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="hand-offs in N threads")
    parser.add_argument("--processes", type=int, default=1, help="hand-offs in N processes")
    args = parser.parse_args()
    run(
        args.files, args.batch, args.profile, args.top, args.one_by_one,
        args.threads, args.processes,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
