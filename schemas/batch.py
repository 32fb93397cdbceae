"""Validate small files that wait together as one frame, and split the verdicts back per file.

pandera's cost is mostly per check, whatever the row count, so a thousand three-row files
judged one by one pay it a thousand times. :func:`validate_batch` stacks the files of one
column set into one frame (file key + row), runs the intake schema once over it, and
splits the failing cells and row verdicts back per file. Cross-row rules (duplicate
IntakeIDs and people, households) stay per file: each file gets its own
:class:`~schemas.crossrow.CrossRowState`, so a file's outcome is exactly what
:func:`schemas.validate.validate_intake` gives for it alone.

Every file of one call is judged under the same :class:`~schemas.validate.ValidationContext`
(one agency, one day): group files by agency before calling. A file whose columns fit no
spec gets its :class:`~hmis_handoff.errors.FileRejected` (value-free) instead of an outcome;
the other files carry on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping
from typing import TypeVar

import numpy as np
import pandas as pd

from hmis_handoff.errors import FileRejected
from schemas.validate import (
    FIRST_DATA_ROW,
    ChunkedValidation,
    Problem,
    ValidationContext,
    ValidationOutcome,
    _merge,
    _row_numbers,
)

Key = TypeVar("Key", bound=Hashable)


def validate_batch(
    frames_by_file: Mapping[Key, pd.DataFrame], context: ValidationContext
) -> dict[Key, ValidationOutcome | FileRejected]:
    """Per file key, its :class:`ValidationOutcome` (or the :class:`FileRejected` its
    columns earned), judged with one pandera validation per column set.

    Each frame is the reader's all-text frame of one file (its index numbers its rows, as
    for :func:`~schemas.validate.validate_intake`). Raises :class:`IntakeValidationError`
    (value-free) on an internal failure.
    """
    results: dict[Key, ValidationOutcome | FileRejected] = {}
    groups: dict[tuple[str, ...], list[tuple[Key, pd.DataFrame, ChunkedValidation]]] = {}
    for key, frame in frames_by_file.items():
        run = ChunkedValidation(context)
        columns = [str(c) for c in frame.columns]
        try:
            run.accept_columns(columns)
        except FileRejected as rejected:
            results[key] = rejected
            continue
        groups.setdefault(tuple(columns), []).append((key, frame, run))
    for members in groups.values():
        results.update(_validate_group(members))
    return {key: results[key] for key in frames_by_file}


def _validate_group(
    members: list[tuple[Key, pd.DataFrame, ChunkedValidation]],
) -> dict[Key, ValidationOutcome | FileRejected]:
    first = members[0][2]
    run = ChunkedValidation(first.context, first.spec_version)
    frames = [frame for _, frame, _ in members]
    run.accept_columns([str(c) for c in frames[0].columns])
    sizes = [len(frame) for frame in frames]
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    stacked = pd.concat(frames, ignore_index=True)
    # Each file's own row numbers (for the texts), and its number as the cross-row scope.
    local = np.concatenate([_row_numbers(frame) for frame in frames]).astype(np.int64)
    scope = pd.Series(np.repeat(np.arange(len(frames)), sizes).astype(str))
    whole = run.validate_chunk(stacked, scope=scope, shown=local)
    tail = run.finish()

    # Stacked row numbers (position + FIRST_DATA_ROW) back to (file, its own row number).
    def where(row: int) -> tuple[int, int]:
        position = row - FIRST_DATA_ROW
        return int(np.searchsorted(bounds, position, side="right") - 1), int(local[position])

    problems: list[list[Problem]] = [[] for _ in frames]
    for problem in _merge(whole.problems, tail.problems):
        which, row = where(problem.row)
        problems[which].append(dataclasses.replace(problem, row=row))
    held: list[dict[int, str]] = [{} for _ in frames]
    for row, reason in whole.not_transmittable.items():
        if row not in tail.errored:
            which, own = where(row)
            held[which][own] = reason
    sendable = np.asarray(whole.sendable, dtype=bool).copy()
    withheld = np.asarray(sorted(tail.withheld), dtype=np.int64) - FIRST_DATA_ROW
    sendable[withheld] = False
    out: dict[Key, ValidationOutcome | FileRejected] = {}
    for which, (key, frame, _) in enumerate(members):
        start, stop = int(bounds[which]), int(bounds[which + 1])
        rewritten = whole.frame is not stacked
        out[key] = ValidationOutcome(
            spec_version=whole.spec_version,
            frame=whole.frame.iloc[start:stop].set_axis(frame.index) if rewritten else frame,
            sendable=pd.Series(sendable[start:stop], index=frame.index, dtype=bool),
            not_transmittable=dict(sorted(held[which].items())),
            problems=sorted(problems[which], key=lambda p: (p.row, p.column, p.rule_id)),
        )
    return out


__all__ = ["validate_batch"]
