"""The morning digest: counts and ids per partner and agency, by e-mail, webhook and artifact."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.guard import value_free
from flows.run_labels import label_current_run
from flows.runtime import current_handoff
from hmis_handoff.deadlines import today_in
from usecases.send_notices import DigestSent, deliver_digest, morning_digest

__all__ = ["daily_digest", "digest_run_name", "send_digest"]


@task(
    name="send-digest",
    task_run_name="send digest",
    persist_result=False,
    cache_policy=NO_CACHE,
)
def send_digest(as_of: str | None = None) -> DigestSent:
    """Build the digest as of ``as_of`` (YYYY-MM-DD; default today), publish and send it."""
    settings = current_handoff().settings
    when = date.fromisoformat(as_of) if as_of else today_in(settings)
    digest = morning_digest(settings, when)
    create_markdown_artifact(
        key="daily-digest",
        markdown=digest.markdown,
        description=f"Morning digest as of {when}: counts and intake ids only.",
    )
    sent = deliver_digest(settings, digest, when)
    get_run_logger().info("digest as of %s: channels %s", when, sent["channels"])
    return sent


def digest_run_name() -> str:
    """``daily-digest <as-of date>``."""
    as_of = flow_run.parameters.get("as_of")
    return f"daily-digest {as_of or today_in(current_handoff().settings)}"


@flow(
    name="daily-digest",
    flow_run_name=digest_run_name,
    persist_result=False,
    log_prints=False,
)
@value_free
def daily_digest(as_of: str | None = None) -> DigestSent:
    """Send the morning digest (``as_of``: YYYY-MM-DD, default today in the CoC's zone)."""
    result = send_digest(as_of)
    sent = "sent" in result["channels"].values()
    label_current_run(tags=["digest", f"outcome:{'sent' if sent else 'not-sent'}"])
    return result
