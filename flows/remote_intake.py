"""Remote agency drop folders (``drop_url``) as a Prefect task: poll, claim, download.

One poller per agency and process keeps the size+mtime observations between polls, so a
long-running process (``handoff up``) settles files across its sweeps, and a one-shot
``handoff process`` polls until nothing is settling (or ``max_wait_seconds``). The sweep
itself is :func:`usecases.remote_intake.sync_remote_drops`.
"""

from __future__ import annotations

import functools

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.remote_drop import RemoteDropPoller
from flows.runtime import current_handoff
from hmis_handoff.ledger.lookups import has_terminal_content
from usecases import remote_intake
from usecases.remote_intake import RemoteSyncTotals

__all__ = ["sync_remote_drops"]


@functools.cache
def _poller(config_path: str, agency_id: str) -> RemoteDropPoller:
    pipe = current_handoff()
    return RemoteDropPoller(
        agency_id=agency_id,
        local_drop=pipe.layout.agency_drop(agency_id),
        local_reports=pipe.layout.agency_reports(agency_id),
        state_dir=pipe.layout.remote_intake_state,
        stable_seconds=pipe.settings.intake.stable_seconds,
        ledger_has=lambda sha: has_terminal_content(current_handoff().ledger, sha),
    )


@task(name="sync-remote-drops", persist_result=False, cache_policy=NO_CACHE)
def sync_remote_drops(max_wait_seconds: float = 30.0) -> RemoteSyncTotals:
    """Poll every remote drop folder; bring settled files into the local drop folders.

    Also removes remote copies whose content the ledger has finished, and uploads new
    receipts. One agency's failure (server down, host key refused) does not stop others.
    """
    settings = current_handoff().settings
    config_path = str(settings.config_path)
    done = remote_intake.sync_remote_drops(
        settings,
        lambda agency_id: _poller(config_path, agency_id),
        max_wait_seconds=max_wait_seconds,
    )
    for agency_id, detail in done.failures:
        get_run_logger().warning("remote drop folder of agency %s: %s", agency_id, detail)
    return done.totals
