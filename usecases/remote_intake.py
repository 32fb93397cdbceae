"""Remote agency drop folders (``drop_url``): one sweep that brings settled files home.

For every agency with a ``drop_url``, its :class:`connectors.remote_drop.RemoteDropPoller`
polls the remote drop folder (and pushes new receipts to the remote reports folder) until
nothing is settling there or ``max_wait_seconds`` have passed. The poller must outlive the
sweep (it keeps the size and mtime observations between polls), so the caller supplies it.
One agency's failure (server down, host key refused) is counted and reported by agency id
and fixed text, and does not stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

from connectors.remote_drop import RemoteDropPoller, open_drop, open_reports
from hmis_handoff.config import Settings
from hmis_handoff.errors import HandoffError

__all__ = ["RemoteSync", "RemoteSyncTotals", "sync_remote_drops"]


class RemoteSyncTotals(TypedDict):
    """Files claimed remotely, downloaded, removed remotely, receipts pushed, agencies failed."""

    claimed: int
    downloaded: int
    removed: int
    receipts: int
    failed: int


@dataclass
class RemoteSync:
    """The totals of one sweep and, per failed agency, a fixed-text reason (no path)."""

    totals: RemoteSyncTotals = field(
        default_factory=lambda: RemoteSyncTotals(
            claimed=0, downloaded=0, removed=0, receipts=0, failed=0
        )
    )
    failures: list[tuple[str, str]] = field(default_factory=list)


def sync_remote_drops(
    settings: Settings,
    poller_for: Callable[[str], RemoteDropPoller],
    *,
    max_wait_seconds: float,
) -> RemoteSync:
    """Poll every remote drop folder; ``poller_for(agency_id)`` gives the agency's poller."""
    done = RemoteSync()
    pause = max(settings.intake.stable_seconds / 2, 0.1)
    for agency in settings.agencies:
        if not agency.drop_url:
            continue
        poller = poller_for(agency.id)
        deadline = time.monotonic() + max_wait_seconds
        try:
            with open_drop(settings, agency) as drop, open_reports(settings, agency) as reports:
                while True:
                    result = poller.poll(drop, reports)
                    done.totals["claimed"] += result.claimed
                    done.totals["downloaded"] += result.downloaded
                    done.totals["removed"] += result.removed
                    done.totals["receipts"] += result.receipts
                    if not result.pending or time.monotonic() >= deadline:
                        break
                    time.sleep(pause)
        except (HandoffError, OSError) as exc:
            # Fixed-text errors (no paths, no replies); the next sweep tries again.
            done.totals["failed"] += 1
            done.failures.append(
                (agency.id, str(exc) if isinstance(exc, HandoffError) else type(exc).__name__)
            )
    return done
