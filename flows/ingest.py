"""The ingest flow: recover, sweep the drop folders, hand off each claimed file."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run, task_run
from prefect.states import Completed

from connectors.batches import fair_order
from connectors.dropfolder import (
    ClaimedFile,
    DropFolderScanner,
    Refusal,
    ScanResult,
    SettlePolicy,
    claim,
    load_claim,
)
from flows.dashboard import (
    advance,
    file_progress,
    refresh_deadlines,
    refresh_intake_summary,
    start_progress,
)
from flows.deliver import deliver_outstanding
from flows.direct import summarise
from flows.events import emit_file_detected, emit_file_outcome, emit_refusal
from flows.guard import value_free
from flows.remote_intake import sync_remote_drops
from flows.run_labels import ids_tags, label_current_run
from flows.runtime import pipeline
from hmis_handoff import clock
from hmis_handoff.config import Settings
from hmis_handoff.layout import Layout
from hmis_handoff.record_key import adopt_legacy_hmac_key
from usecases.handoff import load_or_create_secret
from usecases.isolation import hand_off_guarded


def _claimed(claim_id: str) -> ClaimedFile | None:
    return load_claim(pipeline().layout.work, claim_id)


@task(
    name="recover-work-area",
    task_run_name="recover work area",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def recover_work_area(agencies: list[str] | None = None) -> list[str]:
    """Remove crash leftovers; return the claims of ``agencies`` (all: None) still waiting."""
    return [c.claim_id for c in pipeline().recover() if agencies is None or c.agency_id in agencies]


@task(
    name="sweep-drop-folders",
    task_run_name="sweep drop folders",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def sweep_drop_folders(
    max_wait_seconds: float = 30.0, agencies: list[str] | None = None
) -> list[str]:
    """Claim every settled file in every agency drop folder (one level-triggered sweep).

    A file must be seen unchanged for the settle window, so a one-off sweep looks twice;
    it returns once nothing is still settling or ``max_wait_seconds`` have passed.
    """
    pipe = pipeline()
    scanner, key = drop_scanner(pipe.settings, agencies=agencies)
    claimed: list[str] = []
    deadline = time.monotonic() + max_wait_seconds
    while True:
        result = scanner.scan()
        # Round-robin across agencies: hand-offs go in claim order (connectors/batches.py).
        result = replace(result, settled=fair_order(result.settled))
        claimed.extend(claim_settled(result, pipe.layout.work, key))
        if not result.pending or time.monotonic() >= deadline:
            return claimed
        time.sleep(min(0.25, max(pipe.settings.intake.stable_seconds / 4, 0.05)))


def drop_scanner(
    settings: Settings, *, publish_signals: bool = False, agencies: list[str] | None = None
) -> tuple[DropFolderScanner, bytes]:
    """A scanner over every configured agency's drop folder, and its fingerprint key;
    ``publish_signals``: also settle by the kernel's rename/close events (local folders)."""
    layout = Layout(settings.root)
    adopt_legacy_hmac_key(layout)
    key = load_or_create_secret(layout.hmac_key)
    scanner = DropFolderScanner(
        layout.agencies,
        [a.id for a in settings.agencies if agencies is None or a.id in agencies],
        SettlePolicy(
            stable_seconds=settings.intake.stable_seconds,
            abandon_seconds=settings.intake.abandon_seconds,
        ),
        fingerprint_key=key,
        publish_signals=publish_signals,
    )
    return scanner, key


def claim_settled(result: ScanResult, work: Path, key: bytes) -> list[str]:
    """Answer the scan's refusals and claim its settled files; returns the claim ids."""
    for refusal in result.refused:
        try:
            answer_refusal(refusal)
        except Exception as exc:  # one object must not stop the others; retried next scan
            _log_isolated("answering a refused object", refusal.agency_id, exc)
    claim_ids: list[str] = []
    for candidate in result.settled:
        try:
            got = claim(candidate, work, fingerprint_key=key)
        except Exception as exc:  # left in the drop folder; the next scan tries again
            _log_isolated("claiming a file", candidate.agency_id, exc)
            continue
        if got is not None:
            # The agency's file name, for its receipt: kept only in its reports folder.
            pipeline().remember_file_name(
                got.agency_id, got.claim_id, os.fsdecode(candidate.path.name)
            )
            emit_file_detected(got.agency_id, got.name_fingerprint, dispatch="inline")
            claim_ids.append(got.claim_id)
    return claim_ids


