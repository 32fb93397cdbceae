"""A small read-ahead buffer over a binary stream, for parsing a header and then a payload.

The header is parsed line by line from this buffer; the payload is then read with
:meth:`Reader.readinto`, which first drains whatever the header parser read ahead and then
reads straight into the caller's buffer (no extra copy).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ByteSink", "RawSource", "Reader"]

_FILL_SIZE = 4096


class RawSource(Protocol):
    """Anything with a binary ``read``; ``readinto`` is used when present."""

    def read(self, size: int = -1, /) -> bytes: ...


class ByteSink(Protocol):
    """Anything with a binary ``write`` (files, BytesIO); partial writes are retried."""

    def write(self, data: memoryview, /) -> int | None: ...


class Reader:
    """Buffered reads from ``src`` with line access and exact, full reads.

    Contract: every read method returns fewer bytes than asked for only at end of stream.
    """

    __slots__ = ("_buf", "_eof", "_pos", "_readinto", "_src", "_src_pos")

    def __init__(self, src: RawSource) -> None:
        self._src = src
        self._readinto = getattr(src, "readinto", None)
        self._buf = bytearray()
        self._pos = 0
        self._eof = False
        self._src_pos = 0

    def page_offset(self, page_size: int) -> int:
        """Where in a page-aligned buffer the next :meth:`readinto` view should start.

        Chosen so that the bytes read from the source land at the same offset within a page
        as their position in the source (assuming the source started at position 0).
        """
        return (self._src_pos - (len(self._buf) - self._pos)) % page_size

    def _fill(self) -> bool:
        if self._eof:
            return False
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        chunk = self._src.read(_FILL_SIZE)
        if not chunk:
            self._eof = True
            return False
        self._src_pos += len(chunk)
        self._buf += chunk
        return True

    def peek(self, n: int) -> bytes:
        """Up to ``n`` upcoming bytes, without consuming them."""
        while len(self._buf) - self._pos < n and self._fill():
            pass
        return bytes(self._buf[self._pos : self._pos + n])

    def readline(self, limit: int) -> bytes:
        """Bytes up to and including the next LF, or ``limit`` bytes, or what is left."""
        while True:
            available = len(self._buf) - self._pos
            end = self._buf.find(b"\n", self._pos, self._pos + limit)
            if end >= 0:
                size = end + 1 - self._pos
                break
            if available >= limit:
                size = limit
                break
            if not self._fill():
                size = available
                break
        line = bytes(self._buf[self._pos : self._pos + size])
        self._pos += size
        return line

    def read(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or fewer at end of stream."""
        out = bytearray(n)
        got = self.readinto(memoryview(out))
        del out[got:]
        return bytes(out)

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` completely, or as far as the stream goes; returns the byte count."""
        total = 0
        buffered = len(self._buf) - self._pos
        if buffered:
            take = min(buffered, len(view))
            view[:take] = self._buf[self._pos : self._pos + take]
            self._pos += take
            total = take
        while total < len(view) and not self._eof:
            if self._readinto is not None:
                got = self._readinto(view[total:])
            else:
                chunk = self._src.read(len(view) - total)
                got = len(chunk)
                view[total : total + got] = chunk
            if not got:
                self._eof = True
                break
            self._src_pos += got
            total += got
        return total

    def at_eof(self) -> bool:
        """True if no byte is left (reads ahead by at most one buffer to find out)."""
        return not self.peek(1)
