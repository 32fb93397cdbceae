"""A refused *directory* kept like every other rejected original: only encrypted.

An agency's drop folder may hold a subfolder (a zip unpacked in place, a "to send" folder);
the scanner refuses it and moves it whole into ``quarantine/``. It may hold client files,
so it is written as one tar stream straight into the age encryptor (no plaintext tar on
disk), and then removed. Links inside are stored as links and never followed; FIFOs and
devices are stored as entries and never opened; a regular file larger than
``max_member_bytes`` is left out (a sparse terabyte must not be archived, SECURITY.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
import threading
from collections.abc import Sequence
from pathlib import Path

from hmis_handoff.crypto.age import Recipient, encrypt
from hmis_handoff.fsutil import atomic_writer

__all__ = ["encrypt_directory_and_remove"]


def _tar_into(fd: int, source: Path, max_member_bytes: int, failure: list[BaseException]) -> None:
    def keep(member: tarfile.TarInfo) -> tarfile.TarInfo | None:
        if member.isreg() and member.size > max_member_bytes:
            return None
        member.uname = member.gname = ""
        return member

    try:
        with os.fdopen(fd, "wb") as pipe, tarfile.open(fileobj=pipe, mode="w|") as tar:
            tar.add(source, arcname="quarantined", recursive=True, filter=keep)
    except BaseException as exc:  # re-raised by the caller's thread
        failure.append(exc)


def encrypt_directory_and_remove(
    source: Path, target: Path, recipients: Sequence[Recipient], *, max_member_bytes: int
) -> None:
    """Write ``source`` (a directory, not followed if a link) as a tar encrypted to
    ``recipients`` at ``target`` (temp + fsync + rename, 0600), then delete ``source``.

    Safe to repeat after a crash: ``target`` is replaced, and ``source`` goes only after
    ``target`` is durable.

    Raises:
        OSError: if the directory cannot be read or the target written (nothing removed).
    """
    read_fd, write_fd = os.pipe()
    failure: list[BaseException] = []
    worker = threading.Thread(
        target=_tar_into, args=(write_fd, source, max_member_bytes, failure), daemon=True
    )
    worker.start()
    try:
        with os.fdopen(read_fd, "rb", buffering=0) as pipe, atomic_writer(target) as out:
            encrypt(pipe, out, recipients)
            worker.join()
            if failure:
                raise OSError("the quarantined folder could not be archived") from None
    finally:
        worker.join()
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(source)
