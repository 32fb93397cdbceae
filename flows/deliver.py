"""Deliver packages to partners' channels (SFTP push, e-mail) as Prefect tasks with retries.

:func:`deliver_outstanding` runs inside the ingest flow after the hand-offs: for every
partner channel, every package in the ledger not yet delivered there (and still in the
outbox) gets one ``deliver-package`` task run. Retries are Prefect task retries with a
doubling delay (``[delivery] retries`` / ``backoff_seconds``). Parameters are package,
partner and channel ids; events ``handoff.package.delivered`` and
``handoff.package.delivery-failed`` carry ids, counts and an error type, never a secret,
a server reply or a URL.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.runtime import task_run

from connectors.channels import open_channel
from flows.events import partner_resource
from flows.runtime import pipeline
from hmis_handoff.config import DeliverySettings
from hmis_handoff.delivery import DeliveryOutcome, PackageFiles, deliver
from hmis_handoff.errors import HandoffError, IntegrityError, RetriableError
from hmis_handoff.ledger.deliveries import delivered_pairs, package, packages_of

__all__ = ["backoff", "deliver_outstanding", "deliver_package", "deliveries"]


def backoff(settings: DeliverySettings) -> list[float]:
    """Retry delays: ``backoff_seconds`` doubling, one per retry."""
    return [settings.backoff_seconds * 2**n for n in range(settings.retries)]


def _emit(name: str, partner_id: str, package_id: str, payload: dict[str, Any]) -> None:
    emit_event(
        event=name,
        resource={
            "prefect.resource.id": f"handoff.package.{package_id}",
            "handoff.partner": partner_id,
        },
        related=[partner_resource(partner_id)],
        payload=payload,
    )


def _retriable(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry transient failures only; a refused host key or login waits for an operator."""
    try:
        state.result()
    except RetriableError:
        return True
    except Exception:
        return False
    return False


@task(
    name="deliver-package",
    task_run_name="deliver-{package_id}-{channel_id}",
    persist_result=False,
    cache_policy=NO_CACHE,
    retry_condition_fn=_retriable,
)
def deliver_package(package_id: str, partner_id: str, channel_id: str) -> dict[str, Any]:
    """Deliver one package on one channel (idempotent); raises so Prefect retries."""
    pipe = pipeline()
    ref = package(pipe.ledger, package_id)
    if ref is None or ref.partner_id != partner_id:
        raise IntegrityError(f"package {package_id}: not in the ledger for {partner_id}")
    files = PackageFiles.in_outbox(
        pipe.layout.partner_outbox(partner_id),
        package_id,
        partner_id,
        ref.record_count,
        ref.ciphertext_sha256,
    )
    retries = pipe.settings.delivery.retries
    try:
        with open_channel(pipe.settings, partner_id, channel_id) as channel:
            outcome: DeliveryOutcome = deliver(pipe.ledger, channel_id, channel, files)
    except HandoffError as exc:
        attempt = int(task_run.run_count or 1)
        final = attempt > retries or not isinstance(exc, RetriableError)
        _emit(
            "handoff.package.delivery-failed",
            partner_id,
            package_id,
            {
                "channel": channel_id,
                "attempt": attempt,
                "will_retry": not final,
                "error": type(exc).__name__,
            },
        )
        get_run_logger().warning(
            "package %s on %s: attempt %d failed (%s)", package_id, channel_id, attempt, exc
        )
        raise
    if outcome.sent_now or outcome.found_remote:
        _emit(
            "handoff.package.delivered",
            partner_id,
            package_id,
            {
                "channel": channel_id,
                "kind": outcome.kind,
                "attempts": outcome.attempts,
                "records": ref.record_count,
                "sha256": outcome.verified_sha256,
                "found_remote": outcome.found_remote,
            },
        )
    get_run_logger().info(
        "package %s on %s: %s after %d attempt(s)%s",
        package_id,
        channel_id,
        outcome.state,
        outcome.attempts,
        " (found already there)" if outcome.found_remote else "",
    )
    return {
        "package_id": package_id,
        "channel_id": channel_id,
        "state": outcome.state,
        "attempts": outcome.attempts,
    }


def deliver_outstanding() -> dict[str, int]:
    """Deliver every outstanding package on every channel; counts by result.

    Call from inside a flow. A channel's failure does not stop the others.
    """
    pipe = pipeline()
    settings = pipe.settings
    task_fn = deliver_package.with_options(
        retries=settings.delivery.retries,
        retry_delay_seconds=backoff(settings.delivery),
    )
    counts = {"delivered": 0, "already": 0, "failed": 0, "missing": 0}
    for partner in settings.partners:
        channels = partner.channels()
        if not channels:
            continue
        outbox = pipe.layout.partner_outbox(partner.id)
        finished = delivered_pairs(pipe.ledger, partner.id)
        for ref in packages_of(pipe.ledger, partner.id):
            for channel_id, _config in channels:
                if (ref.package_id, channel_id) in finished:
                    counts["already"] += 1
                    continue
                if not (outbox / f"{ref.package_id}.manifest.json.sig").exists():
                    counts["missing"] += 1  # taken from the outbox by the partner already
                    continue
                state = task_fn(ref.package_id, partner.id, channel_id, return_state=True)
                counts["delivered" if state.is_completed() else "failed"] += 1
    return counts


@flow(name="deliver", persist_result=False, log_prints=False)
def deliveries() -> dict[str, int]:
    """Deliver every outstanding package on every configured partner channel."""
    return deliver_outstanding()
