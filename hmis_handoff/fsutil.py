"""Crash-safe file operations: temp + fsync + rename, moves that never replace, private modes.

Contract: after any of these returns, the result is durable (file and directory fsynced).
A crash in the middle leaves either the old state or the new one, never a partial file under
a final name. Temp files are named ``.tmp-<random>-<name>`` in the target directory so
start-up recovery can remove them (see :func:`remove_stale_temps`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "TEMP_PREFIX",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_writer",
    "ensure_private_dir",
    "fsync_dir",
    "move_no_replace",
    "remove_stale_temps",
    "rename_no_replace",
    "temp_path_for",
]

TEMP_PREFIX = ".tmp-"
DIR_MODE = 0o700
FILE_MODE = 0o600


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700 and tighten it if it already exists."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):  # mkdir's mode applies to the leaf only
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=DIR_MODE)
    if path.stat().st_mode & 0o077:
        path.chmod(DIR_MODE)
    return path


def temp_path_for(final: Path) -> Path:
    """A unique temp name beside ``final`` (same directory, so the rename is atomic)."""
    return final.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}-{final.name}")


@contextlib.contextmanager
def atomic_writer(final: Path, *, replace: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file; on clean exit it is fsynced and renamed to ``final``.

    With ``replace=False`` an existing ``final`` is never overwritten: the rename is done by
    ``link`` + ``unlink`` and raises ``FileExistsError`` if ``final`` exists. On any exception
    the temp file is removed and ``final`` is untouched.
    """
    tmp = temp_path_for(final)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, final)
        else:
            os.link(tmp, final)
            os.unlink(tmp)
        fsync_dir(final.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(final: Path, data: bytes, *, replace: bool = True) -> None:
    """Write ``data`` to ``final`` atomically and durably (mode 0600)."""
    with atomic_writer(final, replace=replace) as handle:
        handle.write(data)


def atomic_write_text(final: Path, text: str, *, replace: bool = True) -> None:
    """Write UTF-8 ``text`` to ``final`` atomically and durably (mode 0600)."""
    atomic_write_bytes(final, text.encode("utf-8"), replace=replace)


def move_no_replace(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst`` on the same filesystem; never replaces an existing ``dst``.

    Raises ``FileExistsError`` if ``dst`` exists. Both directories are fsynced.
    """
    os.link(src, dst, follow_symlinks=False)
    fsync_dir(dst.parent)
    os.unlink(src)
    fsync_dir(src.parent)


def remove_stale_temps(directory: Path, *, min_age_seconds: float = 0.0) -> int:
    """Delete temp files a crash left in ``directory``; returns how many were removed.

    With several workers sharing a directory, pass ``min_age_seconds`` so a temp file that
    another live worker is still writing is left alone.
    """
    removed = 0
    if not directory.is_dir():
        return 0
    now = time.time()
    for entry in os.scandir(directory):
        if not entry.name.startswith(TEMP_PREFIX) or not entry.is_file(follow_symlinks=False):
            continue
        with contextlib.suppress(FileNotFoundError):
            if now - entry.stat(follow_symlinks=False).st_mtime < min_age_seconds:
                continue
            os.unlink(entry.path)
            removed += 1
    if removed:
        fsync_dir(directory)
    return removed


class _RenameAt2(Protocol):
    def __call__(
        self, olddirfd: int, old: bytes, newdirfd: int, new: bytes, flags: int, /
    ) -> int: ...


_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def _load_renameat2() -> _RenameAt2 | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function: _RenameAt2 = libc.renameat2
    except (OSError, AttributeError):
        return None
    return function


_renameat2 = _load_renameat2()


def rename_no_replace(src: Path, dst: Path) -> None:
    """Atomically rename ``src`` to ``dst``; raises ``FileExistsError`` if ``dst`` exists.

    One atomic step (Linux ``renameat2(RENAME_NOREPLACE)``), unlike :func:`move_no_replace`:
    there is never a moment with two names (a concurrent scanner never sees ``st_nlink == 2``),
    and it moves any object (symlink, FIFO, directory) without opening it. Both directories
    are fsynced. Raises ``NotImplementedError`` where the platform or filesystem lacks the
    flag, so the caller chooses its own fallback. Errors carry no path (paths may be PII).
    """
    if _renameat2 is None:
        raise NotImplementedError("renameat2 is not available")
    if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE):
        code = ctypes.get_errno()
        if code in (errno.ENOSYS, errno.EINVAL):
            raise NotImplementedError("RENAME_NOREPLACE is not supported here")
        raise OSError(code, os.strerror(code))
    fsync_dir(dst.parent)
    if src.parent != dst.parent:
        fsync_dir(src.parent)
