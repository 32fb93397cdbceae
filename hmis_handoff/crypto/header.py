"""The age v1 header: strict parsing, canonical encoding, and the header MAC.

Grammar (c2sp.org/age)::

    header     = "age-encryption.org/v1" LF 1*stanza "--- " 43base64char LF
    stanza     = "-> " argument *(SP argument) LF *full-line final-line
    full-line  = 64base64char LF
    final-line = *63base64char LF

Base64 is standard, unpadded and must be canonical. Anything that does not match exactly
raises :class:`HeaderError`; the MAC is checked separately (:func:`verify_mac`) once a file
key has been unwrapped.
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from hmis_handoff.crypto import primitives
from hmis_handoff.crypto.errors import AuthenticationFailed, HeaderError, HeaderMacError
from hmis_handoff.crypto.readahead import Reader

__all__ = [
    "MAX_HEADER_SIZE",
    "VERSION_LINE",
    "Header",
    "Stanza",
    "b64decode",
    "b64encode",
    "encode_header",
    "parse_header",
    "verify_mac",
]

VERSION_LINE = b"age-encryption.org/v1\n"
MAX_HEADER_SIZE = 1 << 20
_MAX_LINE = 1 << 16
_COLUMNS = 64
_MAC_PREFIX = b"---"
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VCHAR = bytes(range(0x21, 0x7F))


def b64encode(data: bytes) -> str:
    """Standard base64 without ``=`` padding."""
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").decode("ascii")


def b64decode(text: bytes | str) -> bytes:
    """Decode canonical, unpadded standard base64; raises ``ValueError`` for anything else."""
    raw = text.encode("ascii") if isinstance(text, str) else text
    if raw.translate(None, _B64_ALPHABET) or len(raw) % 4 == 1:
        raise ValueError("not unpadded base64")
    data = binascii.a2b_base64(raw + b"=" * (-len(raw) % 4), strict_mode=True)
    if binascii.b2a_base64(data, newline=False).rstrip(b"=") != raw:
        raise ValueError("not canonical base64")
    return data


@dataclass(frozen=True, slots=True)
class Stanza:
    """One recipient stanza: its arguments (the first names the type) and its body."""

    args: tuple[str, ...]
    body: bytes

    @property
    def type(self) -> str:
        """The stanza type, e.g. ``X25519``."""
        return self.args[0]


@dataclass(frozen=True, slots=True)
class Header:
    """A parsed header.

    ``mac_input`` is the header bytes the MAC covers (through ``---``); ``raw`` is the whole
    header as read, MAC line included.
    """

    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes
    raw: bytes


def _mac_key(file_key: bytes) -> bytes:
    return primitives.hkdf_sha256(file_key, b"", b"header")


def _encode_stanza(stanza: Stanza) -> bytes:
    if not stanza.args:
        raise ValueError("a stanza needs at least one argument")
    for arg in stanza.args:
        if not arg or not arg.isascii() or arg.encode("ascii").translate(None, _VCHAR):
            raise ValueError("stanza arguments must be non-empty printable ASCII")
    body = b64encode(stanza.body).encode("ascii")
    lines = [b"-> " + " ".join(stanza.args).encode("ascii") + b"\n"]
    lines += [body[i : i + _COLUMNS] + b"\n" for i in range(0, len(body), _COLUMNS)]
    if len(body) % _COLUMNS == 0:
        lines.append(b"\n")
    return b"".join(lines)


def encode_header(stanzas: Sequence[Stanza], file_key: bytes) -> bytes:
    """The canonical header for ``stanzas``, MAC'd with the key derived from ``file_key``."""
    if not stanzas:
        raise ValueError("a header needs at least one stanza")
    mac_input = VERSION_LINE + b"".join(_encode_stanza(s) for s in stanzas) + _MAC_PREFIX
    mac = primitives.hmac_sha256(_mac_key(file_key), mac_input)
    return mac_input + b" " + b64encode(mac).encode("ascii") + b"\n"


def verify_mac(header: Header, file_key: bytes) -> None:
    """Raise :class:`HeaderMacError` unless the header MAC verifies under ``file_key``."""
    try:
        primitives.hmac_sha256_verify(_mac_key(file_key), header.mac_input, header.mac)
    except AuthenticationFailed:
        raise HeaderMacError(
            "the header MAC does not verify: the header was modified after encryption"
        ) from None


class _LineSource:
    """Header lines from a reader, with a running size limit and a copy of what was read."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self.consumed: list[bytes] = []
        self._size = 0

    def next_line(self) -> bytes:
        line = self._reader.readline(_MAX_LINE)
        self._size += len(line)
        if self._size > MAX_HEADER_SIZE:
            raise HeaderError("the header is too large")
        if not line.endswith(b"\n"):
            raise HeaderError(
                "the header is truncated or a header line is too long"
                if line
                else "the header ends before its MAC line"
            )
        self.consumed.append(line)
        return line[:-1]


def _parse_body(lines: _LineSource) -> bytes:
    parts: list[bytes] = []
    while True:
        line = lines.next_line()
        if len(line) > _COLUMNS:
            raise HeaderError("a stanza body line is longer than 64 columns")
        parts.append(line)
        if len(line) < _COLUMNS:
            break
    try:
        return b64decode(b"".join(parts))
    except ValueError:
        raise HeaderError("a stanza body is not canonical unpadded base64") from None


def _parse_args(line: bytes) -> tuple[str, ...]:
    args = line[3:].split(b" ")
    for arg in args:
        if not arg:
            raise HeaderError("a stanza has an empty argument")
        if arg.translate(None, _VCHAR):
            raise HeaderError("a stanza argument has a character outside printable ASCII")
    return tuple(a.decode("ascii") for a in args)


def parse_header(reader: Reader) -> Header:
    """Read and strictly parse a header from ``reader``, leaving it at the payload.

    Raises :class:`HeaderError` for an unsupported version or any deviation from the grammar.
    """
    lines = _LineSource(reader)
    first = reader.readline(len(VERSION_LINE))
    if first != VERSION_LINE:
        if first.startswith(b"age-encryption.org/"):
            raise HeaderError("unsupported age version (only age-encryption.org/v1 is supported)")
        raise HeaderError("not an age file: the version line is missing")
    lines.consumed.append(first)
    stanzas: list[Stanza] = []
    while True:
        line = lines.next_line()
        if line.startswith(b"-> "):
            stanzas.append(Stanza(_parse_args(line), _parse_body(lines)))
        elif line.startswith(b"--- "):
            if not stanzas:
                raise HeaderError("the header has no recipient stanzas")
            try:
                mac = b64decode(line[4:])
            except ValueError:
                raise HeaderError("the header MAC is not canonical unpadded base64") from None
            if len(mac) != 32:
                raise HeaderError("the header MAC has the wrong length")
            raw = b"".join(lines.consumed)
            return Header(tuple(stanzas), mac, raw[: -len(line) - 1 + len(_MAC_PREFIX)], raw)
        else:
            raise HeaderError("a header line is neither a stanza nor the MAC line")
