"""Read an HMIS CSV export (a zip or a folder) safely, streaming only the columns asked for.

Contract:

* Nothing is extracted to disk. Members are streamed from the zip (or files opened in the
  folder) and parsed row by row; only the requested columns of each row are kept, so memory
  stays bounded by one row whatever the export's size.
* A zip is judged before any member is read: the archive's size, the number of entries,
  every entry's declared size and compression ratio, and the sum of declared sizes are
  checked against :class:`ExportLimits`; entries with absolute paths, ``..``, backslashes,
  drive letters, links or encryption refuse the whole zip. While reading, decompressed bytes
  are counted again, so a lying header cannot get past the limits.
* :meth:`ExportSource.frames` gives the same rows as all-text frames in chunks, labelled by
  row number, for the use cases to validate (this module does no validation of cells).
* Members are found by their HUD names (``Client.csv``), case-insensitively, at the top
  level of the zip or folder; other entries are ignored. Header cells are matched
  case-insensitively and in any order (FY2024 and FY2026 share the columns we read).
* Text is UTF-8 (a BOM is allowed); a member that is not valid UTF-8 is read as cp1252.
* Refusals are :class:`~hmis_handoff.errors.FileRejected` with an ``EXPORT-*`` rule id
  (see :mod:`schemas.partner_rules`); details name our canonical file and column names and
  counts only, never a value or a name taken from the zip.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Final

import pandas as pd

from connectors.safe_open import open_regular_file
from hmis_handoff.errors import FileRejected

__all__ = [
    "EXPORT_FILES",
    "MAX_SKIPPED_ROWS",
    "REQUIRED_FILES",
    "ExportLimits",
    "ExportSource",
    "export_fingerprint",
    "is_export_folder",
    "is_export_zip",
    "open_export",
]

#: The files reconciliation reads; Assessment and Event are optional (absent = no rows).
EXPORT_FILES: Final = ("Export.csv", "Client.csv", "Enrollment.csv", "Assessment.csv", "Event.csv")
REQUIRED_FILES: Final = frozenset({"Export.csv", "Client.csv", "Enrollment.csv"})
_MB: Final = 2**20
_CHUNK: Final = 1 << 16
_S_IFLNK: Final = 0o120000
#: Row numbers kept per member for rows skipped for their field count (the count is exact).
MAX_SKIPPED_ROWS: Final = 1000


@dataclass(frozen=True)
class ExportLimits:
    """Resource caps for one export.

    ``max_archive_bytes``: the zip file (or each folder file) on disk. ``max_member_bytes``:
    one decompressed member. ``max_total_bytes``: the sum of the zip's declared sizes.
    ``max_ratio``: the expansion ratio allowed for a member larger than 1 MB.
    """

    max_archive_bytes: int = 512 * _MB
    max_member_bytes: int = 1024 * _MB
    max_total_bytes: int = 4096 * _MB
    max_ratio: int = 200
    max_entries: int = 256
    max_rows: int = 20_000_000


def _refuse(rule_id: str, detail: str) -> FileRejected:
    return FileRejected(rule_id, detail)


class _CountingReader(io.RawIOBase):
    """Pass bytes through, refusing the member once more than ``limit`` come out."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self._raw.read(min(len(buffer), _CHUNK))
        self._left -= len(data)
        if self._left < 0:
            raise _refuse("EXPORT-ZIP-BOMB", "a member expands beyond the declared limit")
        buffer[: len(data)] = data
        return len(data)


