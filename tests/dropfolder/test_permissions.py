"""Permission denied, for real: the scenario runs as ``nobody`` when the suite runs as root.

Root reads everything, so a chmod 000 file proves nothing there; the scenario runs in a
child process that imports as root (the interpreter may live under /root) and then drops
to uid 65534 with ``os.setuid`` (or simply runs as the current user when that is not root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

NOBODY = 65534

SCENARIO = r"""
import json, os, sys
from pathlib import Path
from connectors.dropfolder import (
    DropFolderScanner, SettlePolicy, claim, quarantine_refusal, pending_claims,
)
from hmis_handoff.errors import RetriableError

if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
root = Path(sys.argv[1])
agencies = root / "agencies"
drop, drop_b, work = agencies / "a" / "drop", agencies / "b" / "drop", root / "work"
scanner = DropFolderScanner(agencies, ["a", "b"], SettlePolicy(stable_seconds=0))
out = {}

def scan():
    result = scanner.scan()
    return result, sorted(c.path.name for c in result.settled), [
        (r.path.name, r.reason_rule_id) for r in result.refused
    ]

(drop / "locked.csv").write_bytes(b"id\n1\n")
(drop / "locked.csv").chmod(0)
(drop / "open.csv").write_bytes(b"id\n2\n")
drop_b.chmod(0)  # agency b's whole folder cannot be listed

result, out["first_settled"], out["first_refused"] = scan()
out["quarantine_unreadable"] = quarantine_refusal(result.refused[0], root / "quarantine") is None
_, out["second_settled"], out["second_refused"] = scan()
for candidate in result.settled:
    out["claimed_open"] = claim(candidate, work) is not None

(drop / "locked.csv").chmod(0o600)  # staff fix the permissions
result, out["fixed_settled"], out["fixed_refused"] = scan()
out["claimed_locked"] = [claim(c, work) is not None for c in result.settled]

(drop / "stuck.csv").write_bytes(b"id\n3\n")
drop.chmod(0o500)  # the inbox is not writable by us: the claim rename is refused
result, _, _ = scan()
try:
    claim(result.settled[0], work)
    out["claim_error"] = None
except RetriableError as exc:
    out["claim_error"] = str(exc)
out["stuck_still_there"] = (drop / "stuck.csv").read_bytes() == b"id\n3\n"
out["work_after"] = sorted(os.listdir(work))
out["pending"] = len(pending_claims(work))
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def root() -> Iterator[Path]:
    # Not tmp_path: pytest's base temp is 0700 root, so nobody could not even enter it.
    path = Path(tempfile.mkdtemp(prefix="dropfolder-perm-"))
    for agency in ("a", "b"):
        (path / "agencies" / agency / "drop").mkdir(parents=True)
    if os.geteuid() == 0:
        for directory, _dirs, _files in os.walk(path):
            os.chown(directory, NOBODY, NOBODY)
    yield path
    for directory, _dirs, _files in os.walk(path):
        os.chmod(directory, 0o700)
    shutil.rmtree(path)


@pytest.fixture(scope="module")
def out(root: Path) -> dict[str, object]:
    """Run the scenario once; its observations as a dict."""
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO, str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(repo)},
        check=False,
    )
    if "PermissionError" in done.stderr and "setuid" in done.stderr:
        pytest.skip("cannot switch to uid nobody here")
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout)
    result["stderr"] = done.stderr
    return result


def test_unreadable_file_is_refused_once_left_alone_and_flows_when_fixed(
    out: dict[str, object],
) -> None:
    assert out["first_settled"] == ["open.csv"]
    assert out["first_refused"] == [["locked.csv", "FILE-UNREADABLE"]]
    assert out["quarantine_unreadable"] is True  # left where it is
    assert out["second_refused"] == []  # reported once
    assert out["claimed_open"] is True
    assert out["fixed_settled"] == ["locked.csv"] and out["fixed_refused"] == []
    assert out["claimed_locked"] == [True]


def test_unwritable_inbox_fails_the_claim_cleanly(out: dict[str, object]) -> None:
    assert out["claim_error"] == "claim failed: PermissionError"
    assert out["stuck_still_there"] is True
    assert out["pending"] == 2
    work_after = out["work_after"]
    assert isinstance(work_after, list)
    assert len(work_after) == 4  # two claims, each file + sidecar; no stray sidecar


def test_unlistable_folder_is_logged_once_by_agency_id(out: dict[str, object]) -> None:
    stderr = str(out["stderr"])
    assert stderr.count("drop folder of agency b cannot be listed: PermissionError") == 1
