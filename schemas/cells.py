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
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from schemas import ssn
from schemas.columns import ColumnSpec

__all__ = [
    "COC_CODE",
    "EARLIEST_DATE",
    "EXCEL_SERIAL",
    "IMPERMISSIBLE",
    "INTAKE_ID",
    "ISO_DATE",
    "LINE_BREAK",
    "NOT_A_CODE",
    "SCIENTIFIC",
    "SMALL_FRAME_ROWS",
    "SUSPECT",
    "US_DATE",
    "BoolArray",
    "CodeArray",
    "ColumnCheck",
    "DayArray",
    "IntArray",
    "absent_column",
    "as_text",
    "check_column",
    "check_columns",
    "parse_iso_dates",
]

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

#: Up to this many rows, factorised kinds are judged cell by cell (no factorising).
SMALL_FRAME_ROWS: Final = 1000
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


@dataclass(frozen=True)
class _Attributes:
    """Per-value column attributes, so one pass can judge values of several columns of a
    kind at once: ``required`` (``value_required``), ``allowed`` (code columns: the value
    is in its column's code list), ``max_length`` (-1: no limit), ``intake_id`` (the value
    is an IntakeID)."""

    required: BoolArray
    allowed: BoolArray | None
    max_length: IntArray
    intake_id: BoolArray


def _evaluate(
    kind: str, text: pd.Series, attributes: _Attributes
) -> tuple[BoolArray, _Verdicts, CodeArray | None, DayArray | None, BoolArray | None]:
    blank = np.asarray(text == "", dtype=bool)
    verdicts = _Verdicts(~blank)
    # Blank cells are outside ``open`` (nothing else applies to them), so record directly.
    verdicts.warn("VALUE-REQUIRED", blank & attributes.required)
    integers: CodeArray | None = None
    days: DayArray | None = None
    partial: BoolArray | None = None
    if kind in ("code", "date", "ssn", "coc", "id"):
        verdicts.fail("VALUE-WHITESPACE", np.asarray(text != text.str.strip(), dtype=bool))
    if kind == "code":
        assert attributes.allowed is not None
        verdicts.fail("CODE-NOT-IN-LIST", ~attributes.allowed)
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
        limited = attributes.max_length >= 0
        if limited.any():
            lengths = np.asarray(text.str.len(), dtype=np.int64)
            verdicts.fail("TEXT-TOO-LONG", limited & (lengths > attributes.max_length))
    if attributes.intake_id.any():
        verdicts.fail("INTAKE-ID-FORMAT", attributes.intake_id & ~_fullmatch(text, INTAKE_ID))
    if kind in _TEXT_KINDS:
        verdicts.warn("TEXT-IMPERMISSIBLE-CHARS", impermissible)
    return blank, verdicts, integers, days, partial


def _attributes(specs: list[ColumnSpec], sizes: list[int], text: pd.Series) -> _Attributes:
    """The attributes of ``text``: ``sizes[j]`` values of ``specs[j]`` in turn."""
    owner = np.repeat(np.arange(len(specs)), sizes)
    required = np.array([spec.value_required for spec in specs], dtype=bool)[owner]
    limits = [-1 if spec.max_length is None else spec.max_length for spec in specs]
    max_length = np.array(limits, dtype=np.int64)[owner]
    intake_id = np.array([spec.name == "IntakeID" for spec in specs], dtype=bool)[owner]
    allowed: BoolArray | None = None
    if specs[0].kind == "code":
        # One membership test over every code column: "column number, value" keys.
        keys = pd.Series(owner.astype(str), index=text.index) + "\x1f" + text
        codes = {f"{j}\x1f{code}" for j, spec in enumerate(specs) for code in spec.codes}
        allowed = np.asarray(keys.isin(codes), dtype=bool)
    return _Attributes(required, allowed, max_length, intake_id)


def _split(
    specs: list[ColumnSpec],
    sizes: list[int],
    result: tuple[BoolArray, _Verdicts, CodeArray | None, DayArray | None, BoolArray | None],
) -> list[tuple[BoolArray, BoolArray, list[tuple[str, BoolArray]], Any, Any, Any]]:
    blank, verdicts, integers, days, partial = result
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64).tolist()
    out = []
    for j in range(len(specs)):
        part = slice(bounds[j], bounds[j + 1])
        out.append(
            (
                blank[part],
                verdicts.open[part],
                [(rule_id, hit[part]) for rule_id, hit in verdicts.hits if hit[part].any()],
                None if integers is None else integers[part],
                None if days is None else days[part],
                None if partial is None else partial[part],
            )
        )
    return out


