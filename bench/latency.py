"""Benchmark: drop-to-package latency and backlog throughput of ``handoff up``.

Starts the embedded stack (``python -m cli up``) on a fresh demo data root in a
temp dir with a free port, waits for its "Prefect UI: " line, then:

1. **Latency**: drops ``--files`` files one at a time. Each is written as
   ``<name>.filepart`` in the drop folder (ignored by the scanner), fsynced, closed, then
   renamed to ``<name>.csv``; the clock starts just before the rename and stops when the
   package's ``.sig`` (the commit point) appears in the outbox, polled every 10 ms. The
   next file is dropped ``--gap`` seconds after the previous package appeared (the flow
   run goes on after the ``.sig``, and the watcher sweeps only once it returns).
   Every publisher kind is measured by default (``--publisher all``), each for ``--files``
   files: ``instant`` renames straight after the write, which on Linux usually leaves
   ctime == mtime (same kernel tick) so the file waits out the full settle window (see
   ``connectors.dropfolder.SettlePolicy``); ``stat`` stats the temp file before renaming,
   as sftp-server and smbd do, which makes the rename's ctime fine-grained (the fast path);
   ``close-write`` writes the final name in place and closes it; ``slow-append`` writes the
   final name in three appends 0.5 s apart. For in-place kinds the clock starts at the
   last close (when the file is complete), for renames just before the rename.
2. **Backlog**: writes ``--backlog`` small distinct valid files under temp names, renames
   them all in at once, and measures the time until every one is in a terminal ledger
   state; then checks each exactly once: one ledger row per file, all delivered, one
   complete package per file that decrypts to that file's rows.

Per-file timestamps from the ledger (claimed = received_at, then the state transitions)
and the package's ``.sig`` mtime split the latency into: settle + claim, ingest flow
start (flow run, recover task, hand-off task), read + validate + package, and report +
archive + ledger. The stack is stopped with SIGTERM at the end.

Usage::

    .venv/bin/python bench/latency.py                    # 30 files, backlog of 1,000
    .venv/bin/python bench/latency.py --backlog 0        # latency only
    .venv/bin/python bench/latency.py --publisher instant

Goals (issue 6): p50 <= 1 s, p95 <= 2 s with the default 2 s window; backlog <= 60 s.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import os
import queue
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from hmis_handoff.crypto.age import parse_identities_file  # noqa: E402
from hmis_handoff.crypto.package import verify_and_decrypt  # noqa: E402
from hmis_handoff.crypto.signing import VerifyKey  # noqa: E402
from tests.packages import intake_text  # noqa: E402
from tests.stack.prefect_server import free_port  # noqa: E402
from tests.synthetic import make_valid_frame  # noqa: E402
from usecases.initialise import initialise  # noqa: E402

UI_LINE = "Prefect UI: "
AGENCY = "demo-agency"
PARTNER = "demo-partner"
POLL = 0.01
TERMINAL = ("delivered", "rejected", "duplicate")


class Stack:
    """``handoff up`` as a subprocess in its own session; its output kept for errors."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "up", "--config", str(root / "handoff.toml")],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for_line(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if needle in self.lines.get(timeout=0.5):
                    return
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
        raise RuntimeError(f"no {needle!r} from handoff up:\n{''.join(self.output)[-3000:]}")

    def stop(self) -> int:
        """SIGTERM the stack; then end (and report) anything it left in its process group."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            code = self.proc.wait(timeout=10)
        left = self.left_behind()
        if left:
            print(f"  WARNING: the stack left {len(left)} process(es) running; ending them")
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        return code

    def left_behind(self) -> list[int]:
        """Processes still in the stack's process group (it was started in its own)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.proc.pid:  # fields after "(comm)": state, ppid, pgrp
                pids.append(int(entry.name))
        return pids


def intake_bytes(start: int, rows: int) -> tuple[bytes, list[list[str]]]:
    """A valid synthetic intake (unique rows from ``start``) and its rows with header."""
    frame = make_valid_frame(rows, start=start)
    table = [list(frame.columns), *([str(v) for v in row] for row in frame.itertuples(index=False))]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)
    return buffer.getvalue().encode("utf-8"), table


def write_temp(drop: Path, name: str, data: bytes) -> Path:
    temp = drop / f"{name}.filepart"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return temp