class ExportSource:
    """An opened export; use :func:`open_export`. Members are read with :meth:`rows`."""

    def __init__(
        self,
        opener: Callable[[str], contextlib.AbstractContextManager[IO[bytes]]],
        members: Collection[str],
        limits: ExportLimits,
    ) -> None:
        self._opener = opener
        self.members = frozenset(members)
        self.limits = limits
        #: Rows skipped per member because their field count differs from the header.
        self.skipped: dict[str, int] = {}
        #: Their row numbers (header = 1), the first :data:`MAX_SKIPPED_ROWS` per member.
        self.skipped_rows: dict[str, list[int]] = {}

    def has(self, member: str) -> bool:
        return member in self.members

    def rows(
        self, member: str, columns: Collection[str], *, required: Collection[str] = ()
    ) -> Iterator[dict[str, str]]:
        """Rows of ``member`` as ``{column: stripped text}`` for ``columns`` present in it.

        Columns in ``required`` must be in the header (``EXPORT-MISSING-COLUMNS``); others
        come out as "" when absent. Rows with a different number of fields than the header
        are skipped (see :attr:`skipped`). A missing optional member yields nothing.
        """
        for _, present, fields in self._records(member, columns, required):
            row = dict.fromkeys(columns, "")
            row.update(zip(present, fields, strict=True))
            yield row

    def frames(
        self,
        member: str,
        columns: Collection[str],
        *,
        required: Collection[str] = (),
        chunk_rows: int = 50_000,
    ) -> Iterator[pd.DataFrame]:
        """``member`` as all-text frames of at most ``chunk_rows`` rows, for validation.

        A frame holds the asked-for ``columns`` that the header has (absent ones are left
        out, so a model judges only what the file says), cells stripped. Row labels are the
        spreadsheet row number minus 2 (the first record after the header is 0), counting
        blank records, as the intake readers label rows. Same refusals and skipping as
        :meth:`rows`; a missing optional member yields nothing.
        """
        labels: list[int] = []
        cells: list[list[str]] = []
        present: tuple[str, ...] = ()
        for number, present, fields in self._records(member, columns, required):
            labels.append(number - 2)
            cells.append(fields)
            if len(cells) >= chunk_rows:
                yield _frame(present, labels, cells)
                labels, cells = [], []
        if cells:
            yield _frame(present, labels, cells)

    def _records(
        self, member: str, columns: Collection[str], required: Collection[str]
    ) -> Iterator[tuple[int, tuple[str, ...], list[str]]]:
        """(row number, present columns, their stripped cells) for each usable record."""
        if member not in self.members:
            if member in REQUIRED_FILES:
                raise _refuse("EXPORT-MISSING-FILE", f"{member} is missing")
            return
        codec = self._codec(member)
        with self._opener(member) as raw:
            text = io.TextIOWrapper(
                io.BufferedReader(_CountingReader(raw, self.limits.max_member_bytes)),
                encoding=codec,
                errors="strict",
                newline="",
            )
            reader = csv.reader(text, strict=True)
            try:
                header = next(reader, None)
                if header is None:
                    raise _refuse("EXPORT-MISSING-COLUMNS", f"{member} has no header row")
                positions = {
                    name: pos
                    for name, pos in _plan(member, header, columns, required).items()
                    if pos is not None
                }
                present = tuple(positions)
                width = len(header)
                number = 1  # the header's row
                count = 0
                for fields in reader:
                    number += 1
                    if not fields or (len(fields) == 1 and not fields[0].strip()):
                        continue
                    count += 1
                    if count > self.limits.max_rows:
                        raise _refuse("EXPORT-TOO-MANY-ROWS", f"{member} has too many rows")
                    if len(fields) != width:
                        self.skipped[member] = self.skipped.get(member, 0) + 1
                        skipped = self.skipped_rows.setdefault(member, [])
                        if len(skipped) < MAX_SKIPPED_ROWS:
                            skipped.append(number)
                        continue
                    yield number, present, [fields[pos].strip() for pos in positions.values()]
            except csv.Error:
                raise _refuse(
                    "EXPORT-CSV-MALFORMED", f"{member} line {reader.line_num} cannot be parsed"
                ) from None
            except UnicodeDecodeError:
                raise _refuse("EXPORT-ENCODING", f"{member} is not valid text") from None

    def _codec(self, member: str) -> str:
        # One streaming pass to choose the codec, so rows are never yielded and then redone.
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        with self._opener(member) as raw:
            counted = _CountingReader(raw, self.limits.max_member_bytes)
            first = True
            while True:
                chunk = counted.read(_CHUNK)
                if not chunk:
                    break
                if first and chunk.startswith(codecs.BOM_UTF8):
                    return "utf-8-sig"
                first = False
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    return "cp1252"
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                return "cp1252"
        return "utf-8"


