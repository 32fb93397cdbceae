"""Refuse data roots that would scatter client data over the system (``data_root = "/"``).

The data root receives ``state/`` (ledger, keys' neighbours), ``work/`` (plaintext in
flight), ``quarantine/`` and the agencies' folders, all created 0700 and cleaned up by us.
Pointed at ``/``, a home directory, a system directory or somebody else's non-empty folder,
that would create ``/state/ledger.db``, tighten the modes of existing directories and mix
our files with others'. So such a root is refused with a clear error before anything is
created. A root is *ours* if it is missing, empty, or already holds our layout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from hmis_handoff.errors import ConfigError

__all__ = ["check_data_root"]

#: Exactly these directories are never a data root.
_SYSTEM_ROOTS: Final = frozenset(
    Path(p)
    for p in (
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/media",
        "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr",
        "/var", "/var/lib", "/var/tmp", "/var/log",
    )
)  # fmt: skip
#: Nothing below these is a data root.
_SYSTEM_TREES: Final = tuple(
    Path(p) for p in ("/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys", "/usr")
)
#: Names that mark a directory as a data root of ours.
_OURS: Final = ("handoff.toml", "state", "agencies", "work")


def check_data_root(root: Path) -> None:
    """Raise ``ConfigError`` if ``root`` (absolute) is unsafe as a data root.

    Unsafe: ``/`` and the system directories, anything inside ``/etc``, ``/usr``, ``/proc``
    and the like, the current user's home directory itself, and an existing non-empty
    directory that holds none of our files (``handoff.toml``, ``state/``, ``agencies/``,
    ``work/``). The message names the path and what to do; it never lists the directory.
    """
    resolved = Path(os.path.realpath(root))
    home = Path(os.path.realpath(Path.home()))
    hint = "point data_root at a directory of its own, e.g. /srv/handoff or ./var"
    if resolved in _SYSTEM_ROOTS or resolved == home:
        raise ConfigError(f"unsafe data root {resolved}: a system or home directory; {hint}")
    if any(resolved.is_relative_to(tree) for tree in _SYSTEM_TREES):
        raise ConfigError(f"unsafe data root {resolved}: inside a system directory; {hint}")
    try:
        entries = os.listdir(resolved)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise ConfigError(f"data root {resolved} is not a directory; {hint}") from None
    except PermissionError:
        raise ConfigError(f"data root {resolved} cannot be read by this user; {hint}") from None
    if entries and not any(name in entries for name in _OURS):
        raise ConfigError(
            f"unsafe data root {resolved}: a non-empty directory that is not a handoff data "
            f"root; {hint}"
        )
