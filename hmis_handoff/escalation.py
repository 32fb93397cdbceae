"""Remember the last overdue notice, so an hourly deadline check does not repeat itself.

Policy: a notice is sent when the set of overdue records differs from the last one sent,
and otherwise at most once per day (a daily reminder while records stay overdue). State is
one small JSON file under ``state/`` holding a content fingerprint and a date: no ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hmis_handoff.fsutil import atomic_write_text

__all__ = ["NoticeMemory"]


@dataclass(frozen=True)
class NoticeMemory:
    """The last notice sent, kept in ``path`` (created on first :meth:`remember`)."""

    path: Path

    def _last(self) -> tuple[str, str] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return str(data["fingerprint"]), str(data["day"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None  # missing or damaged: sending once more is the safe side

    def is_due(self, fingerprint: str, day: date) -> bool:
        """True unless this very notice was already sent on ``day``."""
        return self._last() != (fingerprint, day.isoformat())

    def remember(self, fingerprint: str, day: date) -> None:
        """Record that the notice went out (atomic write, 0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = {"fingerprint": fingerprint, "day": day.isoformat()}
        atomic_write_text(self.path, json.dumps(payload) + "\n")