def _frame(columns: tuple[str, ...], labels: list[int], cells: list[list[str]]) -> pd.DataFrame:
    frame = pd.DataFrame(cells, columns=list(columns), index=labels, dtype=object)
    if not columns:  # no asked-for column in the header: still one row per record
        frame = pd.DataFrame(index=labels)
    return frame


def _fold(cell: str) -> str:
    return cell.strip().lstrip("\ufeff").strip('"').strip().casefold()


def _plan(
    member: str, header: list[str], columns: Collection[str], required: Collection[str]
) -> dict[str, int | None]:
    folded = [_fold(cell) for cell in header]
    positions: dict[str, int | None] = {}
    missing: list[str] = []
    for name in columns:
        hits = [i for i, cell in enumerate(folded) if cell == name.casefold()]
        if len(hits) > 1:
            raise _refuse("EXPORT-DUPLICATE-COLUMNS", f"{member} names {name} twice")
        positions[name] = hits[0] if hits else None
        if not hits and name in required:
            missing.append(name)
    if missing:
        raise _refuse("EXPORT-MISSING-COLUMNS", f"{member} lacks {', '.join(sorted(missing))}")
    return positions


# Zip ----------------------------------------------------------------------------------------


def _unsafe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return True
    if len(name) > 1 and name[1] == ":":
        return True
    return any(part == ".." for part in PurePosixPath(name).parts)


def _check_zip(infos: list[zipfile.ZipInfo], limits: ExportLimits) -> dict[str, zipfile.ZipInfo]:
    if len(infos) > limits.max_entries:
        raise _refuse("EXPORT-ZIP-BOMB", f"the zip has {len(infos)} entries")
    total = 0
    wanted = {name.casefold(): name for name in EXPORT_FILES}
    found: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        if _unsafe_name(info.filename):
            raise _refuse("EXPORT-ZIP-UNSAFE", "an entry's path leaves the zip")
        if (info.external_attr >> 16) & 0o170000 == _S_IFLNK:
            raise _refuse("EXPORT-ZIP-UNSAFE", "an entry is a link")
        if info.flag_bits & 0x1:
            raise _refuse("EXPORT-ZIP-UNSAFE", "an entry is encrypted")
        total += info.file_size
        if info.file_size > limits.max_member_bytes or total > limits.max_total_bytes:
            raise _refuse("EXPORT-ZIP-BOMB", "the zip expands beyond the limit")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _MB and ratio > limits.max_ratio:
            raise _refuse("EXPORT-ZIP-BOMB", f"an entry expands {int(ratio)} times")
        if info.is_dir() or "/" in info.filename:
            continue  # only top-level files are ours (e.g. skip __MACOSX/)
        canonical = wanted.get(info.filename.casefold())
        if canonical is None:
            continue
        if canonical in found:
            raise _refuse("EXPORT-DUPLICATE-FILE", f"the zip holds {canonical} twice")
        found[canonical] = info
    return found


@contextlib.contextmanager
def _open_zip(path: Path, limits: ExportLimits) -> Iterator[ExportSource]:
    fd = open_regular_file(path)
    with os.fdopen(fd, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > limits.max_archive_bytes:
            raise _refuse("EXPORT-TOO-LARGE", "the zip is larger than the limit")
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise _refuse("EXPORT-NOT-ZIP", "the file is not a readable zip") from None
        with archive:
            found = _check_zip(archive.infolist(), limits)

            @contextlib.contextmanager
            def opener(member: str) -> Iterator[IO[bytes]]:
                try:
                    stream = archive.open(found[member])
                except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError):
                    raise _refuse("EXPORT-NOT-ZIP", f"{member} cannot be read") from None
                with stream:
                    try:
                        yield stream
                    except zipfile.BadZipFile:  # CRC or size mismatch while streaming
                        raise _refuse("EXPORT-NOT-ZIP", f"{member} is corrupt") from None

            yield ExportSource(opener, found, limits)


