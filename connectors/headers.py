"""Turn a raw header row into a column plan, or refuse the file with a file-level rule.

The agency's header text never appears in a rejection: a file without a header row puts a
client's name and SSN where the header should be. Details cite 1-based positions with the
Excel column letter, and canonical names from our own list.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from connectors.read_types import HeaderMap, UnknownPolicy
from hmis_handoff.errors import FileRejected

__all__ = [
    "DATA_SHEET_MIN_KNOWN",
    "MAX_COLUMNS",
    "HeaderPlan",
    "column_label",
    "count_known",
    "is_blank",
    "plan_header",
]

#: A workbook sheet is a data sheet when its first row names at least this many of our columns.
DATA_SHEET_MIN_KNOWN = 3
#: More field positions than this (ours are about 60) is a broken or hostile file; the cap
#: keeps a row of a million commas from becoming a million columns in memory.
MAX_COLUMNS = 1_000
_MAX_LISTED = 10


def is_blank(text: str) -> bool:
    """True for ``""`` and all-whitespace text."""
    return not text or text.isspace()


def column_label(position: int) -> str:
    """``"column 3 (C)"`` for a 1-based position."""
    # Imported here: openpyxl costs a tenth of a second to import, and CSV-only runs
    # (a one-shot ``handoff process``) name a column only when a header is wrong.
    from openpyxl.utils import get_column_letter

    return f"column {position} ({get_column_letter(position)})"


def _positions(positions: Sequence[int]) -> str:
    shown = ", ".join(column_label(p) for p in positions[:_MAX_LISTED])
    more = len(positions) - _MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def count_known(cells: Sequence[str], header_map: HeaderMap) -> int:
    """How many non-blank cells ``header_map`` recognises."""
    return sum(1 for c in cells if not is_blank(c) and header_map(c) is not None)


@dataclass(frozen=True)
class HeaderPlan:
    """Which raw columns (0-based positions) become which canonical columns.

    ``width`` is the number of raw columns, trailing blank header cells included; those
    columns (``blank_tail``) must hold no data. ``dropped`` are unrecognised columns ignored
    under ``on_unknown="drop"``.
    """

    width: int
    keep: tuple[tuple[int, str], ...]
    blank_tail: tuple[int, ...]
    dropped: tuple[int, ...]

    @property
    def columns(self) -> list[str]:
        return [name for _, name in self.keep]

    @property
    def positions(self) -> dict[str, int]:
        return {name: pos + 1 for pos, name in self.keep}

    @property
    def unknown_positions(self) -> list[int]:
        return [p + 1 for p in self.dropped]


def plan_header(
    cells: Sequence[str],
    *,
    header_map: HeaderMap,
    required: Collection[str],
    on_unknown: UnknownPolicy,
) -> HeaderPlan:
    """Check a raw header row and plan its columns.

    Order of refusal: blank header cell inside the row (``FILE-BLANK-HEADER``), a canonical
    column twice (``FILE-DUPLICATE-HEADER``), unrecognised cells (``FILE-UNKNOWN-COLUMNS``,
    unless ``on_unknown="drop"``), required columns absent (``FILE-MISSING-COLUMNS``).
    Trailing blank header cells are allowed; the caller checks their columns are empty.
    """
    width = len(cells)
    if width > MAX_COLUMNS:
        raise FileRejected("FILE-UNKNOWN-COLUMNS", f"row 1 has more than {MAX_COLUMNS} columns")
    last = max((i for i, c in enumerate(cells) if not is_blank(c)), default=-1)
    if last < 0:
        raise FileRejected("FILE-BLANK-HEADER", "row 1, the header row, is empty")
    blank_tail = tuple(range(last + 1, width))
    inner_blanks = [i + 1 for i in range(last + 1) if is_blank(cells[i])]
    if inner_blanks:
        raise FileRejected(
            "FILE-BLANK-HEADER", f"row 1 has no column name in {_positions(inner_blanks)}"
        )
    mapped = [header_map(cells[i]) for i in range(last + 1)]
    first_seen: dict[str, int] = {}
    for pos, name in enumerate(mapped, start=1):
        if name is None:
            continue
        if name in first_seen:
            raise FileRejected(
                "FILE-DUPLICATE-HEADER",
                f"column {name} appears more than once "
                f"({column_label(first_seen[name])} and {column_label(pos)})",
            )
        first_seen[name] = pos
    unknown = [pos for pos, name in enumerate(mapped, start=1) if name is None]
    missing = [name for name in required if name not in first_seen]
    if unknown and on_unknown == "reject":
        hint = f"; missing required columns: {', '.join(missing)}" if missing else ""
        raise FileRejected(
            "FILE-UNKNOWN-COLUMNS",
            f"the header in {_positions(unknown)} is not a recognised column name{hint}",
        )
    if missing:
        raise FileRejected(
            "FILE-MISSING-COLUMNS", f"required columns missing: {', '.join(missing)}"
        )
    keep = tuple((pos, name) for pos, name in enumerate(mapped) if name is not None)
    if not keep:
        raise FileRejected("FILE-UNKNOWN-COLUMNS", "no header in row 1 is a recognised column name")
    return HeaderPlan(
        width=width,
        keep=keep,
        blank_tail=blank_tail,
        dropped=tuple(p - 1 for p in unknown),
    )