def _log_isolated(action: str, agency_id: str, exc: Exception) -> None:
    """Type name only: an exception's message may carry a path or a value."""
    logging.getLogger(__name__).error(
        "%s failed for agency %s: %s", action, agency_id, type(exc).__name__
    )


def answer_refusal(refusal: Refusal) -> None:
    """Quarantine a refused object, report it to its agency, emit handoff.file.rejected."""
    quarantine_id = pipeline().answer_refusal(refusal)
    if quarantine_id is not None:
        emit_refusal(refusal.agency_id, refusal.fingerprint, refusal.reason_rule_id)


def hand_off_run_name() -> str:
    """``hand off <agency> claim <id>``: the step and whose file, from the claim's ids."""
    claim_id = str(task_run.parameters.get("claim_id", ""))
    claimed = _claimed(claim_id)
    agency = claimed.agency_id if claimed is not None else "unknown"
    return f"hand off {agency} claim {claim_id[:12]}"


@task(
    name="hand-off-file",
    task_run_name=hand_off_run_name,
    persist_result=False,
    cache_policy=NO_CACHE,
)
def hand_off_file(claim_id: str) -> dict[str, Any] | None:
    """Validate, package, report and record one claimed file; returns ids and counts."""
    claimed = _claimed(claim_id)
    if claimed is None:
        return None
    # Isolated: a claim that raises is counted and, after a few attempts, answered
    # FILE-PROCESSING-FAILED; it never ends the flow, so every other claim still moves.
    with file_progress(claimed.path, f"{claimed.agency_id} claim {claim_id[:12]}"):
        attempt = hand_off_guarded(pipeline(), claimed)
    if attempt.failed:
        return {"claim_id": claim_id, "state": "failed"}
    outcome = attempt.outcome
    if outcome is None:
        return None
    emit_file_outcome(outcome)
    get_run_logger().info(
        "file %s (agency %s): %s, %d sent, %d held back, %d not transmittable, rule %s",
        outcome.file_ref,
        outcome.agency_id,
        outcome.state,
        outcome.rows_sent,
        outcome.rows_held,
        outcome.rows_not_transmittable,
        outcome.reject_rule or "-",
    )
    return outcome.as_dict()


def ingest_run_name() -> str:
    """``ingest <agency> claim <id>`` for the watcher's runs, ``ingest sweep <time>`` else;
    renamed ``ingest <agency> <file ref>`` once the file's content hash is known."""
    claim_ids = flow_run.parameters.get("claim_ids") or []
    claims = [c for c in (_claimed(str(i)) for i in claim_ids) if c is not None]
    if len(claims) == 1:
        return f"ingest {claims[0].agency_id} claim {claims[0].claim_id[:12]}"
    if claims:
        return f"ingest {_agencies_label([c.agency_id for c in claims])} {len(claims)} files"
    stamp = clock.now().astimezone(pipeline().settings.tz).strftime("%Y-%m-%d %H:%M")
    return f"ingest sweep {stamp}"


