"""Social Security number checks (hmis-domain.md §2.1), vectorised over a column of text.

A full SSN is invalid when its area (digits 1-3) is 000, 666 or 900-999, its group (4-5) is
00, its serial (6-9) is 0000, all nine digits are the same, the digits run sequentially up
or down (every rotation of 0-9 and its reverse: 123456789, 890123456, 987654321, ...), or it
is a publicly known number (078051120, 219099999). SSA stopped using area-range tables at
randomisation (2011-06-25), so no "high group" table is applied.

The intake format is exactly nine characters of digits or ``x`` (an unknown digit, only
with SSNDataQuality 2). Which data-quality code allows what is a cross-field rule in
:mod:`schemas.rowrules`; this module judges the characters only. Nothing here raises with a
value in its message.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "FORMAT_PATTERN",
    "KNOWN_INVALID",
    "REPEATED_DIGITS",
    "SEQUENTIAL_RUNS",
    "BoolArray",
    "format_ok",
    "has_unknown_digits",
    "invalid_mask",
    "is_valid_ssn",
    "nine_digits",
]

#: Publicly known numbers never to accept (the Woolworth wallet card and an ad sample).
KNOWN_INVALID: Final = frozenset(("078051120", "219099999"))

FORMAT_PATTERN: Final = r"[0-9xX]{9}"

BoolArray = npt.NDArray[np.bool_]


def _runs() -> frozenset[str]:
    ring = "0123456789" * 2
    ascending = {ring[i : i + 9] for i in range(10)}
    return frozenset(ascending | {run[::-1] for run in ascending})


#: Every rotation of 0-9 (nine digits long) and its reverse: 123456789, 890123456, 987654321...
SEQUENTIAL_RUNS: Final = _runs()
#: All nine digits the same.
REPEATED_DIGITS: Final = frozenset(str(d) * 9 for d in range(10))
_NEVER_VALID: Final = np.array(
    sorted(int(v) for v in SEQUENTIAL_RUNS | REPEATED_DIGITS | KNOWN_INVALID), dtype=np.int64
)


def _as_int64(digits: pd.Series) -> npt.NDArray[np.int64]:
    """Nine-digit strings to integers (leading zeros are fine: the value is what matters)."""
    if isinstance(digits.dtype, pd.StringDtype) and digits.dtype.storage == "pyarrow":
        # Arrow's string-to-integer cast is ~8x faster than pandas' generic path.
        return np.asarray(digits.astype("int64[pyarrow]").to_numpy(), dtype=np.int64)
    return np.asarray(digits.astype("int64").to_numpy(), dtype=np.int64)


def _text(values: pd.Series) -> pd.Series:
    # Blank cells arrive as ""; a stray NaN/None is treated as blank rather than failing.
    return values.astype("str").fillna("")


def format_ok(values: pd.Series) -> BoolArray:
    """True where the cell is nine characters, each a digit or ``x``/``X``."""
    matched = _text(values).str.fullmatch(FORMAT_PATTERN)
    return np.asarray(matched.fillna(False), dtype=bool)


def has_unknown_digits(values: pd.Series) -> BoolArray:
    """True where a well-formed SSN marks at least one digit as unknown (``x``)."""
    text = _text(values)
    unknown = np.asarray(text.str.contains("[xX]").fillna(False), dtype=bool)
    return np.asarray(format_ok(text) & unknown, dtype=bool)


def nine_digits(values: pd.Series) -> BoolArray:
    """True where the cell is exactly nine ASCII digits (cheaper than a regex)."""
    text = _text(values)
    shaped = (text.str.len() == 9) & text.str.isascii() & text.str.isdigit()
    return np.asarray(shaped.fillna(False), dtype=bool)


def invalid_mask(values: pd.Series, digits: BoolArray | None = None) -> BoolArray:
    """True where the cell is nine digits that cannot be a real SSN.

    Cells that are not nine plain digits (blank, partial with ``x``, malformed) are False:
    they are judged by the format and data-quality rules instead. ``digits`` may pass in
    :func:`nine_digits` when the caller already has it.
    """
    text = _text(values)
    if digits is None:
        digits = nine_digits(text)
    result = np.zeros(len(text), dtype=bool)
    if not digits.any():
        return result
    number = _as_int64(text[digits])
    area = number // 1_000_000
    group = (number // 10_000) % 100
    serial = number % 10_000
    bad = (
        (area == 0)
        | (area == 666)
        | (area >= 900)
        | (group == 0)
        | (serial == 0)
        | np.isin(number, _NEVER_VALID)
    )
    result[digits] = bad
    return result


def is_valid_ssn(value: str) -> bool:
    """Scalar reference implementation of §2.1 for one nine-digit string (used by tests)."""
    if len(value) != 9 or not all("0" <= ch <= "9" for ch in value):
        return False
    area, group, serial = value[:3], value[3:5], value[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    # Spelled out independently of the vectorised version so the two can check each other.
    if len(set(value)) == 1:
        return False
    ring = "0123456789" * 2
    for start in range(10):
        run = ring[start : start + 9]
        if value in (run, run[::-1]):
            return False
    return value not in KNOWN_INVALID
