"""The operators' runbook, published as a Markdown artifact (key ``runbook``).

Contract: plain text about states, artifacts and what to do; the only live facts in it are
the CoC's time zone and whether a notification channel is configured. No client data.
"""

from __future__ import annotations

from hmis_handoff.config import Settings

__all__ = ["ARTIFACTS", "STATES", "channel_warning", "notification_channel", "runbook_markdown"]

STATES = (
    (
        "Delivered (Completed)",
        "Every file of the run was packaged for its partner; rows "
        "that failed a rule are listed in the agency's receipt.",
        "Nothing.",
    ),
    (
        "Refused (Completed type, its own name)",
        "A file was refused whole. The agency has a rejection report (row, column, rule id) "
        "in its reports folder; the run is tagged outcome:refused.",
        "Make sure the agency saw the report; it fixes the file and drops it again.",
    ),
    (
        "Held back (Completed type, its own name)",
        "Every row of a file was held back (no release of information, or a victim-service "
        "provider): nothing left the CoC; the records are tracked as not transmittable.",
        "Follow up with the agency on consent; a re-sent file with consent is accepted.",
    ),
    (
        "Duplicate (Completed)",
        "The same bytes were already handed off; nothing was sent "
        "twice and the agency got a notice.",
        "Nothing, unless the agency meant to send new data.",
    ),
    (
        "Failed",
        "A step raised an error (a full disk, a missing key, the ledger unreachable). "
        "The file stays claimed in the work area and the next run completes it.",
        "Read the run's Logs tab (ids only), fix the cause, and let the next sweep finish it.",
    ),
    (
        "Crashed",
        "The process died (killed, out of memory).",
        "Restart `handoff up` (or the worker); recovery finishes the file on the next run.",
    ),
    (
        "Late",
        "A scheduled run was not picked up on time.",
        "Check that `handoff up` or a worker on the `handoff` pool is running.",
    ),
)

ARTIFACTS = (
    (
        "overdue-records",
        "records past their 3-business-day due date: business days late and "
        "who is late (agency: sent after the due date; partner: not confirmed in time)",
    ),
    ("due-soon-records", "records due within the due-soon window, with their due dates"),
    ("deadline-summary", "counts of records per timeliness flag"),
    (
        "intake-summary",
        "files and rows per agency for today and the last 7 days, with the most frequent rule ids",
    ),
    ("timeliness-trend", "share entered on time per agency and partner, by week of due date"),
    ("timeliness-by-agency / timeliness-by-partner", "the same as tables since the start"),
    (
        "ingest-progress / file-progress / deadline-progress",
        "progress of long work: a backlog of files, a big file, the deadline check",
    ),
)


def notification_channel(settings: Settings) -> str | None:
    """How the runbook names the configured notification channel, or None without one."""
    notes = settings.notifications
    return notes.prefect_block or ("a webhook" if notes.webhook_url else None)


def channel_warning(settings: Settings) -> str | None:
    """The operator-facing warning when the automations have nobody to notify."""
    notes = settings.notifications
    if notes.prefect_block or notes.webhook_url:
        return None
    return (
        "WARNING: no notification channel is configured. The automations (overdue records, "
        "refused files, failed or crashed runs, missed schedules) fire and show under Events "
        "in the Prefect UI, but notify nobody. Set [notifications] prefect_block "
        '(e.g. "slack-webhook/coc-ops") or webhook_url in handoff.toml.'
    )


def runbook_markdown(settings: Settings, *, channel: str | None) -> str:
    """The runbook; ``channel`` names the configured notification channel, or None."""
    lines = [
        "# HMIS Handoff runbook",
        "",
        f"Dates and times are in the CoC's time zone, {settings.timezone}.",
        "",
    ]
    if channel:
        lines += [f"Notifications go to **{channel}**.", ""]
    else:
        lines += [
            "**No notification channel is configured.** The automations fire (see Events) "
            "but notify nobody. Set `[notifications] prefect_block` (a Prefect notification "
            'block, e.g. `"slack-webhook/coc-ops"`) or `webhook_url` in handoff.toml and '
            "restart `handoff up`.",
            "",
        ]
    lines += ["## Flow run states", ""]
    for state, means, todo in STATES:
        lines += [f"- **{state}**: {means} *What to do:* {todo}"]
    lines += ["", "## Dashboard artifacts", ""]
    lines += [f"- **{key}**: {shows}" for key, shows in ARTIFACTS]
    lines += [
        "",
        "## Automations",
        "",
        "`handoff: records overdue`, `handoff: file refused`, `handoff: flow run failed or "
        "crashed`, `handoff: deployment missed its schedule`: each sends a notification "
        "(ids, counts and rule ids only).",
        "",
        "Runs are named from ids (`ingest <agency> <file ref>`, `deadline-check <date>`) and "
        "tagged `agency:<id>`, `partner:<id>` and `outcome:<delivered|refused|duplicate|none>`"
        ": filter the Runs page by tag.",
    ]
    return "\n".join(lines)
