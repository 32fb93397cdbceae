"""The watcher side of ``handoff up``: settled files become in-process ingest flow runs.

File events only wake the sweep; the sweep (a level-triggered scan with the settle rule)
decides. Each claimed file emits ``handoff.file.detected`` (agency resource, a fingerprint
of the name, never the name) and is handed off by the ingest flow in this process.
"""

from __future__ import annotations

import logging
import threading

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from connectors.dropfolder import DropFolderScanner, SettlePolicy, claim
from connectors.watcher import DropWatcher
from flows.events import emit_file_detected
from flows.ingest import answer_refusal, ingest
from hmis_handoff.config import Settings
from hmis_handoff.layout import Layout
from hmis_handoff.pipeline import load_or_create_secret

log = logging.getLogger("hmis_handoff.watch")


def make_sweep(settings: Settings) -> tuple[DropFolderScanner, object]:
    layout = Layout(settings.root)
    key = load_or_create_secret(layout.hmac_key)
    scanner = DropFolderScanner(
        layout.agencies,
        [agency.id for agency in settings.agencies],
        SettlePolicy(stable_seconds=settings.intake.stable_seconds),
        fingerprint_key=key,
    )

    def sweep() -> float | None:
        result = scanner.scan()
        for refusal in result.refused:
            answer_refusal(refusal)
        claim_ids: list[str] = []
        for candidate in result.settled:
            claimed = claim(candidate, layout.work, fingerprint_key=key)
            if claimed is None:
                continue
            emit_file_detected(claimed.agency_id, claimed.name_fingerprint, dispatch="inline")
            claim_ids.append(claimed.claim_id)
        if claim_ids:
            # Prefect joins its heartbeat thread (1 s sleeps) at the end of every flow run;
            # these in-process runs take well under a second, so the heartbeat only adds
            # latency to the next drop.
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                ingest(claim_ids=claim_ids, sweep=False)
        if result.pending:
            return result.next_due if result.next_due is not None else 0.1
        return None

    return scanner, sweep


def start_watcher(settings: Settings, stop: threading.Event) -> threading.Thread:
    """Start the watcher thread; it runs until ``stop`` is set."""
    layout = Layout(settings.root)
    _scanner, sweep = make_sweep(settings)
    watcher = DropWatcher(
        [layout.agency_drop(agency.id) for agency in settings.agencies],
        sweep,  # type: ignore[arg-type]
        interval=settings.intake.sweep_interval_seconds,
        force_polling=settings.intake.force_polling,
        stop_event=stop,
    )
    thread = threading.Thread(target=watcher.run, name="handoff-watcher", daemon=True)
    thread.start()
    log.info("watching %d drop folder(s) in %s mode", len(settings.agencies), watcher.mode)
    return thread
