"""The deadline check: flag records, emit due-soon/overdue events, refresh the dashboard."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TypedDict

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.dashboard import (
    advance,
    refresh_deadlines,
    refresh_intake_summary,
    refresh_runbook,
    refresh_trend,
    start_progress,
)
from flows.events import emit_record_flags
from flows.guard import value_free
from flows.notify_overdue import notify_overdue
from flows.run_labels import ids_tags, label_current_run
from flows.runtime import current_handoff
from hmis_handoff.deadlines import flag_pairs, timeliness_by, today_in
from hmis_handoff.ledger.scan import record_details
from hmis_handoff.retention import purge_expired

__all__ = [
    "MAX_LISTED",
    "DeadlineChecked",
    "Flagged",
    "Purged",
    "deadline_check",
    "deadline_run_name",
    "flag_records",
    "purge_expired_originals",
]

# Artifacts and events list at most this many ids; the counts are always complete.
MAX_LISTED = 500


class Flagged(TypedDict):
    """The day the flags were computed for, and the non-zero count of each flag."""

    as_of: str
    counts: dict[str, int]


class Purged(TypedDict):
    """Encrypted originals removed by retention, per folder."""

    archive: int
    quarantine: int


class DeadlineChecked(Flagged):
    """:class:`Flagged`, and what retention removed after it."""

    purged: Purged


@task(
    name="flag-records",
    task_run_name="flag records",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def flag_records(as_of: str | None = None) -> Flagged:
    """Compute flags as of a date; emit one event per (agency, partner, flag) that needs action."""
    pipe = current_handoff()
    settings = pipe.settings
    when = date.fromisoformat(as_of) if as_of else today_in(settings)
    pairs = flag_pairs(settings, pipe.ledger, as_of=when)
    counts: dict[str, int] = defaultdict(int)
    for pair in pairs:
        for flag, n in pair.counts.items():
            counts[flag] += n
        for event, ids in (
            ("handoff.record.due-soon", pair.due_soon_ids),
            ("handoff.record.overdue", pair.overdue_ids),
        ):
            if ids:
                listed = record_details(pipe.ledger, ids[:MAX_LISTED])
                emit_record_flags(
                    event,
                    pair.agency,
                    pair.partner,
                    [str(r["intake_id"]) for r in listed],
                    when.isoformat(),
                    count=len(ids),
                )
    by_agency = timeliness_by(settings, pipe.ledger, group="agency", as_of=when)
    by_partner = timeliness_by(settings, pipe.ledger, group="partner", as_of=when)
    if by_agency:
        create_table_artifact(
            key="timeliness-by-agency",
            table=by_agency,
            description=f"Timeliness per agency as of {when}.",
        )
    if by_partner:
        create_table_artifact(
            key="timeliness-by-partner",
            table=by_partner,
            description=f"Timeliness per partner as of {when}.",
        )
    totals = {flag: int(n) for flag, n in counts.items() if n}
    get_run_logger().info("deadline check as of %s: %s", when, totals)
    return Flagged(as_of=when.isoformat(), counts=totals)


@task(
    name="purge-expired-originals",
    task_run_name="purge expired originals",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def purge_expired_originals() -> Purged:
    """Retention: delete encrypted originals older than the configured days."""
    pipe = current_handoff()
    retention = pipe.settings.retention
    result = purge_expired(
        pipe.layout.archive,
        pipe.layout.quarantine,
        archive_days=retention.archive_days,
        rejected_days=retention.rejected_days,
        today=today_in(pipe.settings),
    )
    return Purged(archive=result.archive_removed, quarantine=result.quarantine_removed)


def deadline_run_name() -> str:
    """``deadline-check <as-of date>`` (the date the flags are computed for)."""
    as_of = flow_run.parameters.get("as_of")
    return f"deadline-check {as_of or today_in(current_handoff().settings)}"


@flow(
    name="deadline-check",
    flow_run_name=deadline_run_name,
    persist_result=False,
    log_prints=False,
)
@value_free
def deadline_check(as_of: str | None = None) -> DeadlineChecked:
    """Flag every record against its 3-business-day due date (``as_of``: YYYY-MM-DD);
    refresh the dashboard; then apply the retention setting to encrypted originals."""
    progress = start_progress(
        key="deadline-progress", description="Deadline check: flags, dashboard, notices"
    )
    flagged = flag_records(as_of)
    advance(progress, 40.0)
    board = refresh_deadlines(flagged["as_of"])
    refresh_intake_summary()
    refresh_trend(flagged["as_of"])
    refresh_runbook()
    advance(progress, 80.0)
    notify_overdue(flagged["as_of"])
    result = DeadlineChecked(**flagged, purged=purge_expired_originals())
    advance(progress, 100.0)
    overdue = bool(result["counts"].get("overdue"))
    label_current_run(
        tags=[
            "deadlines",
            *ids_tags(board["overdue_agencies"], board["overdue_partners"]),
            f"outcome:{'overdue' if overdue else 'on-track'}",
        ]
    )
    return result
