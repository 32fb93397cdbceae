"""Read an agency's intake file (CSV or XLSX) into an all-text frame, or refuse it.

This is the recipe of file-intake-reliability.md §3.3:

1. open without following links or blocking; refuse anything but a regular, singly linked
   file; check the size before reading a byte;
2. decide the format from magic bytes, never the file name (a workbook named ``.csv`` is
   read as a workbook, and text named ``.xlsx`` as text);
3. text: BOM, else strict UTF-8, else strict cp1252, else refuse (never latin-1, never
   "replace"); delimiter from the header line; structure checked before pandas parses;
4. workbook: zip limits first, then openpyxl with defusedxml, one data sheet, no formulas;
5. headers through the caller's ``header_map``; blank rows dropped but counted, with the
   frame index keeping the agency's row numbers.

Every refusal is a :class:`~hmis_handoff.errors.FileRejected` whose detail holds only
positions, counts and our canonical column names, and which never chains a parser
exception (those quote cell values).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from pathlib import Path

import pandas as pd

from connectors.csv_text import iter_csv
from connectors.read_types import HeaderMap, ReadLimits, ReadResult, UnknownPolicy
from connectors.safe_open import open_regular_file
from connectors.sniff import file_kind
from hmis_handoff.errors import FileRejected

__all__ = [
    "HeaderMap",
    "ReadLimits",
    "ReadResult",
    "iter_intake_chunks",
    "open_regular_file",
    "read_intake",
]

_MB = 2**20


def _checked_size(fd: int, limits: ReadLimits) -> int:
    size = os.fstat(fd).st_size
    if size == 0:
        raise FileRejected("FILE-EMPTY", "the file is empty (0 bytes)")
    if size > limits.max_bytes:
        raise FileRejected(
            "FILE-TOO-LARGE",
            f"the file is {-(-size // _MB)} MB; the limit is {limits.max_bytes // _MB} MB",
        )
    return size


def _read_all(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    offset = 0
    while offset < size:
        data = os.pread(fd, min(size - offset, 1 << 24), offset)
        if not data:
            break
        chunks.append(data)
        offset += len(data)
    return b"".join(chunks)


def iter_intake_chunks(
    path: Path,
    *,
    header_map: HeaderMap,
    required: Collection[str] = (),
    limits: ReadLimits = ReadLimits(),  # noqa: B008 - frozen, so a shared default is safe
    chunk_rows: int = 50_000,
    on_unknown: UnknownPolicy = "reject",
) -> Iterator[ReadResult]:
    """Read ``path`` in chunks of at most ``chunk_rows`` data rows (blank rows included).

    CSV is streamed: memory stays bounded by one chunk whatever the file size. Structural
    refusals happen before the first chunk; a few (``FILE-BLANK-HEADER`` for data under a
    blank header, ``FILE-NO-ROWS`` when every row is blank) can come later, so treat the
    chunks as provisional until the iterator is exhausted. XLSX is read whole (it is capped
    by ``limits``) and then split. Each chunk's ``blank_rows_dropped`` counts its own rows.

    Raises:
        FileRejected: a file-level rule (see the module docstring).
        OSError: the file could not be opened (the message carries no path).
        ConfigError: defusedxml is not active for workbook parsing.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    fd = open_regular_file(path)
    try:
        size = _checked_size(fd, limits)
        head = os.pread(fd, 8, 0)
        kind = file_kind(head)
        if kind == "ole2":
            raise FileRejected(
                "FILE-XLSX-ENCRYPTED",
                "the file is a legacy .xls workbook or a password-protected workbook",
            )
        if kind == "zip":
            # Imported here: openpyxl costs a tenth of a second, and most runs read CSV.
            from connectors.xlsx import chunked, read_xlsx

            result = read_xlsx(
                _read_all(fd, size),
                header_map=header_map,
                required=required,
                on_unknown=on_unknown,
                limits=limits,
            )
            yield from chunked(result, chunk_rows)
            return
        yield from iter_csv(
            fd,
            size,
            header_map=header_map,
            required=required,
            on_unknown=on_unknown,
            limits=limits,
            chunk_rows=chunk_rows,
        )
    finally:
        os.close(fd)


def read_intake(
    path: Path,
    *,
    header_map: HeaderMap,
    required: Collection[str] = (),
    limits: ReadLimits = ReadLimits(),  # noqa: B008 - frozen, so a shared default is safe
    on_unknown: UnknownPolicy = "reject",
) -> ReadResult:
    """Read the whole of ``path``; see :func:`iter_intake_chunks` for the rules.

    ``required`` are canonical names that must be in the header (``FILE-MISSING-COLUMNS``);
    unrecognised header cells are refused (``FILE-UNKNOWN-COLUMNS``) unless
    ``on_unknown="drop"``, which drops them and lists their positions in the result.
    """
    parts = list(
        iter_intake_chunks(
            path,
            header_map=header_map,
            required=required,
            limits=limits,
            chunk_rows=limits.max_rows + 1,
            on_unknown=on_unknown,
        )
    )
    first = parts[0]
    frames = [p.frame for p in parts]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames)
    return ReadResult(
        frame=frame,
        encoding=first.encoding,
        delimiter=first.delimiter,
        source_format=first.source_format,
        blank_rows_dropped=sum(p.blank_rows_dropped for p in parts),
        unknown_columns=first.unknown_columns,
        column_positions=first.column_positions,
    )
