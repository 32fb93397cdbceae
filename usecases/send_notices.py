"""Tell the CoC: the morning digest and the overdue escalation, by every configured channel.

Contract: notices carry counts, dates and intake ids only (:mod:`hmis_handoff.notices`).
Both channels (e-mail, webhook) are always tried; a channel that failed then raises
``RetriableError`` naming the channels (fixed text), so the caller's run fails visibly and
the next run tries again. The overdue notice goes out at most once a day for the same
overdue set, and at once when the set changes (:class:`hmis_handoff.escalation.NoticeMemory`,
remembered only after a send).
"""

from __future__ import annotations

from datetime import date
from typing import NotRequired, TypedDict

from connectors.notify import send_notice
from hmis_handoff.config import Settings
from hmis_handoff.deadlines import deadline_report
from hmis_handoff.errors import RetriableError
from hmis_handoff.escalation import NoticeMemory
from hmis_handoff.layout import Layout
from hmis_handoff.notices import Notice, build_digest, overdue_notice

__all__ = [
    "DigestSent",
    "OverdueNotified",
    "deliver_digest",
    "morning_digest",
    "notify_overdue",
]


class DigestSent(TypedDict):
    """The digest's day, its totals and each channel's state (``sent``, ``off``)."""

    as_of: str
    totals: dict[str, int]
    channels: dict[str, str]


class OverdueNotified(TypedDict):
    """How many records are overdue and whether a notice went out (channels when tried)."""

    as_of: str
    overdue: int
    sent: bool
    channels: NotRequired[dict[str, str]]


def morning_digest(settings: Settings, when: date) -> Notice:
    """The digest as of ``when``: counts and intake ids per partner and agency."""
    return build_digest(
        deadline_report(settings, as_of=when), as_of=when, timezone=settings.timezone
    )


def _send(settings: Settings, notice: Notice, what: str) -> dict[str, str]:
    status = send_notice(
        settings.notifications, subject=notice.subject, text=notice.text, payload=notice.payload
    )
    failed = sorted(channel for channel, state in status.items() if state.startswith("failed"))
    if failed:
        raise RetriableError(f"{what} not delivered by {', '.join(failed)}")
    return status


def deliver_digest(settings: Settings, digest: Notice, when: date) -> DigestSent:
    """Send ``digest`` (from :func:`morning_digest`); raises ``RetriableError`` if a channel
    failed."""
    status = _send(settings, digest, "digest")
    return DigestSent(as_of=when.isoformat(), totals=digest.payload["totals"], channels=status)


def notify_overdue(settings: Settings, when: date) -> OverdueNotified:
    """Send the overdue notice as of ``when`` if one is due; raises ``RetriableError`` if a
    channel failed (nothing is remembered then, so the next check sends again)."""
    notice = overdue_notice(deadline_report(settings, as_of=when), as_of=when)
    if notice is None:
        return OverdueNotified(as_of=when.isoformat(), overdue=0, sent=False)
    memory = NoticeMemory(Layout(settings.root).overdue_notice_memory)
    overdue = int(notice.payload["overdue"])
    if not memory.is_due(notice.fingerprint, when):
        return OverdueNotified(as_of=when.isoformat(), overdue=overdue, sent=False)
    status = _send(settings, notice, "overdue notice")
    sent = "sent" in status.values()
    if sent:
        memory.remember(notice.fingerprint, when)
    return OverdueNotified(as_of=when.isoformat(), overdue=overdue, sent=sent, channels=status)
