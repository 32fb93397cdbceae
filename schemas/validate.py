"""Validate an intake file: the entry point the pipeline calls.

Input is the reader's all-text frame (every cell a string, ``""`` for blank) with canonical
column names (see :func:`schemas.columns.canonical_header`). Output is a
:class:`ValidationOutcome`: which rows may go to the data partner, which valid rows must
not (no release of information, or a victim service provider), and every problem as
``(row, column, rule id, severity)``.

Every chunk is judged by the pandera intake schema (:mod:`schemas.intake_schema`: one
check per rule id): ``schema.validate(frame, lazy=True)``, and ``SchemaErrors.failure_cases``
folded into problems by index, check name and column name, never a value. There is no
other per-row rule engine; the cross-row rules that must see every chunk (duplicates,
households) are recorded per chunk and judged at :meth:`ChunkedValidation.finish`.

Privacy contract: no cell value leaves this module except inside ``outcome.frame`` and
``outcome.sendable_frame()``. Problems carry row numbers, canonical column names and rule
ids; exceptions carry rule ids, canonical column names, counts and exception type names.
Any unexpected failure inside pandas or numpy is re-raised as :class:`IntakeValidationError`
with no chained exception (the original message may quote a value).

Large files: :class:`ChunkedValidation` takes the file in chunks (each a frame whose integer
index continues the file's numbering, as ``pandas.read_csv(chunksize=...)`` gives) and
judges the cross-row rules at :meth:`ChunkedValidation.finish`. :func:`validate_intake` is
the one-chunk case of the same code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final, TypeVar

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from hmis_handoff.errors import FileRejected, IntakeValidationError
from schemas.cells import IntArray
from schemas.columns import (
    FY2024,
    FY2026,
    GENDER_COLUMNS,
    HISPANIC_FY2024,
    HISPANIC_FY2026,
    SpecVersion,
    check_header,
    column_names,
    detect_spec_version,
)
from schemas.crossrow import CrossRowState
from schemas.intake_schema import (
    Evaluation,
    evaluation_of,
    fold_failure_cases,
    intake_schema,
    prepare,
    release,
    take_check_failure,
)
from schemas.normalise import DateOrder, NormaliseOptions, SourceFormat
from schemas.rowrules import consent_gate
from schemas.rules import RULES, Severity

_FY2026_ONLY: Final = frozenset((HISPANIC_FY2026, "Sex"))
_FY2024_ONLY: Final = frozenset(
    (HISPANIC_FY2024, *GENDER_COLUMNS, "GenderNone", "DifferentIdentityText")
)
#: Spreadsheet row of data index 0 (row 1 is the header).
FIRST_DATA_ROW: Final = 2


@dataclass(frozen=True)
class ValidationContext:
    """What the validator needs to know beyond the file.

    ``today`` is the America/Chicago date "not in the future" is judged against.
    ``previously_sent`` holds the IntakeIDs this agency already delivered. ``date_order``
    and ``source_format`` decide which Excel forms :mod:`schemas.normalise` accepts.
    Re-sends: ``content_key`` maps (normalised) rows to a key of their content and
    ``sent_content`` holds the key each delivered IntakeID was sent with; a row whose
    IntakeID and content key match is ``INTAKE-ID-ALREADY-SENT-SAME`` (info: not sent, not
    held), any other row under a delivered IntakeID is ``INTAKE-ID-ALREADY-SENT`` (error).
    Without ``content_key`` every such row is the error.
    """

    agency_id: str
    today: date
    is_victim_service_provider: bool = False
    expected_coc: str = "MO-606"
    # Left out of repr: pandera formats a check's statistics (this context among them)
    # each time a schema is built, and an agency's delivery history grows with every file.
    previously_sent: frozenset[str] = field(default=frozenset(), repr=False)
    date_order: DateOrder = "us"
    source_format: SourceFormat = "csv"
    sent_content: Mapping[str, str | None] = field(default_factory=dict, repr=False)
    content_key: Callable[[pd.DataFrame], list[str]] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Problem:
    """One finding: spreadsheet ``row`` (data index 0 is row 2), canonical ``column`` (``""``
    for a row-level or household rule), catalogue ``rule_id`` and its ``severity``."""

    row: int
    column: str
    rule_id: str
    severity: Severity
    #: Value-free context for the agency ("Household of rows 2 and 3; its head is row 2").
    detail: str = ""


@dataclass(repr=False)
class ValidationOutcome:
    """The verdict on one frame (or one chunk, before :meth:`ChunkedValidation.finish`).

    ``sendable`` (indexed like ``frame``) is True for rows with no error that may be
    transmitted. ``not_transmittable`` maps the spreadsheet row number of a row that has no
    error but must not be sent to its gate rule id: ``ROI-MISSING`` or ``ROI-EXPIRED``, and
    ``VSP-NO-PII`` for every error-free row of a victim service provider. A row with an
    error is never in it (its problems say why it was not sent), so downstream code may
    rely on a not-transmittable row's IntakeID and dates being valid. ``problems`` are
    sorted by row, column, rule id. ``repr()`` shows counts only.
    """

    spec_version: SpecVersion
    frame: pd.DataFrame
    sendable: pd.Series
    not_transmittable: dict[int, str]
    problems: list[Problem] = field(default_factory=list)

    def sendable_frame(self) -> pd.DataFrame:
        """The sendable rows, columns in canonical order, every value exactly as received."""
        order = [name for name in column_names(self.spec_version) if name in self.frame.columns]
        mask = np.asarray(self.sendable, dtype=bool)
        return self.frame.iloc[np.flatnonzero(mask)][order]

    def __repr__(self) -> str:
        errors = sum(1 for p in self.problems if p.severity == "error")
        return (
            f"ValidationOutcome(spec_version={self.spec_version!r}, rows={len(self.frame)}, "
            f"sendable={int(np.asarray(self.sendable, dtype=bool).sum())}, "
            f"not_transmittable={len(self.not_transmittable)}, errors={errors}, "
            f"warnings={len(self.problems) - errors})"
        )


@dataclass(frozen=True)
class CrossRowOutcome:
    """What :meth:`ChunkedValidation.finish` adds once every chunk is in.

    ``problems``: cross-row problems (duplicates, households), sorted. ``withheld``: row
    numbers a chunk reported as sendable that must now be held. ``errored``: rows that now
    carry an error (drop them from the chunks' ``not_transmittable``).
    """

    problems: list[Problem]
    withheld: frozenset[int]
    errored: frozenset[int]


def _rank(names: Iterable[str]) -> dict[str, int]:
    return {name: rank for rank, name in enumerate(sorted(set(names)))}


def _problems(hits: list[tuple[str, str, IntArray]]) -> list[Problem]:
    """Sorted, de-duplicated :class:`Problem` list from ``(rule, column, rows)`` hits."""
    hits = [h for h in hits if len(h[2])]
    if not hits:
        return []
    columns = _rank(h[1] for h in hits)
    rules = _rank(h[0] for h in hits)
    column_names_ = sorted(columns)
    rule_names = sorted(rules)
    row = np.concatenate([h[2] for h in hits]).astype(np.int64)
    col = np.concatenate([np.full(len(h[2]), columns[h[1]], dtype=np.int64) for h in hits])
    rul = np.concatenate([np.full(len(h[2]), rules[h[0]], dtype=np.int64) for h in hits])
    order = np.lexsort((rul, col, row))
    row, col, rul = row[order], col[order], rul[order]
    keep = np.ones(len(row), dtype=bool)
    keep[1:] = (np.diff(row) != 0) | (np.diff(col) != 0) | (np.diff(rul) != 0)
    severity = [RULES[name].severity for name in rule_names]
    return [
        Problem(r, column_names_[c], rule_names[u], severity[u])
        for r, c, u in zip(row[keep].tolist(), col[keep].tolist(), rul[keep].tolist(), strict=True)
    ]


def _row_numbers(frame: pd.DataFrame) -> IntArray:
    index = frame.index
    if pd.api.types.is_integer_dtype(index.dtype):
        return np.asarray(index, dtype=np.int64) + FIRST_DATA_ROW
    return np.arange(len(frame), dtype=np.int64) + FIRST_DATA_ROW


def _mixed_detail(present: set[str]) -> str:
    """Plain words naming the columns of each template (column names only, no values)."""
    current = sorted(present & _FY2026_ONLY)
    old: list[str] = []
    if HISPANIC_FY2024 in present:
        old.append(f"{HISPANIC_FY2024} (the current template spells it {HISPANIC_FY2026})")
    gender = [c for c in (*GENDER_COLUMNS, "GenderNone", "DifferentIdentityText") if c in present]
    if gender:
        old.append(", ".join(gender) + " (FY2024 gender columns; the current template has Sex)")
    return (
        f"columns of the current template: {', '.join(current)}; columns of the old FY2024 "
        f"template: {'; '.join(old)}"
    )


def _check_columns(columns: list[str], spec_version: SpecVersion) -> None:
    present = set(columns)
    if present & _FY2026_ONLY and present & _FY2024_ONLY:
        raise FileRejected("FILE-MIXED-SPEC-VERSION", _mixed_detail(present))
    header = check_header(columns, spec_version)
    if header.duplicated:
        raise FileRejected(
            "FILE-DUPLICATE-HEADER", "repeated columns: " + ", ".join(header.duplicated)
        )
    if header.missing:
        raise FileRejected("FILE-MISSING-COLUMNS", "missing columns: " + ", ".join(header.missing))
    if header.unknown:
        positions = ", ".join(str(p) for p in header.unknown)
        raise FileRejected(
            "FILE-UNKNOWN-COLUMNS", f"{len(header.unknown)} unknown column(s) at {positions}"
        )


class ChunkedValidation:
    """Validate one file chunk by chunk, with cross-row rules across every chunk.

    Usage::

        run = ChunkedValidation(context)
        for chunk in chunks:                      # e.g. 50,000 rows each, index continuing
            part = run.validate_chunk(chunk)      # row-local verdicts for this chunk
            ...keep part.problems, spool part.sendable_frame() ...
        tail = run.finish()                       # cross-row problems for any chunk
        ...drop tail.withheld rows from the spooled output before sending...

    Every chunk must have the same columns. ``spec_version`` is detected from the first
    chunk unless given. Raises :class:`~hmis_handoff.errors.FileRejected` for a column set
    that does not match the spec and :class:`IntakeValidationError` on internal failure.
    """

    def __init__(self, context: ValidationContext, spec_version: SpecVersion | None = None):
        self.context = context
        self.spec_version: SpecVersion | None = spec_version
        self._columns: list[str] | None = None
        self._state = CrossRowState()
        self._finished = False
        self.options = NormaliseOptions(
            today=context.today, date_order=context.date_order, source_format=context.source_format
        )
        self._schema_built: pa.DataFrameSchema | None = None

    def accept_columns(self, columns: list[str]) -> SpecVersion:
        """Check a chunk's column names: the first chunk's decide the spec version (raises
        :class:`~hmis_handoff.errors.FileRejected` when they fit none); later chunks must
        repeat them exactly."""
        if self._columns is None:
            spec_version = self.spec_version or detect_spec_version(columns)
            _check_columns(columns, spec_version)
            self.spec_version, self._columns = spec_version, columns
        elif columns != self._columns:
            raise IntakeValidationError("a chunk's columns differ from the first chunk's")
        assert self.spec_version is not None
        return self.spec_version

    def validate_chunk(
        self,
        chunk: pd.DataFrame,
        *,
        scope: pd.Series | None = None,
        shown: IntArray | None = None,
    ) -> ValidationOutcome:
        """Row-local verdicts for ``chunk``; cross-row rules wait for :meth:`finish`.

        ``scope`` and ``shown`` are for batches of files (see
        :meth:`schemas.crossrow.CrossRowState.record`)."""
        if self._finished:
            raise IntakeValidationError("validate_chunk called after finish")
        spec_version = self.accept_columns([str(c) for c in chunk.columns])
        return _guarded(lambda: self._validate(chunk, spec_version, scope, shown))

    def finish(self) -> CrossRowOutcome:
        """Cross-row rules over every chunk seen; call once, after the last chunk."""
        self._finished = True
        failure: str | None = None
        try:
            result = self._state.finish()
            return CrossRowOutcome(
                [
                    dataclasses.replace(p, detail=result.details.get((p.row, p.rule_id), ""))
                    for p in _problems(result.hits)
                ],
                withheld=frozenset(result.withheld.tolist()),
                errored=frozenset(result.errored.tolist()),
            )
        except Exception as exc:  # re-raised below without its message
            failure = type(exc).__name__
        raise IntakeValidationError(f"cross-row validation failed unexpectedly ({failure})")

    def _schema(self, spec_version: SpecVersion) -> pa.DataFrameSchema:
        if self._schema_built is None:
            self._schema_built = intake_schema(spec_version, self.context)
        return self._schema_built

    def _validate(
        self,
        chunk: pd.DataFrame,
        spec_version: SpecVersion,
        scope: pd.Series | None = None,
        shown: IntArray | None = None,
    ) -> ValidationOutcome:
        cases, evaluation = self._judge(chunk, spec_version)
        return self._verdict(chunk, cases, evaluation, scope, shown)

    def _judge(
        self, chunk: pd.DataFrame, spec_version: SpecVersion
    ) -> tuple[list[tuple[int, str, str]], Evaluation]:
        """pandera's failing cells of ``chunk`` (positional) and the shared evaluation."""
        prepared = prepare(chunk, spec_version)
        try:
            cases = _failure_cases(self._schema(spec_version), prepared)
            return cases, evaluation_of(prepared, spec_version, self.context)
        finally:
            release(prepared)

    def _verdict(
        self,
        chunk: pd.DataFrame,
        cases: list[tuple[int, str, str]],
        evaluation: Evaluation,
        scope: pd.Series | None = None,
        shown: IntArray | None = None,
    ) -> ValidationOutcome:
        """Fold the failing cells into problems and row verdicts; record the cross-row keys."""
        assert self.spec_version is not None
        rows = _row_numbers(chunk)
        n = len(chunk)
        hits: dict[tuple[str, str], list[int]] = {}
        for position, column, rule_id in cases:
            hits.setdefault((rule_id, column), []).append(int(rows[position]))
        error = np.zeros(n, dtype=bool)
        for position, _, rule_id in cases:
            if RULES[rule_id].severity == "error":
                error[position] = True
        same = evaluation.same
        parsed = evaluation.parsed
        gate = consent_gate(parsed, self.context.today)
        if self.context.is_victim_service_provider:
            sendable = np.zeros(n, dtype=bool)
            not_transmittable = dict.fromkeys(rows[~error & ~same].tolist(), "VSP-NO-PII")
        else:
            sendable = ~error & ~same & gate.transmittable
            missing = ~error & ~same & gate.roi_missing
            expired = ~error & ~same & gate.roi_expired
            not_transmittable = {
                **dict.fromkeys(rows[missing].tolist(), "ROI-MISSING"),
                **dict.fromkeys(rows[expired].tolist(), "ROI-EXPIRED"),
            }
        # A head already delivered with this content counts as sent for its household.
        self._state.record(rows, parsed, evaluation.who, sendable | same, scope=scope, shown=shown)
        problems = _problems(
            [
                (rule_id, column, np.asarray(found, dtype=np.int64))
                for (rule_id, column), found in hits.items()
            ]
        )
        frame = chunk
        if evaluation.rewritten:
            frame = evaluation.frame.set_axis(chunk.index, axis=0)
            frame.attrs = {}
        return ValidationOutcome(
            spec_version=self.spec_version,
            frame=frame,
            sendable=pd.Series(sendable, index=chunk.index, dtype=bool),
            not_transmittable=dict(sorted(not_transmittable.items())),
            problems=problems,
        )


T = TypeVar("T")


def _guarded(call: Callable[[], T]) -> T:
    """``call()``, with any unexpected failure re-raised as :class:`IntakeValidationError`
    naming only the exception type."""
    failure: str | None = None
    try:
        return call()
    except (FileRejected, IntakeValidationError):
        raise
    except Exception as exc:  # re-raised below without its message
        failure = type(exc).__name__
    # Raised outside the except block so the original (value-bearing) exception is not
    # attached as __context__ and cannot reach a traceback or a Prefect state message.
    raise IntakeValidationError(f"validation failed unexpectedly ({failure})")


def _failure_cases(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> list[tuple[int, str, str]]:
    """Run ``schema`` lazily over ``frame``; ``(position, column, rule id)`` per failing cell.

    pandera's ``SchemaErrors`` quotes values: only index, check name and column names are
    copied out, and the exception dies inside this function.
    """
    failure: str | None = None
    take_check_failure()
    try:
        schema.validate(frame, lazy=True, inplace=True)
        failure = take_check_failure()
        if failure is None:
            return []
    except SchemaErrors as errors:
        failure = take_check_failure()
        try:
            if failure is None:
                return fold_failure_cases(errors.failure_cases)
        except Exception as exc:  # re-raised below without its message
            failure = type(exc).__name__
    except Exception as exc:  # re-raised below without its message
        failure = type(exc).__name__
    raise IntakeValidationError(f"pandera validation failed ({failure})")


def validate_chunk(run: ChunkedValidation, chunk: pd.DataFrame) -> ValidationOutcome:
    """Functional spelling of :meth:`ChunkedValidation.validate_chunk`."""
    return run.validate_chunk(chunk)


def validate_intake(frame: pd.DataFrame, context: ValidationContext) -> ValidationOutcome:
    """Validate a whole intake frame (see the module docstring for the contract).

    Raises :class:`~hmis_handoff.errors.FileRejected` (``FILE-MISSING-COLUMNS``,
    ``FILE-UNKNOWN-COLUMNS``, ``FILE-DUPLICATE-HEADER``, ``FILE-MIXED-SPEC-VERSION``) when
    the columns do not fit a spec version, and :class:`IntakeValidationError` on an
    internal failure. Neither message contains a cell value.
    """
    run = ChunkedValidation(context)
    return finish_whole(run, frame, run.validate_chunk(frame))


def finish_whole(
    run: ChunkedValidation, frame: pd.DataFrame, outcome: ValidationOutcome
) -> ValidationOutcome:
    """``outcome`` of a whole-file ``frame`` (its only chunk) with ``run``'s cross-row
    verdicts folded in."""
    tail = run.finish()
    if not (tail.problems or tail.withheld or tail.errored):
        return outcome
    rows = _row_numbers(frame)
    held = np.isin(rows, list(tail.withheld))
    outcome.sendable = outcome.sendable & ~pd.Series(held, index=frame.index)
    outcome.not_transmittable = {
        row: reason for row, reason in outcome.not_transmittable.items() if row not in tail.errored
    }
    outcome.problems = _merge(outcome.problems, tail.problems)
    return outcome


def _merge(first: list[Problem], second: list[Problem]) -> list[Problem]:
    return sorted([*first, *second], key=lambda p: (p.row, p.column, p.rule_id))


__all__ = [
    "FIRST_DATA_ROW",
    "FY2024",
    "FY2026",
    "ChunkedValidation",
    "CrossRowOutcome",
    "Problem",
    "ValidationContext",
    "ValidationOutcome",
    "finish_whole",
    "validate_chunk",
    "validate_intake",
]
