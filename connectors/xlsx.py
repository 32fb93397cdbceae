"""XLSX workbooks to all-text frames, with the archive checked before any XML is parsed.

Order of checks: zip central directory (entry count, declared sizes, expansion ratio, zip
encryption), macros, then openpyxl in read-only mode with defusedxml active (entity and DTD
attacks refused), then sheet choice, formulas and cell conversion.

Sheet choice: a *data sheet* is any worksheet, hidden ones included, whose row 1 names at
least :data:`~connectors.headers.DATA_SHEET_MIN_KNOWN` of our columns. More than one is
refused (``FILE-XLSX-SHEETS``, citing sheet positions, never names). With none, the first
sheet that is not one of our template's helper sheets is read, so the header checks can say
what is wrong with it.

Cells become the text the agency saw where that is recoverable: ``5.0`` → ``"5"``, a date
cell → ``"yyyy-mm-dd"``, a number shown through a zero-padding format such as ``00000`` or
``000-00-0000`` → its zero-padded digits (``"012345678"``, separators dropped).

Sheet rows are parsed with openpyxl's own worksheet parser (``openpyxl.worksheet._reader``;
openpyxl is pinned below 3.2) because its read-only row API pads every row to the declared
sheet width, which a hostile file sets to 16,384.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Collection, Generator, Iterator
from typing import Any

import numpy as np
import openpyxl
import openpyxl.xml.functions as openpyxl_xml
from defusedxml import DefusedXmlException
from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
from openpyxl.utils import get_column_letter
from openpyxl.utils.escape import unescape
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._reader import WorkSheetParser

from connectors.frames import ObjectArray, finish_block
from connectors.headers import (
    DATA_SHEET_MIN_KNOWN,
    MAX_COLUMNS,
    count_known,
    is_blank,
    plan_header,
)
from connectors.read_types import HeaderMap, ReadLimits, ReadResult, UnknownPolicy
from connectors.sniff import CONTROL_CHARS
from connectors.xlsx_cells import check_cell_counts
from hmis_handoff.errors import ConfigError, FileRejected
from hmis_handoff.templates import TEMPLATE_HELPER_SHEETS

__all__ = [
    "MAX_ZIP_ENTRIES",
    "Cell",
    "cell_text",
    "check_archive",
    "chunked",
    "ensure_defused",
    "read_xlsx",
]

MAX_ZIP_ENTRIES = 10_000
_RATIO_FLOOR = 1 << 20  # entries smaller than this may compress as well as they like
_MAX_CONTENT_TYPES = 1 << 20
_ZERO_PAD_FORMAT = re.compile(r"^[0-]*0[0-]*$")

Cell = dict[str, Any]


def ensure_defused() -> None:
    """Refuse to parse workbooks unless openpyxl parses XML through defusedxml.

    Raises:
        ConfigError: defusedxml is missing or disabled (``OPENPYXL_DEFUSEDXML=False``).
    """
    iterparse_module = getattr(openpyxl_xml.iterparse, "__module__", "") or ""
    if not (openpyxl.DEFUSEDXML and iterparse_module.startswith("defusedxml")):
        raise ConfigError("openpyxl is not using defusedxml; refusing to parse workbooks")


def check_archive(archive: zipfile.ZipFile, limits: ReadLimits) -> None:
    """Refuse bombs, encrypted entries, macros and non-workbooks from the central directory.

    Declared sizes are binding: :mod:`zipfile` never inflates an entry past its declared
    size (it fails the CRC instead), so checking them bounds all later decompression.
    """
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise FileRejected("FILE-XLSX-BOMB", f"the workbook has more than {MAX_ZIP_ENTRIES} parts")
    names = [info.filename.lower() for info in infos]
    if len(set(names)) != len(names):
        raise FileRejected("FILE-XLSX-INVALID", "the workbook has two parts with the same name")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise FileRejected("FILE-XLSX-ENCRYPTED", "parts of the file are encrypted")
        total += info.file_size
        if info.file_size > _RATIO_FLOOR and (
            info.file_size > limits.max_xlsx_ratio * max(info.compress_size, 1)
        ):
            raise FileRejected(
                "FILE-XLSX-BOMB",
                f"a part of the workbook expands more than {limits.max_xlsx_ratio} times",
            )
    if total > limits.max_xlsx_uncompressed:
        raise FileRejected(
            "FILE-XLSX-BOMB",
            f"the workbook expands to more than {limits.max_xlsx_uncompressed // 2**20} MB",
        )
    if any(n.endswith("vbaproject.bin") or n.startswith("xl/macrosheets/") for n in names):
        raise FileRejected("FILE-XLSX-MACRO", "the workbook contains a macro project")
    if "xl/workbook.xml" not in names:
        raise FileRejected("FILE-XLSX-INVALID", "the file is a zip archive, not an .xlsx workbook")
    by_name = dict(zip(names, infos, strict=True))
    content_types = by_name.get("[content_types].xml")
    if content_types is None or content_types.file_size > _MAX_CONTENT_TYPES:
        raise FileRejected("FILE-XLSX-INVALID", "the workbook's list of parts is missing")
    if b"macroenabled" in archive.read(content_types).lower():
        raise FileRejected("FILE-XLSX-MACRO", "the workbook is a macro-enabled workbook")


def _private(workbook: Workbook, name: str) -> Any:
    """An openpyxl workbook internal the read-only sheet parser needs (pinned < 3.2)."""
    return getattr(workbook, name)


def _rows(workbook: Workbook, sheet: Any) -> Generator[tuple[int, list[Cell]], None, None]:
    """(row number, cells) for the rows present in a read-only sheet's XML, unpadded."""
    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=False,
            epoch=workbook.epoch,
            date_formats=_private(workbook, "_date_formats"),
            timedelta_formats=_private(workbook, "_timedelta_formats"),
        )
        yield from parser.parse()


