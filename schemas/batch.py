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

from collections.abc import Hashable, Mapping
from typing import TypeVar

import numpy as np
import pandas as pd

from hmis_handoff.errors import FileRejected
from schemas.intake_schema import slice_evaluation
from schemas.validate import (
    ChunkedValidation,
    ValidationContext,
    ValidationOutcome,
    finish_whole,
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
    assert first.spec_version is not None
    sizes = [len(frame) for _, frame, _ in members]
    stacked = pd.concat([frame for _, frame, _ in members], ignore_index=True)
    cases, evaluation = first.judge(stacked, first.spec_version)
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    file_of_case = np.searchsorted(bounds, [c[0] for c in cases], side="right") - 1
    by_file: list[list[tuple[int, str, str]]] = [[] for _ in members]
    for which, (position, column, rule_id) in zip(file_of_case.tolist(), cases, strict=True):
        by_file[which].append((position - int(bounds[which]), column, rule_id))
    out: dict[Key, ValidationOutcome | FileRejected] = {}
    for which, (key, frame, run) in enumerate(members):
        start, stop = int(bounds[which]), int(bounds[which + 1])
        part = slice_evaluation(evaluation, start, stop)
        outcome = run.verdict(frame, by_file[which], part)
        out[key] = finish_whole(run, frame, outcome)
    return out


__all__ = ["validate_batch"]
