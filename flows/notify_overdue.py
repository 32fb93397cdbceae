"""Escalation: e-mail and webhook when records are overdue (a task for the deadline check).

Sends :func:`hmis_handoff.notices.overdue_notice` through the configured channels, at most
once a day for the same overdue set and at once when the set changes
(:class:`hmis_handoff.escalation.NoticeMemory`). Returns counts and channel states only.
A failed channel fails the task (after the other channel was tried), so the failure is
visible in the run; the next check tries again because nothing was remembered.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.notify import send_notice
from hmis_handoff.config import load_settings
from hmis_handoff.deadlines import deadline_report, today_in
from hmis_handoff.errors import RetriableError
from hmis_handoff.escalation import NoticeMemory
from hmis_handoff.layout import Layout
from hmis_handoff.notices import overdue_notice

MEMORY_FILE = "overdue-notice.json"


@task(
    name="notify-overdue",
    task_run_name="notify overdue",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def notify_overdue(as_of: str | None = None) -> dict[str, Any]:
    """Notify about overdue records as of ``as_of`` (YYYY-MM-DD; default today)."""
    settings = load_settings()
    when = date.fromisoformat(as_of) if as_of else today_in(settings)
    notice = overdue_notice(deadline_report(settings, as_of=when), as_of=when)
    if notice is None:
        return {"as_of": when.isoformat(), "overdue": 0, "sent": False}
    memory = NoticeMemory(Layout(settings.root).state / MEMORY_FILE)
    overdue = int(notice.payload["overdue"])
    if not memory.is_due(notice.fingerprint, when):
        return {"as_of": when.isoformat(), "overdue": overdue, "sent": False}
    status = send_notice(
        settings.notifications, subject=notice.subject, text=notice.text, payload=notice.payload
    )
    failed = sorted(channel for channel, state in status.items() if state.startswith("failed"))
    if failed:
        raise RetriableError(f"overdue notice not delivered by {', '.join(failed)}")
    sent = "sent" in status.values()
    if sent:
        memory.remember(notice.fingerprint, when)
    get_run_logger().info("overdue notice: %d overdue, channels %s", overdue, status)
    return {"as_of": when.isoformat(), "overdue": overdue, "sent": sent, "channels": status}
