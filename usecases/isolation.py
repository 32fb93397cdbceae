"""One claim's failure never blocks the others: count attempts, then answer and move on.

The ingest flow and recovery hand off claims one by one. A claim whose hand-off raises is
logged by claim id and exception type only (the message could carry a value), its attempt
count is kept durably beside it in ``work/`` (:attr:`ClaimFiles.attempts`, removed with
the claim), and the caller goes on to the next claim. Once a claim has failed
``max_attempts`` times it is given up: its agency is answered ``FILE-PROCESSING-FAILED``,
the original is kept only encrypted in ``quarantine/`` and its plaintext leaves ``work/``
(see :meth:`usecases.handoff.Handoff.abandon_claim`).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from connectors.dropfolder import ClaimedFile
from hmis_handoff.fsutil import atomic_write_text
from hmis_handoff.workarea import ClaimFiles
from usecases.handoff import FileOutcome, Handoff, Prepared

__all__ = [
    "MAX_ATTEMPTS",
    "RULE_PROCESSING_FAILED",
    "Attempt",
    "attempts_path",
    "failed_attempts",
    "hand_off_guarded",
]

logger = logging.getLogger(__name__)

RULE_PROCESSING_FAILED = "FILE-PROCESSING-FAILED"
MAX_ATTEMPTS = 3


def attempts_path(work_dir: Path, claim_id: str) -> Path:
    """Where a claim's failed-attempt counter lives."""
    return ClaimFiles(work_dir, claim_id).attempts


def failed_attempts(work_dir: Path, claim_id: str) -> int:
    """How many hand-offs of this claim have failed so far (0 if none or unreadable)."""
    try:
        return max(0, int(attempts_path(work_dir, claim_id).read_text(encoding="ascii")))
    except (OSError, ValueError):
        return 0


def _record_failure(work_dir: Path, claim_id: str) -> int:
    count = failed_attempts(work_dir, claim_id) + 1
    atomic_write_text(attempts_path(work_dir, claim_id), str(count))
    return count


@dataclass(frozen=True)
class Attempt:
    """What one guarded hand-off produced: an outcome, or ``failed`` (no outcome yet)."""

    outcome: FileOutcome | None
    failed: bool = False


def hand_off_guarded(
    pipe: Handoff,
    claimed: ClaimedFile,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    prepared: Prepared | None = None,
) -> Attempt:
    """Hand off ``claimed``; never raises for a problem of this claim.

    Returns the outcome (None if another process owns the claim), or ``failed=True`` after
    an exception, which is counted; the ``max_attempts``-th failure gives the claim up with
    ``FILE-PROCESSING-FAILED`` (the outcome is then the rejection, or None if the agency
    is no longer configured). Interrupts (KeyboardInterrupt, SystemExit) pass through.
    ``prepared``: the claim's batch verdict, if any (usecases/handoff_batch.py).
    """
    try:
        return Attempt(pipe.process_claim(claimed, prepared))
    except Exception as exc:
        error = type(exc).__name__
    count = _record_failure(pipe.layout.work, claimed.claim_id)
    logger.error(
        "claim %s (agency %s) failed, attempt %d of %d: %s",
        claimed.claim_id, claimed.agency_id, count, max_attempts, error,
    )  # fmt: skip
    if count < max_attempts:
        return Attempt(None, failed=True)
    try:
        outcome = pipe.abandon_claim(claimed, RULE_PROCESSING_FAILED)
    except Exception as exc:
        logger.error("claim %s could not be given up: %s", claimed.claim_id, type(exc).__name__)
        return Attempt(None, failed=True)
    with contextlib.suppress(FileNotFoundError):
        attempts_path(pipe.layout.work, claimed.claim_id).unlink()
    return Attempt(outcome)
