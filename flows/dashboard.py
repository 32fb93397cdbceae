"""The dashboard artifacts: always current, ids/dates/counts only, in the CoC's time zone.

Published under stable keys (the Artifacts page shows the latest version of each):
``overdue-records``, ``due-soon-records``, ``deadline-summary``, ``intake-summary``,
``timeliness-trend``, ``runbook``. Refreshed by ``handoff up`` at start (the
``dashboard-refresh`` flow), after every ingest and confirmations run, and by the
scheduled deadline check. The content comes from :mod:`hmis_handoff.dashboard_markdown`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import cast
from uuid import UUID

from prefect import flow, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from flows.guard import value_free
from flows.run_labels import label_current_run
from flows.runtime import current_handoff
from hmis_handoff import clock, progress
from hmis_handoff import dashboard_markdown as board
from hmis_handoff.dashboard_markdown import DeadlineBoard
from hmis_handoff.deadlines import today_in
from hmis_handoff.runbook import notification_channel, runbook_markdown

__all__ = [
    "BIG_FILE_BYTES",
    "advance",
    "dashboard_refresh",
    "dashboard_run_name",
    "file_progress",
    "refresh_deadlines",
    "refresh_intake_summary",
    "refresh_runbook",
    "refresh_trend",
    "start_progress",
]


def _as_of(as_of: str | None) -> date:
    return date.fromisoformat(as_of) if as_of else today_in(current_handoff().settings)


@task(
    name="refresh-deadline-dashboard",
    task_run_name="refresh deadline dashboard",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def refresh_deadlines(as_of: str | None = None) -> DeadlineBoard:
    """overdue-records, due-soon-records, deadline-summary; returns counts and overdue pairs."""
    pipe = current_handoff()
    settings, when, now = pipe.settings, _as_of(as_of), clock.now()
    found = board.deadlines(settings, pipe.ledger, as_of=when)
    for key, markdown, description in (
        (
            "overdue-records",
            board.overdue_markdown(settings, found, now),
            "Overdue records",
        ),
        (
            "due-soon-records",
            board.due_soon_markdown(settings, found, now),
            "Due soon",
        ),
        (
            "deadline-summary",
            board.summary_markdown(settings, found, now),
            "Flag counts",
        ),
    ):
        create_markdown_artifact(markdown=markdown, key=key, description=description)
    return found.board()


@task(
    name="refresh-intake-summary",
    task_run_name="refresh intake summary",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def refresh_intake_summary() -> None:
    """intake-summary: per agency, today and the last 7 days, from the ledger."""
    pipe = current_handoff()
    create_markdown_artifact(
        markdown=board.intake_summary_markdown(pipe.settings, pipe.ledger, clock.now()),
        key="intake-summary",
        description="Files and rows per agency, today and the last 7 days (ids and counts).",
    )


@task(
    name="refresh-timeliness-trend",
    task_run_name="refresh timeliness trend",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def refresh_trend(as_of: str | None = None) -> None:
    """timeliness-trend: on-time share per agency and partner, by week of due date."""
    pipe = current_handoff()
    create_markdown_artifact(
        markdown=board.trend_markdown(
            pipe.settings, pipe.ledger, as_of=_as_of(as_of), refreshed=clock.now()
        ),
        key="timeliness-trend",
        description="Weekly trend of records entered on time, per agency and partner.",
    )


@task(
    name="refresh-runbook",
    task_run_name="refresh runbook",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def refresh_runbook() -> None:
    """runbook: each state and what to do; says when no notification channel is set."""
    settings = current_handoff().settings
    create_markdown_artifact(
        markdown=runbook_markdown(settings, channel=notification_channel(settings)),
        key="runbook",
        description="What each run state and artifact means, and what to do.",
    )


def start_progress(key: str, description: str) -> UUID:
    """A progress artifact at 0 % under ``key``; move it with :func:`advance`."""
    return cast(UUID, create_progress_artifact(0.0, key=key, description=description))


def advance(progress: UUID, percent: float) -> None:
    update_progress_artifact(progress, min(100.0, percent))


# A file at least this big gets a ``file-progress`` artifact while it is validated.
BIG_FILE_BYTES = 5 * 2**20


@contextlib.contextmanager
def file_progress(path: Path, label: str) -> Iterator[None]:
    """A ``file-progress`` artifact for a big file: rows validated against its line count.

    Small files get nothing (their runs take about a second). ``label`` names the file by
    ids only (agency and claim), never by the agency's file name.
    """
    try:
        small = path.suffix.lower() != ".csv" or path.stat().st_size < BIG_FILE_BYTES
    except OSError:  # a recovered claim whose file is already gone
        small = True
    if small:
        yield
        return
    total = max(1, progress.count_lines(path) - 1)
    artifact = start_progress(key="file-progress", description=f"Validating {label}")
    shown = [0.0]

    def report(rows: int) -> None:
        percent = min(99.0, 100.0 * rows / total)
        if percent - shown[0] >= 5:
            advance(artifact, percent)
            shown[0] = percent

    with progress.listening(report):
        yield
    advance(artifact, 100.0)


def dashboard_run_name() -> str:
    return f"dashboard-refresh {today_in(current_handoff().settings)}"


@flow(
    name="dashboard-refresh",
    flow_run_name=dashboard_run_name,
    persist_result=False,
    log_prints=False,
)
@value_free
def dashboard_refresh(as_of: str | None = None) -> DeadlineBoard:
    """Publish every dashboard artifact now (``handoff up`` runs this at start)."""
    result = refresh_deadlines(as_of)
    refresh_intake_summary()
    refresh_trend(as_of)
    refresh_runbook()
    overdue = bool(result["counts"].get("overdue"))
    label_current_run(tags=["dashboard", f"outcome:{'overdue' if overdue else 'on-track'}"])
    return result
