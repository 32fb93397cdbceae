"""The deadline check: flag records, emit due-soon/overdue events, refresh the dashboard."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.events import emit_record_flags
from flows.notify_overdue import notify_overdue
from flows.runtime import pipeline
from hmis_handoff.deadlines import (
    calendar_for,
    compute_flags,
    load_records,
    policy_for,
    timeliness_by,
    today_in,
)
from hmis_handoff.retention import purge_expired


@task(name="flag-records", persist_result=False, cache_policy=NO_CACHE)
def flag_records(as_of: str | None = None) -> dict[str, Any]:
    """Compute flags as of a date; emit one event per (agency, partner, flag) that needs action."""
    pipe = pipeline()
    settings = pipe.settings
    when = date.fromisoformat(as_of) if as_of else today_in(settings)
    frame = load_records(pipe.ledger)
    flags = compute_flags(
        frame, as_of=when, calendar=calendar_for(settings), policy=policy_for(settings)
    )
    frame = frame.assign(flag=flags)
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    records: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
    for record in records:
        if record["flag"] in ("due_soon", "overdue"):
            key = (str(record["flag"]), str(record["agency_id"]), str(record["partner_id"]))
            groups[key].append(str(record["intake_id"]))
    for (flag, agency_id, partner_id), intake_ids in sorted(groups.items()):
        event = "handoff.record.due-soon" if flag == "due_soon" else "handoff.record.overdue"
        emit_record_flags(event, agency_id, partner_id, intake_ids, when.isoformat())
    create_table_artifact(
        key="overdue-records",
        table=[
            {
                "intake_id": r["intake_id"],
                "agency": r["agency_id"],
                "partner": r["partner_id"],
                "intake_date": pd.Timestamp(r["intake_date"]).date().isoformat(),
                "due": pd.Timestamp(r["due_date"]).date().isoformat(),
                "submitted_late": bool(r["submitted_late"]),
            }
            for r in records
            if r["flag"] == "overdue"
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
        description=f"Records not entered into HMIS by their due date, as of {when}.",
    )
    by_agency = timeliness_by(settings, frame, group="agency_id", as_of=when)
    by_partner = timeliness_by(settings, frame, group="partner_id", as_of=when)
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
    counts = frame["flag"].value_counts().to_dict() if len(frame) else {}
    create_markdown_artifact(
        key="deadline-summary",
        markdown=_summary_markdown(when, {str(k): int(v) for k, v in counts.items()}),
        description="Counts of records by timeliness flag.",
    )
    get_run_logger().info("deadline check as of %s: %s", when, counts)
    return {"as_of": when.isoformat(), "counts": {str(k): int(v) for k, v in counts.items()}}


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
