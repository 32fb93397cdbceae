"""Crash at every named failpoint, then recover: nothing lost, nothing twice, no plaintext.

Each scenario: a first clean run handles ``reuse.csv``; then a batch arrives (a valid file,
an identical copy of it, an all-invalid file, a partly valid one, a copy of the earlier
content, one whose rows may not be sent, and new content under the reused name). The
driver dies by SIGKILL at the failpoint, a clean run (production grace periods) completes
the work, the leftovers are aged past those periods and a run removes them, and a second
clean run changes nothing (files and ledger dump identical). The core runs without Prefect
(see tests/crash/driver.py for why); a fork server keeps each run to a fraction of a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hmis_handoff import failpoints
from tests.crash.lab import (
    REPO_ROOT,
    ForkServer,
    Inputs,
    age_past_grace,
    check_invariants,
    make_root,
    snapshot,
)

# Hits of each failpoint in claim order over the batch (a, b, c, d, e, f, reuse):
#   registered a b c d e f reuse   reported a b c d e f reuse   archived a c d f reuse
#   validated/delivered a d f reuse   plaintext-written/packaged a d reuse   rejected c
SCENARIOS = [
    *[pytest.param(name, 0, id=name) for name in failpoints.NAMES],
    pytest.param("registered", 1, id="registered-duplicate"),
    pytest.param("reported", 1, id="reported-duplicate-notice"),
    pytest.param("reported", 2, id="reported-rejection"),
    pytest.param("archived", 1, id="archived-rejected-original"),
    pytest.param("cleaned-up", 1, id="cleaned-up-duplicate"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    running = ForkServer(tmp_path_factory.mktemp("crash-server") / "server.log")
    yield running
    running.close()


def first_drop(root: Path) -> Inputs:
    """``reuse.csv`` with its first content, handled by a clean run before the batch."""
    inputs = Inputs(root)
    earlier = inputs.make("valid")
    inputs.drop("reuse.csv", earlier)
    return inputs


def drop_batch(inputs: Inputs) -> None:
    earlier = inputs.dropped[0][1]
    valid = inputs.make("valid")
    inputs.drop("a-valid.csv", valid)
    inputs.drop("b-copy-of-a.csv", valid)
    inputs.drop("c-invalid.csv", inputs.make("invalid"))
    inputs.drop("d-mixed.csv", inputs.make("mixed", rows=3))
    inputs.drop("e-copy-of-earlier.csv", earlier)
    inputs.drop("f-not-sent.csv", inputs.make("not_sent"))
    inputs.drop("reuse.csv", inputs.make("valid"))


@pytest.mark.parametrize(("name", "skip"), SCENARIOS)
def test_crash_at_failpoint_then_recover(
    server: ForkServer, tmp_path: Path, name: str, skip: int
) -> None:
    root = make_root(tmp_path)
    inputs = first_drop(root)
    server.clean_run(root)
    drop_batch(inputs)

    crashed = server.run(root, failpoint=name, skip=skip)
    assert crashed.exit == -signal.SIGKILL and crashed.killed, (crashed, server.log())

    # Recovery with production's grace: what the crash left is young, the work completes.
    server.clean_run(root)
    assert os.listdir(inputs.drop_dir) == [], "the run after the crash left files waiting"
    age_past_grace(root)  # time passes: the leftovers are now anyone's to remove
    server.clean_run(root)
    before = snapshot(root)
    server.clean_run(root)
    assert snapshot(root) == before, "a second clean run changed something"
    check_invariants(root, inputs, tmp_path)


def test_the_driver_dies_at_a_failpoint_set_in_its_environment(tmp_path: Path) -> None:
    # The plain command line, as an operator would run it: no fork server involved.
    root = make_root(tmp_path)
    inputs = first_drop(root)
    command = [sys.executable, "-m", "tests.crash.driver", str(root)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HANDOFF_FAILPOINT": "packaged"}
    crashed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    env.pop("HANDOFF_FAILPOINT")
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    age_past_grace(root)
    again = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    check_invariants(root, inputs, tmp_path)


def test_failpoint_skips_then_kills_and_is_inert_otherwise(tmp_path: Path) -> None:
    script = (
        "from hmis_handoff.failpoints import failpoint\n"
        "for i in range(5):\n"
        "    failpoint('other')\n"
        "    failpoint('here')\n"
        "    print(i, flush=True)\n"
    )

    def run(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    plain = run()
    assert (plain.returncode, plain.stdout.split()) == (0, ["0", "1", "2", "3", "4"])
    skipped = run(HANDOFF_FAILPOINT="here", HANDOFF_FAILPOINT_SKIP="2")
    assert (skipped.returncode, skipped.stdout.split()) == (-signal.SIGKILL, ["0", "1"])


def test_reload_reads_the_environment_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_FAILPOINT", "somewhere")
    failpoints.reload()
    try:
        failpoints.failpoint("elsewhere")  # not armed: returns
        with pytest.raises(ValueError):
            failpoints.reload({"HANDOFF_FAILPOINT": "a", "HANDOFF_FAILPOINT_SKIP": "x"})
    finally:
        monkeypatch.delenv("HANDOFF_FAILPOINT")
        failpoints.reload()
    failpoints.failpoint("somewhere")  # disarmed again
