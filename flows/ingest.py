"""The ingest flow: recover, sweep the drop folders, hand off each claimed file.

The whole path is :func:`ingest`, below. Files settled together are handed off together:
each slice of up to :data:`BATCH_FILES` claims is first judged as one frame
(:func:`judge_batch`, usecases/handoff_batch.py), then every claim is handed off on its own
(:func:`hand_off_file`: own package, report, ledger row and outcome; one failing claim never
stops the others, usecases/isolation.py), up to :data:`HAND_OFF_WORKERS` at once where no
file's verdict can depend on another's (:meth:`BatchJudge.hand_off_in_order`). The sweep's
tasks are in flows/intake_sweep.py; the run's summary, names and artifact rows in
usecases/ingest_outcomes.py.
"""

from __future__ import annotations

from typing import cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
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
from usecases.handoff_batch import BATCH_FILES, HAND_OFF_WORKERS, BatchJudge
from usecases.ingest_outcomes import (
    IngestSummary,
    batch_label,
    claim_label,
    last_run_table,
    run_label,
    run_outcome,
    state_message,
    summarise,
)
from usecases.isolation import Attempt, hand_off_guarded

__all__ = [
    "PROGRESS_FROM_FILES",
    "hand_off_file",
    "hand_off_run_name",
    "ingest",
    "ingest_run_name",
    "judge_batch",
    "recover_work_area",
]

#: A run with at least this many files to hand off keeps an ``ingest-progress`` artifact.
PROGRESS_FROM_FILES = 5
#: Batch verdicts wait here, in this process's memory, never in a Prefect parameter.
_JUDGE = BatchJudge()
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
        batch = [c for c in map(claimed, todo[start : start + BATCH_FILES]) if c is not None]
        try:
            judge_batch([c.claim_id for c in batch])
            with current_handoff().report_pages_once():  # each agency's index page once per batch
                attempts += _JUDGE.hand_off_in_order(batch, _start, workers=HAND_OFF_WORKERS)
        finally:
            _JUDGE.forget([c.claim_id for c in batch])  # verdicts carry rows: never kept
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


@task(name="judge-batch", task_run_name="judge files together", persist_result=False,
      cache_policy=NO_CACHE)  # fmt: skip
def judge_batch(claim_ids: list[str]) -> int:
    """Validate the small files among ``claim_ids`` as one frame per agency; their verdicts
    wait in memory for :func:`hand_off_file`. Returns how many files got one."""
    return _JUDGE.judge(current_handoff(), [c for c in map(claimed, claim_ids) if c is not None])


@task(name="hand-off-file", task_run_name=lambda: hand_off_run_name(), persist_result=False,
      cache_policy=NO_CACHE)  # fmt: skip
def hand_off_file(claim_id: str) -> Attempt:
    """Validate, package, report and record one claimed file (never raises for it)."""
    file = claimed(claim_id)
    if file is None:
        return Attempt(None)
    with file_progress(file.path, claim_label(file.agency_id, claim_id)):
        attempt = hand_off_guarded(current_handoff(), file, prepared=_JUDGE.ready(claim_id))
    if attempt.outcome is not None:
        outcome = attempt.outcome
        emit_file_outcome(outcome)
        get_run_logger().info(
            "file %s (agency %s): %s, %d sent, %d held back, %d not transmittable, rule %s",
            outcome.file_ref, outcome.agency_id, outcome.state, outcome.rows_sent,
            outcome.rows_held, outcome.rows_not_transmittable, outcome.reject_rule or "-",
        )  # fmt: skip
    return attempt


def _start(file: ClaimedFile) -> PrefectFuture[Attempt]:
    return hand_off_file.submit(file.claim_id)  # in a thread of the flow's task runner


def hand_off_run_name() -> str:
    """``hand off <agency> claim <id>``: the step and whose file, from the claim's ids."""
    claim_id = str(task_run.parameters.get("claim_id", ""))
    file = claimed(claim_id)
    return f"hand off {claim_label(file.agency_id if file else 'unknown', claim_id)}"


def ingest_run_name() -> str:
    """``ingest <agency> claim <id>`` for the watcher's runs, ``ingest sweep <time>`` else;
    renamed ``ingest <agency> <file ref>`` once the file's content hash is known."""
    files = [c for c in map(claimed, map(str, flow_run.parameters.get("claim_ids") or [])) if c]
    stamp = clock.now().astimezone(current_handoff().settings.tz).strftime("%Y-%m-%d %H:%M")
    return batch_label([(c.agency_id, c.claim_id) for c in files]) or f"ingest sweep {stamp}"
