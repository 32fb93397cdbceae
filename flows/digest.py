"""The morning digest: counts and ids per partner and agency, by e-mail, webhook and artifact."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from connectors.notify import send_notice
from hmis_handoff.config import load_settings
from hmis_handoff.deadlines import deadline_report, today_in
from hmis_handoff.digest import build_digest
from hmis_handoff.errors import RetriableError


@task(name="send-digest", persist_result=False, cache_policy=NO_CACHE)
def send_digest(as_of: str | None = None) -> dict[str, Any]:
    """Build the digest as of ``as_of`` (YYYY-MM-DD; default today), publish and send it."""
    settings = load_settings()
    when = date.fromisoformat(as_of) if as_of else today_in(settings)
    digest = build_digest(
        deadline_report(settings, as_of=when), as_of=when, timezone=settings.timezone
    )
    create_markdown_artifact(
        key="daily-digest",
        markdown=digest.markdown,
        description=f"Morning digest as of {when}: counts and intake ids only.",
    )
    status = send_notice(
        settings.notifications, subject=digest.subject, text=digest.text, payload=digest.payload
    )
    get_run_logger().info("digest as of %s: channels %s", when, status)
    failed = sorted(channel for channel, state in status.items() if state.startswith("failed"))
    if failed:
        raise RetriableError(f"digest not delivered by {', '.join(failed)}")
    return {"as_of": when.isoformat(), "totals": digest.payload["totals"], "channels": status}


@flow(name="daily-digest", persist_result=False, log_prints=False)
def daily_digest(as_of: str | None = None) -> dict[str, Any]:
    """Send the morning digest (``as_of``: YYYY-MM-DD, default today in the CoC's zone)."""
    return send_digest(as_of)
