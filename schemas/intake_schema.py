"""The intake schema in pandera: every per-row rule of the catalogue, one check per rule id.

:func:`intake_schema` builds a ``pandera.DataFrameSchema`` for a spec version and a
:class:`~schemas.validate.ValidationContext`. Each row-level rule of :mod:`schemas.rules`
is one dataframe-level ``pandera.Check`` whose name (and error) is the rule id; the
catalogue gives its severity. Production (:class:`schemas.validate.ChunkedValidation`)
runs ``schema.validate(frame, lazy=True)`` and folds ``SchemaErrors.failure_cases`` into
``(row, column, rule id)``; :func:`fold_failure_cases` keeps the index, the check name and
the *names* of the failing columns, never a value.

Fast by design: the check bodies are the vectorised functions of :mod:`schemas.cells`,
:mod:`schemas.normalise`, :mod:`schemas.rowrules` and friends, grouped so one wide pass
judges every column of a kind at once (:class:`Evaluation`, computed once per frame and
shared by the checks that need it). A rule that fired nowhere returns a scalar ``True``
(pandera's cheap path); one that fired returns a boolean frame shaped like the input,
False on the failing cells, so pandera reports each failing cell.

Input: the reader's all-text frame after :func:`prepare` (every column of the spec present,
blanks ``""``; the columns the file left out are remembered in ``frame.attrs``). Cross-row
rules that must see every chunk of a file (duplicates, households) are not checks here:
see :data:`CROSS_ROW_RULE_IDS` and :class:`schemas.crossrow.CrossRowState`.

Privacy: pandera quotes values in its messages and failure cases. Nothing in this module
formats a value; callers must not let a ``SchemaErrors`` escape (see
:func:`schemas.validate.ChunkedValidation`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.api.extensions import register_check_method

from schemas import cells, rowrules
from schemas.cells import BoolArray, ColumnCheck
from schemas.columns import ColumnSpec, SpecVersion, column_names, columns_for
from schemas.formula import formula_mask
from schemas.intake_id_pii import RULE_ID as INTAKE_ID_PII
from schemas.intake_id_pii import intake_id_pii_mask
from schemas.normalise import Normalised, NormaliseOptions, normalise
from schemas.rowrules import Parsed, People, people
from schemas.rules import RULES

if TYPE_CHECKING:
    from schemas.validate import ValidationContext

#: Column hits of one rule: ``(canonical column, positional mask)``.
ColumnHits = list[tuple[str, BoolArray]]

#: Columns compared as text by the row and cross-row rules.
TEXT_COLUMNS: Final = (
    "IntakeID",
    "SubmittingAgencyID",
    "HouseholdID",
    "FirstName",
    "LastName",
    "DOB",
    "SSN",
)
#: Columns the row rules compare with a value (ColumnCheck.equals).
_COMPARED_COLUMNS: Final = ("EnrollmentCoC",)
#: ``frame.attrs`` key naming the columns :func:`prepare` added (the file left them out).
ABSENT_ATTR: Final = "hmis_absent_columns"

#: Rules that must see the whole file (every chunk): judged by CrossRowState at the end.
CROSS_ROW_RULE_IDS: Final = frozenset(
    (
        "INTAKE-ID-DUPLICATE",
        "PERSON-DUPLICATE",
        "HOH-COUNT",
        "HOUSEHOLD-ENTRY-DATE",
        "HOUSEHOLD-HOH-NOT-SENT",
    )
)

#: Which wide pass produces which rule ids (each rule id in exactly one group).
GROUPS: Final[Mapping[str, tuple[str, ...]]] = {
    "columns": (
        "VALUE-REQUIRED",
        "VALUE-WHITESPACE",
        "CODE-NOT-IN-LIST",
        "TEXT-TOO-LONG",
        "TEXT-LINE-BREAK",
        "TEXT-IMPERMISSIBLE-CHARS",
        "NUMBER-SCIENTIFIC",
        "DATE-FORMAT",
        "DATE-US-FORMAT",
        "DATE-EXCEL-SERIAL",
        "DATE-INVALID",
        "DATE-TOO-EARLY",
        "INTAKE-ID-FORMAT",
        "SSN-FORMAT",
        "SSN-INVALID",
        "COC-FORMAT",
        "DATE-DAY-FIRST",
        "SSN-LEADING-ZEROS-PADDED",
        "SSN-LEADING-ZERO-LOST",
        "TEXT-MOJIBAKE",
    ),
    "identity": (
        "NAME-DQ-MISMATCH",
        "SSN-DQ-MISMATCH",
        "SSN-PARTIAL-DQ",
        "DOB-DQ-MISMATCH",
        "DOB-AFTER-ENTRY",
        "AGE-OVER-100",
        "VETERAN-MINOR",
    ),
    "demographic": (
        "RACE-NONE-MISMATCH",
        "SEX-MISSING",
        "GENDER-NONE-MISMATCH",
        "GENDER-TEXT-MISMATCH",
    ),
    "enrollment": (
        "ENTRY-DATE-NOT-INTAKE-DATE",
        "HOH-RELATIONSHIP-99",
        "COC-REQUIRED-HOH",
        "COC-UNEXPECTED",
        "LIVING-SITUATION-REQUIRED",
        "RENTAL-SUBSIDY-REQUIRED",
        "RENTAL-SUBSIDY-NOT-APPLICABLE",
        "PRIOR-LIVING-INCOMPLETE",
        "DATE-TO-STREET-AFTER-ENTRY",
    ),
    "coordinated_entry": (
        "ASSESSMENT-INCOMPLETE",
        "ASSESSMENT-DATE-BEFORE-ENTRY",
        "EVENT-INCOMPLETE",
        "EVENT-DATE-BEFORE-ENTRY",
        "EVENT-FIELD-NOT-APPLICABLE",
        "EVENT-RESULT-DATE-REQUIRED",
        "EVENT-RESULT-DATE-BEFORE-EVENT",
    ),
    "homeless_history": (
        "HOMELESS-START-OVER-3-YEARS",
        "MONTHS-HOMELESS-MISMATCH",
        "MONTHS-HOMELESS-CAN-BE-DETERMINED",
        "HOMELESS-HISTORY-UNKNOWN",
        "DISABLING-CONDITION-UNKNOWN",
    ),
    "context": ("AGENCY-MISMATCH", "ROI-DATE-REQUIRED", "DATE-FUTURE"),
    "resend": ("INTAKE-ID-ALREADY-SENT", "INTAKE-ID-ALREADY-SENT-SAME"),
    "intake_id_pii": (INTAKE_ID_PII,),
    "formula": ("CELL-FORMULA",),
    "names": ("NAME-DIGITS-ONLY",),
}
#: Rule id -> its group.
GROUP_OF: Final[Mapping[str, str]] = {
    rule_id: group for group, rule_ids in GROUPS.items() for rule_id in rule_ids
}


def schema_rule_ids() -> frozenset[str]:
    """Every rule id the schema holds a check for."""
    return frozenset(GROUP_OF)


@dataclass
class Evaluation:
    """One frame's wide passes, computed on first use and shared by the schema's checks.

    ``frame`` is the normalised frame (the one the rules judge); ``parsed`` the column
    verdicts; ``who`` the people view; ``same`` the identical re-sends (positional).
    """

    spec_version: SpecVersion
    context: ValidationContext
    normalised: Normalised
    parsed: Parsed
    who: People
    #: True when the normaliser rewrote a cell (``frame`` is then a new frame).
    rewritten: bool = False
    _groups: dict[str, dict[str, ColumnHits]] = field(default_factory=dict)
    _same: BoolArray | None = None

    @property
    def frame(self) -> pd.DataFrame:
        return self.normalised.frame

    def rule(self, rule_id: str) -> ColumnHits:
        """The hits of ``rule_id`` (only masks that fired)."""
        return self.group(GROUP_OF[rule_id]).get(rule_id, [])

    def group(self, name: str) -> dict[str, ColumnHits]:
        found = self._groups.get(name)
        if found is None:
            found = _by_rule(_GROUP_BODIES[name](self))
            self._groups[name] = found
        return found

    @property
    def same(self) -> BoolArray:
        """Rows already delivered with exactly this content (``INTAKE-ID-ALREADY-SENT-SAME``)."""
        self.group("resend")
        assert self._same is not None
        return self._same

    def error_rows(self) -> BoolArray:
        """Rows with at least one error among the schema's rules."""
        error = np.zeros(self.parsed.rows, dtype=bool)
        for rule_id in GROUP_OF:
            if RULES[rule_id].severity == "error":
                for _, mask in self.rule(rule_id):
                    error |= mask
        return error


