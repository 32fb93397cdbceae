"""The sweep side of the ingest flow: scan every drop folder, claim what settled, answer
what was refused. Each claimed file emits ``handoff.file.detected`` (agency resource, a
fingerprint of the name, never the name); each refused object ``handoff.file.rejected``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from connectors.batches import fair_order
from connectors.dropfolder import (
    ClaimedFile,
    DropFolderScanner,
    Refusal,
    ScanResult,
    SettlePolicy,
    claim,
    load_claim,
)
from flows.events import emit_file_detected, emit_refusal
from flows.runtime import current_handoff
from hmis_handoff.config import Settings
from hmis_handoff.layout import Layout
from hmis_handoff.record_key import adopt_legacy_hmac_key
from hmis_handoff.workarea import load_or_create_secret

__all__ = ["answer_refusal", "claim_settled", "claimed", "drop_scanner", "sweep_drop_folders"]


def claimed(claim_id: str) -> ClaimedFile | None:
    """The claim ``claim_id`` in this process's work area, if it is still there."""
    return load_claim(current_handoff().layout.work, claim_id)


@task(
    name="sweep-drop-folders",
    task_run_name="sweep drop folders",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def sweep_drop_folders(
    max_wait_seconds: float = 30.0, agencies: list[str] | None = None
) -> list[str]:
    """Claim every settled file in every agency drop folder (one level-triggered sweep).

    A file must be seen unchanged for the settle window, so a one-off sweep looks twice;
    it returns once nothing is still settling or ``max_wait_seconds`` have passed.
    """
    pipe = current_handoff()
    scanner, key = drop_scanner(pipe.settings, agencies=agencies)
    claim_ids: list[str] = []
    deadline = time.monotonic() + max_wait_seconds
    while True:
        result = scanner.scan()
        # Round-robin across agencies: hand-offs go in claim order (connectors/batches.py).
        result = replace(result, settled=fair_order(result.settled))
        claim_ids.extend(claim_settled(result, pipe.layout.work, key))
        if not result.pending or time.monotonic() >= deadline:
            return claim_ids
        time.sleep(min(0.25, max(pipe.settings.intake.stable_seconds / 4, 0.05)))


def drop_scanner(
    settings: Settings, *, publish_signals: bool = False, agencies: list[str] | None = None
) -> tuple[DropFolderScanner, bytes]:
    """A scanner over the drop folders of ``agencies`` (every configured one when None), and
    its fingerprint key; ``publish_signals``: also settle by the kernel's rename/close
    events (local folders)."""
    layout = Layout(settings.root)
    adopt_legacy_hmac_key(layout)
    key = load_or_create_secret(layout.hmac_key)
    scanner = DropFolderScanner(
        layout.agencies,
        [a.id for a in settings.agencies if agencies is None or a.id in agencies],
        SettlePolicy(
            stable_seconds=settings.intake.stable_seconds,
            abandon_seconds=settings.intake.abandon_seconds,
        ),
        fingerprint_key=key,
        publish_signals=publish_signals,
    )
    return scanner, key


def claim_settled(result: ScanResult, work: Path, key: bytes) -> list[str]:
    """Answer the scan's refusals and claim its settled files; returns the claim ids."""
    for refusal in result.refused:
        try:
            answer_refusal(refusal)
        except Exception as exc:  # one object must not stop the others; retried next scan
            _log_isolated("answering a refused object", refusal.agency_id, exc)
    claim_ids: list[str] = []
    for candidate in result.settled:
        try:
            got = claim(candidate, work, fingerprint_key=key)
        except Exception as exc:  # left in the drop folder; the next scan tries again
            _log_isolated("claiming a file", candidate.agency_id, exc)
            continue
        if got is not None:
            # The agency's file name, for its receipt: kept only in its reports folder.
            current_handoff().remember_file_name(
                got.agency_id, got.claim_id, os.fsdecode(candidate.path.name)
            )
            emit_file_detected(got.agency_id, got.name_fingerprint, dispatch="inline")
            claim_ids.append(got.claim_id)
    return claim_ids


def answer_refusal(refusal: Refusal) -> None:
    """Quarantine a refused object, report it to its agency, emit handoff.file.rejected."""
    quarantine_id = current_handoff().answer_refusal(refusal)
    if quarantine_id is not None:
        emit_refusal(refusal.agency_id, refusal.fingerprint, refusal.reason_rule_id)


def _log_isolated(action: str, agency_id: str, exc: Exception) -> None:
    """Type name only: an exception's message may carry a path or a value."""
    logging.getLogger(__name__).error(
        "%s failed for agency %s: %s", action, agency_id, type(exc).__name__
    )
