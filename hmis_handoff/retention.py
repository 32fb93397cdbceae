"""Retention: purge encrypted originals from ``archive/`` and ``quarantine/`` after N days.

Only files this pipeline wrote are touched (``*.age`` with the ``YYYYMMDD-`` prefix it
gives them); age is taken from that date prefix, which is the day the file was received,
so a restored backup or a touched mtime cannot keep a file alive or kill it early.

Objects the drop-folder scanner refused (``quarantine/<id>.quarantined[.age]``, a link, a
FIFO or an encrypted file or folder) carry no date in their name; their age is the
``quarantined_at`` of the ``<id>.refusal.json`` sidecar written before the move, and they
go with the rejected files' retention. The sidecar is removed last, so a purge that a
crash interrupts is finished by the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hmis_handoff.fsutil import fsync_dir

_NAME = re.compile(r"^(?P<day>\d{8})-[0-9a-f]{12}.*\.age$")
_REFUSAL = re.compile(r"^(?P<id>[0-9a-f]{32})\.refusal\.json$")
_SIDECAR_MAX_BYTES = 64 * 1024


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


def _refusal_day(sidecar: Path) -> date | None:
    try:
        with open(sidecar, "rb", opener=_no_follow) as handle:
            facts = json.loads(handle.read(_SIDECAR_MAX_BYTES))
        return datetime.fromisoformat(str(facts["quarantined_at"])).astimezone(UTC).date()
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable: left for an operator, never guessed


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _remove(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)  # never follows links inside
    else:
        os.unlink(path)
    return True


def _purge_refusals(directory: Path, *, older_than_days: int, today: date) -> int:
    if not directory.is_dir():
        return 0
    cutoff = today - timedelta(days=older_than_days)
    removed = 0
    for entry in os.scandir(directory):
        match = _REFUSAL.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        day = _refusal_day(Path(entry.path))
        if day is None or day >= cutoff:
            continue
        quarantine_id = match.group("id")
        for suffix in (".quarantined.age", ".quarantined"):
            removed += _remove(directory / f"{quarantine_id}{suffix}")
        os.unlink(entry.path)
    if removed:
        fsync_dir(directory)
    return removed


def purge_expired(
    archive: Path, quarantine: Path, *, archive_days: int, rejected_days: int, today: date
) -> PurgeResult:
    """Delete encrypted originals received more than the configured days before ``today``."""
    return PurgeResult(
        archive_removed=_purge(archive, older_than_days=archive_days, today=today),
        quarantine_removed=_purge(quarantine, older_than_days=rejected_days, today=today)
        + _purge_refusals(quarantine, older_than_days=rejected_days, today=today),
    )
