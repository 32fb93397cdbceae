"""Prefect events for the handoff, with PII-free resources and payloads.

Resources: ``handoff.agency.<id>``, ``handoff.partner.<id>``, ``handoff.file.<hash12>``.
Payloads carry counts, rule ids and record ids; never names, values or file names.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from prefect.events import emit_event

from usecases.handoff import FileOutcome

__all__ = [
    "FileOutcomePayload",
    "agency_resource",
    "emit_entered_and_flush",
    "emit_file_detected",
    "emit_file_outcome",
    "emit_record_flags",
    "emit_refusal",
    "partner_resource",
]


class FileOutcomePayload(TypedDict):
    """A ``handoff.file.*`` event's payload: counts, a rule id and refs; never a value."""

    rows_total: int
    rows_sent: int
    rows_held: int
    rows_not_transmittable: int
    warnings: int
    reject_rule: str | None
    package_id: str | None
    duplicate_of: str | None


def agency_resource(agency_id: str) -> dict[str, str]:
    return {"prefect.resource.id": f"handoff.agency.{agency_id}", "prefect.resource.role": "agency"}


def partner_resource(partner_id: str) -> dict[str, str]:
    return {
        "prefect.resource.id": f"handoff.partner.{partner_id}",
        "prefect.resource.role": "partner",
    }


def emit_file_detected(agency_id: str, fingerprint: str, *, dispatch: str) -> None:
    """A settled file was seen. ``dispatch``: "inline" (this process runs it) or "deployment"."""
    emit_event(
        event="handoff.file.detected",
        resource={
            "prefect.resource.id": f"handoff.agency.{agency_id}",
            "handoff.agency": agency_id,
            "handoff.dispatch": dispatch,
        },
        payload={"fingerprint": fingerprint},
    )


def emit_file_outcome(outcome: FileOutcome) -> None:
    """``handoff.file.delivered`` / ``.not-sent`` / ``.rejected`` / ``.duplicate`` for one
    file (``not-sent``: answered, but no row left the agency)."""
    name = {
        "delivered": "handoff.file.delivered",
        "not_sent": "handoff.file.not-sent",
        "rejected": "handoff.file.rejected",
        "duplicate": "handoff.file.duplicate",
    }.get(outcome.state)
    if name is None:
        return
    payload = FileOutcomePayload(
        rows_total=outcome.rows_total,
        rows_sent=outcome.rows_sent,
        rows_held=outcome.rows_held,
        rows_not_transmittable=outcome.rows_not_transmittable,
        warnings=outcome.warnings,
        reject_rule=outcome.reject_rule,
        package_id=outcome.package_id,
        duplicate_of=outcome.duplicate_of_ref,
    )
    emit_event(
        event=name,
        resource={
            "prefect.resource.id": f"handoff.file.{outcome.file_ref}",
            "handoff.agency": outcome.agency_id,
            "handoff.partner": outcome.partner_id,
        },
        related=[agency_resource(outcome.agency_id), partner_resource(outcome.partner_id)],
        payload=dict(payload),
    )


def emit_refusal(agency_id: str, fingerprint: str, rule_id: str) -> None:
    """``handoff.file.rejected`` for an object refused unread (symlink, FIFO, bad type...)."""
    emit_event(
        event="handoff.file.rejected",
        resource={
            "prefect.resource.id": f"handoff.file.{fingerprint[:12]}",
            "handoff.agency": agency_id,
        },
        related=[agency_resource(agency_id)],
        payload={"reject_rule": rule_id, "read": False},
    )


def emit_record_flags(
    event: str,
    agency_id: str,
    partner_id: str,
    intake_ids: list[str],
    as_of: str,
    *,
    count: int | None = None,
) -> None:
    """``handoff.record.due-soon`` / ``.overdue`` / ``.entered`` for one agency-partner pair."""
    emit_event(
        event=event,
        resource={
            "prefect.resource.id": f"handoff.partner.{partner_id}",
            "handoff.agency": agency_id,
            "handoff.partner": partner_id,
        },
        related=[agency_resource(agency_id), partner_resource(partner_id)],
        payload={
            "count": len(intake_ids) if count is None else count,
            "intake_ids": intake_ids[:500],
            "as_of": as_of,
        },
    )


def emit_entered_and_flush(
    agency_id: str, partner_id: str, intake_ids: list[str], as_of: str
) -> None:
    """``handoff.record.entered`` from a short-lived process (``handoff confirm``): emit,
    then wait until the event has left, since the process ends right after."""
    from prefect.events.worker import EventsWorker

    emit_record_flags("handoff.record.entered", agency_id, partner_id, intake_ids, as_of)
    # Draining is the expected path here, yet Prefect's service logs it as a WARNING
    # ("Still processing items: 1 items remaining...") on an unconfigured logger that
    # lands on the partner's terminal: keep that logger to errors while we wait.
    drain_logger = logging.getLogger(EventsWorker.__name__)
    level = drain_logger.level
    drain_logger.setLevel(logging.ERROR)
    try:
        EventsWorker.drain_all(timeout=15, at_exit=False)
    finally:
        drain_logger.setLevel(level)
