"""The ingest flow: recover, sweep the drop folders, hand off each claimed file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from connectors.dropfolder import (
    ClaimedFile,
    DropFolderScanner,
    Refusal,
    ScanResult,
    SettlePolicy,
    claim,
    load_claim,
)
from flows.deliver import deliver_outstanding
from flows.events import emit_file_detected, emit_file_outcome, emit_refusal
from flows.remote_intake import sync_remote_drops
from flows.runtime import pipeline
from hmis_handoff.config import Settings
from hmis_handoff.layout import Layout
from hmis_handoff.pipeline import load_or_create_secret


def _claimed(claim_id: str) -> ClaimedFile | None:
    return load_claim(pipeline().layout.work, claim_id)


@task(name="recover-work-area", persist_result=False, cache_policy=NO_CACHE)
def recover_work_area() -> list[str]:
    """Remove crash leftovers; return the claims still waiting in the work area."""
    return [claimed.claim_id for claimed in pipeline().recover()]


@task(name="sweep-drop-folders", persist_result=False, cache_policy=NO_CACHE)
def sweep_drop_folders(max_wait_seconds: float = 30.0) -> list[str]:
    """Claim every settled file in every agency drop folder (one level-triggered sweep).

    A file must be seen unchanged for the settle window, so a one-off sweep looks twice;
    it returns once nothing is still settling or ``max_wait_seconds`` have passed.
    """
    pipe = pipeline()
    scanner, key = drop_scanner(pipe.settings)
    claimed: list[str] = []
    deadline = time.monotonic() + max_wait_seconds
    while True:
        result = scanner.scan()
        claimed.extend(claim_settled(result, pipe.layout.work, key))
        if not result.pending or time.monotonic() >= deadline:
            return claimed
        time.sleep(min(0.25, max(pipe.settings.intake.stable_seconds / 4, 0.05)))


def drop_scanner(settings: Settings) -> tuple[DropFolderScanner, bytes]:
    """A scanner over every configured agency's drop folder, and its fingerprint key."""
    layout = Layout(settings.root)
    key = load_or_create_secret(layout.hmac_key)
    scanner = DropFolderScanner(
        layout.agencies,
        [agency.id for agency in settings.agencies],
        SettlePolicy(stable_seconds=settings.intake.stable_seconds),
        fingerprint_key=key,
    )
    return scanner, key


def claim_settled(result: ScanResult, work: Path, key: bytes) -> list[str]:
    """Answer the scan's refusals and claim its settled files; returns the claim ids."""
    for refusal in result.refused:
        answer_refusal(refusal)
    claim_ids: list[str] = []
    for candidate in result.settled:
        got = claim(candidate, work, fingerprint_key=key)
        if got is not None:
            emit_file_detected(got.agency_id, got.name_fingerprint, dispatch="inline")
            claim_ids.append(got.claim_id)
    return claim_ids


def answer_refusal(refusal: Refusal) -> None:
    """Quarantine a refused object, report it to its agency, emit handoff.file.rejected."""
    quarantine_id = pipeline().answer_refusal(refusal)
    if quarantine_id is not None:
        emit_refusal(refusal.agency_id, refusal.fingerprint, refusal.reason_rule_id)


@task(name="hand-off-file", persist_result=False, cache_policy=NO_CACHE)
def hand_off_file(claim_id: str) -> dict[str, Any] | None:
    """Validate, package, report and record one claimed file; returns ids and counts."""
    claimed = _claimed(claim_id)
    if claimed is None:
        return None
    outcome = pipeline().process_claim(claimed)
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


@flow(name="ingest", persist_result=False, log_prints=False)
def ingest(claim_ids: list[str] | None = None, sweep: bool = True) -> dict[str, Any]:
    """Hand off claimed files: crash leftovers first, then ``claim_ids``, then a sweep.

    Parameters are claim ids (random hex) and a flag: nothing identifying.
    """
    todo = list(dict.fromkeys([*recover_work_area(), *(claim_ids or [])]))
    remote = any(a.drop_url for a in pipeline().settings.agencies)
    if sweep:
        if remote:  # remote drop folders (drop_url) feed the local ones first (issue #16)
            sync_remote_drops()
        todo.extend(c for c in sweep_drop_folders() if c not in todo)
    outcomes = [o for o in (hand_off_file(c) for c in todo) if o is not None]
    # Partner channels beside the outbox (SFTP push, e-mail): new packages and earlier
    # ones still outstanding (issue #16). No channel configured: nothing happens.
    deliver_outstanding()
    if remote and outcomes:  # receipts back to the agencies; finished remote copies removed
        sync_remote_drops(max_wait_seconds=0.0)
    summary = summarise(outcomes)
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
    return summary


def summarise(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by state and totals, for `handoff process --json` and the flow result."""
    by_state: dict[str, int] = {}
    for outcome in outcomes:
        by_state[outcome["state"]] = by_state.get(outcome["state"], 0) + 1
    return {
        "files": len(outcomes),
        "by_state": by_state,
        "rows_sent": sum(o["rows_sent"] for o in outcomes),
        "rows_held": sum(o["rows_held"] for o in outcomes),
        "rows_not_transmittable": sum(o["rows_not_transmittable"] for o in outcomes),
        "outcomes": outcomes,
    }
