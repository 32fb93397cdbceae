"""The one place the pipeline asks what time it is.

Contract: :func:`now` returns an aware datetime in ``tz`` (UTC by default). Normally that is
the real clock. When ``HANDOFF_NOW`` holds an ISO 8601 time with its UTC offset
(``2026-12-05T22:30:00-06:00``), the clock starts there when this process first asks and
then runs forward at real speed: a test or a drill can start ``handoff up`` on a Saturday
night, or confirm on a holiday, without touching the machine's clock. It moves the deadline
"today", the confirmations inbox's date rules, ``--entered-on today``, run names and the
dashboard. Settling of dropped files always uses the real monotonic clock (it measures how
long a file has been still). Operators never set it in production.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache

from hmis_handoff.errors import ConfigError

__all__ = ["CLOCK_ENV", "NOW_ENV", "now"]

NOW_ENV = "HANDOFF_NOW"
#: The same setting under the name some callers use for it.
CLOCK_ENV = NOW_ENV


@cache
def _origin(raw: str) -> tuple[datetime, float]:
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{NOW_ENV} must be an ISO 8601 time with a UTC offset") from None
    if start.utcoffset() is None:
        raise ConfigError(f"{NOW_ENV} needs a UTC offset (e.g. 2026-12-05T22:30:00-06:00)")
    return start.astimezone(UTC), time.monotonic()


def now(tz: tzinfo = UTC) -> datetime:
    """The current moment in ``tz``, moved by ``HANDOFF_NOW`` when that is set."""
    raw = os.environ.get(NOW_ENV, "").strip()
    if not raw:
        return datetime.now(tz)
    start, at = _origin(raw)
    return (start + timedelta(seconds=time.monotonic() - at)).astimezone(tz)
