"""Files we (and the Prefect server we start) create are 0600, directories 0700.

Our own writers set modes explicitly, but Prefect's server writes its SQLite database, WAL,
logs and result storage under ``state/prefect`` with the default umask (0644, readable by
every local user), and those files hold ids, hashes and run history. So the command line
sets umask 077 for itself and every process it starts (children inherit it), and tightens
whatever an earlier run left readable.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["PRIVATE_UMASK", "set_private_umask", "tighten_tree"]

PRIVATE_UMASK = 0o077


def set_private_umask() -> int:
    """Set umask 077 for this process and its future children; return the old one."""
    return os.umask(PRIVATE_UMASK)


def tighten_tree(root: Path) -> int:
    """Make every directory under ``root`` 0700 and every file 0600 (links untouched).

    Returns how many modes were changed. A missing ``root`` is fine (nothing to do).
    """
    changed = 0
    if not root.is_dir() or root.is_symlink():
        return 0
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        for name, wanted in [(d, 0o700) for d in dirnames] + [(f, 0o600) for f in filenames]:
            changed += _chmod(Path(directory) / name, wanted)
    return changed + _chmod(root, 0o700)


def _chmod(path: Path, wanted: int) -> int:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return 0
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return 0  # links, sockets, FIFOs: never opened
    if stat.S_IMODE(st.st_mode) & ~wanted == 0:
        return 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, PermissionError):
        return 0
    try:
        os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) & wanted)
    finally:
        os.close(fd)
    return 1
