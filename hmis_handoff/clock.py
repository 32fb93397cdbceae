"""The current time, in one place, so it can be moved for a whole process.

``HANDOFF_NOW`` (an ISO 8601 time with its UTC offset, e.g. ``2026-07-11T10:00:00-05:00``)
pins "now" for every caller of :func:`now`: the deadline "today", the confirmations inbox's
date rules and report names, and ``handoff confirm --entered-on today``. It is meant for
tests and drills (a Saturday, a holiday); unset, the system clock is used. Settling of
dropped files always uses the real clock (it measures how long a file has been still).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, tzinfo

from hmis_handoff.errors import ConfigError

__all__ = ["NOW_ENV", "now"]

NOW_ENV = "HANDOFF_NOW"


def now(tz: tzinfo = UTC) -> datetime:
    """The current time in ``tz`` (``HANDOFF_NOW`` if set)."""
    pinned = os.environ.get(NOW_ENV)
    if not pinned:
        return datetime.now(tz)
    try:
        moment = datetime.fromisoformat(pinned)
    except ValueError:
        raise ConfigError(f"{NOW_ENV} must be an ISO 8601 time with a UTC offset") from None
    if moment.utcoffset() is None:
        raise ConfigError(f"{NOW_ENV} must carry a UTC offset (e.g. -05:00)")
    return moment.astimezone(tz)
