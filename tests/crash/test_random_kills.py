"""200 SIGKILLs at random moments while files keep arriving; then every invariant holds.

50 files are waiting at the start; before each run a trickle of 0-3 more arrives (new
valid, partly valid, invalid and binary files, files whose rows may not be sent, identical
re-drops of earlier content, and new content under a name used before). Each run of the
core ingest loop is killed after U(0, MAX_DELAY) seconds; a run that finished before its
kill is not counted (the driver reads "killed" from the exit status), and runs go on until
exactly KILLS of them died by SIGKILL. Recovery keeps production's grace periods; before
the final run the leftovers are aged past them, as time would. A final clean run completes the
work, a second one must change nothing, and then: one ledger row per dropped file, one live
row and at most one package per distinct content, each package decrypting to exactly that
input's valid rows, encrypted originals, reports and notices, an empty work area, no temp
files and no planted canary in plaintext anywhere under the data root.

The core runs without Prefect (tests/crash/driver.py says why); a fork server starts each
run warm. ``HANDOFF_CRASH_SEED`` replays the inputs and kill delays (not the exact kill
points, which depend on timing); ``HANDOFF_CRASH_KILLS`` shortens the run.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests.crash.lab import (
    ForkServer,
    Inputs,
    Kind,
    age_past_grace,
    check_invariants,
    make_root,
    snapshot,
)

KILLS = int(os.environ.get("HANDOFF_CRASH_KILLS", "200"))
INITIAL_FILES = 50
# A run that finished before its kill is tried again; this many tries per kill is plenty
# (a typical lab finishes 1 run in 5 before the kill) and stops a lab that could never kill.
MAX_ATTEMPTS_PER_KILL = 20
MAX_DELAY = 0.6  # seconds after the fork; a warm child needs ~0.05 s before its first file
NEW_KINDS: list[tuple[Kind, float]] = [
    ("valid", 0.45),
    ("mixed", 0.25),
    ("invalid", 0.15),
    ("junk", 0.07),
    ("not_sent", 0.08),
]


class Dropper:
    """Drops random inputs; never overwrites a file that is still waiting."""

    def __init__(self, inputs: Inputs, rng: random.Random) -> None:
        self.inputs = inputs
        self.rng = rng
        self.count = 0

    def fresh_name(self) -> str:
        self.count += 1
        return f"in{self.count:05d}.{self.rng.choice(['csv', 'csv', 'CSV'])}"

    def new_content_kind(self) -> Kind:
        kinds, weights = zip(*NEW_KINDS, strict=True)
        kind: Kind = self.rng.choices(kinds, weights)[0]
        return kind

    def drop_one(self) -> None:
        action = self.rng.random()
        earlier = self.inputs.dropped
        if action < 0.15 and earlier:
            _name, content = self.rng.choice(earlier)
            self.inputs.drop(self.fresh_name(), content)  # identical re-drop
            return
        kind = self.new_content_kind()
        content = self.inputs.make(kind, rows=self.rng.randint(1, 3) if kind != "mixed" else 3)
        if action < 0.25:
            waiting = set(os.listdir(self.inputs.drop_dir))
            free = sorted({n for n, _c in earlier} - waiting)
            if free:
                self.inputs.drop(self.rng.choice(free), content)  # same name, new content
                return
        self.inputs.drop(self.fresh_name(), content)


@pytest.mark.slow
def test_random_kills_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("HANDOFF_CRASH_SEED", str(random.randrange(2**32))))
    rng = random.Random(seed)
    root = make_root(tmp_path)
    inputs = Inputs(root)
    dropper = Dropper(inputs, rng)
    for _ in range(INITIAL_FILES):
        dropper.drop_one()
    server = ForkServer(tmp_path / "server.log")
    started = time.monotonic()
    killed = finished = mid_file = 0
    try:
        while killed < KILLS:
            assert killed + finished < MAX_ATTEMPTS_PER_KILL * KILLS, (
                f"seed {seed}: only {killed} kills in {finished + killed} runs"
            )
            for _ in range(rng.randint(0, 3)):
                dropper.drop_one()
            result = server.run(root, kill_after=rng.uniform(0, MAX_DELAY), time_limit=120)
            if result.killed:
                assert result.exit == -signal.SIGKILL, (seed, result, server.log())
                killed += 1
                mid_file += any(n.endswith(".claim.json") for n in os.listdir(root / "work"))
            else:
                assert result.exit == 0, (seed, result, server.log())
                finished += 1
        waiting_at_end = len(os.listdir(inputs.drop_dir)) + sum(
            n.endswith(".claim.json") for n in os.listdir(root / "work")
        )
        age_past_grace(root)
        # Under load most kills land before a file completes, so the final run may find
        # hundreds waiting: its limit is a hang guard of 5 s per file, not a speed claim.
        final = server.clean_run(root, time_limit=300 + 5 * waiting_at_end)
        before = snapshot(root)
        server.clean_run(root)
        after = snapshot(root)
    finally:
        server.close()
    print(
        f"\nseed={seed} files={len(inputs.dropped)} distinct={len(set(inputs.contents()))} "
        f"kills={killed} finished-before-kill={finished} kills-leaving-a-claim={mid_file} "
        f"left-for-final-run={waiting_at_end} final-run={final.seconds:.1f}s "
        f"loop={time.monotonic() - started:.1f}s"
    )
    changed = sorted(
        k
        for k in set(before["files"]) | set(after["files"])
        if before["files"].get(k) != after["files"].get(k)
    )
    assert after == before, (
        f"seed {seed}: a second clean run changed something: files {changed[:20]}, "
        f"ledger {'same' if after['ledger'] == before['ledger'] else 'changed'}"
    )
    assert killed == KILLS, f"seed {seed}: {killed} kills, {KILLS} requested"
    check_invariants(root, inputs, tmp_path)
