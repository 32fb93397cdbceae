"""The morning digest and the overdue notice, built from :func:`deadlines.deadline_report`.

Input is :class:`~hmis_handoff.deadlines.DeadlineRow` (ids, dates, flags), so the output can
hold nothing else: counts by flag, intake ids with their agency and due date, and the
lateness the agency caused (its file arrived after the record was already due:
``submitted_late``), shown apart from the partner's. Plain text for e-mail, markdown for the
Prefect artifact, and a JSON-ready payload for the webhook.

Intake ids are only unique per agency, so lists name both (``agency/intake``). Long lists
are cut at :data:`MAX_LISTED` ids per section with a count of the rest.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from hmis_handoff.deadlines import DeadlineRow
from hmis_handoff.timeliness import Flag

__all__ = ["MAX_LISTED", "Notice", "build_digest", "overdue_notice"]

MAX_LISTED: Final = 200
_ORDER: Final = (
    Flag.OVERDUE,
    Flag.DUE_SOON,
    Flag.PENDING,
    Flag.ENTERED_LATE,
    Flag.ENTERED_ON_TIME,
    Flag.NOT_TRANSMITTABLE,
)
_LABEL: Final = {
    Flag.OVERDUE: "overdue",
    Flag.DUE_SOON: "due soon",
    Flag.PENDING: "pending",
    Flag.ENTERED_LATE: "entered late",
    Flag.ENTERED_ON_TIME: "entered on time",
    Flag.NOT_TRANSMITTABLE: "not transmittable",
}


@dataclass(frozen=True)
class Notice:
    """A message in three forms; ``fingerprint`` identifies its content (for de-duplication)."""

    subject: str
    text: str
    markdown: str
    payload: dict[str, Any]
    fingerprint: str


def _counts(rows: Iterable[DeadlineRow]) -> dict[str, int]:
    counted = Counter(row.state for row in rows)
    return {flag.value: counted.get(flag.value, 0) for flag in _ORDER}


def _count_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts[flag.value]} {_LABEL[flag]}" for flag in _ORDER)


def _ref(row: DeadlineRow) -> str:
    return f"{row.agency}/{row.intake_id}"


def _listing(title: str, rows: Sequence[DeadlineRow], *, late_mark: bool) -> list[str]:
    if not rows:
        return []
    lines = [f"  {title} ({len(rows)}):"]
    for row in rows[:MAX_LISTED]:
        mark = "  [agency submitted late]" if late_mark and row.submitted_late else ""
        lines.append(f"    - {_ref(row)}  due {row.due.isoformat()}{mark}")
    if len(rows) > MAX_LISTED:
        lines.append(f"    ... and {len(rows) - MAX_LISTED} more")
    return lines


def _sorted(rows: Iterable[DeadlineRow]) -> list[DeadlineRow]:
    return sorted(rows, key=lambda r: (r.due, r.agency, r.intake_id))


def _partner_section(partner: str, rows: list[DeadlineRow]) -> tuple[list[str], dict[str, Any]]:
    overdue = _sorted(r for r in rows if r.state == Flag.OVERDUE.value)
    due_soon = _sorted(r for r in rows if r.state == Flag.DUE_SOON.value)
    counts = _counts(rows)
    agency_late = sum(1 for r in overdue if r.submitted_late)
    lines = [
        f"Data partner {partner}",
        f"  Records: {_count_line(counts)}",
        f"  Of the overdue, {agency_late} arrived from the agency already late.",
        *_listing("Overdue: not entered by the due date", overdue, late_mark=True),
        *_listing("Due soon", due_soon, late_mark=True),
        "",
    ]
    payload = {
        "counts": counts,
        "overdue_submitted_late": agency_late,
        "overdue": [{"id": _ref(r), "due": r.due.isoformat()} for r in overdue[:MAX_LISTED]],
        "due_soon": [{"id": _ref(r), "due": r.due.isoformat()} for r in due_soon[:MAX_LISTED]],
    }
    return lines, payload


def _agency_section(agency: str, rows: list[DeadlineRow]) -> tuple[list[str], dict[str, Any]]:
    counts = _counts(rows)
    late = _sorted(r for r in rows if r.submitted_late)
    partners = ", ".join(sorted({r.partner for r in rows}))
    lines = [
        f"Agency {agency} (data partner {partners})",
        f"  Records: {_count_line(counts)}",
        f"  Submitted late by the agency: {len(late)} (the file arrived after the entry was due)",
    ]
    for row in late[:MAX_LISTED]:
        lines.append(
            f"    - {_ref(row)}  received {row.received_on.isoformat()}, due {row.due.isoformat()}"
        )
    if len(late) > MAX_LISTED:
        lines.append(f"    ... and {len(late) - MAX_LISTED} more")
    lines.append("")
    payload = {
        "counts": counts,
        "submitted_late": len(late),
        "submitted_late_ids": [_ref(r) for r in late[:MAX_LISTED]],
    }
    return lines, payload


def _fingerprint(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


def _markdown(title: str, text: str) -> str:
    return f"# {title}\n\n```text\n{text}\n```\n"


def build_digest(rows: Sequence[DeadlineRow], *, as_of: date, timezone: str) -> Notice:
    """The morning digest: totals, then one section per partner and one per agency."""
    by_partner: dict[str, list[DeadlineRow]] = defaultdict(list)
    by_agency: dict[str, list[DeadlineRow]] = defaultdict(list)
    for row in rows:
        by_partner[row.partner].append(row)
        by_agency[row.agency].append(row)
    totals = _counts(rows)
    title = f"HMIS Handoff digest for {as_of.isoformat()}"
    lines = [
        f"{title} ({timezone})",
        "",
        f"All records: {_count_line(totals)}.",
        f"Submitted late by agencies: {sum(1 for r in rows if r.submitted_late)}.",
        "",
    ]
    partners: dict[str, Any] = {}
    for partner in sorted(by_partner):
        section, partners[partner] = _partner_section(partner, by_partner[partner])
        lines += section
    agencies: dict[str, Any] = {}
    for agency in sorted(by_agency):
        section, agencies[agency] = _agency_section(agency, by_agency[agency])
        lines += section
    if not rows:
        lines.append("No records in the ledger yet.")
    text = "\n".join(lines).rstrip() + "\n"
    payload = {
        "kind": "daily-digest",
        "as_of": as_of.isoformat(),
        "totals": totals,
        "partners": partners,
        "agencies": agencies,
    }
    subject = (
        f"HMIS Handoff {as_of.isoformat()}: {totals['overdue']} overdue, "
        f"{totals['due_soon']} due soon"
    )
    stamp = [as_of.isoformat(), *(f"{_ref(r)}:{r.state}" for r in rows)]
    return Notice(subject, text, _markdown(title, text), payload, _fingerprint(stamp))


def overdue_notice(rows: Sequence[DeadlineRow], *, as_of: date) -> Notice | None:
    """The escalation for overdue records (None when nothing is overdue)."""
    overdue = _sorted(r for r in rows if r.state == Flag.OVERDUE.value)
    if not overdue:
        return None
    by_partner: dict[str, list[DeadlineRow]] = defaultdict(list)
    for row in overdue:
        by_partner[row.partner].append(row)
    title = f"{len(overdue)} intake(s) overdue for HMIS entry as of {as_of.isoformat()}"
    lines = [title, ""]
    partners: dict[str, Any] = {}
    for partner in sorted(by_partner):
        items = by_partner[partner]
        late = sum(1 for r in items if r.submitted_late)
        lines.append(f"Data partner {partner}: {len(items)} overdue ({late} submitted late)")
        lines += _listing("Overdue", items, late_mark=True)[1:]
        lines.append("")
        partners[partner] = {
            "overdue": len(items),
            "submitted_late": late,
            "ids": [{"id": _ref(r), "due": r.due.isoformat()} for r in items[:MAX_LISTED]],
        }
    text = "\n".join(lines).rstrip() + "\n"
    payload = {
        "kind": "overdue",
        "as_of": as_of.isoformat(),
        "overdue": len(overdue),
        "partners": partners,
    }
    subject = f"HMIS Handoff: {title}"
    # Same overdue set, same notice: the fingerprint ignores the date on purpose.
    fingerprint = _fingerprint(_ref(r) for r in overdue)
    return Notice(subject, text, _markdown(title, text), payload, fingerprint)
