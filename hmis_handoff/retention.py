"""Retention: purge encrypted originals from ``archive/`` and ``quarantine/`` after N days.

Only files this pipeline wrote are touched (``*.age`` with the ``YYYYMMDD-`` prefix it
gives them); age is taken from that date prefix, which is the day the file was received,
so a restored backup or a touched mtime cannot keep a file alive or kill it early.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from hmis_handoff.fsutil import fsync_dir

_NAME = re.compile(r"^(?P<day>\d{8})-[0-9a-f]{12}.*\.age$")


@dataclass(frozen=True)
class PurgeResult:
    archive_removed: int
    quarantine_removed: int


def _purge(directory: Path, *, older_than_days: int, today: date) -> int:
    if not directory.is_dir():
        return 0
    cutoff = today - timedelta(days=older_than_days)
    removed = 0
    for entry in os.scandir(directory):
        match = _NAME.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        day = match.group("day")
        try:
            received = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        except ValueError:
            continue
        if received < cutoff:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    if removed:
        fsync_dir(directory)
    return removed


def purge_expired(
    archive: Path, quarantine: Path, *, archive_days: int, rejected_days: int, today: date
) -> PurgeResult:
    """Delete encrypted originals received more than the configured days before ``today``."""
    return PurgeResult(
        archive_removed=_purge(archive, older_than_days=archive_days, today=today),
        quarantine_removed=_purge(quarantine, older_than_days=rejected_days, today=today),
    )
