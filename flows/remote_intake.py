"""Remote agency drop folders (``drop_url``) as a Prefect task: poll, claim, download.

One poller per agency and process keeps the size+mtime observations between polls, so a
long-running process (``handoff up``) settles files across its sweeps, and a one-shot
``handoff process`` polls until nothing is settling (or ``max_wait_seconds``).
"""

from __future__ import annotations

import functools
import time
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.remote_drop import RemoteDropPoller, open_drop, open_reports
from flows.runtime import pipeline
from hmis_handoff.errors import HandoffError
from hmis_handoff.ledger.lookups import has_terminal_content

__all__ = ["sync_remote_drops"]


@functools.cache
def _poller(config_path: str, agency_id: str) -> RemoteDropPoller:
    pipe = pipeline()
    return RemoteDropPoller(
        agency_id=agency_id,
        local_drop=pipe.layout.agency_drop(agency_id),
        local_reports=pipe.layout.agency_reports(agency_id),
        state_dir=pipe.layout.state / "remote-intake",
        stable_seconds=pipe.settings.intake.stable_seconds,
        ledger_has=lambda sha: has_terminal_content(pipeline().ledger, sha),
    )


@task(name="sync-remote-drops", persist_result=False, cache_policy=NO_CACHE)
def sync_remote_drops(max_wait_seconds: float = 30.0) -> dict[str, Any]:
    """Poll every remote drop folder; bring settled files into the local drop folders.

    Also removes remote copies whose content the ledger has finished, and uploads new
    receipts. One agency's failure (server down, host key refused) does not stop others.
    """
    pipe = pipeline()
    totals = {"claimed": 0, "downloaded": 0, "removed": 0, "receipts": 0, "failed": 0}
    for agency in pipe.settings.agencies:
        if not agency.drop_url:
            continue
        poller = _poller(str(pipe.settings.config_path), agency.id)
        deadline = time.monotonic() + max_wait_seconds
        try:
            with (
                open_drop(pipe.settings, agency) as drop,
                open_reports(pipe.settings, agency) as reports,
            ):
                while True:
                    result = poller.poll(drop, reports)
                    for key in ("claimed", "downloaded", "removed", "receipts"):
                        totals[key] += getattr(result, key)
                    if not result.pending or time.monotonic() >= deadline:
                        break
                    time.sleep(max(pipe.settings.intake.stable_seconds / 2, 0.1))
        except (HandoffError, OSError) as exc:
            # Fixed-text errors (no paths, no replies); the next sweep tries again.
            totals["failed"] += 1
            detail = exc if isinstance(exc, HandoffError) else type(exc).__name__
            get_run_logger().warning("remote drop folder of agency %s: %s", agency.id, detail)
    return totals
