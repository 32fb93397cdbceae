"""The one place the pipeline asks what time it is.

Contract: :func:`now` returns an aware UTC datetime. Normally that is the real clock. When
the environment variable ``HANDOFF_CLOCK`` holds an ISO-8601 datetime with an offset
(``2026-12-05T22:30:00-06:00``), the clock starts there when this process first asks and
then runs forward at real speed: a test can start ``handoff up`` on a Saturday night
without touching the machine's clock. It is a test-only setting; operators never set it.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from functools import cache

CLOCK_ENV = "HANDOFF_CLOCK"


@cache
def _origin(raw: str) -> tuple[datetime, float]:
    start = datetime.fromisoformat(raw)
    if start.tzinfo is None:
        raise ValueError(f"{CLOCK_ENV} needs a UTC offset (e.g. 2026-12-05T22:30:00-06:00)")
    return start.astimezone(UTC), time.monotonic()


def now() -> datetime:
    """The current moment (aware, UTC), moved by ``HANDOFF_CLOCK`` when that is set."""
    raw = os.environ.get(CLOCK_ENV, "").strip()
    if not raw:
        return datetime.now(UTC)
    start, at = _origin(raw)
    return start + timedelta(seconds=time.monotonic() - at)