def check_columns(
    specs: list[ColumnSpec], frame: pd.DataFrame, *, keep_text: frozenset[str] = frozenset()
) -> dict[str, ColumnCheck]:
    """Judge every column of ``specs`` (all of one kind, all in ``frame``) in one wide pass.

    The values of all the columns are stacked and judged together (factorised kinds: the
    distinct values of each column), then the verdicts are split back per column: a few
    vectorised operations per kind instead of per column. ``keep_text`` names the
    factorised columns whose text :meth:`ColumnCheck.as_text` and
    :meth:`ColumnCheck.equals` need.
    """
    if not specs:
        return {}
    kind = specs[0].kind
    if any(spec.kind != kind for spec in specs):
        raise ValueError("check_columns takes columns of one kind")
    rows = len(frame)
    if kind not in _FACTORISED_KINDS:
        stacked = as_text(
            pd.concat([frame[spec.name] for spec in specs], ignore_index=True)
            if len(specs) > 1
            else frame[specs[0].name]
        )
        sizes = [rows] * len(specs)
        result = _evaluate(kind, stacked, _attributes(specs, sizes, stacked))
        checks: dict[str, ColumnCheck] = {}
        bounds = range(0, rows * len(specs) + 1, rows) if rows else [0] * (len(specs) + 1)
        for j, (spec, parts) in enumerate(zip(specs, _split(specs, sizes, result), strict=True)):
            text = stacked.iloc[bounds[j] : bounds[j + 1]]
            if len(specs) > 1:
                text = text.set_axis(frame.index)
            blank, valid, hits, integers, days, partial = parts
            checks[spec.name] = ColumnCheck(
                spec.name, blank, valid, tuple(hits), integers, days, partial, text
            )
        return checks
    # Judge each distinct value once, then spread the verdicts back to the rows. Factorise
    # the raw values (object or str): converting a whole column to str costs more.
    positions_of: list[IntArray] = []
    distincts: list[np.ndarray] = []
    small = rows <= SMALL_FRAME_ROWS
    for spec in specs:
        if small:
            # A few rows: every cell is its own "distinct value" (factorising costs more).
            positions_of.append(np.arange(rows, dtype=np.int64))
            distincts.append(np.append(frame[spec.name].to_numpy(dtype=object), ""))
            continue
        positions, uniques = pd.factorize(frame[spec.name], use_na_sentinel=True)
        positions_of.append(np.where(positions < 0, len(uniques), positions))
        distincts.append(np.append(np.asarray(uniques, dtype=object), ""))
    sizes = [len(d) for d in distincts]
    stacked = as_text(pd.Series(np.concatenate(distincts)))
    result = _evaluate(kind, stacked, _attributes(specs, sizes, stacked))
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64).tolist()
    checks = {}
    for j, (spec, parts) in enumerate(zip(specs, _split(specs, sizes, result), strict=True)):
        blank_u, valid_u, hits_u, integers_u, days_u, _ = parts
        positions = positions_of[j]
        keep = spec.name in keep_text
        distinct = stacked.iloc[bounds[j] : bounds[j + 1]].reset_index(drop=True)
        checks[spec.name] = ColumnCheck(
            spec.name,
            blank_u[positions],
            valid_u[positions],
            tuple((rule_id, hit[positions]) for rule_id, hit in hits_u),
            None if integers_u is None else integers_u[positions],
            None if days_u is None else days_u[positions],
            positions=positions if keep else None,
            distinct=distinct if keep else None,
        )
    return checks


def check_column(spec: ColumnSpec, values: pd.Series, *, keep_text: bool = False) -> ColumnCheck:
    """Judge one column of the all-text frame (see the module docstring for the rules).

    ``keep_text`` keeps what :meth:`ColumnCheck.as_text` and :meth:`ColumnCheck.equals` need
    for a factorised column (otherwise they are dropped to save memory on large files).
    """
    frame = values.to_frame(spec.name)
    kept = frozenset((spec.name,)) if keep_text else frozenset()
    return check_columns([spec], frame, keep_text=kept)[spec.name]


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
