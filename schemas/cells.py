"""Column-level checks and parsing of the all-text intake frame, vectorised.

Each column is judged on its own: blank or not, one column-level error at most per cell
(the first that applies, in the order listed per kind below), the impermissible-character
warning, and the parsed value (code as an integer, date as ``datetime64[D]``) for the
cross-field rules. Columns whose values repeat a lot (codes, dates, CoC codes) are judged
once per distinct value and the verdicts spread back to the rows.

Order of column-level error rules per kind::

    code   VALUE-WHITESPACE, CODE-NOT-IN-LIST
    date   VALUE-WHITESPACE, DATE-US-FORMAT | DATE-EXCEL-SERIAL | DATE-FORMAT,
           DATE-INVALID, DATE-TOO-EARLY
    ssn    VALUE-WHITESPACE, NUMBER-SCIENTIFIC, SSN-FORMAT, SSN-INVALID
    coc    VALUE-WHITESPACE, COC-FORMAT
    id     VALUE-WHITESPACE, NUMBER-SCIENTIFIC, TEXT-LINE-BREAK, TEXT-TOO-LONG,
           INTAKE-ID-FORMAT (IntakeID only)
    name, text   TEXT-LINE-BREAK, TEXT-TOO-LONG
    freetext     TEXT-TOO-LONG

``VALUE-REQUIRED`` applies to blank cells of ``value_required`` columns. Text kinds also get
``TEXT-IMPERMISSIBLE-CHARS`` (a warning) independently. "Not in the future" depends on the
validation day and is applied by the caller to ``days``.

Privacy: nothing here formats a value into a message; failures are boolean masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from schemas import ssn
from schemas.columns import ColumnSpec

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
#: HUD codes fit in 16 bits (the largest is 440); a million-row column costs 2 MB.
CodeArray = npt.NDArray[np.int16]
DayArray = npt.NDArray[np.datetime64]

#: Earliest date accepted in any date column (HUD's DOB floor, hmis-domain.md §2.2).
EARLIEST_DATE: Final = date(1915, 1, 1)
NOT_A_CODE: Final = -1

ISO_DATE: Final = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
US_DATE: Final = r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{2}|[0-9]{4})(?:[ T].*)?"
EXCEL_SERIAL: Final = r"[0-9]{5}(?:\.[0-9]+)?"
SCIENTIFIC: Final = r"[0-9](?:\.[0-9]+)?[eE][+-]?[0-9]+"
INTAKE_ID: Final = r"[A-Za-z0-9_-]{1,32}"
COC_CODE: Final = r"[A-Z]{2}-[0-9]{3}"
IMPERMISSIBLE: Final = r"[\[\]<>{}]"
LINE_BREAK: Final = r"[\r\n]"
SUSPECT: Final = r"[\[\]<>{}\r\n]"

_FACTORISED_KINDS: Final = frozenset(("code", "date", "coc"))
_TEXT_KINDS: Final = frozenset(("id", "name", "text", "freetext"))


@dataclass(frozen=True)
class ColumnCheck:
    """The column-level verdict for every row of one column.

    ``hits`` pairs a rule id with the rows it fired on (only rules that fired). ``valid`` is
    non-blank and free of column-level errors. ``integers`` (code columns) holds the code
    where valid, else -1; ``days`` (date columns) the date where valid, else NaT;
    ``partial_ssn`` (the SSN column) marks valid SSNs with unknown ``x`` digits. ``text``
    is the column as ``str`` for kinds judged cell by cell; factorised kinds keep
    ``distinct`` values and each row's ``positions`` in it instead.
    """

    name: str
    blank: BoolArray
    valid: BoolArray
    hits: tuple[tuple[str, BoolArray], ...]
    integers: CodeArray | None = None
    days: DayArray | None = None
    partial_ssn: BoolArray | None = None
    text: pd.Series | None = None
    positions: IntArray | None = None
    distinct: pd.Series | None = None

    def equals(self, value: str) -> BoolArray:
        """Rows whose cell is exactly ``value``."""
        if self.positions is not None and self.distinct is not None:
            return np.asarray(self.distinct == value, dtype=bool)[self.positions]
        if self.text is not None:
            return np.asarray(self.text == value, dtype=bool)
        return np.zeros(len(self.blank), dtype=bool)

    def as_text(self) -> pd.Series:
        """The column as ``str`` (rebuilt from the distinct values if it was factorised)."""
        if self.text is not None:
            return self.text
        if self.positions is not None and self.distinct is not None:
            return self.distinct.take(self.positions).reset_index(drop=True)
        return pd.Series("", index=range(len(self.blank)), dtype="str")


def as_text(values: pd.Series) -> pd.Series:
    """The column as pandas ``str`` dtype with blanks as ``""`` (a stray NaN counts as blank)."""
    return values.astype("str").fillna("")


def _mask(result: pd.Series) -> BoolArray:
    return np.asarray(result.fillna(False), dtype=bool)


def _fullmatch(text: pd.Series, pattern: str) -> BoolArray:
    return _mask(text.str.fullmatch(pattern))


def _contains(text: pd.Series, pattern: str) -> BoolArray:
    return _mask(text.str.contains(pattern, regex=True))


class _Verdicts:
    """Collects hits over a set of values: ``fail`` is first-match-wins among non-blank
    cells (it closes them for later rules); ``warn`` records without closing."""

    def __init__(self, open_: BoolArray) -> None:
        self.open = open_.copy()
        self.hits: list[tuple[str, BoolArray]] = []

    def fail(self, rule_id: str, condition: BoolArray) -> None:
        hit = self.open & condition
        if hit.any():
            self.open &= ~hit
            self.hits.append((rule_id, hit))

    def warn(self, rule_id: str, condition: BoolArray) -> None:
        """Record a hit without closing the cells (warnings, and the blank-cell rule)."""
        if condition.any():
            self.hits.append((rule_id, condition))


def parse_iso_dates(text: pd.Series) -> tuple[BoolArray, DayArray]:
    """``yyyy-mm-dd`` strings to ``datetime64[D]``.

    Returns ``(well_formed, days)``: ``well_formed`` marks the ISO shape; ``days`` is NaT
    where the shape is wrong or the date does not exist (month 13, February 30, ...).
    """
    well_formed = _fullmatch(text, ISO_DATE)
    days = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[D]")
    if not well_formed.any():
        return well_formed, days
    parts = text[well_formed]
    year = parts.str.slice(0, 4).astype("int64").to_numpy()
    month = parts.str.slice(5, 7).astype("int64").to_numpy()
    day = parts.str.slice(8, 10).astype("int64").to_numpy()
    month_ok = (month >= 1) & (month <= 12)
    safe_month = np.where(month_ok, month, 1)
    first = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (safe_month - 1)
    length = ((first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")).astype(int)
    ok = month_ok & (day >= 1) & (day <= length)
    parsed = first.astype("datetime64[D]") + (day - 1)
    days[well_formed] = np.where(ok, parsed, np.datetime64("NaT"))
    return well_formed, days


def _evaluate(
    spec: ColumnSpec, text: pd.Series
) -> tuple[BoolArray, _Verdicts, CodeArray | None, DayArray | None, BoolArray | None]:
    blank = np.asarray(text == "", dtype=bool)
    verdicts = _Verdicts(~blank)
    if spec.value_required:
        # Blank cells are outside ``open`` (nothing else applies to them), so record directly.
        verdicts.warn("VALUE-REQUIRED", blank)
    integers: CodeArray | None = None
    days: DayArray | None = None
    partial: BoolArray | None = None
    kind = spec.kind
    if kind in ("code", "date", "ssn", "coc", "id"):
        verdicts.fail("VALUE-WHITESPACE", np.asarray(text != text.str.strip(), dtype=bool))
    if kind == "code":
        allowed = np.asarray(text.isin(spec.codes), dtype=bool)
        verdicts.fail("CODE-NOT-IN-LIST", ~allowed)
        numbers = pd.to_numeric(text.where(verdicts.open, ""), errors="coerce")
        integers = np.asarray(numbers.fillna(NOT_A_CODE), dtype=np.int16)
    elif kind == "date":
        well_formed, parsed = parse_iso_dates(text)
        verdicts.fail("DATE-US-FORMAT", _fullmatch(text, US_DATE))
        verdicts.fail("DATE-EXCEL-SERIAL", _fullmatch(text, EXCEL_SERIAL))
        verdicts.fail("DATE-FORMAT", ~well_formed)
        verdicts.fail("DATE-INVALID", np.isnat(parsed))
        verdicts.fail("DATE-TOO-EARLY", parsed < np.datetime64(EARLIEST_DATE, "D"))
        days = np.where(verdicts.open, parsed, np.datetime64("NaT"))
    elif kind == "ssn":
        digits = ssn.nine_digits(text)
        # Only cells that are not nine plain digits need the slower pattern checks.
        odd = verdicts.open & ~digits
        scientific = np.zeros(len(text), dtype=bool)
        shaped = digits.copy()
        if odd.any():
            scientific[odd] = _fullmatch(text[odd], SCIENTIFIC)
            shaped[odd] = ssn.format_ok(text[odd])
        verdicts.fail("NUMBER-SCIENTIFIC", scientific)
        verdicts.fail("SSN-FORMAT", ~shaped)
        verdicts.fail("SSN-INVALID", ssn.invalid_mask(text, digits))
        partial = verdicts.open & ~digits
    elif kind == "coc":
        verdicts.fail("COC-FORMAT", ~_fullmatch(text, COC_CODE))
    if kind == "id":
        verdicts.fail("NUMBER-SCIENTIFIC", _fullmatch(text, SCIENTIFIC))
    if kind in _TEXT_KINDS:
        # One scan for both character rules; almost every file has neither.
        suspect = _contains(text, SUSPECT)
        line_break = impermissible = suspect
        if suspect.any():
            line_break = suspect & _contains(text, LINE_BREAK)
            impermissible = suspect & _contains(text, IMPERMISSIBLE)
        if kind != "freetext":
            verdicts.fail("TEXT-LINE-BREAK", line_break)
    if kind in _TEXT_KINDS and spec.max_length is not None:
        too_long = np.asarray(text.str.len() > spec.max_length, dtype=bool)
        verdicts.fail("TEXT-TOO-LONG", too_long)
    if spec.name == "IntakeID":
        verdicts.fail("INTAKE-ID-FORMAT", ~_fullmatch(text, INTAKE_ID))
    if kind in _TEXT_KINDS:
        verdicts.warn("TEXT-IMPERMISSIBLE-CHARS", impermissible)
    return blank, verdicts, integers, days, partial


def check_column(spec: ColumnSpec, values: pd.Series, *, keep_text: bool = False) -> ColumnCheck:
    """Judge one column of the all-text frame (see the module docstring for the rules).

    ``keep_text`` keeps what :meth:`ColumnCheck.as_text` and :meth:`ColumnCheck.equals` need
    for a factorised column (otherwise they are dropped to save memory on large files).
    """
    if spec.kind not in _FACTORISED_KINDS:
        text = as_text(values)
        blank, verdicts, integers, days, partial = _evaluate(spec, text)
        return ColumnCheck(
            spec.name, blank, verdicts.open, tuple(verdicts.hits), integers, days, partial, text
        )
    # Judge each distinct value once, then spread the verdicts back to the rows. Factorise
    # the raw values (object or str): converting a whole column to str costs more.
    positions, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = as_text(pd.Series(np.append(np.asarray(uniques, dtype=object), "")))
    positions = np.where(positions < 0, len(uniques), positions)
    blank_u, verdicts, integers_u, days_u, _ = _evaluate(spec, distinct)
    return ColumnCheck(
        spec.name,
        blank_u[positions],
        verdicts.open[positions],
        tuple((rule_id, hit[positions]) for rule_id, hit in verdicts.hits),
        None if integers_u is None else integers_u[positions],
        None if days_u is None else days_u[positions],
        positions=positions if keep_text else None,
        distinct=distinct if keep_text else None,
    )


def absent_column(spec: ColumnSpec, rows: int) -> ColumnCheck:
    """An optional column the file left out: blank on every row."""
    nothing = np.zeros(rows, dtype=bool)
    return ColumnCheck(
        spec.name,
        np.ones(rows, dtype=bool),
        nothing,
        (),
        np.full(rows, NOT_A_CODE, dtype=np.int16) if spec.kind == "code" else None,
        np.full(rows, np.datetime64("NaT"), dtype="datetime64[D]") if spec.kind == "date" else None,
        nothing if spec.kind == "ssn" else None,
    )
