"""Folders opened without following links, so a planted symlink can never redirect us.

An agency that can write ``agencies/<id>/`` can replace its ``drop`` or ``reports`` folder
with a symlink (to ``../../state``, say). Every operation on such a folder therefore goes
through a directory handle opened component by component with ``O_NOFOLLOW | O_DIRECTORY``
from a trusted base, and checked to be owned by us. :func:`held_dir` yields the handle as
the path ``/proc/self/fd/<fd>``: the kernel resolves that magic link to the very directory
we opened and checked, so the path-based helpers (rename, atomic writes, scandir) work
relative to the handle, even if the name is swapped for a link a moment later.

Refusals raise :class:`UnsafeFolderError` (rule id ``FOLDER-UNSAFE``): an operator-facing
error whose message names the folder's role and the agency or area id, never a file name.
Linux only (``/proc``), like ``renameat2`` in :mod:`hmis_handoff.fsutil`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from hmis_handoff.errors import UnsafeFolderError
from hmis_handoff.layout import Layout

__all__ = ["check_plain_dir", "check_private_tree", "held_dir", "open_dir"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_PROC_FD = Path("/proc/self/fd")


def _owner_ok(st: os.stat_result) -> bool:
    return st.st_uid == os.geteuid()


def open_dir(base: Path, parts: tuple[str, ...], role: str, *, create: bool = False) -> int:
    """Open ``base/parts...`` as a directory fd without following a link below ``base``.

    ``base`` is the operator's trusted path (it may itself be a link: the operator's
    choice). Each of ``parts`` must be a single name that is a real directory owned by our
    effective uid; with ``create`` missing ones are made (0700). Raises
    :class:`UnsafeFolderError` for a symlink, a non-directory or a foreign owner, and
    ``FileNotFoundError`` for a missing one without ``create``. The caller closes the fd.
    """
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            if not part or "/" in part or part in (".", ".."):
                raise UnsafeFolderError(role, "not a plain folder name")
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafeFolderError(role, "a symlink or not a directory") from None
                if exc.errno == errno.ENOENT:
                    raise FileNotFoundError(errno.ENOENT, f"{role} folder is missing") from None
                raise
            os.close(fd)
            fd = child
            if not _owner_ok(os.fstat(fd)):
                raise UnsafeFolderError(role, "owned by another user")
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def held_dir(
    base: Path, parts: tuple[str, ...], role: str, *, create: bool = False
) -> Iterator[Path]:
    """Yield a path that resolves to the checked directory for as long as the block runs.

    See :func:`open_dir` for the checks and errors.
    """
    fd = open_dir(base, parts, role, create=create)
    try:
        yield _PROC_FD / str(fd)
    finally:
        os.close(fd)


def check_plain_dir(path: Path, role: str) -> None:
    """Raise :class:`UnsafeFolderError` if ``path`` exists and is a link, not a directory,
    or foreign-owned. A missing ``path`` passes (it is created 0700 later)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFolderError(role, "a symlink or not a directory")
    if not _owner_ok(st):
        raise UnsafeFolderError(role, "owned by another user")


def check_private_tree(layout: Layout, partner_ids: Iterable[str]) -> None:
    """Refuse a data root whose own subfolders were swapped for links or foreign folders.

    Checks ``work``, ``quarantine``, ``archive``, ``state`` (and its Prefect home),
    ``partners`` and each partner's folder and outbox. Raises :class:`UnsafeFolderError`;
    missing folders pass.
    """
    roles: list[tuple[Path, str]] = [
        (layout.work, "work"),
        (layout.quarantine, "quarantine"),
        (layout.archive, "archive"),
        (layout.state, "state"),
        (layout.prefect_home, "Prefect home"),
        (layout.root / "partners", "partners"),
    ]
    for partner_id in partner_ids:
        roles.append((layout.root / "partners" / partner_id, f"folder of partner {partner_id}"))
        roles.append((layout.partner_outbox(partner_id), f"outbox of partner {partner_id}"))
    for path, role in roles:
        check_plain_dir(path, role)
