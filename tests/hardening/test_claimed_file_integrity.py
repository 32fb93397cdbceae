"""Findings 2-4 and 6: what the pipeline reads is what it validated and packages.

* A sparse 2 GiB file (4 KB on disk) is refused FILE-TOO-LARGE from its size alone: not
  hashed, not copied, not encrypted into quarantine.
* An uploader that keeps its write handle and appends after the claim is answered
  FILE-CHANGED-AFTER-CLAIM (nothing sent, the agency resends), never silently truncated.
* A rewrite after the ``validated`` state cannot reach the package: every pass reads our
  private copy, and the package is built from the decision kept at first validation.
* A crash after validation followed by a day rollover (an ROI expiring at midnight)
  delivers the package decided on the first day, without PackageConflict.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from connectors.dropfolder import (
    ClaimedFile,
    DropFolderScanner,
    SettlePolicy,
    claim,
    pending_claims,
)
from hmis_handoff.crypto.age import decrypt_file, parse_identities_file
from hmis_handoff.ledger import FileState
from tests.packages import intake_text
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, rows
from tests.synthetic import make_valid_row
from usecases.handoff import Handoff

_CRASH_SCRIPT = """
import sys
from datetime import datetime
from pathlib import Path
from connectors.dropfolder import load_claim
from hmis_handoff.config import load_settings
from usecases.handoff import Handoff
root, claim_id, at = Path(sys.argv[1]), sys.argv[2], datetime.fromisoformat(sys.argv[3])
pipe = Handoff(load_settings(root / "handoff.toml"), clock=lambda: at)
pipe.process_claim(load_claim(pipe.layout.work, claim_id))
"""


def _crash_at(pipe: Handoff, claimed: ClaimedFile, failpoint: str) -> None:
    """Run the claim in a real child process that is SIGKILLed at ``failpoint``."""
    env = {**os.environ, "HANDOFF_FAILPOINT": failpoint}
    done = subprocess.run(
        [sys.executable, "-c", _CRASH_SCRIPT, str(pipe.settings.root), claimed.claim_id,
         pipe.clock().isoformat()],
        env=env, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr[-2000:]


def _claim_one(pipe: Handoff) -> ClaimedFile:
    scanner = DropFolderScanner(
        pipe.layout.agencies, ["demo-agency"], SettlePolicy(stable_seconds=0.05)
    )
    for _ in range(40):
        result = scanner.scan()
        for candidate in result.settled:
            got = claim(candidate, pipe.layout.work)
            if got is not None:
                return got
        time.sleep(0.06)
    raise AssertionError("nothing settled")


def _tree_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def _package_text(root: Path) -> str:
    identities = list(parse_identities_file(root / "demo-keys" / "demo-partner.key"))
    outbox = root / "partners" / "demo-partner" / "outbox"
    (package,) = sorted(outbox.glob("*.age"))
    plain = root / "plain.csv"
    decrypt_file(package, plain, identities)
    return intake_text(plain)


def test_sparse_two_gib_file_is_refused_by_size_without_reading(root: Path) -> None:
    pipe = make_pipeline(root)
    big = root / "agencies" / "demo-agency" / "drop" / "big.csv"
    with big.open("wb") as handle:
        handle.write(b"IntakeID\n")
        handle.truncate(2 * 2**30)
    assert big.stat().st_blocks * 512 < 1 << 20  # really sparse
    claimed = _claim_one(pipe)
    # Bytes this process reads through read(2) and friends (Linux rchar): hashing or copying
    # the 2 GiB would read them all; a refusal by size reads a few ledger pages.
    counters = psutil.Process().io_counters
    read_before = counters().read_chars
    outcome = pipe.process_claim(claimed)
    read_during = counters().read_chars - read_before
    assert outcome is not None
    assert (outcome.state, outcome.reject_rule) == (FileState.REJECTED, "FILE-TOO-LARGE")
    # Kept: the fact only (ledger row and report); no encrypted 2 GiB in quarantine.
    assert _tree_bytes(root / "quarantine") < 64 * 1024
    assert _tree_bytes(root / "archive") < 64 * 1024
    assert list((root / "work").iterdir()) == []
    assert read_during < 64 * 2**20, read_during


def test_append_after_claim_through_a_kept_handle_is_answered(root: Path) -> None:
    pipe = make_pipeline(root)
    path = drop_rows(root, rows(2, "APPEND"))
    handle = path.open("ab")  # the uploader's handle, kept across the claim
    try:
        claimed = _claim_one(pipe)
        _crash_at(pipe, claimed, "registered")
        extra = make_valid_row(IntakeID="APPEND-LATE", FirstName="Late")
        handle.write(("\r\n" + ",".join(extra.values()) + "\r\n").encode())
        handle.flush()
        time.sleep(0.02)
    finally:
        handle.close()
    outcome = pipe.process_claim(claimed)
    assert outcome is not None
    assert (outcome.state, outcome.reject_rule) == (
        FileState.REJECTED,
        "FILE-CHANGED-AFTER-CLAIM",
    )
    assert list((root / "partners" / "demo-partner" / "outbox").glob("*.age")) == []
    reports = root / "agencies" / "demo-agency" / "reports"
    assert any("FILE-CHANGED-AFTER-CLAIM" in p.read_text() for p in reports.glob("*.csv"))


def test_rewrite_after_validated_never_reaches_the_package(root: Path) -> None:
    pipe = make_pipeline(root)
    path = drop_rows(root, rows(2, "ORIGINAL"))
    with path.open("r+b") as handle:
        claimed = _claim_one(pipe)
        _crash_at(pipe, claimed, "validated")
        data = handle.read()
        handle.seek(0)
        handle.write(data.replace(b"ORIGINAL", b"REWRITTN"))
    outcome = pipe.process_claim(claimed)
    assert outcome is not None and outcome.state == FileState.DELIVERED
    text = _package_text(root)
    assert "ORIGINAL" in text and "REWRITTN" not in text


def test_crash_then_day_rollover_delivers_the_first_decision(root: Path) -> None:
    settings_root = root
    day_one = datetime(2026, 3, 9, 23, 59, tzinfo=UTC)
    pipe = make_pipeline(settings_root)
    pipe.clock = lambda: day_one
    data = rows(2, "ROLL")
    data[0]["ROIExpirationDate"] = "2026-03-09"  # valid on day one, expired by day three
    drop_rows(root, data)
    claimed = _claim_one(pipe)
    _crash_at(pipe, claimed, "packaged")  # package in the outbox, ledger not yet delivered
    later = make_pipeline(settings_root)
    later.clock = lambda: day_one + timedelta(days=2)
    (again,) = pending_claims(later.layout.work)
    outcome = later.process_claim(again)
    assert outcome is not None and outcome.state == FileState.DELIVERED
    assert outcome.rows_sent == 2


def test_sparse_file_of_a_refused_type_is_not_encrypted_into_quarantine(root: Path) -> None:
    pipe = make_pipeline(root)
    big = root / "agencies" / "demo-agency" / "drop" / "big.pdf"
    with big.open("wb") as handle:
        handle.truncate(2 * 2**30)
    scanner = DropFolderScanner(
        pipe.layout.agencies, ["demo-agency"], SettlePolicy(stable_seconds=0.05)
    )
    answered = []
    for _ in range(40):
        for refusal in scanner.scan().refused:
            answered.append(pipe.answer_refusal(refusal))
        if answered:
            break
        time.sleep(0.06)
    assert answered and answered[0] is not None
    assert _tree_bytes(root / "quarantine") < 64 * 1024
    assert not big.exists()
    reports = root / "agencies" / "demo-agency" / "reports"
    assert any("FILE-BAD-TYPE" in p.read_text() for p in reports.glob("*.csv"))
