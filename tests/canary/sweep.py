"""Search everything a run wrote for planted markers, through the encodings that hide them.

A :class:`Sweep` holds the markers (every cell value and file name a test planted) and
searches bytes for them (ASCII case-insensitively), as they are and after decoding what
commonly wraps a leaked value: JSON string escapes (``\\u00e9``, ``\\"``), base64 (standard and
URL-safe, at every alignment), pickles (string and bytes arguments read with
:mod:`pickletools`, never unpickled), and gzip/zlib/lzma/bz2 streams; decoded layers are
decoded again, a few levels deep. SQLite files are opened (a copy, with their WAL) and
every value of every table read, besides their raw bytes. :class:`Hit` says where a marker
was found and through which decoding, never more of the context than the marker itself.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import contextlib
import gzip
import json
import lzma
import pickletools
import re
import shutil
import sqlite3
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_DEPTH = 3
_JSON_STRING = re.compile(rb'"(?:[^"\\\n]|\\.){4,}"')
_B64_STD = re.compile(rb"[A-Za-z0-9+/]{12,}={0,2}")
_B64_URL = re.compile(rb"[A-Za-z0-9_-]{12,}={0,2}")
_PICKLE_START = re.compile(rb"\x80[\x02-\x05]")
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Hit:
    where: str
    marker: str
    how: str

    def __str__(self) -> str:
        return f"{self.marker!r} in {self.where} ({self.how})"


class Sweep:
    """Markers to look for, and the search through every decoding layer."""

    def __init__(self, markers: Iterable[str]) -> None:
        self.markers = sorted({m for m in markers if m}, key=len, reverse=True)
        if not self.markers:
            raise ValueError("a sweep needs markers")
        pattern = b"|".join(re.escape(m.encode("utf-8")) for m in self.markers)
        self._pattern = re.compile(pattern, re.IGNORECASE)
        self._by_lower = {m.encode("utf-8").lower(): m for m in self.markers}

    # Bytes ------------------------------------------------------------------------------

    def scan(self, blob: bytes, where: str) -> list[Hit]:
        """Every marker found in ``blob`` or in any decoding of it."""
        hits: dict[tuple[str, str], Hit] = {}
        for how, layer in _layers(blob, "raw", 0):
            for match in self._pattern.finditer(layer):
                marker = self._by_lower[match.group(0).lower()]
                hits.setdefault((marker, how), Hit(where, marker, how))
        return list(hits.values())

    def scan_text(self, text: str, where: str) -> list[Hit]:
        return self.scan(text.encode("utf-8", "surrogateescape"), where)

    # Files ------------------------------------------------------------------------------

    def scan_tree(self, root: Path, *, skip: Iterable[Path] = ()) -> tuple[list[Hit], int]:
        """Names and contents of every file under ``root`` but ``skip``; (hits, files read)."""
        skipped = [s.resolve() for s in skip]
        hits: list[Hit] = []
        count = 0
        for path in sorted(root.rglob("*")):
            if any(path.resolve() == s or s in path.resolve().parents for s in skipped):
                continue
            rel = path.relative_to(root).as_posix()
            hits += self.scan_text(rel, f"the name {root.name}/{rel}")
            if path.is_symlink() or not path.is_file():
                continue
            count += 1
            blob = path.read_bytes()
            hits += self.scan(blob, f"{root.name}/{rel}")
            if blob.startswith(SQLITE_MAGIC):
                hits += self.scan_sqlite(path, f"{root.name}/{rel}")
        return hits, count

    def scan_sqlite(self, path: Path, where: str) -> list[Hit]:
        """Every value of every table (read from a copy, its WAL applied)."""
        hits: list[Hit] = []
        for table, column, value in sqlite_values(path):
            blob = value if isinstance(value, bytes) else str(value).encode("utf-8")
            hits += self.scan(blob, f"{where} table {table}.{column}")
        return hits


def sqlite_tables(path: Path) -> dict[str, int]:
    """Row count per table of the SQLite database at ``path`` (a copy is read)."""
    with _copy(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        names = [r[0].decode("utf-8") for r in rows]
        return {n: int(db.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}


def sqlite_values(path: Path) -> Iterator[tuple[str, str, object]]:
    with _copy(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        names = [r[0].decode("utf-8") for r in rows]
        for table in names:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, str | bytes):
                        yield table, column, value


@contextlib.contextmanager
def _copy(path: Path) -> Iterator[sqlite3.Connection]:
    with tempfile.TemporaryDirectory(prefix="sweep-db-") as tmp:
        copy = Path(tmp) / "db"
        shutil.copyfile(path, copy)
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                shutil.copyfile(side, Path(tmp) / f"db{suffix}")
        db = sqlite3.connect(copy)
        db.text_factory = bytes
        try:
            yield db
        finally:
            db.close()


# Decoding layers ------------------------------------------------------------------------


def _layers(blob: bytes, how: str, depth: int) -> Iterator[tuple[str, bytes]]:
    yield how, blob
    if depth >= MAX_DEPTH or len(blob) < 8:
        return
    for name, decoded in _decodings(blob):
        yield from _layers(decoded, f"{how} > {name}", depth + 1)


def _decodings(blob: bytes) -> Iterator[tuple[str, bytes]]:
    if b"\\" in blob:
        strings = [_json_string(m.group(0)) for m in _JSON_STRING.finditer(blob)]
        joined = b"\n".join(s for s in strings if s is not None)
        if joined:
            yield "json-escapes", joined
    for name, regex, decode in (
        ("base64", _B64_STD, base64.b64decode),
        ("base64url", _B64_URL, base64.urlsafe_b64decode),
    ):
        parts = [d for m in regex.finditer(blob) for d in _b64_all_offsets(m.group(0), decode)]
        if parts:
            yield name, b"\n".join(parts)
    pickled = [s for m in _PICKLE_START.finditer(blob) for s in _pickle_strings(blob, m.start())]
    if pickled:
        yield "pickle", b"\n".join(pickled)
    for name, magic, decompress in _COMPRESSED:
        start = blob.find(magic)
        if start >= 0:
            with contextlib.suppress(Exception):
                yield name, decompress(blob[start:])


def _json_string(literal: bytes) -> bytes | None:
    try:
        value = json.loads(literal)
    except ValueError:
        return None
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else None


def _b64_all_offsets(run: bytes, decode: object) -> Iterator[bytes]:
    """Decodings of ``run`` starting at each of 4 offsets (a value may start mid-run)."""
    body = run.rstrip(b"=")
    for offset in range(4):
        piece = body[offset:]
        piece = piece[: len(piece) - len(piece) % 4] if len(piece) % 4 == 1 else piece
        with contextlib.suppress(binascii.Error, ValueError):
            yield decode(piece + b"=" * (-len(piece) % 4))  # type: ignore[operator]


def _pickle_strings(blob: bytes, start: int) -> Iterator[bytes]:
    """String and bytes arguments of the pickle opcodes from ``start`` (never executed)."""
    try:
        for _opcode, arg, _pos in pickletools.genops(blob[start:]):
            if isinstance(arg, str):
                yield arg.encode("utf-8", "surrogatepass")
            elif isinstance(arg, bytes | bytearray):
                yield bytes(arg)
    except Exception:  # a truncated or false start: what was read so far still counts
        return


def _zlib(blob: bytes) -> bytes:
    return zlib.decompressobj().decompress(blob)


_COMPRESSED = (
    ("gzip", b"\x1f\x8b\x08", gzip.decompress),
    ("zlib", b"\x78\x9c", _zlib),
    ("zlib", b"\x78\xda", _zlib),
    ("lzma", b"\xfd7zXZ\x00", lzma.decompress),
    ("bz2", b"BZh", bz2.decompress),
)