Hit = tuple[str, str, BoolArray]


def _by_rule(hits: list[Hit]) -> dict[str, ColumnHits]:
    out: dict[str, ColumnHits] = {}
    for rule_id, column, mask in hits:
        if mask.any():
            out.setdefault(rule_id, []).append((column, mask))
    return out


def _without(check: ColumnCheck, judged: BoolArray | None) -> ColumnCheck:
    """``check`` with the cells the normaliser already judged as errors taken out (not
    valid, no second message from the column checks)."""
    if judged is None or not judged.any():
        return check
    days = check.days
    if days is not None:
        days = np.where(judged, np.datetime64("NaT"), days)
    return ColumnCheck(
        check.name,
        check.blank,
        check.valid & ~judged,
        tuple((rule_id, mask & ~judged) for rule_id, mask in check.hits),
        check.integers,
        days,
        check.partial_ssn,
        check.text,
        check.positions,
        check.distinct,
    )


def evaluate(
    frame: pd.DataFrame, spec_version: SpecVersion, context: ValidationContext
) -> Evaluation:
    """Normalise ``frame`` and judge every column once (the wide column pass)."""
    absent = frozenset(frame.attrs.get(ABSENT_ATTR, ()))
    n = len(frame)
    options = NormaliseOptions(
        today=context.today, date_order=context.date_order, source_format=context.source_format
    )
    present = frame.drop(columns=list(absent)) if absent else frame
    normalised = normalise(present, spec_version, options)
    chunk = normalised.frame
    # The wide column pass: one judgement per column kind, over all its columns at once.
    by_kind: dict[str, list[ColumnSpec]] = {}
    for spec in columns_for(spec_version):
        if spec.name in chunk.columns:
            by_kind.setdefault(spec.kind, []).append(spec)
    judged: dict[str, ColumnCheck] = {}
    keep = frozenset((*TEXT_COLUMNS, *_COMPARED_COLUMNS))
    for specs in by_kind.values():
        judged.update(cells.check_columns(specs, chunk, keep_text=keep))
    checks: dict[str, ColumnCheck] = {}
    for spec in columns_for(spec_version):
        if spec.name in judged:
            checks[spec.name] = _without(judged[spec.name], normalised.judged.get(spec.name))
        else:
            checks[spec.name] = cells.absent_column(spec, n)
    text = {name: checks[name].as_text().reset_index(drop=True) for name in TEXT_COLUMNS}
    parsed = Parsed(spec_version, n, checks, text)
    rewritten = normalised.frame is not present
    return Evaluation(spec_version, context, normalised, parsed, people(parsed), rewritten)


