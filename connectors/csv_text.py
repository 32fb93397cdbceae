"""Delimited text (CSV, semicolon, tab, pipe) to all-text frames, in bounded memory.

Two passes over the bytes, never more than one chunk of rows in memory:

1. *Survey* with the stdlib ``csv`` module in strict mode: decode strictly (BOM, else UTF-8,
   else cp1252), refuse control characters, detect the delimiter from the header line, and
   record every record's field count. The C tokenizer in pandas silently pads short rows,
   drops a first row's extra field and unwraps a badly quoted field, so structure is
   decided here, before pandas sees the file.
2. *Parse* with the pandas C engine (``dtype=object``, no NA conversion, no index column),
   in chunks, with one column per field position found in the survey.

Row numbers are record numbers, as a spreadsheet shows them: the header is row 1, and a
quoted line break does not start a new row.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import itertools
import os
import re
from array import array
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from connectors.frames import finish_block
from connectors.headers import MAX_COLUMNS, is_blank, plan_header
from connectors.read_types import HeaderMap, ReadLimits, ReadResult, UnknownPolicy
from connectors.safe_open import buffered
from connectors.sniff import (
    CONTROL_CHARS,
    CP1252,
    SNIFF_BYTES,
    UTF8,
    TextEncoding,
    bom_encoding,
    detect_delimiter,
    looks_binary,
)
from hmis_handoff.errors import ControlCharacterFound, FileRejected

__all__ = ["iter_csv"]

_MAX_HEADER_CHARS = 1 << 20
_BATCH = 1 << 16
_SCAN_BLOCK = 1 << 22
_FIELD_LIMIT_MESSAGE = "field larger than field limit"
_C0_BYTES = bytes(b for b in range(32) if b not in b"\t\r\n") + b"\x7f"
_UTF8_C1 = re.compile(b"\xc2[\x80-\x9f]")


@dataclass(frozen=True)
class _Survey:
    encoding: TextEncoding
    delimiter: str
    header: list[str]
    counts: array[int]


def _checked_lines(first: str, stream: io.TextIOWrapper) -> Iterator[str]:
    for line in itertools.chain((first,), stream):
        found = CONTROL_CHARS.search(line)
        if found:
            raise ControlCharacterFound(found.group() == "\x00")
        yield line


def _text(fd: int, size: int, encoding: TextEncoding) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        buffered(fd, size), encoding=encoding.codec, errors="strict", newline=""
    )


def _only_whitespace(fd: int, size: int, encoding: TextEncoding) -> bool:
    with _text(fd, size, encoding) as stream:
        return all(is_blank(block) for block in iter(lambda: stream.read(1 << 20), ""))


def _raw_controls(fd: int, size: int) -> tuple[bool, bool]:
    """(any C0 control or DEL byte, any UTF-8-encoded C1 control) in the raw bytes.

    A fast pre-scan for BOM-less files, whose control bytes are the same in UTF-8 and cp1252:
    when it finds nothing, the survey skips its slower per-line check.
    """
    c0 = c1 = False
    with buffered(fd, size) as raw:
        tail = b""
        while block := raw.read(_SCAN_BLOCK):
            c0 = c0 or len(block.translate(None, _C0_BYTES)) != len(block)
            joined = tail + block
            c1 = c1 or (b"\xc2" in joined and _UTF8_C1.search(joined) is not None)
            tail = block[-1:]
            if c0 and c1:
                break
    return c0, c1


def _survey(
    fd: int,
    size: int,
    encoding: TextEncoding,
    header_map: HeaderMap,
    limits: ReadLimits,
    check_lines: bool,
) -> _Survey | None:
    """Pass 1; ``None`` if the bytes are not valid ``encoding``.

    ``check_lines`` looks for control characters line by line (to name the row); without
    it the caller has already made sure there are none.

    Raises:
        FileRejected: control characters, quoting errors, too many rows, header too long.
    """
    counts: array[int] = array("q")
    header: list[str] = []
    header_done = False
    delimiter = ","
    problem: tuple[str, str] | None = None
    with _text(fd, size, encoding) as stream:
        try:
            first = stream.readline(_MAX_HEADER_CHARS)
            if len(first) >= _MAX_HEADER_CHARS:
                problem = ("FILE-UNKNOWN-COLUMNS", "row 1 is too long to be a header row")
            else:
                delimiter = detect_delimiter(first.rstrip("\r\n"), header_map)
                lines = (
                    _checked_lines(first, stream)
                    if check_lines
                    else itertools.chain((first,), stream)
                )
                reader = csv.reader(lines, delimiter=delimiter, strict=True)
                header = next(reader, [])
                header_done = True
                while problem is None:
                    before = len(counts)
                    counts.extend(itertools.islice(map(len, reader), _BATCH))
                    if len(counts) > limits.max_rows:
                        problem = (
                            "FILE-TOO-MANY-ROWS",
                            f"the file has more than {limits.max_rows} rows",
                        )
                    elif len(counts) == before:
                        break
        except UnicodeDecodeError:
            return None
        except ControlCharacterFound as exc:
            row = len(counts) + 2 if header_done else 1
            problem = (
                ("FILE-BINARY", f"row {row} contains a NUL byte, which text files never do")
                if exc.nul
                else ("FILE-CONTROL-CHARS", f"row {row} contains an invisible control character")
            )
        except csv.Error as exc:
            row = len(counts) + 2 if header_done else 1
            problem = (
                (
                    "FILE-CELL-TOO-LARGE",
                    f"a cell in row {row} holds more than {csv.field_size_limit() // 1024} KiB",
                )
                if _is_field_limit(exc)
                else (
                    "FILE-QUOTE",
                    f"the quotation marks in row {row} are not balanced, "
                    "or a quoted value never ends",
                )
            )
    if problem is not None:
        raise FileRejected(*problem)
    return _Survey(encoding, delimiter, header, counts)


def _is_field_limit(exc: csv.Error) -> bool:
    """True if the csv module refused a field over ``csv.field_size_limit()``.

    The module raises the same class for every problem; this one message is fixed text in
    CPython's ``_csv.c`` ("field larger than field limit (N)") and quotes no input.
    """
    return str(exc).startswith(_FIELD_LIMIT_MESSAGE)


def _first_ragged(
    survey: _Survey, fd: int, size: int, suspects: set[int], named: int
) -> str | None:
    """Detail for the first suspect record that really is ragged (not merely blank)."""
    header_width = len(survey.header)
    last = max(suspects)
    with _text(fd, size, survey.encoding) as stream:
        reader = csv.reader(stream, delimiter=survey.delimiter, strict=True)
        next(reader)
        for index, record in enumerate(reader):
            if index in suspects:
                fields = len(record)
                if fields < named and not all(is_blank(f) for f in record):
                    return f"row {index + 2} has {fields} fields; the header has {header_width}"
                if fields > header_width and not all(is_blank(f) for f in record[header_width:]):
                    return f"row {index + 2} has {fields} fields; the header has {header_width}"
            if index >= last:
                break
    return None


def _parse_width(survey: _Survey, fd: int, size: int, named: int) -> int:
    """The number of field positions to parse; refuses ragged rows.

    A record may be shorter than the header only in trailing unnamed columns, and longer
    only by blank fields (Excel pads every row to the used range); otherwise it is ragged.
    """
    counts = np.frombuffer(survey.counts, dtype=np.int64)
    header_width = len(survey.header)
    too_wide = np.flatnonzero(counts > MAX_COLUMNS)
    if too_wide.size:
        row = int(too_wide[0]) + 2
        raise FileRejected(
            "FILE-RAGGED-ROW",
            f"row {row} has {int(counts[too_wide[0]])} fields; the header has {header_width}",
        )
    odd = (counts != 0) & ((counts < named) | (counts > header_width))
    suspects = np.flatnonzero(odd)
    if suspects.size:
        detail = _first_ragged(survey, fd, size, {int(i) for i in suspects}, named)
        if detail is not None:
            raise FileRejected("FILE-RAGGED-ROW", detail)
    return max(header_width, int(counts.max(initial=0)))


def _detect(fd: int, size: int, header_map: HeaderMap, limits: ReadLimits) -> _Survey:
    head = os.pread(fd, SNIFF_BYTES, 0)
    announced = bom_encoding(head)
    if announced is None and looks_binary(head):
        raise FileRejected("FILE-BINARY", "the file contains binary data, not text")
    raw = None if announced else _raw_controls(fd, size)
    for encoding in (announced,) if announced else (UTF8, CP1252):
        if encoding is CP1252:
            _refuse_mixed_encoding(fd, size)
        check_lines = raw is None or raw[0] or (encoding is UTF8 and raw[1])
        survey = _survey(fd, size, encoding, header_map, limits, check_lines)
        if survey is not None:
            return survey
    raise FileRejected(
        "FILE-ENCODING", "the text is not UTF-8 or Windows-1252 and has no byte-order mark"
    )


def _refuse_mixed_encoding(fd: int, size: int) -> None:
    """Refuse a file that is UTF-8 except for some bytes (``FILE-MIXED-ENCODING``).

    Called once UTF-8 decoding failed. A file holding valid multi-byte UTF-8 sequences as
    well as invalid ones was written as UTF-8 and then had text pasted in from another
    encoding; decoding it all as cp1252 would garble every accented name without a word,
    so the agency is told the row of the first bad byte instead. A file whose valid
    multi-byte UTF-8 characters do not outnumber its invalid bytes is plain cp1252 (a
    valid-looking pair there is mojibake the validator warns about) and is read as such.

    Raises:
        FileRejected: ``FILE-MIXED-ENCODING`` naming the row (line) of the first bad byte.
    """
    offset = _first_utf8_error(fd, size)
    if offset is None:
        return
    valid, invalid = _utf8_tally(fd, size)
    if valid <= invalid:
        # Mostly (or wholly) cp1252: a stray pair like "Ã©" that happens to be valid UTF-8
        # is mojibake typed into a cp1252 file, which the validator warns about.
        return
    row = 1
    with buffered(fd, offset) as raw:
        while block := raw.read(_SCAN_BLOCK):
            row += block.count(b"\n")
    raise FileRejected(
        "FILE-MIXED-ENCODING",
        f"row {row} has characters that are not UTF-8, while the rest of the file is UTF-8",
    )


def _utf8_tally(fd: int, size: int) -> tuple[int, int]:
    """(valid multi-byte UTF-8 characters, invalid bytes) over the whole file."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    valid = invalid = 0
    with buffered(fd, size) as raw:
        while True:
            block = raw.read(_SCAN_BLOCK)
            text = decoder.decode(block, final=not block)
            replaced = text.count("\ufffd")
            invalid += replaced
            valid += sum(1 for ch in text if ch > "\x7f") - replaced
            if not block:
                return valid, invalid