def sha12(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def signature(outbox: Path, data: bytes) -> Path | None:
    found = list(outbox.glob(f"*-{sha12(data)}.manifest.json.sig"))
    return found[0] if found else None


@dataclass
class Timing:
    rename_wall: float
    latency: float
    ref: str
    sig_wall: float


def _utc(text: str) -> float:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def breakdown(root: Path, timings: list[Timing]) -> dict[str, list[float]]:
    """Per-stage seconds from the ledger's timestamps (wall clock, same host)."""
    db = sqlite3.connect(f"file:{root / 'state' / 'ledger.db'}?mode=ro", uri=True)
    stages: dict[str, list[float]] = {
        "rename -> claimed (settle + claim)": [],
        "claimed -> registered (flow run + tasks start)": [],
        "registered -> .sig (read, validate, package)": [],
        ".sig -> delivered (report, archive, ledger)": [],
    }
    try:
        for timing in timings:
            row = db.execute(
                "SELECT id, received_at FROM intake_file WHERE substr(sha256, 1, 12) = ?",
                (timing.ref,),
            ).fetchone()
            states = dict(
                db.execute(
                    "SELECT to_state, at FROM transition WHERE file_id = ?", (row[0],)
                ).fetchall()
            )
            claimed = _utc(row[1])
            registered = _utc(states["received"])
            delivered = _utc(states["delivered"])
            stages["rename -> claimed (settle + claim)"].append(claimed - timing.rename_wall)
            stages["claimed -> registered (flow run + tasks start)"].append(registered - claimed)
            stages["registered -> .sig (read, validate, package)"].append(
                timing.sig_wall - registered
            )
            stages[".sig -> delivered (report, archive, ledger)"].append(
                delivered - timing.sig_wall
            )
    finally:
        db.close()
    return stages


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


PUBLISHERS = ("instant", "stat", "close-write", "slow-append")
SLOW_APPEND_PAUSE = 0.5  # seconds between the three appends of a slow uploader


def publish_in_place(path: Path, data: bytes, *, pieces: int) -> None:
    """Write ``data`` under its final name in ``pieces`` appends (a pause between them)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        step = -(-len(data) // pieces)
        for start in range(0, len(data), step):
            if start:
                time.sleep(SLOW_APPEND_PAUSE)
            handle.write(data[start : start + step])
            handle.flush()
            os.fsync(handle.fileno())


def run_latency(root: Path, count: int, publisher: str, gap: float, next_row: int) -> list[Timing]:
    """Drop ``count`` files one at a time the ``publisher`` way; the clock starts when the
    file is complete under its final name (after the rename, or after the last close)."""
    drop = root / "agencies" / AGENCY / "drop"
    outbox = root / "partners" / PARTNER / "outbox"
    timings: list[Timing] = []
    for i in range(count):
        data, _table = intake_bytes(next_row + 3 * i, 3)
        final = drop / f"latency-{publisher}-{i:03d}.csv"
        if publisher in ("close-write", "slow-append"):
            publish_in_place(final, data, pieces=1 if publisher == "close-write" else 3)
            started = time.monotonic()
            wall = time.time()
        else:
            temp = write_temp(drop, final.name, data)
            if publisher == "stat":
                os.stat(temp)
            started = time.monotonic()
            wall = time.time()
            os.rename(temp, final)
        deadline = started + 120
        sig = None
        while sig is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"file {i}: no package within 120 s")
            time.sleep(POLL)
            sig = signature(outbox, data)
        latency = time.monotonic() - started
        timings.append(Timing(wall, latency, sha12(data), sig.stat().st_mtime_ns / 1e9))
        time.sleep(gap)  # the flow run goes on after the .sig (report, ledger, artifact)
    return timings


def _ledger_counts(root: Path) -> tuple[int, int]:
    db = sqlite3.connect(f"file:{root / 'state' / 'ledger.db'}?mode=ro", uri=True, timeout=30)
    try:
        total = db.execute("SELECT count(*) FROM intake_file").fetchone()[0]
        marks = ",".join("?" * len(TERMINAL))
        done = db.execute(
            f"SELECT count(*) FROM intake_file WHERE state IN ({marks})", TERMINAL
        ).fetchone()[0]
    finally:
        db.close()
    return int(total), int(done)


def run_backlog(root: Path, count: int, start_row: int, already: int, timeout: float) -> None:
    drop = root / "agencies" / AGENCY / "drop"
    outbox = root / "partners" / PARTNER / "outbox"
    files: dict[str, tuple[bytes, list[list[str]]]] = {}
    temps = []
    for i in range(count):
        data, table = intake_bytes(start_row + 2 * i, 2)
        files[sha12(data)] = (data, table)
        temps.append(write_temp(drop, f"backlog-{i:04d}.csv", data))
    started = time.monotonic()
    for temp in temps:
        os.rename(temp, temp.with_name(temp.name.removesuffix(".filepart")))
    renamed = time.monotonic() - started
    done = 0
    progress = []
    while done < already + count:
        if time.monotonic() - started > timeout:
            print(f"  backlog: gave up after {timeout:.0f} s with {done - already} done")
            break
        time.sleep(0.5)
        _total, done = _ledger_counts(root)
        progress.append((time.monotonic() - started, done - already))
    elapsed = time.monotonic() - started
    print(f"  renamed {count} files in {renamed:.2f} s")
    for mark in (0.1, 0.25, 0.5, 0.75, 1.0):
        reached = next((t for t, n in progress if n >= mark * count), None)
        if reached is not None:
            print(f"  {int(mark * 100):3d}% terminal after {reached:6.1f} s")
    print(f"  all {count} terminal after {elapsed:.1f} s (goal <= 60 s)")
    verify(root, files, outbox, already)


def verify(
    root: Path, files: dict[str, tuple[bytes, list[list[str]]]], outbox: Path, already: int
) -> None:
    """Exactly once: one delivered ledger row and one package per file, rows intact."""
    db = sqlite3.connect(f"file:{root / 'state' / 'ledger.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT substr(sha256, 1, 12), state, package_id FROM intake_file")
        ledger = rows.fetchall()
    finally:
        db.close()
    mine = [row for row in ledger if row[0] in files]
    refs = [row[0] for row in mine]
    problems = []
    if len(refs) != len(files) or set(refs) != set(files):
        problems.append(f"{len(refs)} ledger rows for {len(files)} files")
    if any(state != "delivered" for _ref, state, _pid in mine):
        problems.append("not every file was delivered")
    identities = parse_identities_file(root / "demo-keys" / f"{PARTNER}.key")
    signer = VerifyKey.parse((root / "state" / "signing.pub").read_text(encoding="utf-8").strip())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plain.csv"
        for ref, _state, package_id in mine:
            verify_and_decrypt(
                outbox / f"{package_id}.age",
                out,
                identities=identities,
                trusted_signers=[signer],
                overwrite=True,
            )
            # The payload may be a zip holding the intake CSV (tests/packages.py reads both).
            if list(csv.reader(io.StringIO(intake_text(out), newline=""))) != files[ref][1]:
                problems.append(f"package {package_id} does not hold its file's rows")
    sigs = len(list(outbox.glob("*.sig")))
    if sigs != already + len(files):
        problems.append(f"{sigs} packages in the outbox, expected {already + len(files)}")
    print(
        "  exactly once: "
        + ("OK (one ledger row, one package, rows intact per file)" if not problems else "")
        + "; ".join(problems)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=30)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--publisher", choices=["all", *PUBLISHERS], default="all")
    parser.add_argument(
        "--gap", type=float, default=1.0, help="seconds between a package and the next drop"
    )
    parser.add_argument("--backlog-timeout", type=float, default=900.0)
    parser.add_argument("--keep", type=Path, help="use this directory (kept) instead of a temp dir")
    args = parser.parse_args()

    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-latency-"))
    root = base / "data"
    initialise(root, demo=True, port=free_port())
    stack = Stack(root)
    try:
        started = time.monotonic()
        stack.wait_for_line(UI_LINE, timeout=240)
        print(f"stack up in {time.monotonic() - started:.1f} s ({root})")
        kinds = PUBLISHERS if args.publisher == "all" else (args.publisher,)
        for number, kind in enumerate(kinds if args.files else ()):
            first_row = number * 3 * args.files
            timings = run_latency(root, args.files, kind, args.gap, next_row=first_row)
            latencies = [t.latency for t in timings]
            print(
                f"latency, {args.files} files one at a time (publisher: {kind}, "
                f"{args.gap:g} s after each package before the next drop):"
            )
            print(
                f"  p50 {statistics.median(latencies):.3f} s   p95 "
                f"{percentile(latencies, 0.95):.3f} s   max {max(latencies):.3f} s   "
                f"first {latencies[0]:.3f} s   (goals: p50 <= 1 s, p95 <= 2 s)"
            )
            time.sleep(1.0)
            for stage, values in breakdown(root, timings).items():
                print(
                    f"  {stage:<48} median {statistics.median(values):.3f} s   "
                    f"max {max(values):.3f} s"
                )
        if args.backlog:
            print(f"backlog of {args.backlog} files dropped at once:")
            run_backlog(root, args.backlog, 100_000, args.files, args.backlog_timeout)
    finally:
        code = stack.stop()
        print(f"stack stopped with SIGTERM (exit {code})")
        if args.keep:  # what the stack printed, for a slow drop's story
            (base / "stack-output.log").write_text("".join(stack.output), encoding="utf-8")
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
