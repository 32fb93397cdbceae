"""Count a workbook's cells per row and per sheet before any XML parser sees them.

openpyxl's sheet parser builds a whole ``<row>`` (every ``<c>`` child, then a list of cell
dicts) before it yields it, so one row holding 20 million empty cells, within every size
and ratio limit, costs gigabytes of memory. This pass streams each worksheet part through
the zip decompressor and counts cell tags with regular expressions over bytes (C speed,
constant memory), refusing ``FILE-XLSX-BOMB`` at the first row or sheet over its cap.

Tags are matched as ``<c`` / ``<row`` (optionally namespace-prefixed) followed by a space,
``>`` or ``/``. Chunks are cut after their last ``>`` so no tag is split between two
chunks; a ``<`` inside text or attribute values is always escaped in well-formed XML, so
text cannot fake a tag. Anything that is not well-formed is refused later by the parser.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable

from hmis_handoff.errors import FileRejected

__all__ = ["check_cell_counts"]

_CHUNK = 1 << 20
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_CELL = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s>/]")
_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml")


def check_cell_counts(archive: zipfile.ZipFile, *, per_row: int, per_sheet: int) -> None:
    """Raise ``FILE-XLSX-BOMB`` if any worksheet has a row over ``per_row`` cells or more
    than ``per_sheet`` cells in all. Reads every worksheet part once, streaming."""
    for info in archive.infolist():
        if _SHEET.fullmatch(info.filename.lower()):
            with archive.open(info) as stream:
                _check_part(stream.read, per_row=per_row, per_sheet=per_sheet)


def _check_part(read: Callable[[int], bytes], *, per_row: int, per_sheet: int) -> None:
    in_row = 0  # cells of the row still open at the end of the previous chunk
    total = 0
    carry = b""
    while True:
        data = read(_CHUNK)
        if not data:
            text, carry = carry, b""
        else:
            buffer = carry + data
            cut = buffer.rfind(b">") + 1
            text, carry = buffer[:cut], buffer[cut:]
            if len(carry) > _CHUNK:  # no '>' in a whole chunk: not a sheet we can read
                raise FileRejected("FILE-XLSX-INVALID", "a worksheet of the file is damaged")
        pieces = _ROW.split(text)
        for index, piece in enumerate(pieces):
            cells = len(_CELL.findall(piece))
            in_row = in_row + cells if index == 0 else cells
            total += cells
            if in_row > per_row:
                raise FileRejected(
                    "FILE-XLSX-BOMB", f"a row of the sheet has more than {per_row} cells"
                )
        if total > per_sheet:
            raise FileRejected("FILE-XLSX-BOMB", f"the sheet has more than {per_sheet} cells")
        if not data:
            return
