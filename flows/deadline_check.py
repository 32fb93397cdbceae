"""The deadline check: flag records, emit due-soon/overdue events, refresh the dashboard."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.events import emit_record_flags
from flows.notify_overdue import notify_overdue
from flows.runtime import pipeline
from hmis_handoff.deadlines import flag_pairs, timeliness_by, today_in
from hmis_handoff.ledger.scan import record_details
from hmis_handoff.retention import purge_expired

# Artifacts and events list at most this many ids; the counts are always complete.
MAX_LISTED = 500


@task(name="flag-records", persist_result=False, cache_policy=NO_CACHE)
def flag_records(as_of: str | None = None) -> dict[str, Any]:
    """Compute flags as of a date; emit one event per (agency, partner, flag) that needs action."""
    pipe = pipeline()
    settings = pipe.settings
    when = date.fromisoformat(as_of) if as_of else today_in(settings)
    pairs = flag_pairs(settings, pipe.ledger, as_of=when)
    counts: dict[str, int] = defaultdict(int)
    overdue_ids: list[int] = []
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
        overdue_ids.extend(pair.overdue_ids[:MAX_LISTED])
    overdue = record_details(pipe.ledger, overdue_ids[:MAX_LISTED])
    create_table_artifact(
        key="overdue-records",
        table=[
            {
                "intake_id": r["intake_id"],
                "agency": r["agency_id"],
                "partner": r["partner_id"],
                "intake_date": r["intake_date"].isoformat(),
                "due": r["due_date"].isoformat(),
                "submitted_late": bool(r["submitted_late"]),
            }
            for r in sorted(overdue, key=lambda r: (r["due_date"], r["id"]))
        ]
        or [
            {
                "intake_id": "-",
                "agency": "-",
                "partner": "-",
                "intake_date": "-",
                "due": "-",
                "submitted_late": False,
            }
        ],
        description=(
            f"Records not entered into HMIS by their due date, as of {when} "
            f"({counts['overdue']} in all; at most {MAX_LISTED} per pair listed)."
        ),
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
    create_markdown_artifact(
        key="deadline-summary",
        markdown=_summary_markdown(when, totals),
        description="Counts of records by timeliness flag.",
    )
    get_run_logger().info("deadline check as of %s: %s", when, totals)
    return {"as_of": when.isoformat(), "counts": totals}


def _summary_markdown(when: date, counts: dict[str, int]) -> str:
    lines = [f"# Timeliness as of {when}", "", "| flag | records |", "|---|---|"]
    for flag in (
        "overdue",
        "due_soon",
        "pending",
        "entered_late",
        "entered_on_time",
        "not_transmittable",
    ):
        lines.append(f"| {flag} | {counts.get(flag, 0)} |")
    return "\n".join(lines)


@task(name="purge-expired-originals", persist_result=False, cache_policy=NO_CACHE)
def purge_expired_originals() -> dict[str, int]:
    """Retention: delete encrypted originals older than the configured days."""
    pipe = pipeline()
    retention = pipe.settings.retention
    result = purge_expired(
        pipe.layout.archive,
        pipe.layout.quarantine,
        archive_days=retention.archive_days,
        rejected_days=retention.rejected_days,
        today=today_in(pipe.settings),
    )
    return {"archive": result.archive_removed, "quarantine": result.quarantine_removed}


@flow(name="deadline-check", persist_result=False, log_prints=False)
def deadline_check(as_of: str | None = None) -> dict[str, Any]:
    """Flag every record against its 3-business-day due date (``as_of``: YYYY-MM-DD);
    then apply the retention setting to encrypted originals."""
    result = flag_records(as_of)
    notify_overdue(result["as_of"])
    result["purged"] = purge_expired_originals()
    return result
