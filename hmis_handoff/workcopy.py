"""Our own private copy of a claimed file, and the check that the original did not move on.

A claim renames the agency's file into ``work/``, but an uploader that keeps its write
handle (SFTP and SMB allow it) can still rewrite or append to that inode. So every pass of
the pipeline reads a copy we made ourselves (0600, written by us, in ``work/``): what is
validated is what is packaged (named by hmis_handoff.workarea). The copy carries the
original's size and mtime (as its own size and mtime), so :func:`original_changed` can tell
that the original was written to after we copied it, and the agency can be told to send it
again instead of losing rows.

The size is checked from ``fstat`` before a single byte is read: a sparse 2 GiB file
(4 KB on disk) is refused without being hashed, copied or archived.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hmis_handoff.errors import CopyGrewTooLarge
from hmis_handoff.fsutil import atomic_writer

__all__ = ["original_changed", "oversized", "private_copy"]

_CHUNK = 1 << 20
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def private_copy(original: Path, copy: Path, max_bytes: int) -> bool:
    """Make ``copy`` (once; an existing complete copy is kept) and return True, or return
    False without reading anything when ``original`` is larger than ``max_bytes``.

    A file that grows past ``max_bytes`` while being copied also returns False (the partial
    copy is discarded). ``original`` is opened without following a link and must be a
    regular file (``OSError`` otherwise). The copy's mtime is the original's mtime as it was
    when the copy started, so a write after that moment shows in :func:`original_changed`.
    """
    if os.path.lexists(copy):
        return True
    fd = os.open(original, _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as source:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError("claimed object is not a regular file")
        if st.st_size > max_bytes:
            return False
        try:
            with atomic_writer(copy, replace=False) as target:
                copied = 0
                while chunk := source.read(_CHUNK):
                    copied += len(chunk)
                    if copied > max_bytes:
                        raise CopyGrewTooLarge
                    target.write(chunk)
                target.flush()
                os.utime(target.fileno(), ns=(st.st_atime_ns, st.st_mtime_ns))
        except CopyGrewTooLarge:
            return False
    return True


def oversized(original: Path, max_bytes: int) -> bool:
    """True when ``original`` (not followed if a link) is larger than ``max_bytes``."""
    return os.lstat(original).st_size > max_bytes


def original_changed(original: Path, copy: Path) -> bool:
    """True if ``original`` was written (size or mtime) since ``copy`` was made from it,
    or is gone or replaced. Cheap: two ``lstat`` calls."""
    try:
        now = os.lstat(original)
        ours = os.lstat(copy)
    except FileNotFoundError:
        return True
    return (now.st_size, now.st_mtime_ns) != (ours.st_size, ours.st_mtime_ns)