def _columns(ev: Evaluation) -> list[Hit]:
    hits: list[Hit] = [
        (rule_id, name, mask)
        for name, check in ev.parsed.checks.items()
        for rule_id, mask in check.hits
    ]
    return hits + list(ev.normalised.hits)


def _future_columns(spec_version: SpecVersion) -> tuple[str, ...]:
    return tuple(c.name for c in columns_for(spec_version) if c.kind == "date" and c.not_future)


def _context(ev: Evaluation) -> list[Hit]:
    """Context rules, with ``INTAKE-ID-ALREADY-SENT`` left to the ``resend`` group."""
    hits = rowrules.context_rules(ev.parsed, ev.context, _future_columns(ev.spec_version))
    return [h for h in hits if h[0] != "INTAKE-ID-ALREADY-SENT"]


def _already_sent(ev: Evaluation) -> BoolArray:
    ids = ev.parsed.text["IntakeID"]
    sent: BoolArray = np.asarray(ids.isin(ev.context.previously_sent), dtype=bool)
    return ev.parsed.valid("IntakeID") & sent


def _resend(ev: Evaluation) -> list[Hit]:
    """``INTAKE-ID-ALREADY-SENT`` split into identical re-sends (info) and changed ones.

    A row with any other error stays an error: it is held for that error, and the re-send
    question does not arise.
    """
    n = ev.parsed.rows
    already = _already_sent(ev)
    same = np.zeros(n, dtype=bool)
    ev._same = same
    if ev.context.content_key is None or not already.any():
        return [("INTAKE-ID-ALREADY-SENT", "IntakeID", already)]
    candidates = already.copy()
    for rule_id in GROUP_OF:
        if GROUP_OF[rule_id] != "resend" and RULES[rule_id].severity == "error":
            for _, mask in ev.rule(rule_id):
                candidates &= ~mask
    positions = np.flatnonzero(candidates)
    if len(positions):
        keys = ev.context.content_key(ev.frame.iloc[positions])
        ids = ev.parsed.text["IntakeID"].iloc[positions].tolist()
        for position, intake_id, key in zip(positions.tolist(), ids, keys, strict=True):
            sent = ev.context.sent_content.get(intake_id)
            same[position] = sent is not None and sent == key
    return [
        ("INTAKE-ID-ALREADY-SENT", "IntakeID", already & ~same),
        ("INTAKE-ID-ALREADY-SENT-SAME", "IntakeID", same),
    ]


