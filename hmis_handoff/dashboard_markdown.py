"""The operators' dashboard, computed from the ledger: ids, dates, counts and rule ids only.

Contract: every function reads the ledger and returns Markdown (the Prefect UI renders it
as an artifact; ``flows/dashboard.py`` publishes it under stable keys). Nothing here reads
a data file or holds a client value. Dates and times are in the CoC's time zone. An empty
list is written as the word "none", never as a placeholder row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypedDict

from hmis_handoff.config import Settings
from hmis_handoff.deadlines import calendar_for, flag_pairs
from hmis_handoff.ledger import Ledger
from hmis_handoff.ledger.reporting import due_records_from, intake_activity_since
from hmis_handoff.ledger.scan import record_details

__all__ = [
    "MAX_LISTED",
    "SUMMARY_DAYS",
    "TOP_RULES",
    "TREND_WEEKS",
    "DeadlineBoard",
    "Deadlines",
    "deadlines",
    "due_soon_markdown",
    "intake_summary_markdown",
    "md_table",
    "overdue_markdown",
    "summary_markdown",
    "trend_markdown",
    "week_start",
]

# Lists show at most this many records; the counts above them are always complete.
MAX_LISTED = 500
TREND_WEEKS = 4
SUMMARY_DAYS = 7
TOP_RULES = 3


class DeadlineBoard(TypedDict):
    """What a dashboard refresh found: non-zero flag counts and who has overdue records."""

    as_of: str
    counts: dict[str, int]
    overdue_agencies: list[str]
    overdue_partners: list[str]


@dataclass(frozen=True)
class Deadlines:
    """The deadline part of the dashboard as of a date."""

    as_of: date
    counts: dict[str, int]
    overdue: list[dict[str, Any]]
    due_soon: list[dict[str, Any]]

    def board(self) -> DeadlineBoard:
        """Counts and the agencies and partners with overdue records (ids only)."""
        return DeadlineBoard(
            as_of=self.as_of.isoformat(),
            counts={k: v for k, v in self.counts.items() if v},
            overdue_agencies=sorted({r["agency_id"] for r in self.overdue}),
            overdue_partners=sorted({r["partner_id"] for r in self.overdue}),
        )


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table, or "none" when there are no rows."""
    body = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    if not body:
        return "none"
    return "\n".join(["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers), *body])


def deadlines(settings: Settings, ledger: Ledger, *, as_of: date) -> Deadlines:
    """Counts per flag, and the overdue and due-soon records (ids and dates)."""
    calendar = calendar_for(settings)
    counts: Counter[str] = Counter()
    overdue_ids: list[int] = []
    due_soon_ids: list[int] = []
    for pair in flag_pairs(settings, ledger, as_of=as_of):
        counts.update(pair.counts)
        overdue_ids.extend(pair.overdue_ids[:MAX_LISTED])
        due_soon_ids.extend(pair.due_soon_ids[:MAX_LISTED])
    overdue = []
    for r in record_details(ledger, overdue_ids[:MAX_LISTED]):
        overdue.append(
            {
                **r,
                "days_late": calendar.business_days_between(r["due_date"], as_of),
                # Received by us after the due date: the agency sent it late; otherwise the
                # partner has not confirmed entry in time.
                "late": "agency" if r["submitted_late"] else "partner",
            }
        )
    overdue.sort(key=lambda r: (r["due_date"], r["id"]))
    due_soon = sorted(
        record_details(ledger, due_soon_ids[:MAX_LISTED]), key=lambda r: (r["due_date"], r["id"])
    )
    return Deadlines(as_of=as_of, counts=dict(counts), overdue=overdue, due_soon=due_soon)


def _stamp(settings: Settings, moment: datetime) -> str:
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M %Z")


def overdue_markdown(settings: Settings, d: Deadlines, refreshed: datetime) -> str:
    """Overdue records: business days late and who is late (agency or partner)."""
    total = d.counts.get("overdue", 0)
    table = md_table(
        ("intake id", "agency", "partner", "intake date", "due", "business days late", "late"),
        (
            (
                r["intake_id"],
                r["agency_id"],
                r["partner_id"],
                r["intake_date"].isoformat(),
                r["due_date"].isoformat(),
                r["days_late"],
                r["late"],
            )
            for r in d.overdue
        ),
    )
    return (
        f"# Overdue records as of {d.as_of}\n\n"
        f"{total} record(s) were not entered into HMIS by their due date "
        f"(3 business days; at most {MAX_LISTED} listed).\n\n{table}\n\n"
        f"_Refreshed {_stamp(settings, refreshed)}._"
    )


def due_soon_markdown(settings: Settings, d: Deadlines, refreshed: datetime) -> str:
    """Records due within the due-soon window, with their due dates."""
    total = d.counts.get("due_soon", 0)
    table = md_table(
        ("intake id", "agency", "partner", "intake date", "due"),
        (
            (
                r["intake_id"],
                r["agency_id"],
                r["partner_id"],
                r["intake_date"].isoformat(),
                r["due_date"].isoformat(),
            )
            for r in d.due_soon
        ),
    )
    return (
        f"# Records due soon as of {d.as_of}\n\n{total} record(s) fall due within "
        f"{settings.calendar.due_soon_within} business day(s).\n\n{table}\n\n"
        f"_Refreshed {_stamp(settings, refreshed)}._"
    )


def summary_markdown(settings: Settings, d: Deadlines, refreshed: datetime) -> str:
    """Counts of records per timeliness flag."""
    flags = (
        "overdue",
        "due_soon",
        "pending",
        "entered_late",
        "entered_on_time",
        "not_transmittable",
    )
    table = md_table(("flag", "records"), ((f, d.counts.get(f, 0)) for f in flags))
    return (
        f"# Timeliness as of {d.as_of}\n\n{table}\n\n"
        f"_Refreshed {_stamp(settings, refreshed)} ({settings.timezone})._"
    )


def intake_summary_markdown(settings: Settings, ledger: Ledger, refreshed: datetime) -> str:
    """Files and rows per agency for today and the last 7 days, from the ledger."""
    tz = settings.tz
    today = refreshed.astimezone(tz).date()
    first = today - timedelta(days=SUMMARY_DAYS - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    activity = intake_activity_since(ledger, since)
    files, held = activity.files, activity.held
    sections = [f"# Intake per agency: today ({today}) and the last {SUMMARY_DAYS} days"]
    for label, start in (("Today", today), (f"Last {SUMMARY_DAYS} days", first)):
        stats: dict[str, Counter[str]] = defaultdict(Counter)
        rules: dict[str, Counter[str]] = defaultdict(Counter)
        for f in files:
            if _local_day(f.received_at, settings) < start:
                continue
            s = stats[f.agency_id]
            s["files"] += 1
            s[f.state] += 1
            s["sent"] += f.rows_sent
            s["held"] += f.rows_held
            s["not_transmittable"] += f.rows_not_transmittable
            if f.reject_rule:
                rules[f.agency_id][f.reject_rule] += 1
        for h in held:
            if h.reason_rule and _local_day(h.received_at, settings) >= start:
                rules[h.agency_id][h.reason_rule] += 1
        table = md_table(
            (
                "agency",
                "files: delivered / rejected / duplicate",
                "rows: sent / held / not transmittable",
                "top rule ids",
            ),
            (
                (
                    agency,
                    f"{s['files']} ({s['delivered']} / {s['rejected']} / {s['duplicate']})",
                    f"{s['sent']} / {s['held']} / {s['not_transmittable']}",
                    ", ".join(f"{r} ({n})" for r, n in rules[agency].most_common(TOP_RULES))
                    or "none",
                )
                for agency, s in sorted(stats.items())
            ),
        )
        sections.append(f"## {label}\n\n{table}")
    sections.append(
        f"_From the ledger (every file, not only the last run); refreshed "
        f"{_stamp(settings, refreshed)}._"
    )
    return "\n\n".join(sections)


def _local_day(moment: datetime, settings: Settings) -> date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(settings.tz).date()


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def trend_markdown(settings: Settings, ledger: Ledger, *, as_of: date, refreshed: datetime) -> str:
    """Per agency and per partner: share of records entered on time, by week of due date.

    A record counts in the week its due date falls in, once that date has passed (or it was
    entered): on time = entered on or before the due date.
    """
    weeks = [week_start(as_of) - timedelta(weeks=n) for n in reversed(range(TREND_WEEKS))]
    rows = due_records_from(ledger, weeks[0])
    sections = [f"# Timeliness trend: entered on time, by week of due date (as of {as_of})"]
    for label, index in (("agency", 0), ("partner", 1)):
        decided: dict[tuple[str, date], int] = Counter()
        on_time: dict[tuple[str, date], int] = Counter()
        groups: set[str] = set()
        for row in rows:
            due, entered = row.due_date, row.entered_on
            if due > as_of and entered is None:
                continue
            group = (row.agency_id, row.partner_id)[index]
            key = (group, week_start(due))
            groups.add(group)
            decided[key] += 1
            if entered is not None and entered <= due:
                on_time[key] += 1
        table = md_table(
            (label, *(f"week of {w}" for w in weeks)),
            (
                (
                    group,
                    *(_share(on_time[(group, w)], decided[(group, w)]) for w in weeks),
                )
                for group in sorted(groups)
            ),
        )
        sections.append(f"## Per {label}\n\n{table}")
    sections.append(
        "_Each cell: share entered on time (on time / due). A dash: nothing fell due that "
        f"week. Refreshed {_stamp(settings, refreshed)}._"
    )
    return "\n\n".join(sections)


def _share(good: int, total: int) -> str:
    return f"{round(100 * good / total)}% ({good}/{total})" if total else "-"
