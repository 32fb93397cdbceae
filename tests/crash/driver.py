"""Crash-lab driver: the core ingest loop, without Prefect, until the drop folders are empty.

``python -m tests.crash.driver ROOT`` recovers the work area, then scans, claims and hands
off files (claim everything settled, judge them together, then hand off in claim order, two
at a time where independent, as the ingest flow does) until no file is left or
``--time-limit`` passes. Exit 0: done; 3: time limit. Set ``HANDOFF_FAILPOINT`` (and
``HANDOFF_FAILPOINT_SKIP``) to die by SIGKILL at a named point.

Why no Prefect here: crash consistency is a property of the core (ledger state machine,
atomic files, recovery); the flows only call the same functions. A Prefect flow run costs
seconds to start, which would turn hundreds of kills into hours. The real ingest flow under
Prefect is crashed too, fewer times: tests/crash/test_prefect_kills.py kills ``handoff up``.

``python -m tests.crash.driver --serve`` is a fork server for many runs: it imports and
warms everything once, then for each JSON request line on stdin
(``{"root", "failpoint", "skip", "kill_after", "time_limit"}``) forks a child that runs the
loop, SIGKILLs it after ``kill_after`` seconds if still running (the server is its parent,
so the pid cannot have been reused), and answers ``{"exit", "killed", "seconds"}``.
``killed`` is read from the wait status alone (the child died of SIGKILL, from a failpoint
or the timer): a child that exited on its own just before the timer fired is not a kill,
whatever the timer says.

Recovery is production's own: :meth:`Handoff.recover` with its grace periods (temp files
younger than ``STALE_TEMP_SECONDS``, orphan claim sidecars younger than the default
``pending_claims`` grace are left alone, as they could belong to another live worker). A
lab that wants them gone ages them past those periods first (``tests.crash.lab``'s
``age_past_grace``), as the passing of time would.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from connectors.dropfolder import (
    ClaimedFile,
    DropFolderScanner,
    SettlePolicy,
    claim,
)
from hmis_handoff import failpoints
from hmis_handoff.config import load_settings
from hmis_handoff.workarea import load_or_create_secret
from usecases.handoff import Handoff
from usecases.handoff_batch import HAND_OFF_WORKERS, BatchJudge

# tests.synthetic rows are valid as of this day; validation runs as of it.
AS_OF = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
EXIT_DONE = 0
EXIT_TIME_LIMIT = 3


def run_once(root: Path, *, time_limit: float = 300.0) -> int:
    """Recover, then scan / claim / hand off until the drop folders are empty."""
    settings = load_settings(root / "handoff.toml")
    pipe = Handoff(settings, clock=lambda: AS_OF)
    scanner: DropFolderScanner | None = None
    try:
        key = load_or_create_secret(pipe.layout.hmac_key)
        scanner = DropFolderScanner(
            pipe.layout.agencies,
            [agency.id for agency in settings.agencies],
            SettlePolicy(stable_seconds=settings.intake.stable_seconds),
            fingerprint_key=key,
            publish_signals=True,  # the watcher's settle rule (kernel rename/close events)
        )
        deadline = time.monotonic() + time_limit
        hand_off(pipe, pipe.recover())
        while True:
            result = scanner.scan()
            for refusal in result.refused:
                pipe.answer_refusal(refusal)
            ordered = sorted(result.settled, key=lambda c: os.fsencode(c.path.name))
            claims = [claim(c, pipe.layout.work, fingerprint_key=key) for c in ordered]
            hand_off(pipe, [c for c in claims if c is not None])
            if not result.settled and not result.pending:
                return EXIT_DONE
            if time.monotonic() >= deadline:
                return EXIT_TIME_LIMIT
            if not result.settled:
                time.sleep(min(result.next_due or 0.02, 0.25))
    finally:
        if scanner is not None:
            scanner.close()  # its inotify descriptor
        pipe.ledger.close()


def hand_off(pipe: Handoff, claims: list[ClaimedFile]) -> None:
    """As the ingest flow does: judge the batch together (usecases/handoff_batch.py), then
    hand off each claim with its batch verdict, up to ``HAND_OFF_WORKERS`` at once in
    threads, index pages once at the end; unlike the flow, an exception is not isolated
    but ends the run (the lab must see it)."""
    judge = BatchJudge()
    judge.judge(pipe, claims)

    def one(claimed: ClaimedFile) -> object:
        return pipe.process_claim(claimed, judge.ready(claimed.claim_id))

    with pipe.report_pages_once(), ThreadPoolExecutor(HAND_OFF_WORKERS) as pool:
        judge.hand_off_in_order(claims, lambda c: pool.submit(one, c), workers=HAND_OFF_WORKERS)


def _warm_up() -> None:
    """One full run on a throwaway tree, so forked children start with warm caches."""
    from tests.synthetic import make_valid_frame, write_sample_csv
    from usecases.initialise import initialise

    with tempfile.TemporaryDirectory(prefix="crash-warm-") as tmp:
        root = Path(tmp) / "data"
        initialise(root, demo=True)
        write_sample_csv(root / "agencies" / "demo-agency" / "drop" / "w.csv", make_valid_frame(2))
        previous = os.environ.get("HANDOFF_INTAKE__STABLE_SECONDS")
        os.environ["HANDOFF_INTAKE__STABLE_SECONDS"] = "0"
        try:
            run_once(root, time_limit=60)
        finally:
            if previous is None:
                os.environ.pop("HANDOFF_INTAKE__STABLE_SECONDS", None)
            else:
                os.environ["HANDOFF_INTAKE__STABLE_SECONDS"] = previous


def _child(request: dict[str, Any]) -> int:
    for name, value in (
        ("HANDOFF_FAILPOINT", request.get("failpoint")),
        ("HANDOFF_FAILPOINT_SKIP", request.get("skip")),
    ):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = str(value)
    failpoints.reload()
    return run_once(Path(request["root"]), time_limit=float(request.get("time_limit", 300)))


def _serve_one(request: dict[str, Any]) -> dict[str, Any]:
    sys.stdout.flush()
    sys.stderr.flush()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _child(request)
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stderr.flush()
            os._exit(code)
    pidfd = os.pidfd_open(pid)
    try:
        kill_after = request.get("kill_after")
        ready, _, _ = select.select([pidfd], [], [], kill_after)
        if not ready:
            # pidfd_send_signal: a no-op on a child that has exited meanwhile (not reaped yet).
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(pidfd)
    exit_code = os.waitstatus_to_exitcode(status)
    return {
        "exit": exit_code,
        "killed": exit_code == -signal.SIGKILL,
        "seconds": round(time.monotonic() - started, 4),
    }


def serve(requests: TextIO, replies: TextIO) -> None:
    """The fork-server loop (see the module docstring)."""
    _warm_up()
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in requests:
        if line.strip():
            replies.write(json.dumps(_serve_one(json.loads(line))) + "\n")
            replies.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.crash.driver")
    parser.add_argument("root", nargs="?", type=Path)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args(argv)
    if args.serve:
        serve(sys.stdin, sys.stdout)
        return 0
    if args.root is None:
        parser.error("ROOT is required unless --serve")
    return run_once(args.root, time_limit=args.time_limit)


if __name__ == "__main__":
    sys.exit(main())
