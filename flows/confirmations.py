"""Confirmations and reconciliation: every partner's inbox, one task per partner.

Each partner's confirmation files and HMIS exports are handled by
:func:`usecases.partner_inbox.process_inbox`; records newly marked entered are announced as
``handoff.record.entered`` events (one per agency-partner pair, intake ids only). Task
parameters are partner ids; results are counts and rule ids.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.dashboard import refresh_deadlines, refresh_trend
from flows.events import emit_record_flags
from flows.guard import value_free
from flows.run_labels import ids_tags, label_current_run
from flows.runtime import current_handoff
from hmis_handoff.deadlines import today_in
from hmis_handoff.ledger import Ledger
from usecases.partner_inbox import InboxSummary, process_inbox

__all__ = ["confirmations", "confirmations_run_name", "partner_inbox"]


@task(
    name="partner-inbox",
    task_run_name="partner inbox {partner_id}",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def partner_inbox(partner_id: str) -> InboxSummary:
    """Process one partner's confirmations folder; emit ``handoff.record.entered``."""
    settings = current_handoff().settings
    # Its own connection: the confirmations watcher runs this beside the ingest thread.
    ledger = Ledger(settings.ledger_url)
    try:
        outcome = process_inbox(settings, partner_id, ledger=ledger)
    finally:
        ledger.close()
    when = today_in(settings).isoformat()
    for agency_id, intake_ids in sorted(outcome.newly_entered().items()):
        emit_record_flags("handoff.record.entered", agency_id, partner_id, intake_ids, when)
    summary = outcome.summary()
    get_run_logger().info(
        "partner %s: %d confirmation files, %d exports, %d newly entered",
        partner_id,
        summary["confirmation_files"],
        summary["exports"],
        summary["newly_entered"],
    )
    return summary


def confirmations_run_name() -> str:
    return f"confirmations {today_in(current_handoff().settings)}"


@flow(
    name="confirmations",
    flow_run_name=confirmations_run_name,
    persist_result=False,
    log_prints=False,
)
@value_free
def confirmations() -> list[InboxSummary]:
    """Handle every partner's confirmations inbox and refresh the ``confirmations`` table."""
    results = [partner_inbox(partner.id) for partner in current_handoff().settings.partners]
    create_table_artifact(
        key="confirmations-inbox",
        table=[{**r, "refused": ", ".join(r["refused"]) or "-"} for r in results]
        or [
            {
                "partner": "-",
                "confirmation_files": 0,
                "exports": 0,
                "refused": "-",
                "newly_entered": 0,
                "left_for_next_pass": 0,
            }
        ],
        description="Last pass over the partners' confirmations folders (counts only).",
    )
    refresh_deadlines()
    refresh_trend()
    entered = sum(r["newly_entered"] for r in results)
    label_current_run(
        tags=[
            "confirmations",
            *ids_tags([], [r["partner"] for r in results if r["newly_entered"] or r["refused"]]),
            f"outcome:{'entered' if entered else 'none'}",
        ]
    )
    return results
