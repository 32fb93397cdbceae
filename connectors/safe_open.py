"""Open an intake file without following links, blocking, or reading past a fixed size.

Contract:

* :func:`open_regular_file` returns a descriptor only for a regular file with exactly one
  link, opened ``O_RDONLY | O_NOFOLLOW | O_NONBLOCK`` so a symlink, a FIFO, a socket, a
  device or a directory is refused (``FILE-NOT-REGULAR``) before a single byte is read and
  without ever hanging. Only the last path component is protected from symlinks: the caller
  owns the directories above it.
* Other ``OSError``s (vanished, permission denied) are re-raised as a fresh ``OSError`` of
  the same subclass and errno but *without the path*: file names are agency-written and may
  name a client.
* :class:`FdSlice` reads bytes ``[0, size)`` of a descriptor with ``pread``, so several
  readers can share one descriptor and a file that grows after ``fstat`` is read as it was.
"""

from __future__ import annotations

import errno
import io
import os
import stat

from hmis_handoff.errors import FileRejected

__all__ = ["FdSlice", "buffered", "open_regular_file"]

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def open_regular_file(path: os.PathLike[str] | str) -> int:
    """Open ``path`` for reading; the caller closes the returned descriptor.

    Raises:
        FileRejected: ``FILE-NOT-REGULAR`` for a symlink, hard-linked file, FIFO, socket,
            device or directory.
        OSError: any other open failure, without the file name in it.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        code = exc.errno
    else:
        code = None
    if code is not None:
        # Raised outside the handler so the original (which carries the path) is not chained.
        if code == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise FileRejected("FILE-NOT-REGULAR", "the item is a link, not a file")
        if code == errno.ENXIO:  # a socket (or a FIFO that cannot be opened)
            raise FileRejected("FILE-NOT-REGULAR", "the item is a socket or pipe, not a file")
        raise OSError(code, os.strerror(code))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRejected("FILE-NOT-REGULAR", f"the item is {_kind(info.st_mode)}")
        if info.st_nlink != 1:
            raise FileRejected(
                "FILE-NOT-REGULAR", f"the file has {info.st_nlink} hard links; one is required"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


class FdSlice(io.RawIOBase):
    """A seekable, read-only raw stream over bytes ``[0, size)`` of ``fd`` (not owned)."""

    def __init__(self, fd: int, size: int) -> None:
        super().__init__()
        self._fd = fd
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        data = os.pread(self._fd, want, self._pos)
        got = len(data)
        memoryview(buffer)[:got] = data
        self._pos += got
        return got


def buffered(fd: int, size: int, buffer_size: int = 1 << 20) -> io.BufferedReader:
    """A buffered reader over ``FdSlice(fd, size)``; closing it leaves ``fd`` open."""
    return io.BufferedReader(FdSlice(fd, size), buffer_size=buffer_size)
