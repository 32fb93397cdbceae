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

from typing import Any, TypedDict

from prefect import Task, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.events import emit_event
from prefect.runtime import task_run

from connectors.channels import open_channel
from flows.events import partner_resource
from flows.guard import value_free
from flows.runtime import current_handoff
from hmis_handoff.config import DeliverySettings
from hmis_handoff.delivery import DeliveryOutcome, PackageFiles, deliver, outstanding
from hmis_handoff.errors import HandoffError, IntegrityError, RetriableError
from hmis_handoff.ledger.deliveries import package

__all__ = [
    "Delivered",
    "DeliveryCounts",
    "backoff",
    "deliver_outstanding",
    "deliver_package",
    "deliveries",
]


class Delivered(TypedDict):
    """One package on one channel: its delivery state and the attempts it took."""

    package_id: str
    channel_id: str
    state: str
    attempts: int


class DeliveryCounts(TypedDict):
    """Deliveries of one pass: done now, done before, failed, gone from the outbox."""

    delivered: int
    already: int
    failed: int
    missing: int


class _FailedPayload(TypedDict):
    channel: str
    attempt: int
    will_retry: bool
    error: str


class _DeliveredPayload(TypedDict):
    channel: str
    kind: str
    attempts: int
    records: int
    sha256: str | None
    found_remote: bool


def backoff(settings: DeliverySettings) -> list[float]:
    """Retry delays: ``backoff_seconds`` doubling, one per retry."""
    return [settings.backoff_seconds * 2**n for n in range(settings.retries)]


def _emit(
    name: str, partner_id: str, package_id: str, payload: _FailedPayload | _DeliveredPayload
) -> None:
    emit_event(
        event=name,
        resource={
            "prefect.resource.id": f"handoff.package.{package_id}",
            "handoff.partner": partner_id,
        },
        related=[partner_resource(partner_id)],
        payload=dict(payload),
    )


def _retriable(_task: Task[..., Any], _task_run: TaskRun, state: State[Any]) -> bool:
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
def deliver_package(package_id: str, partner_id: str, channel_id: str) -> Delivered:
    """Deliver one package on one channel (idempotent); raises so Prefect retries."""
    pipe = current_handoff()
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
            _FailedPayload(
                channel=channel_id,
                attempt=attempt,
                will_retry=not final,
                error=type(exc).__name__,
            ),
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
            _DeliveredPayload(
                channel=channel_id,
                kind=outcome.kind,
                attempts=outcome.attempts,
                records=ref.record_count,
                sha256=outcome.verified_sha256,
                found_remote=outcome.found_remote,
            ),
        )
    get_run_logger().info(
        "package %s on %s: %s after %d attempt(s)%s",
        package_id,
        channel_id,
        outcome.state,
        outcome.attempts,
        " (found already there)" if outcome.found_remote else "",
    )
    return Delivered(
        package_id=package_id,
        channel_id=channel_id,
        state=outcome.state,
        attempts=outcome.attempts,
    )


def deliver_outstanding() -> DeliveryCounts:
    """Deliver every outstanding package on every channel; counts by result.

    Call from inside a flow. A channel's failure does not stop the others.
    """
    pipe = current_handoff()
    settings = pipe.settings
    task_fn = deliver_package.with_options(
        retries=settings.delivery.retries,
        retry_delay_seconds=backoff(settings.delivery),
    )
    counts = DeliveryCounts(delivered=0, already=0, failed=0, missing=0)
    for partner in settings.partners:
        channels = partner.channels()
        if not channels:
            continue
        todo = outstanding(
            pipe.ledger,
            partner.id,
            pipe.layout.partner_outbox(partner.id),
            [channel_id for channel_id, _config in channels],
        )
        counts["already"] += todo.already
        counts["missing"] += todo.missing
        for package_id, channel_id in todo.due:
            state = task_fn(package_id, partner.id, channel_id, return_state=True)
            if state.is_completed():
                counts["delivered"] += 1
            else:
                counts["failed"] += 1
    return counts


@flow(name="deliver", persist_result=False, log_prints=False)
@value_free
def deliveries() -> DeliveryCounts:
    """Deliver every outstanding package on every configured partner channel."""
    return deliver_outstanding()
