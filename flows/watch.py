"""The watcher side of ``handoff up``: settled files become in-process ingest flow runs.

File events only wake the sweep; the sweep (a level-triggered scan with the settle rule)
decides. Each claimed file emits ``handoff.file.detected`` (agency resource, a fingerprint
of the name, never the name) and is handed off by the ingest flow in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from prefect import tags
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from connectors.batches import fair_batch
from connectors.dropfolder import DropFolderScanner
from connectors.watcher import DropWatcher, on_network_filesystem
from flows.ingest import ingest
from flows.intake_sweep import claim_settled, drop_scanner
from hmis_handoff.config import Settings
from hmis_handoff.layout import Layout

__all__ = [
    "CONFIRMATION_SWEEP_SECONDS",
    "Sweep",
    "log",
    "make_confirmation_sweep",
    "make_sweep",
    "start_confirmation_watcher",
    "start_watcher",
]

log = logging.getLogger("hmis_handoff.watch")

#: One sweep: returns seconds until the next is due (None: wait for an event or the interval).
Sweep = Callable[[], float | None]


def make_sweep(settings: Settings) -> tuple[DropFolderScanner, Sweep]:
    layout = Layout(settings.root)
    drops = [layout.agency_drop(agency.id) for agency in settings.agencies]
    # Kernel publish events only where the watcher gets kernel events (see DropWatcher).
    events = not settings.intake.force_polling and not any(map(on_network_filesystem, drops))
    scanner, key = drop_scanner(settings, publish_signals=events)

    # Set while an ingest run raised (e.g. the Prefect server did not answer): its claims
    # wait in work/, and the next sweep runs ingest even with nothing new, whose recovery
    # task hands them off (instead of leaving them for the scheduled sweep).
    unfinished = False

    def sweep() -> float | None:
        nonlocal unfinished
        result = scanner.scan()
        # Fair and bounded (connectors/batches.py): the rest lead the next sweep, at once.
        batch, left = fair_batch(result.settled)
        try:
            claim_ids = claim_settled(replace(result, settled=batch), layout.work, key)
            if claim_ids or unfinished:
                # Prefect joins its heartbeat thread (1 s sleeps) at the end of every flow
                # run; these in-process runs take well under a second, so the heartbeat
                # only adds latency to the next drop.
                with (
                    temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
                    tags("handoff", "ingest", "watcher"),
                ):
                    ingest(claim_ids=claim_ids, sweep=False)
        except BaseException:
            unfinished = True
            raise
        unfinished = False
        if left:
            return 0.0
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
        sweep,
        interval=settings.intake.sweep_interval_seconds,
        force_polling=settings.intake.force_polling,
        stop_event=stop,
    )
    thread = threading.Thread(target=watcher.run, name="handoff-watcher", daemon=True)
    thread.start()
    log.info("watching %d drop folder(s) in %s mode", len(settings.agencies), watcher.mode)
    return thread


# Partners' confirmations ----------------------------------------------------------------

#: A confirmation dropped at any hour is handled within this long even if no file event
#: arrives (the deployment's weekday schedule stays as the safety net behind it).
CONFIRMATION_SWEEP_SECONDS = 60.0


def make_confirmation_sweep(settings: Settings) -> Sweep:
    """A sweep that runs the confirmations flow in this process when a settled item waits."""
    from connectors.inbox_folder import scan_inbox, unsettled_delay
    from flows.confirmations import confirmations

    layout = Layout(settings.root)
    folders = [layout.partner_confirmations(p.id) for p in settings.partners]
    settle = settings.intake.stable_seconds

    def sweep() -> float | None:
        if any(scan_inbox(folder, settle_seconds=settle) for folder in folders):
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                confirmations()
        return unsettled_delay(folders, settle)

    return sweep


def start_confirmation_watcher(settings: Settings, stop: threading.Event) -> threading.Thread:
    """Watch every partner's confirmations folder; runs until ``stop`` is set."""
    layout = Layout(settings.root)
    watcher = DropWatcher(
        [layout.partner_confirmations(p.id) for p in settings.partners],
        make_confirmation_sweep(settings),
        interval=min(settings.intake.sweep_interval_seconds, CONFIRMATION_SWEEP_SECONDS),
        force_polling=settings.intake.force_polling,
        stop_event=stop,
    )
    thread = threading.Thread(target=watcher.run, name="handoff-confirmations", daemon=True)
    thread.start()
    log.info("watching %d confirmations folder(s)", len(settings.partners))
    return thread
