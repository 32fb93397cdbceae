"""SIGKILL the real ingest flow under Prefect mid-ingest, restart, and every invariant holds.

The fork-server lab (test_random_kills.py) kills the core loop hundreds of times; this one
kills what production runs: ``handoff up`` (its Prefect server, served deployments, the
watcher and the in-process ingest flow runs) as a subprocess. Files wait in the drop
folder; the stack starts; once a claim is in the work area (a file is mid-ingest) and a
random moment later, the whole process tree dies by SIGKILL (as in a power loss: the
Prefect server ``handoff up`` started in its own session too). A trickle of new files
arrives; the stack restarts on the same data root and Prefect home; again, until
``KILLS`` kills happened mid-ingest. Then the leftovers are aged past production's grace
periods (tests.crash.lab.age_past_grace), the stack runs until the folders are empty, and
the lab's invariants are checked: one ledger row per dropped file, one live row and at
most one package per content, each package exactly that input's valid rows, encrypted
originals, reports, an empty work area, no temp files, no planted value in plaintext.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from pathlib import Path

import psutil
import pytest

from tests.crash.lab import Inputs, age_past_grace, check_invariants, make_root
from tests.crash.test_random_kills import Dropper
from tests.stack.prefect_server import free_port
from tests.stack.test_up import UI_LINE, Stack

KILLS = int(os.environ.get("HANDOFF_PREFECT_CRASH_KILLS", "3"))
INITIAL_FILES = 30


def _start(root: Path, port: int) -> Stack:
    stack = Stack(root, port)
    stack.wait_for_line(UI_LINE, timeout=300)
    return stack


def _kill_tree(stack: Stack) -> int:
    """SIGKILL ``handoff up`` and every process it started; its wait status."""
    tree = [psutil.Process(stack.proc.pid), *psutil.Process(stack.proc.pid).children(True)]
    for process in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    psutil.wait_procs(tree[1:], timeout=30)
    return stack.proc.wait(timeout=30)


def _claims(root: Path) -> int:
    return sum(n.endswith(".claim.json") for n in os.listdir(root / "work"))


@pytest.mark.server
@pytest.mark.slow
def test_killing_handoff_up_mid_ingest_loses_and_doubles_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("HANDOFF_CRASH_SEED", str(random.randrange(2**32))))
    rng = random.Random(seed)
    root = make_root(tmp_path)
    port = free_port()
    config = root / "handoff.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("port = 4200", f"port = {port}"),
        encoding="utf-8",
    )
    inputs = Inputs(root)
    dropper = Dropper(inputs, rng)
    for _ in range(INITIAL_FILES):
        dropper.drop_one()

    kills = 0
    while kills < KILLS:
        # Work must be waiting: files settle and hand off fast, so a restart could finish
        # the whole backlog before the next kill.
        while len(os.listdir(inputs.drop_dir)) < 5:
            dropper.drop_one()
        # Not waiting for the "up" line: the watcher claims files before the deployments
        # are served, and a kill while the stack is still starting is a crash like any other.
        stack = Stack(root, port)
        deadline = time.monotonic() + 240
        while _claims(root) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _claims(root), f"seed {seed}: no file was claimed within 240 s"
        time.sleep(rng.uniform(0, 1.5))
        mid_ingest = _claims(root) > 0
        status = _kill_tree(stack)
        assert status == -signal.SIGKILL, (seed, status)
        kills += mid_ingest  # a kill after the work area emptied is not a mid-ingest kill
        for _ in range(rng.randint(0, 3)):
            dropper.drop_one()

    age_past_grace(root)
    stack = _start(root, port)
    try:
        drop, work = inputs.drop_dir, root / "work"
        deadline = time.monotonic() + 600
        while (os.listdir(drop) or os.listdir(work)) and time.monotonic() < deadline:
            time.sleep(1)
        assert not os.listdir(drop) and not os.listdir(work), f"seed {seed}: work left"
    finally:
        assert stack.stop(timeout=180) == 0
    print(f"\nseed={seed} files={len(inputs.dropped)} kills-mid-ingest={kills}")
    check_invariants(root, inputs, tmp_path)
