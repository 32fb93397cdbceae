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

#: Publicly known numbers never to accept (the Woolworth wallet card and an ad sample).
KNOWN_INVALID: Final = frozenset(("078051120", "219099999"))

FORMAT_PATTERN: Final = r"[0-9xX]{9}"
DIGITS_PATTERN: Final = r"[0-9]{9}"

BoolArray = npt.NDArray[np.bool_]


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


def invalid_mask(values: pd.Series) -> BoolArray:
    """True where the cell is nine digits that cannot be a real SSN.

    Cells that are not nine plain digits (blank, partial with ``x``, malformed) are False:
    they are judged by the format and data-quality rules instead.
    """
    text = _text(values)
    digits = np.asarray(text.str.fullmatch(DIGITS_PATTERN).fillna(False), dtype=bool)
    result = np.zeros(len(text), dtype=bool)
    if not digits.any():
        return result
    full = text[digits]
    # Nine ASCII digits per cell, so a fixed-width byte view gives an (n, 9) digit matrix.
    raw = np.asarray(full.to_numpy(dtype=object), dtype="S9")
    d = np.frombuffer(raw.tobytes(), dtype=np.uint8).reshape(-1, 9).astype(np.int16) - 48
    area = d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]
    group = d[:, 3] * 10 + d[:, 4]
    serial = d[:, 5] * 1000 + d[:, 6] * 100 + d[:, 7] * 10 + d[:, 8]
    steps = np.diff(d, axis=1) % 10
    bad = (
        (area == 0)
        | (area == 666)
        | (area >= 900)
        | (group == 0)
        | (serial == 0)
        | (d == d[:, :1]).all(axis=1)
        | (steps == 1).all(axis=1)
        | (steps == 9).all(axis=1)
        | np.asarray(full.isin(KNOWN_INVALID), dtype=bool)
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
    if len(set(value)) == 1 or value in KNOWN_INVALID:
        return False
    ring = "0123456789" * 2
    runs = {ring[i : i + 9] for i in range(10)}
    runs |= {run[::-1] for run in runs}
    return value not in runs
