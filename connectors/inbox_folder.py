"""The data partner's confirmations inbox: ``partners/<id>/confirmations/``.

The partner drops confirmation files (CSV or XLSX) and HMIS CSV exports (a zip, or a
folder holding ``Client.csv`` / ``Export.csv``) at the top of the folder. We create two
sub-folders there: ``reports/`` (our answers) and ``processed/`` (handled confirmation
files, under names we make from their content hash; they hold ids and dates only).

Contract:

* :func:`scan_inbox` lists settled items, classified by content, never by name: an item
  is settled when nothing in it changed (ctime, which no copy tool can set back) for
  ``settle_seconds``. Hidden, temporary and lock files are skipped, as are links and
  anything that is neither a regular file nor a folder.
* :func:`retire_confirmation` moves a handled confirmation file to ``processed/``
  (never replacing; the same content twice keeps one copy).
* :func:`retire_export` removes a handled export: it holds client data, so it is kept only
  encrypted to the CoC archive key (``processed/<stamp>-<ref>.export.zip.age``) when one is
  configured, else deleted. A folder export is zipped to a temp file in ``work_dir`` first.
* Nothing here logs or raises with the partner's file names.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import stat
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from connectors.dropfolder import DEFAULT_IGNORES
from connectors.hmis_export import EXPORT_FILES, is_export_folder, is_export_zip
from connectors.safe_open import open_regular_file
from connectors.sniff import file_kind
from hmis_handoff.crypto.age import encrypt_file
from hmis_handoff.crypto.recipients import parse_recipient
from hmis_handoff.errors import FileRejected
from hmis_handoff.fsutil import ensure_private_dir, move_no_replace, temp_path_for

__all__ = [
    "PROCESSED",
    "REPORTS",
    "InboxItem",
    "ItemKind",
    "retire_confirmation",
    "retire_export",
    "scan_inbox",
    "unsettled_delay",
]

REPORTS = "reports"
PROCESSED = "processed"
ItemKind = Literal["confirmation", "export"]


@dataclass(frozen=True)
class InboxItem:
    """A settled item in the inbox. ``suffix`` is ours (".csv", ".xlsx" or "")."""

    path: Path
    kind: ItemKind
    suffix: str


def _ignored(name: str) -> bool:
    lowered = name.lower()
    if name in (REPORTS, PROCESSED) or lowered.endswith(".done"):
        return True
    return any(fnmatch.fnmatch(lowered, pattern.lower()) for pattern in DEFAULT_IGNORES)


def _newest_change(path: Path, st: os.stat_result) -> float:
    newest = max(st.st_ctime, st.st_mtime)
    if stat.S_ISDIR(st.st_mode):
        with os.scandir(path) as entries:
            for entry in entries:
                inner = entry.stat(follow_symlinks=False)
                newest = max(newest, inner.st_ctime, inner.st_mtime)
    return newest


def _head(path: Path) -> bytes | None:
    try:
        fd = open_regular_file(path)
    except FileRejected:
        return None  # a link or a hard-linked file: never ours to read
    with os.fdopen(fd, "rb") as handle:
        return handle.read(8)


def _classify(path: Path, st: os.stat_result) -> InboxItem | None:
    if stat.S_ISDIR(st.st_mode):
        return InboxItem(path, "export", "") if is_export_folder(path) else None
    if not stat.S_ISREG(st.st_mode):
        return None
    head = _head(path)
    if head is None:
        return None
    if file_kind(head) == "zip":
        if is_export_zip(path):
            return InboxItem(path, "export", ".zip")
        return InboxItem(path, "confirmation", ".xlsx")
    return InboxItem(path, "confirmation", ".csv")


def scan_inbox(
    folder: Path, *, settle_seconds: float = 2.0, now: float | None = None
) -> list[InboxItem]:
    """Settled items at the top of ``folder``, oldest change first; [] if it is missing."""
    clock = time.time() if now is None else now
    found: list[tuple[float, InboxItem]] = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    for entry in entries:
        if _ignored(entry.name):
            continue
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                continue
            newest = _newest_change(path, st)
            if clock - newest < settle_seconds:
                continue
            item = _classify(path, st)
        except OSError:
            continue  # vanished or unreadable: the next scan sees it again
        if item is not None:
            found.append((newest, item))
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]


def retire_confirmation(item: InboxItem, folder: Path, *, ref: str, when: datetime) -> Path:
    """Move a handled confirmation file to ``processed/<yyyymmdd-hhmmss>-<ref><suffix>``."""
    target_dir = ensure_private_dir(folder / PROCESSED)
    target = target_dir / f"{when:%Y%m%d-%H%M%S}-{ref}{item.suffix}"
    if any(p.name.endswith(f"-{ref}{item.suffix}") for p in target_dir.iterdir()):
        item.path.unlink()  # the same content was processed before; keep the first copy
        return target
    move_no_replace(item.path, target)
    target.chmod(0o600)
    return target


def _zip_folder(folder: Path, work_dir: Path) -> Path:
    """The folder's HMIS files (regular files only) in a 0600 temp zip in ``work_dir``."""
    ensure_private_dir(work_dir)
    temp = temp_path_for(work_dir / "export.zip")
    wanted = {name.casefold() for name in EXPORT_FILES}
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.casefold() in wanted and entry.is_file(follow_symlinks=False):
                source_fd = open_regular_file(entry.path)
                with os.fdopen(source_fd, "rb") as source, zf.open(entry.name, "w") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    return temp


def retire_export(
    item: InboxItem,
    folder: Path,
    *,
    ref: str,
    when: datetime,
    archive_recipient: str,
    work_dir: Path,
) -> Path | None:
    """Remove a handled export; first keep it encrypted to the archive key if one is set.

    Returns the encrypted copy's path, or None when it was only deleted.
    """
    is_folder = stat.S_ISDIR(os.lstat(item.path).st_mode)
    kept: Path | None = None
    if archive_recipient:
        target_dir = ensure_private_dir(folder / PROCESSED)
        kept = target_dir / f"{when:%Y%m%d-%H%M%S}-{ref}.export.zip.age"
        source = _zip_folder(item.path, work_dir) if is_folder else item.path
        try:
            if not any(p.name.endswith(f"-{ref}.export.zip.age") for p in target_dir.iterdir()):
                encrypt_file(source, kept, [parse_recipient(archive_recipient)])
        finally:
            if source != item.path:
                with contextlib.suppress(FileNotFoundError):
                    source.unlink()
    if is_folder:
        shutil.rmtree(item.path)  # the whole dropped folder: it was one export
    else:
        item.path.unlink()
    return kept


def unsettled_delay(folders: list[Path], settle_seconds: float) -> float | None:
    """Seconds until the youngest top-level entry of ``folders`` has been still for
    ``settle_seconds`` (a little after, so a scan then finds it settled); None if none is
    settling. Reads only ``lstat`` of names, never a file."""
    now = time.time()
    waits = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            with contextlib.suppress(OSError):
                age = now - entry.stat(follow_symlinks=False).st_mtime
                if 0 <= age < settle_seconds:
                    waits.append(settle_seconds - age + 0.05)
    return min(waits) if waits else None
