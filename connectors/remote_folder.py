"""One protocol for folders we move files through, wherever they live (issue #16).

A :class:`RemoteFolder` is a directory on some server (or on this disk) addressed by names
relative to its root: ``"x.age"`` or ``"claimed/x.csv"``; never absolute, never ``..``.
Every implementation passes the same conformance suite (``tests/transfer``):

* :meth:`~RemoteFolder.list` gives regular files with size and mtime (no directories,
  no temp files of ours), sorted by name;
* :meth:`~RemoteFolder.upload` / :meth:`~RemoteFolder.write_bytes` write under a temp
  name in the same directory, then rename over the final name, so a reader never sees a
  partial file; they return the size and SHA-256 *read back* from the folder;
* :meth:`~RemoteFolder.rename` is the claim primitive (fails if the source is gone);
* :meth:`~RemoteFolder.remove` of a missing name is not an error (idempotent clean-up).

Errors are :class:`~hmis_handoff.errors.RetriableError` (server down, I/O) or
:class:`TransferRefused` (host key mismatch, permission, bad key): fixed text with a
type name, never a path the agency chose, a server reply or a secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO, Protocol, Self

from hmis_handoff.errors import RetriableError
from hmis_handoff.fsutil import ensure_private_dir, fsync_dir

__all__ = [
    "TEMP_PREFIX",
    "LocalFolder",
    "RemoteEntry",
    "RemoteFolder",
    "Written",
    "check_name",
    "sha256_stream",
    "temp_name",
]

# Names starting with this are ours and in flight; list() hides them.
TEMP_PREFIX = ".handoff-tmp-"
_CHUNK = 1 << 18


@dataclass(frozen=True)
class RemoteEntry:
    """A regular file in a folder: its name relative to the folder, size and mtime."""

    name: str
    size: int
    mtime: float


@dataclass(frozen=True)
class Written:
    """What a write left in the folder, as read back: final name, size, SHA-256."""

    name: str
    size: int
    sha256: str


def check_name(name: str) -> str:
    """``name`` if it is a safe relative name (``a`` or ``a/b``), else ValueError."""
    parts = name.split("/")
    if any(p in ("..", ".", "") for p in parts) or "\x00" in name:
        raise ValueError("folder names are relative, without '..'")
    return name


def sha256_stream(stream: BinaryIO) -> tuple[int, str]:
    """(bytes read, hex SHA-256) of a stream, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def temp_name(name: str) -> str:
    """A fresh temp name in the same directory as ``name``."""
    path = PurePosixPath(name)
    return str(path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}"))


class RemoteFolder(Protocol):
    """A folder we list, read, write (temp then rename) and remove files in."""

    def list(self, subdir: str = "") -> list[RemoteEntry]:
        """Regular files directly in ``subdir`` (names relative to the folder root)."""
        ...

    def stat(self, name: str) -> RemoteEntry | None:
        """The file's entry, or None if there is no such file."""
        ...

    def download(self, name: str, target: BinaryIO) -> tuple[int, str]:
        """Copy the file into ``target``; returns (size, SHA-256) of what was read."""
        ...

    def read_bytes(self, name: str) -> bytes:
        """The whole file (small files: manifests, receipts)."""
        ...

    def upload(self, source: Path, name: str) -> Written:
        """Write ``source`` as ``name`` (temp, then rename); verify by reading it back."""
        ...

    def write_bytes(self, data: bytes, name: str) -> Written:
        """Write ``data`` as ``name`` (temp, then rename); verify by reading it back."""
        ...

    def rename(self, name: str, new_name: str) -> None:
        """Rename within the folder; FileNotFoundError if ``name`` is gone."""
        ...

    def remove(self, name: str) -> None:
        """Remove ``name``; a missing file is fine."""
        ...

    def makedirs(self, subdir: str) -> None:
        """Create ``subdir`` (and parents) if missing."""
        ...

    def sha256(self, name: str) -> tuple[int, str]:
        """(size, SHA-256) of the file as stored, by reading it."""
        ...

    def close(self) -> None:
        """Release the connection (no-op for local folders)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class LocalFolder:
    """A :class:`RemoteFolder` on this machine's disk (the outbox and local drop folders)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        return None

    def _path(self, name: str) -> Path:
        return self.root / check_name(name)

    def list(self, subdir: str = "") -> list[RemoteEntry]:
        base = self._path(subdir) if subdir else self.root
        entries: list[RemoteEntry] = []
        try:
            with os.scandir(base) as listing:
                for item in listing:
                    if item.name.startswith(TEMP_PREFIX):
                        continue
                    st = item.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode):
                        rel = f"{subdir}/{item.name}" if subdir else item.name
                        entries.append(RemoteEntry(rel, st.st_size, st.st_mtime))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise RetriableError(f"folder not listed ({type(exc).__name__})") from None
        return sorted(entries, key=lambda e: e.name)

    def stat(self, name: str) -> RemoteEntry | None:
        try:
            st = self._path(name).lstat()
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return RemoteEntry(name, st.st_size, st.st_mtime)

    def download(self, name: str, target: BinaryIO) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        with self._path(name).open("rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                target.write(chunk)
                size += len(chunk)
        return size, digest.hexdigest()

    def read_bytes(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def _write(self, name: str, fill: Iterator[bytes]) -> Written:
        final = self._path(name)
        ensure_private_dir(final.parent)
        temp = self._path(temp_name(name))
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                for chunk in fill:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
            fsync_dir(final.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise RetriableError(f"file not written ({type(exc).__name__})") from None
        size, sha = self.sha256(name)
        return Written(name, size, sha)

    def upload(self, source: Path, name: str) -> Written:
        def chunks() -> Iterator[bytes]:
            with source.open("rb") as handle:
                while chunk := handle.read(_CHUNK):
                    yield chunk

        return self._write(name, chunks())

    def write_bytes(self, data: bytes, name: str) -> Written:
        return self._write(name, iter([data]))

    def rename(self, name: str, new_name: str) -> None:
        source, target = self._path(name), self._path(new_name)
        ensure_private_dir(target.parent)
        if not source.exists():
            raise FileNotFoundError(name)
        os.replace(source, target)
        fsync_dir(target.parent)
        fsync_dir(source.parent)

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()

    def makedirs(self, subdir: str) -> None:
        ensure_private_dir(self._path(subdir))

    def sha256(self, name: str) -> tuple[int, str]:
        with self._path(name).open("rb") as handle:
            return sha256_stream(handle)