@flow(name="ingest", flow_run_name=ingest_run_name, persist_result=False, log_prints=False)
@value_free
def ingest(
    claim_ids: list[str] | None = None, sweep: bool = True, agencies: list[str] | None = None
) -> dict[str, Any]:
    """Hand off claimed files: crash leftovers first, then ``claim_ids``, then a sweep.

    Parameters are claim ids (random hex), a flag and ``agencies`` (ids; flows/dispatch.py:
    only their files): nothing identifying. Ends Completed, named by :func:`run_outcome`
    (``Delivered``, ``Refused``, ``Held back``, ``Duplicate`` or ``Completed``); the result
    is :func:`summarise`'s dict.
    """
    todo = list(dict.fromkeys([*recover_work_area(agencies), *(claim_ids or [])]))
    remote = any(a.drop_url for a in pipeline().settings.agencies)
    if sweep:
        if remote:  # remote drop folders (drop_url) feed the local ones first (issue #16)
            sync_remote_drops()
        todo.extend(c for c in sweep_drop_folders(agencies=agencies) if c not in todo)
    progress = (
        start_progress(key="ingest-progress", description="Backlog hand-off")
        if len(todo) >= PROGRESS_FROM_FILES
        else None
    )
    results: list[dict[str, Any]] = []
    for done, claim_id in enumerate(todo, start=1):
        outcome = hand_off_file(claim_id)
        if outcome is not None:
            results.append(outcome)
        if progress is not None:
            advance(progress, 100.0 * done / len(todo))
    outcomes = [o for o in results if o["state"] != "failed"]
    # Partner channels beside the outbox (SFTP push, e-mail): new packages and earlier
    # ones still outstanding (issue #16). No channel configured: nothing happens.
    deliver_outstanding()
    if remote and outcomes:  # receipts back to the agencies; finished remote copies removed
        sync_remote_drops(max_wait_seconds=0.0)
    summary = summarise(outcomes)
    # Claims that raised this run: retried on the next run, given up after a few attempts.
    summary["claims_failed"] = len(results) - len(outcomes)
    if outcomes:
        create_table_artifact(
            key="intake-last-run",
            table=[
                {
                    k: o[k]
                    for k in (
                        "file_ref",
                        "agency_id",
                        "partner_id",
                        "state",
                        "rows_total",
                        "rows_sent",
                        "rows_held",
                        "rows_not_transmittable",
                        "warnings",
                        "reject_rule",
                        "package_id",
                    )
                }
                for o in outcomes
            ],
            description="Files handed off in the latest ingest run (ids and counts only).",
        )
        refresh_deadlines()
        refresh_intake_summary()
    state_name, word = run_outcome(outcomes)
    label_current_run(
        name=_final_name(outcomes),
        tags=[
            "ingest",
            *ids_tags([o["agency_id"] for o in outcomes], [o["partner_id"] for o in outcomes]),
            f"outcome:{word}",
        ],
    )
    # Prefect ends the run in this state and hands the caller its data (the summary).
    final: State[dict[str, Any]] = Completed(
        name=state_name, data=summary, message=_state_message(summary)
    )
    return cast(dict[str, Any], final)


# A run with at least this many files to hand off keeps an ``ingest-progress`` artifact.
PROGRESS_FROM_FILES = 5


def file_outcome(outcome: dict[str, Any]) -> str:
    """One file's outcome word: delivered, refused, held-back or duplicate."""
    if outcome["state"] == "rejected":
        return "refused"
    if outcome["state"] == "duplicate":
        return "duplicate"
    if outcome["state"] == "not_sent" or (
        outcome["state"] == "delivered" and outcome["rows_sent"] == 0
    ):
        return "held-back"
    return "delivered"


def run_outcome(outcomes: list[dict[str, Any]]) -> tuple[str, str]:
    """(Prefect state name, outcome tag word) for a run: the file needing most attention wins.

    The state type stays COMPLETED: the run did its job (the agency has its report), so no
    retry and no failure alarm; the name makes a refusal stand out in the run list.
    """
    words = {file_outcome(o) for o in outcomes}
    for word, name in (
        ("refused", "Refused"),
        ("held-back", "Held back"),
        ("delivered", "Delivered"),
        ("duplicate", "Duplicate"),
    ):
        if word in words:
            return name, word
    return "Completed", "none"


def _agencies_label(agencies: list[str]) -> str:
    unique = sorted(set(agencies))
    return unique[0] if len(unique) == 1 else f"{len(unique)} agencies"


def _final_name(outcomes: list[dict[str, Any]]) -> str | None:
    if len(outcomes) == 1:
        return f"ingest {outcomes[0]['agency_id']} {outcomes[0]['file_ref']}"
    if outcomes:
        label = _agencies_label([o["agency_id"] for o in outcomes])
        return f"ingest {label} {len(outcomes)} files"
    return None


def _state_message(summary: dict[str, Any]) -> str:
    states = ", ".join(f"{n} {s}" for s, n in sorted(summary["by_state"].items()))
    return f"{summary['files']} file(s): {states or 'none'}; {summary['rows_sent']} row(s) sent"