def _number_format(workbook: Workbook, style_id: int) -> str:
    styles = _private(workbook, "_cell_styles")
    if not 0 <= style_id < len(styles):
        return "General"
    format_id = styles[style_id].numFmtId
    if format_id >= BUILTIN_FORMATS_MAX_SIZE:
        custom = _private(workbook, "_number_formats")
        index = format_id - BUILTIN_FORMATS_MAX_SIZE
        return str(custom[index]) if 0 <= index < len(custom) else "General"
    return BUILTIN_FORMATS.get(format_id, "General")


def _zero_padded(number: int, number_format: str) -> str | None:
    """The digits a zero-padding format (``00000``, ``000-00-0000``) shows for ``number``.

    Only the padding is kept: separators in the format are presentation, and the SSN rule
    wants the nine digits alone, so ``000-00-0000`` gives ``"012345678"``.
    """
    pattern = number_format.replace("\\", "").replace('"', "")
    if number < 0 or not _ZERO_PAD_FORMAT.match(pattern):
        return None
    digits = str(number)
    width = pattern.count("0")
    return digits.zfill(width) if len(digits) <= width else None


def cell_text(value: object, number_format: str = "General") -> str:
    """The text a cell shows, as far as it can be recovered without guessing."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        if number_format != "General":
            padded = _zero_padded(value, number_format)
            if padded is not None:
                return padded
        return str(value)
    if isinstance(value, float):
        return repr(value).upper()
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _coordinate(row: int, column: int) -> str:
    return f"{get_column_letter(column)}{row}"


def _unescaped(value: object) -> object:
    """OOXML writes control characters in strings as ``_xHHHH_``; decode them."""
    return unescape(value) if isinstance(value, str) else value


def _first_row_cells(workbook: Workbook, sheet: Any) -> list[str]:
    """Row 1 as text up to its last non-blank cell; formulas read as blank (only the data
    sheet is held to the no-formula rule)."""
    rows = _rows(workbook, sheet)
    try:
        for index, cells in rows:
            if index != 1:
                return []
            texts = {
                c["column"]: cell_text(_unescaped(c["value"]))
                for c in cells
                if c["value"] is not None and c["data_type"] != "f"
            }
            named = [column for column, text in texts.items() if not is_blank(text)]
            width = min(max(named, default=0), MAX_COLUMNS + 1)
            return [texts.get(column, "") for column in range(1, width + 1)]
    finally:
        rows.close()
    return []


def _row_values(workbook: Workbook, row: int, cells: list[Cell], width: int) -> list[str]:
    """Cell texts by column for one data-sheet row, ``width`` wide; a cell right of
    ``width`` must be blank."""
    present = [c for c in cells if c["value"] is not None]
    values = [""] * width
    for cell in present:
        column = cell["column"]
        if cell["data_type"] == "f":
            raise FileRejected(
                "FILE-XLSX-FORMULA", f"cell {_coordinate(row, column)} contains a formula"
            )
        text = cell_text(_unescaped(cell["value"]), _number_format(workbook, cell["style_id"]))
        if CONTROL_CHARS.search(text):
            raise FileRejected(
                "FILE-CONTROL-CHARS",
                f"cell {_coordinate(row, column)} contains an invisible control character",
            )
        if column > width:
            if not is_blank(text):
                raise FileRejected(
                    "FILE-BLANK-HEADER",
                    f"column {column} ({get_column_letter(column)}) has data (first in row "
                    f"{row}) but no column name in row 1",
                )
            continue
        values[column - 1] = text
    return values


def _pick_sheet(workbook: Workbook, header_map: HeaderMap) -> tuple[Any, list[str]]:
    sheets = list(workbook.worksheets)
    firsts = [_first_row_cells(workbook, s) for s in sheets]
    data = [
        i
        for i, cells in enumerate(firsts)
        if count_known(cells, header_map) >= DATA_SHEET_MIN_KNOWN
    ]
    if len(data) > 1:
        hidden = [i + 1 for i in data if sheets[i].sheet_state != "visible"]
        listed = ", ".join(str(i + 1) for i in data)
        note = f"; hidden: {', '.join(map(str, hidden))}" if hidden else ""
        raise FileRejected(
            "FILE-XLSX-SHEETS",
            f"{len(data)} sheets hold intake columns (sheets {listed}{note}); keep only one",
        )
    if data:
        return sheets[data[0]], firsts[data[0]]
    for sheet, cells in zip(sheets, firsts, strict=True):
        if sheet.title not in TEMPLATE_HELPER_SHEETS:
            return sheet, cells
    raise FileRejected("FILE-XLSX-SHEETS", "the workbook has no intake sheet")


def _read_sheet(
    workbook: Workbook,
    sheet: Any,
    header: list[str],
    *,
    header_map: HeaderMap,
    required: Collection[str],
    on_unknown: UnknownPolicy,
    limits: ReadLimits,
) -> ReadResult:
    width = len(header)
    plan = plan_header(header, header_map=header_map, required=required, on_unknown=on_unknown)
    rows: list[list[str]] = []
    labels: list[int] = []
    previous = 0
    for index, cells in _rows(workbook, sheet):
        if index <= previous:
            raise FileRejected("FILE-XLSX-INVALID", "the sheet's rows are out of order")
        previous = index
        if index == 1:
            _row_values(workbook, 1, cells, width)  # formulas and stray cells in row 1
            continue
        values = _row_values(workbook, index, cells, width)
        if all(is_blank(v) for v in values):
            continue
        if index - 1 > limits.max_rows:
            raise FileRejected(
                "FILE-TOO-MANY-ROWS", f"the sheet has more than {limits.max_rows} rows"
            )
        rows.append(values)
        labels.append(index - 2)
    if not rows:
        raise FileRejected("FILE-NO-ROWS", "the sheet has a header row but no data rows")
    block: ObjectArray = np.empty((len(rows), width), dtype=object)
    block[:] = rows
    frame, _ = finish_block(block, np.asarray(labels, dtype=np.int64), plan)
    return ReadResult(
        frame=frame,
        encoding="xlsx",
        delimiter=None,
        source_format="xlsx",
        blank_rows_dropped=labels[-1] + 1 - len(frame),
        unknown_columns=plan.unknown_positions,
        column_positions=plan.positions,
    )


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """True if ``exc`` or anything it chains is a ``kind`` (openpyxl wraps parse errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _load(data: bytes) -> Workbook:
    return openpyxl.load_workbook(
        io.BytesIO(data), read_only=True, data_only=False, keep_links=False, keep_vba=False
    )


def read_xlsx(
    data: bytes,
    *,
    header_map: HeaderMap,
    required: Collection[str],
    on_unknown: UnknownPolicy,
    limits: ReadLimits,
) -> ReadResult:
    """The workbook's one data sheet as text (see the module docstring).

    Raises:
        FileRejected: any of the ``FILE-XLSX-*`` rules, or a header or row rule.
        ConfigError: defusedxml is not active.
    """
    ensure_defused()
    outcome: ReadResult | None = None
    failure: tuple[str, str] | None = None
    try:
        with warnings.catch_warnings():
            # openpyxl's warnings can quote a cell (e.g. a date serial out of range).
            warnings.simplefilter("ignore")
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                check_archive(archive, limits)
                check_cell_counts(
                    archive,
                    per_row=limits.max_xlsx_cells_per_row,
                    per_sheet=limits.max_xlsx_cells_per_sheet,
                )
            workbook = _load(data)
            try:
                sheet, header = _pick_sheet(workbook, header_map)
                outcome = _read_sheet(
                    workbook,
                    sheet,
                    header,
                    header_map=header_map,
                    required=required,
                    on_unknown=on_unknown,
                    limits=limits,
                )
            finally:
                workbook.close()
    except FileRejected:
        raise
    except Exception as exc:
        failure = (
            ("FILE-XLSX-BOMB", "the workbook declares XML entities, which Excel never does")
            if _caused_by(exc, DefusedXmlException)
            else ("FILE-XLSX-INVALID", "the workbook could not be opened as .xlsx")
        )
    if failure is not None:
        # Raised outside the handler: the parser's message may quote the file.
        raise FileRejected(*failure)
    assert outcome is not None
    return outcome


def chunked(result: ReadResult, chunk_rows: int) -> Iterator[ReadResult]:
    """Split a whole-sheet result into results of at most ``chunk_rows`` rows."""
    frame = result.frame
    for start in range(0, max(len(frame), 1), chunk_rows):
        yield ReadResult(
            frame=frame.iloc[start : start + chunk_rows],
            encoding=result.encoding,
            delimiter=result.delimiter,
            source_format=result.source_format,
            blank_rows_dropped=result.blank_rows_dropped if start == 0 else 0,
            unknown_columns=list(result.unknown_columns),
            column_positions=dict(result.column_positions),
        )
