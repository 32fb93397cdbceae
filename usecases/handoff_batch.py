"""Files settled together are judged together: small files validated as one frame.

pandera's cost is mostly per check, whatever the row count, so a backlog of three-row files
judged one by one pays it once per file. :meth:`BatchJudge.judge` reads each small claim of
a batch once from its private copy and validates all of them as ONE frame per agency and
source format (:func:`schemas.batch.validate_batch`); the verdicts are folded back per file
as :class:`~usecases.handoff.Prepared`. Each file is then handed off on its own, exactly as
alone (its own claim lock, package, report, ledger row and outcome):
``Handoff.process_claim(claimed, judge.take(claimed))``.

Contract:

* **Same result as alone.** A file is judged against its agency's delivery history as it
  stood when the batch was judged. An earlier file of the same batch can change that
  history (deliver an IntakeID this file repeats), so :meth:`BatchJudge.take` drops the
  batch verdict of a file that shares an IntakeID with an earlier file of its batch and
  agency, or that comes after a file of its agency whose IntakeIDs were not read here (a
  large one, or one not readable for a reason other than the reader's refusal; a refused
  file delivers nothing): that file is judged alone at its turn, as without the batch.
  Hand-offs run two at a time only where neither can depend on the other
  (:meth:`BatchJudge.hand_off_in_order`).
  Another worker's deliveries in between are met by the IntakeID reservation, as always.
* **One bad file never affects another.** A file that cannot be read or whose columns fit
  no spec simply gets no batch verdict (its own hand-off then answers it); a failure of the
  batch validation itself costs only the batch verdicts of that group.
* **Nothing is decided here.** No ledger write, no artifact: a verdict is used only by the
  hand-off of the claim whose private copy it was judged from (same SHA-256), and only while
  the ledger still has that file unjudged. Held in memory only (it carries rows), never in a
  Prefect parameter or result.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np
import pandas as pd

from connectors.dropfolder import ClaimedFile
from hmis_handoff.errors import FileRejected
from hmis_handoff.leak_switch import plant_leak
from hmis_handoff.workcopy import private_copy
from schemas.batch import validate_batch
from schemas.normalise import NormaliseOptions, SourceFormat
from schemas.validate import FIRST_DATA_ROW, ValidationOutcome
from usecases.handoff import (
    Handoff,
    Prepared,
    Verdict,
    claim_lock,
    sha256_file,
    source_format_of,
)
from usecases.isolation import Attempt, hand_off_guarded

log = logging.getLogger(__name__)

#: A file at most this large is read whole and judged with its batch (a typical intake file
#: is a few KB; larger ones stream chunk by chunk on their own and gain nothing here).
SMALL_FILE_BYTES = 256 * 1024
#: At most this many files per pandera validation (bounds the stacked frame).
JUDGE_FILES = 250
#: Hand-offs at once. Much of a small file's hand-off waits on fsync (which releases the
#: GIL), so two threads overlap one file's waits with another's work (README, Figures).
HAND_OFF_WORKERS = 2
#: Claims judged together, then handed off one by one (bounds the rows held in memory):
#: the ingest flow's slice and ``handoff process``'s alike.
BATCH_FILES = 50

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass
class _Batch:
    """What the hand-offs of one batch have touched so far, per agency."""

    seen: dict[str, set[str]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # agencies with a file not read here


@dataclass(frozen=True)
class _Judged:
    agency_id: str
    batch: _Batch
    prepared: Prepared | None
    read: bool  # its IntakeIDs are known (False: large, unreadable, or owned elsewhere)
    intake_ids: frozenset[str]


@dataclass(frozen=True)
class _Read:
    claimed: ClaimedFile
    sha256: str
    frame: pd.DataFrame


class Pending(Protocol[T_co]):
    """A started hand-off (a Prefect future, a ``concurrent.futures.Future``)."""

    def result(self) -> T_co: ...


class BatchJudge:
    """Batch verdicts waiting for their hand-offs, by claim id (thread-safe; in memory)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, _Judged] = {}
        self._ready: dict[str, Prepared | None] = {}
        self._known: dict[str, frozenset[str]] = {}  # IntakeIDs of each claim read here

    def judge(self, pipe: Handoff, claims: Sequence[ClaimedFile]) -> int:
        """Judge the small claims of one batch together; returns how many got a verdict.

        Never raises for a problem of one file or of the validation (see the module
        docstring); each claim's verdict waits for :meth:`take`.
        """
        batch = _Batch()
        read: list[_Read] = []
        refused: set[str] = set()  # the reader turned them back: they deliver nothing
        for claimed in claims:
            try:
                got = _read_small(pipe, claimed)
            except FileRejected:  # its own hand-off rejects it (the same bytes, same rule)
                refused.add(claimed.claim_id)
                got = None
            except Exception as exc:  # its own hand-off meets the problem and answers it
                log.info("claim %s judged alone: %s", claimed.claim_id, type(exc).__name__)
                got = None
            if got is not None:
                read.append(got)
        prepared = _validate(pipe, read)
        ids = {r.claimed.claim_id: _intake_ids(r.frame) for r in read}
        ids.update(dict.fromkeys(refused, frozenset[str]()))
        with self._lock:
            for claim_id, known in ids.items():
                self._known[claim_id] = known
            for claimed in claims:
                self._waiting[claimed.claim_id] = _Judged(
                    agency_id=claimed.agency_id,
                    batch=batch,
                    prepared=prepared.get(claimed.claim_id),
                    read=claimed.claim_id in ids,
                    intake_ids=ids.get(claimed.claim_id, frozenset()),
                )
        return len(prepared)

    def take(self, claimed: ClaimedFile) -> Prepared | None:
        """The batch verdict for ``claimed``, or None (judge it alone: see the contract).

        Call once per claim, in hand-off order, just before its hand-off."""
        with self._lock:
            judged = self._waiting.pop(claimed.claim_id, None)
            if judged is None:
                return None
            agency, batch = judged.agency_id, judged.batch
            seen = batch.seen.setdefault(agency, set())
            usable = (
                judged.prepared is not None
                and agency not in batch.unknown
                and seen.isdisjoint(judged.intake_ids)
            )
            if not judged.read:
                batch.unknown.add(agency)
            seen.update(judged.intake_ids)
            return judged.prepared if usable else None

    def forget(self, claim_ids: Sequence[str]) -> None:
        """Drop waiting verdicts (claims handed off elsewhere, or a run that ended early)."""
        with self._lock:
            for claim_id in claim_ids:
                self._waiting.pop(claim_id, None)
                self._ready.pop(claim_id, None)
                self._known.pop(claim_id, None)

    def hand_off_in_order(
        self,
        claims: Sequence[ClaimedFile],
        start: Callable[[ClaimedFile], Pending[T]],
        *,
        workers: int = 1,
    ) -> list[T]:
        """Start each claim's hand-off in claim order, at most ``workers`` at a time, and
        return their results in that order. ``start`` begins one hand-off, which gets its
        verdict from :meth:`ready` (decided here, in claim order, by :meth:`take`).

        A claim waits for every running hand-off it could depend on: one of the same agency
        sharing an IntakeID with it, or whose IntakeIDs (or its own) were not read here.
        Files of one agency with disjoint IntakeIDs cannot change each other's verdicts, so
        every file's outcome is the one the claim order alone gives.
        """
        running: list[tuple[ClaimedFile, Pending[T]]] = []
        results: dict[str, T] = {}
        for claimed in claims:
            while running and (
                len(running) >= max(1, workers)
                or any(self._depends(claimed, other) for other, _ in running)
            ):
                done, pending = running.pop(0)  # the oldest first: claim order
                results[done.claim_id] = pending.result()
            prepared = self.take(claimed)
            with self._lock:
                self._ready[claimed.claim_id] = prepared
            running.append((claimed, start(claimed)))
        for done, pending in running:
            results[done.claim_id] = pending.result()
        return [results[c.claim_id] for c in claims]

    def ready(self, claim_id: str) -> Prepared | None:
        """The verdict :meth:`hand_off_in_order` decided for a started claim (once)."""
        with self._lock:
            return self._ready.pop(claim_id, None)

    def _depends(self, claimed: ClaimedFile, other: ClaimedFile) -> bool:
        if claimed.agency_id != other.agency_id:
            return False
        with self._lock:
            mine, theirs = self._known.get(claimed.claim_id), self._known.get(other.claim_id)
        return mine is None or theirs is None or not mine.isdisjoint(theirs)


