"""The ingest flow: recover, sweep the drop folders, hand off each claimed file.

The whole path is :func:`ingest`, below. Files settled together are handed off together:
each slice of up to :data:`BATCH_FILES` claims is one :func:`hand_off_files` task run,
which runs the same use case as ``handoff process`` (:func:`usecases.handoff_batch.
hand_off_batch`): the small files are judged as one frame, then every claim is handed off
on its own (own package, report, ledger row, outcome event and log line; one failing claim
never stops the others, usecases/isolation.py), up to :data:`HAND_OFF_WORKERS` at once
where no file's verdict can depend on another's. One task run per slice, not per file:
a task run costs the server several state writes and events, which for a backlog of small
files cost more than the hand-offs themselves (README, Figures). The sweep's tasks are in
flows/intake_sweep.py; the run's summary, names and artifact rows in
usecases/ingest_outcomes.py.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run, task_run
from prefect.states import Completed

from connectors.dropfolder import ClaimedFile
from flows.dashboard import (
    advance,
    file_progress,
    refresh_deadlines,
    refresh_intake_summary,
    start_progress,
)
from flows.deliver import deliver_outstanding
from flows.events import emit_file_outcome
from flows.guard import value_free
from flows.intake_sweep import claimed, sweep_drop_folders
from flows.remote_intake import sync_remote_drops
from flows.run_labels import ids_tags, label_current_run
from flows.runtime import current_handoff
from hmis_handoff import clock
from usecases.handoff_batch import BATCH_FILES, HAND_OFF_WORKERS, hand_off_batch
from usecases.ingest_outcomes import (
    IngestSummary,
    batch_label,
    claim_label,
    files_label,
    last_run_table,
    run_label,
    run_outcome,
    state_message,
    summarise,
)
from usecases.isolation import Attempt

__all__ = [
    "PROGRESS_FROM_FILES",
    "hand_off_files",
    "hand_off_run_name",
    "ingest",
    "ingest_run_name",
    "recover_work_area",
]

#: A run with at least this many files to hand off keeps an ``ingest-progress`` artifact.
PROGRESS_FROM_FILES = 5
_LAST_RUN = "Files handed off in the latest ingest run (ids and counts only)."


# Names are looked up when a run starts (the helpers are defined below the flow).
@flow(name="ingest", flow_run_name=lambda: ingest_run_name(), persist_result=False,
      log_prints=False)  # fmt: skip
@value_free
def ingest(
    claim_ids: list[str] | None = None, sweep: bool = True, agencies: list[str] | None = None
) -> IngestSummary:
    """Hand off claimed files: crash leftovers first, then ``claim_ids``, then a sweep.

    Parameters are claim ids (random hex), a flag and ``agencies`` (ids; flows/dispatch.py:
    only their files, all when None): nothing identifying. Ends Completed,
    named by :func:`run_outcome` (``Delivered``, ``Refused``, ``Held back``, ``Duplicate``
    or ``Completed``); the result is the run's :class:`IngestSummary`.
    """
    todo = list(dict.fromkeys([*recover_work_area(agencies), *(claim_ids or [])]))
    remote = any(a.drop_url for a in current_handoff().settings.agencies)
    if sweep:
        if remote:  # remote drop folders (drop_url) feed the local ones first (issue #16)
            sync_remote_drops()
        todo.extend(c for c in sweep_drop_folders(agencies=agencies) if c not in todo)
    big = len(todo) >= PROGRESS_FROM_FILES
    progress = start_progress("ingest-progress", "Backlog hand-off") if big else None
    attempts: list[Attempt] = []
    for start in range(0, len(todo), BATCH_FILES):
        attempts += hand_off_files(todo[start : start + BATCH_FILES])
        if progress is not None:
            advance(progress, 100.0 * (start + BATCH_FILES) / len(todo))
    outcomes = [a.outcome.as_dict() for a in attempts if a.outcome is not None]
    deliver_outstanding()  # partner channels (SFTP push, e-mail); none configured: nothing
    if remote and outcomes:  # receipts back to the agencies; finished remote copies removed
        sync_remote_drops(max_wait_seconds=0.0)
    summary = summarise(outcomes, claims_failed=sum(a.failed for a in attempts))
    if outcomes:
        create_table_artifact(
            key="intake-last-run", table=last_run_table(outcomes), description=_LAST_RUN
        )
        refresh_deadlines()
        refresh_intake_summary()
    state_name, word = run_outcome(outcomes)
    ids = ids_tags([o["agency_id"] for o in outcomes], [o["partner_id"] for o in outcomes])
    label_current_run(run_label(outcomes), ["ingest", *ids, f"outcome:{word}"])
    # Prefect ends the run in this state and hands the caller its data (the summary).
    message = state_message(summary)
    final: State[IngestSummary] = Completed(name=state_name, data=summary, message=message)
    return cast(IngestSummary, final)


@task(name="recover-work-area", task_run_name="recover work area", persist_result=False,
      cache_policy=NO_CACHE)  # fmt: skip
def recover_work_area(agencies: list[str] | None = None) -> list[str]:
    """Remove crash leftovers; return the claims of ``agencies`` (all: None) still waiting."""
    return [
        leftover.claim_id
        for leftover in current_handoff().recover()
        if agencies is None or leftover.agency_id in agencies
    ]


@task(name="hand-off-files", task_run_name=lambda: hand_off_run_name(), persist_result=False,
      cache_policy=NO_CACHE)  # fmt: skip
def hand_off_files(claim_ids: list[str]) -> list[Attempt]:
    """Judge the claims together, then validate, package, report and record each on its
    own, publishing each file's outcome (event, log line) as soon as it has one. Never
    raises for a file (usecases/isolation.py); one :class:`Attempt` per claim still
    waiting, in claim order. Verdicts (they carry rows) stay in this process's memory."""
    files = [c for c in map(claimed, claim_ids) if c is not None]
    logger = get_run_logger()

    def progress_of(file: ClaimedFile) -> AbstractContextManager[None]:
        return file_progress(file.path, claim_label(file.agency_id, file.claim_id))

    def publish(_file: ClaimedFile, attempt: Attempt) -> None:
        if attempt.outcome is None:
            return
        outcome = attempt.outcome
        emit_file_outcome(outcome)
        logger.info(
            "file %s (agency %s): %s, %d sent, %d held back, %d not transmittable, rule %s",
            outcome.file_ref, outcome.agency_id, outcome.state, outcome.rows_sent,
            outcome.rows_held, outcome.rows_not_transmittable, outcome.reject_rule or "-",
        )  # fmt: skip

    return hand_off_batch(
        current_handoff(), files, workers=HAND_OFF_WORKERS, around=progress_of, on_attempt=publish
    )


def hand_off_run_name() -> str:
    """``hand off <agency> claim <id>`` for one file, ``hand off <agencies> <n> files`` for
    more: the step and whose files, from the claims' ids."""
    claim_ids = map(str, task_run.parameters.get("claim_ids") or [])
    files = [c for c in map(claimed, claim_ids) if c is not None]
    return f"hand off {files_label([(c.agency_id, c.claim_id) for c in files]) or 'no files'}"


def ingest_run_name() -> str:
    """``ingest <agency> claim <id>`` for the watcher's runs, ``ingest sweep <time>`` else;
    renamed ``ingest <agency> <file ref>`` once the file's content hash is known."""
    files = [c for c in map(claimed, map(str, flow_run.parameters.get("claim_ids") or [])) if c]
    stamp = clock.now().astimezone(current_handoff().settings.tz).strftime("%Y-%m-%d %H:%M")
    return batch_label([(c.agency_id, c.claim_id) for c in files]) or f"ingest sweep {stamp}"