# Folder -------------------------------------------------------------------------------------


def _folder_members(path: Path) -> dict[str, str]:
    wanted = {name.casefold(): name for name in EXPORT_FILES}
    found: dict[str, str] = {}
    with os.scandir(path) as entries:
        for entry in entries:
            canonical = wanted.get(entry.name.casefold())
            if canonical is None or not entry.is_file(follow_symlinks=False):
                continue
            if canonical in found:
                raise _refuse("EXPORT-DUPLICATE-FILE", f"the folder holds {canonical} twice")
            found[canonical] = entry.name
    return found


@contextlib.contextmanager
def _open_folder(path: Path, limits: ExportLimits) -> Iterator[ExportSource]:
    found = _folder_members(path)

    @contextlib.contextmanager
    def opener(member: str) -> Iterator[IO[bytes]]:
        fd = open_regular_file(path / found[member])
        with os.fdopen(fd, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > limits.max_member_bytes:
                raise _refuse("EXPORT-TOO-LARGE", f"{member} is larger than the limit")
            yield handle

    yield ExportSource(opener, found, limits)


def is_export_folder(path: Path) -> bool:
    """True if ``path`` is a real folder (not a link) holding Client.csv or Export.csv."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return False
        members = _folder_members(path)
    except (OSError, FileRejected):
        return False
    return "Client.csv" in members or "Export.csv" in members


def is_export_zip(path: Path, limits: ExportLimits = ExportLimits()) -> bool:
    """True if ``path`` is a zip whose top level names Client.csv or Export.csv.

    Only the central directory is read. A zip that is unsafe still counts as an export when
    it names those files, so that :func:`open_export` refuses it with a rule id.
    """
    try:
        fd = open_regular_file(path)
    except (OSError, FileRejected):
        return False
    with os.fdopen(fd, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > limits.max_archive_bytes:
            return True  # too large to be a confirmation workbook; open_export refuses it
        try:
            with zipfile.ZipFile(handle) as archive:
                names = {PurePosixPath(n).name.casefold() for n in archive.namelist()}
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            return False
    return bool(names & {"client.csv", "export.csv"})


@contextlib.contextmanager
def open_export(path: Path, limits: ExportLimits = ExportLimits()) -> Iterator[ExportSource]:
    """Open a zip or folder export (see the module docstring); refuse it with a rule id.

    Raises:
        FileRejected: ``EXPORT-*`` rule ids, or ``FILE-NOT-REGULAR`` for a link.
        OSError: the path could not be opened (the message carries no path).
    """
    mode = os.lstat(path).st_mode
    if stat.S_ISDIR(mode):
        with _open_folder(path, limits) as source:
            yield source
    else:
        with _open_zip(path, limits) as source:
            yield source


def export_fingerprint(path: Path, limits: ExportLimits = ExportLimits()) -> str:
    """SHA-256 (hex) of a zip's bytes, or of a folder's export files in a fixed order."""
    digest = hashlib.sha256()
    parts: list[tuple[bytes, Path]] = [(b"", path)]
    if stat.S_ISDIR(os.lstat(path).st_mode):
        found = _folder_members(path)
        parts = [(n.encode(), path / found[n]) for n in EXPORT_FILES if n in found]
    for label, item in parts:
        fd = open_regular_file(item)
        with os.fdopen(fd, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > limits.max_archive_bytes:
                raise _refuse("EXPORT-TOO-LARGE", "the export is larger than the limit")
            digest.update(label)
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()