def hand_off_batch(
    pipe: Handoff,
    claims: Sequence[ClaimedFile],
    *,
    workers: int = HAND_OFF_WORKERS,
    around: Callable[[ClaimedFile], contextlib.AbstractContextManager[object]] | None = None,
    on_attempt: Callable[[ClaimedFile, Attempt], None] | None = None,
) -> list[Attempt]:
    """Judge ``claims`` together, then hand each off guarded (usecases/isolation.py), up to
    ``workers`` at once in threads (see :meth:`BatchJudge.hand_off_in_order`); one
    :class:`~usecases.isolation.Attempt` per claim, in claim order.

    ``around`` wraps each claim's hand-off (e.g. a progress display); ``on_attempt`` is told
    each claim's attempt as soon as it ends (e.g. to publish its outcome). Both run in the
    hand-off's thread, in a copy of the caller's context (so a caller's run-scoped logger
    works there); an exception from either is the caller's and propagates.
    """
    judge = BatchJudge()
    judge.judge(pipe, claims)

    def hand_off(claimed: ClaimedFile) -> Attempt:
        prepared = judge.ready(claimed.claim_id)
        with around(claimed) if around is not None else contextlib.nullcontext():
            attempt = hand_off_guarded(pipe, claimed, prepared=prepared)
        if on_attempt is not None:
            on_attempt(claimed, attempt)
        return attempt

    def start(claimed: ClaimedFile) -> Future[Attempt]:
        return pool.submit(contextvars.copy_context().run, hand_off, claimed)

    try:
        with pipe.report_pages_once(), ThreadPoolExecutor(max(1, workers)) as pool:
            return judge.hand_off_in_order(claims, start, workers=workers)
    finally:
        judge.forget([c.claim_id for c in claims])


