"""``handoff process`` without a Prefect server: the ingest use case, run directly.

A one-shot ``handoff process`` uses a running ``handoff up`` server when its API answers.
When none does, starting Prefect's temporary server costs ~10 s (and importing Prefect
another ~1.5 s of CPU), far more than handing off a few small files. This module does the
same work as the ingest flow (recover the work area, one sweep, hand off each claim with
per-claim isolation) without importing Prefect, so nothing of it can reach Prefect at all.

What it does not do, and who does instead: no flow run, task runs, events or artifacts are
recorded for this run. The ledger (the source of truth) and the agency reports are written
exactly as by the flow; the dashboard artifacts are rebuilt from the ledger by the next
deadline-check run of ``handoff up``. Configurations that need Prefect tasks for the work
itself (remote SFTP drop folders, partner delivery channels beside the outbox, with their
retries) are not run here: :func:`can_run_direct` sends them through the flow.

The sweep settles files by the scanner's own observations, like the flow's; a file whose
ctime (which no writer can set back) is already older than the settle window on a local
disk is settled on first sight (see ``SettlePolicy.trust_ctime_age``), so the command does
not wait the window out for files that were dropped earlier.
"""

from __future__ import annotations

import logging
import os
import time

from connectors.batches import fair_order
from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim, load_claim
from connectors.watcher import on_network_filesystem
from hmis_handoff.config import Settings
from hmis_handoff.hosts import is_loopback
from hmis_handoff.layout import Layout
from hmis_handoff.record_key import adopt_legacy_hmac_key
from hmis_handoff.workarea import load_or_create_secret
from usecases.handoff import Handoff, OutcomeRecord
from usecases.handoff_batch import BATCH_FILES, hand_off_batch
from usecases.ingest_outcomes import IngestSummary, summarise

__all__ = ["MAX_WAIT_SECONDS", "can_run_direct", "log", "process_direct"]

log = logging.getLogger("hmis_handoff.direct")

MAX_WAIT_SECONDS = 30.0


def can_run_direct(settings: Settings) -> bool:
    """True if every step of ingest is core code (no remote drop folder, no partner
    delivery channel beside the outbox) and the Prefect host is loopback: a configuration
    Prefect hardening refuses is refused the same way with or without a server."""
    return (
        is_loopback(settings.prefect.host)
        and not any(a.drop_url for a in settings.agencies)
        and not any(p.channels() for p in settings.partners)
    )


def process_direct(settings: Settings) -> IngestSummary:
    """Recover, sweep once, hand off every claim; returns :func:`summarise`'s dict (ids and
    counts only). As in the ingest flow, claims go in slices of ``BATCH_FILES``: each slice's
    small files are judged as one frame, then every claim is handed off on its own (up to
    ``HAND_OFF_WORKERS`` at once; usecases/handoff_batch.py). A claim that raises is counted
    in ``claims_failed`` and retried by the next run (usecases/isolation.py)."""
    pipe = Handoff(settings)
    todo = [claimed.claim_id for claimed in pipe.recover()]
    todo.extend(c for c in _sweep(pipe) if c not in todo)
    results: list[OutcomeRecord] = []
    failed = 0
    for start in range(0, len(todo), BATCH_FILES):
        slice_ids = todo[start : start + BATCH_FILES]
        batch = [c for c in (load_claim(pipe.layout.work, i) for i in slice_ids) if c]
        for attempt in hand_off_batch(pipe, batch):
            if attempt.failed:
                failed += 1
            elif attempt.outcome is not None:
                results.append(attempt.outcome.as_dict())
    return summarise(results, claims_failed=failed)


def _sweep(pipe: Handoff) -> list[str]:
    """One level-triggered sweep, as ``sweep_drop_folders`` in flows/ingest.py."""
    layout = Layout(pipe.settings.root)
    adopt_legacy_hmac_key(layout)
    key = load_or_create_secret(layout.hmac_key)
    drops = [layout.agency_drop(agency.id) for agency in pipe.settings.agencies]
    scanner = DropFolderScanner(
        layout.agencies,
        [agency.id for agency in pipe.settings.agencies],
        SettlePolicy(
            stable_seconds=pipe.settings.intake.stable_seconds,
            abandon_seconds=pipe.settings.intake.abandon_seconds,
            # A network client's ctime is the server's clock: never trusted across hosts.
            trust_ctime_age=not any(map(on_network_filesystem, drops)),
        ),
        fingerprint_key=key,
    )
    claimed: list[str] = []
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    while True:
        result = scanner.scan()
        for refusal in result.refused:
            try:
                pipe.answer_refusal(refusal)
            except Exception as exc:  # one object must not stop the others
                _log_isolated("answering a refused object", refusal.agency_id, exc)
        for candidate in fair_order(result.settled):  # hand-offs go in claim order
            try:
                got = claim(candidate, layout.work, fingerprint_key=key)
            except Exception as exc:  # left in the drop folder for the next run
                _log_isolated("claiming a file", candidate.agency_id, exc)
                continue
            if got is not None:
                pipe.remember_file_name(
                    got.agency_id, got.claim_id, os.fsdecode(candidate.path.name)
                )
                claimed.append(got.claim_id)
        if not result.pending or time.monotonic() >= deadline:
            return claimed
        time.sleep(min(0.25, max(result.next_due or 0.0, 0.05)))


def _log_isolated(action: str, agency_id: str, exc: Exception) -> None:
    """Type name only: an exception's message may carry a path or a value."""
    log.error("%s failed for agency %s: %s", action, agency_id, type(exc).__name__)
