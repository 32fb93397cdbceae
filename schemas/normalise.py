"""Turn what Excel users naturally type into the intake format, before the column checks.

Agency staff work in Excel on Windows. This module accepts the forms Excel produces that
have exactly one meaning for a US Continuum of Care, rewrites them to the intake format
(the form the partner's package carries), and reports what needs the agency's attention:

Dates (every ``kind="date"`` column), with the agency's ``date_order``:

* ``"us"`` (default): ``M/D/YYYY`` and ``MM/DD/YYYY`` become ``yyyy-mm-dd``. ``M/D/YY``
  uses the pivot :func:`two_digit_year`: the latest year ending in those two digits that
  is not after the validation year (``4/1/26`` on 2026-12-06 is 2026-04-01; ``5/6/45`` is
  1945-05-06). A date valid only read day first (``25/12/2026``) is never guessed:
  ``DATE-DAY-FIRST`` (error). A US-shaped date that does not exist either way
  (``2/30/2026``) is ``DATE-INVALID``. Excel adds `` 0:00`` to a date cell saved as CSV
  when the cell kept a time format; a midnight time is dropped.
* ``"iso-only"``: nothing is rewritten; the column checks report ``DATE-US-FORMAT``.

Real Excel date cells already arrive as ``yyyy-mm-dd`` from the XLSX reader.

SSNs: ``123-45-6789`` and ``123 45 6789`` (digits or ``x``) become nine characters. An
XLSX SSN of 7 or 8 digits is a number whose leading zeros Excel dropped: it is zero-padded
and warned (``SSN-LEADING-ZEROS-PADDED``). In a CSV the file no longer says whether zeros
were dropped, so an 8-digit SSN is an error naming that likely cause
(``SSN-LEADING-ZERO-LOST``) instead of the generic ``SSN-FORMAT``.

Codes: ``1 - Yes`` (what the template's dropdowns write) becomes ``1`` when ``1`` is one of
the column's codes.

Mojibake: a name or text cell holding the tell-tale pairs of UTF-8 read as Windows-1252
(``JosÃ©``, ``Oâ€™Brien``) gets ``TEXT-MOJIBAKE`` (warning) on that column.

Contract: :func:`normalise` returns a new frame when it rewrites a cell (the input is
never modified; with nothing to rewrite, the input itself) and hits as
``(rule_id, column, mask)``. ``judged`` marks cells whose error this module already
reported, so the caller drops the column checks' own verdict on them (one cause, one
message). Nothing here formats a value into a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from schemas.columns import ColumnSpec, SpecVersion, columns_for

__all__ = [
    "CODE_WITH_MEANING",
    "MOJIBAKE",
    "MOJIBAKE_LEAD",
    "SSN_SEPARATED",
    "US_DATE_PARTS",
    "BoolArray",
    "DateOrder",
    "NormaliseOptions",
    "Normalised",
    "SourceFormat",
    "normalise",
    "two_digit_year",
    "us_dates",
]

DateOrder = Literal["us", "iso-only"]
SourceFormat = Literal["csv", "xlsx"]
BoolArray = npt.NDArray[np.bool_]

#: Month/day/year with slashes; an optional midnight time as Excel writes it to CSV.
US_DATE_PARTS: Final = (
    r"(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})/(?P<y>[0-9]{4}|[0-9]{2})"
    r"(?: 0?0:00(?::00)?(?: ?AM)?| 12:00(?::00)? ?AM)?"
)
SSN_SEPARATED: Final = r"[0-9xX]{3}(?P<a>[- ])[0-9xX]{2}(?P=a)[0-9xX]{4}"
#: UTF-8 bytes shown as Windows-1252: "Ã" or "Â" followed by a continuation character, or
#: "â€" (the start of every curly quote and dash).
MOJIBAKE: Final = (
    r"Ã[\u0080-\u00BF\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192\u02C6\u02DC"
    r"\u2013\u2014\u2018-\u201E\u2020-\u2022\u2026\u2030\u2039\u203A\u20AC\u2122]"
    r"|Â[\u00A0-\u00BF]|â€"
)
#: Cheap first pass: every MOJIBAKE match contains one of these (most files have none).
MOJIBAKE_LEAD: Final = "Ã|Â|â€"
_MOJIBAKE_KINDS: Final = frozenset(("name", "text", "freetext"))
#: What the template's dropdowns write: ``1 - Yes``. The code in front is what counts.
CODE_WITH_MEANING: Final = r"(?P<code>[0-9]{1,3}) - \S.*"


@dataclass(frozen=True)
class NormaliseOptions:
    """How to read one file: the agency's ``date_order``, the file's ``source_format``,
    and ``today`` (the two-digit-year pivot is judged against its year)."""

    today: date
    date_order: DateOrder = "us"
    source_format: SourceFormat = "csv"


@dataclass
class Normalised:
    """The rewritten frame, the hits, and per column the cells already judged as errors."""

    frame: pd.DataFrame
    hits: list[tuple[str, str, BoolArray]] = field(default_factory=list)
    judged: dict[str, BoolArray] = field(default_factory=dict)
    copied: bool = False

    def set_column(self, name: str, values: pd.Series) -> None:
        """Replace one column, copying the frame on the first change only (a frame with
        nothing to rewrite is returned as it came)."""
        if not self.copied:
            self.frame = self.frame.copy(deep=False)
            self.copied = True
        self.frame[name] = values


def two_digit_year(yy: npt.NDArray[np.int64], this_year: int) -> npt.NDArray[np.int64]:
    """The latest year ending in ``yy`` that is not after ``this_year`` (the YY pivot)."""
    century = this_year - this_year % 100
    years = century + yy
    return np.where(years > this_year, years - 100, years)


def _days_in_month(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    safe = np.clip(month, 1, 12)
    first = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (safe - 1)
    length = (first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")
    return np.asarray(length.astype(np.int64))


def _exists(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> BoolArray:
    month_ok = (month >= 1) & (month <= 12)
    return np.asarray(month_ok & (day >= 1) & (day <= _days_in_month(year, month)), dtype=bool)


def _text(values: pd.Series) -> pd.Series:
    return values.astype("str").fillna("")


def us_dates(text: pd.Series, this_year: int) -> tuple[pd.Series, BoolArray, BoolArray, BoolArray]:
    """Read month-first dates in ``text``.

    Returns ``(iso, accepted, day_first, impossible)``: ``iso`` holds ``yyyy-mm-dd`` where
    ``accepted``; ``day_first`` marks dates that exist only read day first; ``impossible``
    US-shaped dates that exist neither way.
    """
    n = len(text)
    iso = pd.Series([""] * n, index=text.index, dtype=object)
    none = np.zeros(n, dtype=bool)
    parts = text.str.fullmatch(US_DATE_PARTS)
    shaped = np.asarray(parts.fillna(False), dtype=bool)
    if not shaped.any():
        return iso, none, none.copy(), none.copy()
    found = text[shaped].str.extract(US_DATE_PARTS)
    month = np.asarray(found["m"].astype("int64"), dtype=np.int64)
    day = np.asarray(found["d"].astype("int64"), dtype=np.int64)
    raw_year = found["y"]
    year = np.asarray(raw_year.astype("int64"), dtype=np.int64)
    short = np.asarray(raw_year.str.len() == 2, dtype=bool)
    year = np.where(short, two_digit_year(year, this_year), year)
    month_first = _exists(year, month, day)
    day_first = _exists(year, day, month)
    accepted = none.copy()
    accepted[shaped] = month_first
    swapped = none.copy()
    swapped[shaped] = ~month_first & day_first
    impossible = none.copy()
    impossible[shaped] = ~month_first & ~day_first
    formatted = [
        f"{y:04d}-{m:02d}-{d:02d}"
        for y, m, d in zip(year[month_first], month[month_first], day[month_first], strict=True)
    ]
    iso_values = iso.to_numpy(copy=True)
    iso_values[accepted] = formatted
    return pd.Series(iso_values, index=text.index, dtype=object), accepted, swapped, impossible


def _distinct(values: pd.Series) -> tuple[npt.NDArray[np.intp], pd.Series]:
    """Each row's position in the column's distinct values, and those values as text (a
    missing cell is ``""``): dates and codes repeat a lot, so they are judged once per
    distinct value, straight from the raw column (no per-row conversion)."""
    positions, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = _text(pd.Series(np.append(np.asarray(uniques, dtype=object), ""), dtype=object))
    positions = np.where(positions < 0, len(uniques), positions)
    return np.asarray(positions, dtype=np.intp), distinct


def _dates(spec: ColumnSpec, values: pd.Series, options: NormaliseOptions, out: Normalised) -> None:
    if options.date_order != "us":
        return
    positions, uniques = _distinct(values)
    iso_u, accepted_u, day_first_u, impossible_u = us_dates(uniques, options.today.year)
    accepted, day_first, impossible = (
        accepted_u[positions], day_first_u[positions], impossible_u[positions]
    )  # fmt: skip
    if accepted.any():
        text = _text(values)
        iso = pd.Series(iso_u.to_numpy()[positions], index=text.index, dtype=object)
        out.set_column(spec.name, text.where(~accepted, iso).astype(text.dtype))
    if day_first.any():
        out.hits.append(("DATE-DAY-FIRST", spec.name, day_first))
    if impossible.any():
        out.hits.append(("DATE-INVALID", spec.name, impossible))
    judged = day_first | impossible
    if judged.any():
        out.judged[spec.name] = judged


def _ssns(spec: ColumnSpec, text: pd.Series, options: NormaliseOptions, out: Normalised) -> None:
    length = np.array(text.str.len().fillna(0), dtype=np.int64)
    # Only 11-character cells can be 123-45-6789; most SSNs are 9 plain digits.
    separated = length == 11
    if separated.any():
        separated[separated] = np.asarray(
            text[separated].str.fullmatch(SSN_SEPARATED).fillna(False), dtype=bool
        )
    short = (length >= 7) & (length <= 8)
    if short.any():
        short[short] = np.asarray(
            (text[short].str.isascii() & text[short].str.isdigit()).fillna(False), dtype=bool
        )
    padded = short if options.source_format == "xlsx" else np.zeros(len(text), dtype=bool)
    if options.source_format != "xlsx":
        lost = short & (length == 8)
        if lost.any():
            out.hits.append(("SSN-LEADING-ZERO-LOST", spec.name, lost))
            out.judged[spec.name] = lost
    if padded.any():
        out.hits.append(("SSN-LEADING-ZEROS-PADDED", spec.name, padded))
    if not (separated.any() or padded.any()):
        return
    new = text.copy()
    if separated.any():
        new[separated] = text[separated].str.replace(r"[- ]", "", regex=True)
    if padded.any():
        new[padded] = text[padded].str.zfill(9)
    out.set_column(spec.name, new.astype(text.dtype))


def _codes(spec: ColumnSpec, values: pd.Series, out: Normalised) -> None:
    positions, uniques = _distinct(values)
    labelled = np.asarray(uniques.str.fullmatch(CODE_WITH_MEANING).fillna(False), dtype=bool)
    if not labelled.any():
        return
    code_u = uniques.str.extract(CODE_WITH_MEANING)["code"].fillna("")
    known_u = labelled & np.asarray(code_u.isin(spec.codes), dtype=bool)
    if known_u.any():
        known = known_u[positions]
        text = _text(values)
        code = pd.Series(code_u.to_numpy()[positions], index=text.index, dtype=object)
        out.set_column(spec.name, text.where(~known, code).astype(text.dtype))


def _mojibake(spec: ColumnSpec, text: pd.Series, out: Normalised) -> None:
    suspect = np.array(text.str.contains(MOJIBAKE_LEAD, regex=True).fillna(False), dtype=bool)
    if suspect.any():
        suspect[suspect] = np.asarray(
            text[suspect].str.contains(MOJIBAKE, regex=True).fillna(False), dtype=bool
        )
    if suspect.any():
        out.hits.append(("TEXT-MOJIBAKE", spec.name, suspect))


def normalise(
    frame: pd.DataFrame, spec_version: SpecVersion, options: NormaliseOptions
) -> Normalised:
    """Rewrite the accepted Excel forms of ``frame`` (all-text) and report what to check.

    See the module docstring for the rules; hits use the frame's positional order.
    """
    out = Normalised(frame)
    present = [spec for spec in columns_for(spec_version) if spec.name in frame.columns]
    # One wide scan per form over every column of its kinds picks the few columns that can
    # hold it (most files have none); only those get the per-column rewrite below.
    candidates = _columns_containing(
        frame, [s for s in present if s.kind == "code"], " - "
    ) | _columns_containing(frame, [s for s in present if s.kind in _MOJIBAKE_KINDS], MOJIBAKE_LEAD)
    if options.date_order == "us":
        candidates |= _columns_containing(frame, [s for s in present if s.kind == "date"], "/")
    for spec in present:
        values = frame[spec.name]
        if spec.kind == "ssn":
            _ssns(spec, _text(values), options, out)
        elif spec.name not in candidates:
            continue
        elif spec.kind == "date":
            _dates(spec, values, options, out)
        elif spec.kind == "code":
            _codes(spec, values, out)
        else:
            _mojibake(spec, _text(values), out)
    return out


#: Up to this many rows, the wide scans stack the cells themselves, not distinct values.
_SMALL_FRAME_ROWS: Final = 1000


def _columns_containing(frame: pd.DataFrame, specs: list[ColumnSpec], pattern: str) -> set[str]:
    """Names of the ``specs`` columns with a distinct value matching ``pattern`` (a regex
    searched anywhere in the cell), judged in one scan over all their distinct values."""
    if not specs:
        return set()
    if len(frame) <= _SMALL_FRAME_ROWS:
        # Small frames: stacking the cells costs less than factorising every column.
        parts = [frame[spec.name] for spec in specs]
    else:
        parts = [_distinct(frame[spec.name])[1] for spec in specs]
    owner = np.repeat(np.arange(len(specs)), [len(p) for p in parts])
    stacked = _text(pd.concat(parts, ignore_index=True))
    found = np.asarray(stacked.str.contains(pattern, regex=True).fillna(False), dtype=bool)
    return {specs[j].name for j in np.unique(owner[found]).tolist()}