def _read_small(pipe: Handoff, claimed: ClaimedFile) -> _Read | None:
    """Make the claim's private copy (under its lock, as the hand-off would) and read it
    whole if it is small and one chunk; None otherwise (or if another process owns it)."""
    with claim_lock(pipe.layout.work, claimed.claim_id) as owned:
        if not owned or not claimed.path.exists():
            return None
        pipe.settings.agency(claimed.agency_id)  # an unknown agency: handled alone
        copy = pipe.copy_of(claimed)
        limit = min(pipe.settings.intake.max_bytes, SMALL_FILE_BYTES)
        if not private_copy(claimed.path, copy, pipe.settings.intake.max_bytes):
            return None
        if os.lstat(copy).st_size > limit:
            return None
        frames = list(pipe.read_chunks(copy))
        if len(frames) != 1:
            return None
        return _Read(claimed, sha256_file(copy), frames[0])


def _validate(pipe: Handoff, read: list[_Read]) -> dict[str, Prepared]:
    """One pandera validation per (agency, source format), folded back per claim id."""
    groups: dict[tuple[str, SourceFormat], list[_Read]] = {}
    for item in read:
        fmt = source_format_of(item.claimed.path)
        groups.setdefault((item.claimed.agency_id, fmt), []).append(item)
    prepared: dict[str, Prepared] = {}
    for (agency_id, fmt), members in groups.items():
        context = pipe.validation_context(agency_id, fmt)
        options = NormaliseOptions(
            today=context.today, date_order=context.date_order, source_format=fmt
        )
        for start in range(0, len(members), JUDGE_FILES):
            part = members[start : start + JUDGE_FILES]
            for item in part:
                plant_leak(item.frame)  # a no-op unless the canary sweep's test switch is on
            try:
                results = validate_batch({m.claimed.claim_id: m.frame for m in part}, context)
            except Exception as exc:  # each file of the group is then judged alone
                log.error(
                    "batch validation failed for agency %s: %s", agency_id, type(exc).__name__
                )
                continue
            for item in part:
                result = results[item.claimed.claim_id]
                if isinstance(result, FileRejected):
                    continue  # its own hand-off rejects it with the same rule
                verdict = _verdict(item.frame, result, options, fmt)
                prepared[item.claimed.claim_id] = Prepared(
                    sha256=item.sha256, verdict=verdict, frames=[result.frame]
                )
    return prepared


def _verdict(
    frame: pd.DataFrame, outcome: ValidationOutcome, options: NormaliseOptions, fmt: SourceFormat
) -> Verdict:
    """The :class:`~usecases.handoff.Verdict` ``Handoff._validate`` gives a one-chunk file
    (``outcome`` already has the cross-row verdicts folded in)."""
    rows = frame.index.to_numpy() + FIRST_DATA_ROW
    sendable = set(rows[np.asarray(outcome.sendable, dtype=bool)].tolist())
    ids: dict[int, str] = {}
    if "IntakeID" in frame.columns:
        every = dict(zip(rows.tolist(), frame["IntakeID"].tolist(), strict=True))
        ids = {row: str(every[row]) for row in sendable}
    return Verdict(
        spec_version=outcome.spec_version,
        source_format=fmt,
        rows_total=len(frame),
        sendable=sendable,
        held=dict(outcome.not_transmittable),
        problems=list(outcome.problems),
        intake_ids=ids,
        normalise=options,
    )


def _intake_ids(frame: pd.DataFrame) -> frozenset[str]:
    if "IntakeID" not in frame.columns:
        return frozenset()
    with contextlib.suppress(Exception):
        return frozenset(str(v) for v in frame["IntakeID"].tolist())
    return frozenset()


__all__ = [
    "BATCH_FILES",
    "HAND_OFF_WORKERS",
    "JUDGE_FILES",
    "SMALL_FILE_BYTES",
    "BatchJudge",
    "Pending",
    "hand_off_batch",
    "log",
]