def _formula(ev: Evaluation) -> list[Hit]:
    names = [name for name in ev.parsed.checks if name in ev.frame.columns]
    rows = len(ev.frame)
    if rows > cells.SMALL_FRAME_ROWS or not names:
        return [("CELL-FORMULA", name, formula_mask(ev.frame[name])) for name in names]
    # Few rows: one scan over every column stacked (a scan per column costs more).
    mask = formula_mask(pd.concat([ev.frame[name] for name in names], ignore_index=True))
    return [("CELL-FORMULA", name, mask[j * rows : (j + 1) * rows]) for j, name in enumerate(names)]


#: A name cell of digits (and the separators of an SSN or a phone number) only.
_DIGITS_ONLY: Final = r"[0-9][0-9 ()./-]*"


def _names(ev: Evaluation) -> list[Hit]:
    """``NAME-DIGITS-ONLY``: this rule exists only here, as the body of its pandera check."""
    hits: list[Hit] = []
    for spec in columns_for(ev.spec_version):
        if spec.kind == "name" and spec.name in ev.frame.columns:
            text = cells.as_text(ev.frame[spec.name])
            digits = np.asarray(text.str.fullmatch(_DIGITS_ONLY).fillna(False), dtype=bool)
            hits.append(("NAME-DIGITS-ONLY", spec.name, ev.parsed.valid(spec.name) & digits))
    return hits


_GROUP_BODIES: Final[Mapping[str, Callable[[Evaluation], list[Hit]]]] = {
    "columns": _columns,
    "identity": lambda ev: rowrules.identity_rules(ev.parsed, ev.who),
    "demographic": lambda ev: rowrules.demographic_rules(ev.parsed),
    "enrollment": lambda ev: rowrules.enrollment_rules(ev.parsed, ev.who, ev.context.expected_coc),
    "coordinated_entry": lambda ev: rowrules.coordinated_entry_rules(ev.parsed),
    "homeless_history": lambda ev: rowrules.homeless_history_rules(ev.parsed, ev.who),
    "context": _context,
    "resend": _resend,
    "intake_id_pii": lambda ev: [(INTAKE_ID_PII, "IntakeID", intake_id_pii_mask(ev.parsed.text))],
    "formula": _formula,
    "names": _names,
}


class _Slot(threading.local):
    """The evaluation of the frame being validated on this thread (one at a time)."""

    frame: pd.DataFrame | None = None
    evaluation: Evaluation | None = None
    #: Type name of the first exception a check body raised (its message may quote a value).
    failure: str | None = None


_SLOT: Final = _Slot()


def evaluation_of(
    frame: pd.DataFrame, spec_version: SpecVersion, context: ValidationContext
) -> Evaluation:
    """The shared :class:`Evaluation` of ``frame`` (computed by the first check that asks)."""
    if _SLOT.frame is frame and _SLOT.evaluation is not None:
        evaluation = _SLOT.evaluation
        if evaluation.context is context and evaluation.spec_version == spec_version:
            return evaluation
    evaluation = evaluate(frame, spec_version, context)
    _SLOT.frame, _SLOT.evaluation = frame, evaluation
    return evaluation


def release(frame: pd.DataFrame) -> None:
    """Forget the evaluation of ``frame`` (call when done with it, to free its memory)."""
    if _SLOT.frame is frame:
        _SLOT.frame, _SLOT.evaluation = None, None


def take_check_failure() -> str | None:
    """The type name of an exception a check body raised since the last call, if any.

    A check that raises records only this name and fails; the caller must treat it as an
    internal failure, not as a finding.
    """
    failure, _SLOT.failure = _SLOT.failure, None
    return failure