def _first_utf8_error(fd: int, size: int) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None if the bytes are UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    consumed = 0
    with buffered(fd, size) as raw:
        while True:
            block = raw.read(_SCAN_BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                # exc.start counts from the bytes the decoder still held before this block.
                return max(0, consumed - len(decoder.getstate()[0]) + exc.start)
            if not block:
                return None
            consumed += len(block)


def _guarded(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """pandas' chunks; any parser failure becomes ``FILE-READ-ERROR`` with no text of its own.

    The survey has already refused every structural problem we know of, so a failure here is
    unexpected; its message may quote the file, so it is dropped, not chained.
    """
    while True:
        failed = False
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except Exception:
            failed = True
        if failed:
            raise FileRejected("FILE-READ-ERROR", "the rows could not be parsed")
        yield chunk


def iter_csv(
    fd: int,
    size: int,
    *,
    header_map: HeaderMap,
    required: Collection[str],
    on_unknown: UnknownPolicy,
    limits: ReadLimits,
    chunk_rows: int,
) -> Iterator[ReadResult]:
    """Chunks of a delimited text file (see the module docstring).

    Every structural refusal happens before the first chunk is yielded; a column with a
    blank header holding data (``FILE-BLANK-HEADER``) and a file whose rows are all blank
    (``FILE-NO-ROWS``) can only be refused later, so callers must treat chunks as provisional
    until the iterator is exhausted.
    """
    survey = _detect(fd, size, header_map, limits)
    if all(is_blank(cell) for cell in survey.header) and _only_whitespace(
        fd, size, survey.encoding
    ):
        raise FileRejected("FILE-EMPTY", "the file contains only blank space")
    plan_for = functools.partial(
        plan_header, header_map=header_map, required=required, on_unknown=on_unknown
    )
    plan = plan_for(survey.header)  # header problems are reported before row problems
    named = len(survey.header) - len(plan.blank_tail)
    width = _parse_width(survey, fd, size, named)
    if width > len(survey.header):
        plan = plan_for(survey.header + [""] * (width - len(survey.header)))
    if not len(survey.counts):
        raise FileRejected("FILE-NO-ROWS", "the file has a header row but no data rows")
    seen = 0
    kept = 0
    encoding_for_pandas = "utf-8" if survey.encoding.codec == "utf-8-sig" else survey.encoding.codec
    with buffered(fd, size) as raw:
        chunks = pd.read_csv(
            raw,
            sep=survey.delimiter,
            # header=None: with header=0 the C engine expects the header's field count
            # on every row, refusing rows that Excel padded past it; record 0 is dropped below.
            header=None,
            names=list(range(width)),
            dtype=object,
            na_filter=False,
            keep_default_na=False,
            index_col=False,
            skip_blank_lines=False,
            quotechar='"',
            doublequote=True,
            escapechar=None,
            skipinitialspace=False,
            encoding=encoding_for_pandas,
            encoding_errors="strict",
            engine="c",
            chunksize=chunk_rows,
        )
        with chunks:
            for chunk in _guarded(chunks):
                values = chunk.to_numpy(dtype=object)
                # Record r (0 = header) is spreadsheet row r + 1, so its label is r - 1.
                labels = np.arange(seen - 1, seen - 1 + len(chunk), dtype=np.int64)
                if seen == 0:
                    values, labels = values[1:], labels[1:]
                seen += len(chunk)
                frame, blank = finish_block(values, labels, plan)
                kept += len(frame)
                if len(frame) or blank:
                    yield ReadResult(
                        frame=frame,
                        encoding=survey.encoding.name,
                        delimiter=survey.delimiter,
                        source_format="csv",
                        blank_rows_dropped=blank,
                        unknown_columns=plan.unknown_positions,
                        column_positions=plan.positions,
                    )
    if seen != len(survey.counts) + 1:
        raise FileRejected("FILE-QUOTE", "the rows could not be told apart unambiguously")
    if not kept:
        raise FileRejected("FILE-NO-ROWS", "every data row is blank")
