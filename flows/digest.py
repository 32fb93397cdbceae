"""The morning digest: counts and ids per partner and agency, by e-mail, webhook and artifact."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from connectors.notify import send_notice
from flows.run_labels import label_current_run
from hmis_handoff.config import load_settings
from hmis_handoff.deadlines import deadline_report, today_in
from hmis_handoff.errors import RetriableError
from hmis_handoff.notices import build_digest


@task(
    name="send-digest",
    task_run_name="send digest",
    persist_result=False,
    cache_policy=NO_CACHE,
)
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


def digest_run_name() -> str:
    """``daily-digest <as-of date>``."""
    as_of = flow_run.parameters.get("as_of")
    return f"daily-digest {as_of or today_in(load_settings())}"


@flow(
    name="daily-digest",
    flow_run_name=digest_run_name,
    persist_result=False,
    log_prints=False,
)
def daily_digest(as_of: str | None = None) -> dict[str, Any]:
    """Send the morning digest (``as_of``: YYYY-MM-DD, default today in the CoC's zone)."""
    result = send_digest(as_of)
    sent = "sent" in result["channels"].values()
    label_current_run(tags=["digest", f"outcome:{'sent' if sent else 'not-sent'}"])
    return result
