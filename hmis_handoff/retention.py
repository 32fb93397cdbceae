"""Retention: purge encrypted originals from ``archive/`` and ``quarantine/`` after N days.

Only files this pipeline wrote are touched (named by
:func:`hmis_handoff.workarea.kept_original_name`); age is taken from their date prefix,
which is the day the file was received, so a restored backup or a touched mtime cannot keep
a file alive or kill it early.

Objects the drop-folder scanner refused (:class:`hmis_handoff.workarea.QuarantineFiles`: a
link, a FIFO or an encrypted file or folder) carry no date in their name; their age is the
``quarantined_at`` of the refusal sidecar written before the move, and they
go with the rejected files' retention. The sidecar is removed last, so a purge that a
crash interrupts is finished by the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from hmis_handoff.fsutil import fsync_dir
from hmis_handoff.workarea import QuarantineFiles, kept_original_day

__all__ = ["PurgeResult", "purge_expired"]

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
        received = kept_original_day(entry.name)
        if received is None or not entry.is_file(follow_symlinks=False):
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
    for files in QuarantineFiles.each(directory):
        if not files.sidecar.is_file() or files.sidecar.is_symlink():
            continue
        day = _refusal_day(files.sidecar)
        if day is None or day >= cutoff:
            continue
        for kept in (files.kept, files.moved):
            removed += _remove(kept)
        os.unlink(files.sidecar)
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
