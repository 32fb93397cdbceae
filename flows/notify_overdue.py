"""Escalation: e-mail and webhook when records are overdue (a task for the deadline check).

The decision (send now, or not again today) and the sending are
:func:`usecases.send_notices.notify_overdue`; this task gives it the configuration and
logs counts and channel states only. A failed channel fails the task (after the other
channel was tried), so the failure is visible in the run; the next check tries again.
"""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.runtime import current_handoff
from hmis_handoff.deadlines import today_in
from usecases import send_notices
from usecases.send_notices import OverdueNotified

__all__ = ["notify_overdue"]


@task(
    name="notify-overdue",
    task_run_name="notify overdue",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def notify_overdue(as_of: str | None = None) -> OverdueNotified:
    """Notify about overdue records as of ``as_of`` (YYYY-MM-DD; default today)."""
    settings = current_handoff().settings
    when = date.fromisoformat(as_of) if as_of else today_in(settings)
    result = send_notices.notify_overdue(settings, when)
    if "channels" in result:
        get_run_logger().info(
            "overdue notice: %d overdue, channels %s", result["overdue"], result["channels"]
        )
    return result
