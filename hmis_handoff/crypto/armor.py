"""Reading age's ASCII armor: strict PEM (RFC 7468 §3) labelled ``AGE ENCRYPTED FILE``.

Accepted: whitespace before and after the block, LF or CRLF line ends, no line end after the
END line. Rejected with :class:`ArmorError`: any other data outside the block, PEM headers,
empty lines, lines other than the last not exactly 64 columns, bad or non-canonical base64,
missing padding, and a missing END line. Decoding is line by line, so memory stays bounded.
"""

from __future__ import annotations

import binascii

from hmis_handoff.crypto.errors import ArmorError
from hmis_handoff.crypto.readahead import Reader

__all__ = ["BEGIN_LINE", "END_LINE", "ArmorReader", "looks_armored"]

BEGIN_LINE = b"-----BEGIN AGE ENCRYPTED FILE-----"
END_LINE = b"-----END AGE ENCRYPTED FILE-----"
_COLUMNS = 64
_WHITESPACE = b" \t\r\n"
_MAX_OUTSIDE_WHITESPACE = 1 << 16
_DETECT_WINDOW = 1024


def looks_armored(reader: Reader) -> bool:
    """True if the input starts (after optional whitespace) with the armor BEGIN line."""
    head = reader.peek(_DETECT_WINDOW + len(BEGIN_LINE))
    return head.lstrip(_WHITESPACE).startswith(BEGIN_LINE)


class ArmorReader:
    """The binary age file inside an armored one; raises :class:`ArmorError` as it reads."""

    __slots__ = ("_done", "_pending", "_reader", "_started")

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._pending = bytearray()
        self._started = False
        self._done = False

    def _skip_whitespace(self) -> None:
        skipped = 0
        while (head := self._reader.peek(1)) and head in _WHITESPACE:
            self._reader.read(1)
            skipped += 1
            if skipped > _MAX_OUTSIDE_WHITESPACE:
                raise ArmorError("too much whitespace around the armored block")

    def _line(self) -> bytes:
        line = self._reader.readline(_COLUMNS + 2)
        if line.endswith(b"\r\n"):
            return line[:-2]
        if line.endswith(b"\n"):
            return line[:-1]
        if len(line) > _COLUMNS or not line.startswith(END_LINE):
            raise ArmorError(
                "an armored line is longer than 64 columns"
                if len(line) > _COLUMNS
                else "the armored block has no END line"
            )
        return line

    def _start(self) -> None:
        self._skip_whitespace()
        if self._reader.readline(len(BEGIN_LINE) + 2) not in (
            BEGIN_LINE + b"\n",
            BEGIN_LINE + b"\r\n",
        ):
            raise ArmorError("the armored file does not start with the AGE ENCRYPTED FILE line")
        self._started = True

    def _finish(self) -> None:
        self._done = True
        self._skip_whitespace()
        if not self._reader.at_eof():
            raise ArmorError("there is data after the armored block")

    def _decode_next_line(self) -> None:
        line = self._line()
        if line == END_LINE:
            self._finish()
            return
        if not line:
            raise ArmorError("the armored block has an empty line")
        if len(line) > _COLUMNS:
            raise ArmorError("an armored line is longer than 64 columns")
        try:
            data = binascii.a2b_base64(line, strict_mode=True)
        except binascii.Error:
            raise ArmorError("an armored line is not valid base64") from None
        if binascii.b2a_base64(data, newline=False) != line:
            raise ArmorError("an armored line is not canonical base64")
        self._pending += data
        if len(line) < _COLUMNS or line.endswith(b"="):
            if self._line() != END_LINE:
                raise ArmorError("a short armored line must be the last before the END line")
            self._finish()

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` decoded bytes; fewer only when the block has ended."""
        if not self._started:
            self._start()
        wanted = max(n, 1)
        while len(self._pending) < wanted and not self._done:
            self._decode_next_line()
        take = len(self._pending) if n < 0 else min(n, len(self._pending))
        out = bytes(self._pending[:take])
        del self._pending[:take]
        return out

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` with up to ``len(view)`` decoded bytes; 0 means the block ended."""
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)