@register_check_method(  # type: ignore[untyped-decorator]
    statistics=["rule_id", "spec_version", "context"], supported_types=pd.DataFrame
)
def hmis_intake_rule(
    frame: pd.DataFrame, *, rule_id: str, spec_version: SpecVersion, context: ValidationContext
) -> Any:
    """The pandera check method of one catalogue rule (``pa.Check.hmis_intake_rule``).

    Returns ``True`` when ``rule_id`` fired nowhere in ``frame``, else a boolean frame
    shaped like ``frame``, False on the failing cells. A body that raises records only its
    exception type (see :func:`take_check_failure`) and fails the check.
    """
    try:
        hits = evaluation_of(frame, spec_version, context).rule(rule_id)
    except Exception as exc:  # pandera would keep the message, which may quote a value
        _SLOT.failure = _SLOT.failure or type(exc).__name__
        return False
    if not hits:
        return True
    ok = {name: np.ones(len(frame), dtype=bool) for name in frame.columns}
    for column, mask in hits:
        ok[column] &= ~mask
    return pd.DataFrame(ok, index=frame.index, columns=frame.columns)


def _named_check(rule_id: str, spec_version: SpecVersion, context: ValidationContext) -> pa.Check:
    # error= is set so pandera never formats the statistics (the context) into a message.
    check: pa.Check = pa.Check.hmis_intake_rule(
        rule_id=rule_id, spec_version=spec_version, context=context, error=rule_id
    )
    check.name = rule_id  # the registered method names it after itself
    return check


def intake_schema(spec_version: SpecVersion, context: ValidationContext) -> pa.DataFrameSchema:
    """The pandera schema of ``spec_version`` judged under ``context``.

    Columns are the spec's, all text (``dtype=None``: the reader keeps every cell as text,
    parsing happens in the checks); the column set itself is checked before (file-level
    rules). Checks: one per rule id of :func:`schema_rule_ids`, in catalogue order, each
    named by (and raising) its rule id.
    """
    columns = {
        name: pa.Column(None, nullable=True, required=False) for name in column_names(spec_version)
    }
    checks = [
        _named_check(rule_id, spec_version, context) for rule_id in RULES if rule_id in GROUP_OF
    ]
    return pa.DataFrameSchema(
        columns, checks=checks, name=f"hmis-intake-{spec_version}", strict=False
    )


def prepare(frame: pd.DataFrame, spec_version: SpecVersion) -> pd.DataFrame:
    """``frame`` with every column of the spec (the missing ones blank, remembered in
    ``attrs``) and a positional index, blanks as ``""``: the shape the schema judges."""
    names = column_names(spec_version)
    absent = [name for name in names if name not in frame.columns]
    out = frame.set_axis(pd.RangeIndex(len(frame)), axis=0)
    if absent:
        out = out.assign(**dict.fromkeys(absent, ""))
    if bool(out.isna().to_numpy().any()):
        out = out.fillna("")
    out.attrs = {ABSENT_ATTR: tuple(absent)}
    return out


def fold_failure_cases(cases: pd.DataFrame) -> list[tuple[int, str, str]]:
    """``(position, column, rule id)`` from ``SchemaErrors.failure_cases``, no value.

    A dataframe-level check with a boolean-frame output reports one case per failing row
    whose ``failure_case`` maps each failing column to its value: only the keys are read.
    """
    out: list[tuple[int, str, str]] = []
    for index, check, case in zip(
        cases["index"], cases["check"], cases["failure_case"], strict=True
    ):
        rule_id = str(check)
        if rule_id not in GROUP_OF or index is None or pd.isna(index):
            raise LookupError("a failure that is not a rule of the intake schema")
        if not isinstance(case, dict):
            # A check that raised (pandera records its message) or an unexpected shape.
            raise LookupError("a failure case that is not a failing-cell map")
        out.extend((int(index), str(column), rule_id) for column in case)
    return out


__all__ = [
    "ABSENT_ATTR",
    "CROSS_ROW_RULE_IDS",
    "GROUPS",
    "GROUP_OF",
    "TEXT_COLUMNS",
    "ColumnHits",
    "Evaluation",
    "Hit",
    "evaluate",
    "evaluation_of",
    "fold_failure_cases",
    "hmis_intake_rule",
    "intake_schema",
    "prepare",
    "release",
    "schema_rule_ids",
    "take_check_failure",
]
