"""Split a backlog across process workers: one ingest flow run per agency with files waiting.

At scale (``prefect deploy`` of prefect.yaml, several ``prefect worker start --pool
handoff``), the ``dispatch-ingest`` flow looks at every agency's drop folder (and at claims a
killed worker left in the work area) and, for each agency with something waiting, creates a
run of the ``ingest/ingest-agency`` deployment with ``agencies=[<id>]`` and the tag
``agency:<id>``. Workers pick those runs up in parallel; each run claims only its agency's
files (claims are atomic renames, each handed off under its claim lock, so two runs never
process one file).

Fairness: each agency's runs go to its own work queue ``agency-<id>`` in the deployment's
pool, created here idempotently with a concurrency limit of :data:`AGENCY_RUN_LIMIT`. The
Prefect server hands a worker a queue's run only while the queue is under its limit, so a
waiting run holds no worker, and an agency with a large backlog occupies at most that many
workers while the other agencies' runs go to the rest (README "At scale" says why not tag or
global concurrency limits). An agency that already has a run waiting to start gets no other.
Parameters and tags carry agency ids only.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import StateType
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound

from connectors.dropfolder import DropFolderScanner, SettlePolicy, pending_claims
from flows.guard import value_free
from flows.runtime import current_handoff
from hmis_handoff.config import Settings
from hmis_handoff.layout import Layout

__all__ = [
    "AGENCY_DEPLOYMENT",
    "AGENCY_RUN_LIMIT",
    "agencies_with_work",
    "agency_queue",
    "dispatch_ingest",
    "ensure_agency_queues",
]

#: The deployment each agency's run belongs to (prefect.yaml).
AGENCY_DEPLOYMENT = "ingest/ingest-agency"
#: Runs of one agency that may hold workers at once.
AGENCY_RUN_LIMIT = 1
_WAITING = [StateType.SCHEDULED, StateType.PENDING]


def agency_queue(agency_id: str) -> str:
    """The work queue of one agency's ingest runs."""
    return f"agency-{agency_id}"


def agencies_with_work(settings: Settings) -> list[str]:
    """Agencies (config order) with a file in their drop folder or a claim left in work/."""
    layout = Layout(settings.root)
    leftovers = {claimed.agency_id for claimed in pending_claims(layout.work)}
    waiting = []
    for agency in settings.agencies:
        scan = DropFolderScanner(layout.agencies, [agency.id], SettlePolicy(0.0)).scan()
        if agency.id in leftovers or scan.settled or scan.pending or scan.refused:
            waiting.append(agency.id)
    return waiting


def ensure_agency_queues(
    client: SyncPrefectClient, pool: str, agencies: list[str], limit: int = AGENCY_RUN_LIMIT
) -> None:
    """Create (or correct) each agency's work queue in ``pool`` with ``limit``: idempotent."""
    for agency_id in agencies:
        name = agency_queue(agency_id)
        try:
            queue = client.read_work_queue_by_name(name, work_pool_name=pool)
        except ObjectNotFound:
            client.create_work_queue(
                name,
                description=f"ingest runs of agency {agency_id}",
                concurrency_limit=limit,
                work_pool_name=pool,
            )
            continue
        if queue.concurrency_limit != limit:
            client.update_work_queue(queue.id, concurrency_limit=limit)


def _waiting_to_start(client: SyncPrefectClient, deployment_id: Any, agency_id: str) -> bool:
    runs = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[f"agency:{agency_id}"]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=_WAITING)),
        ),
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        limit=1,
    )
    return bool(runs)


@flow(
    name="dispatch-ingest",
    flow_run_name="dispatch ingest by agency",
    persist_result=False,
    log_prints=False,
)
@value_free
def dispatch_ingest() -> dict[str, list[str]]:
    """Create one ``ingest-agency`` run per agency with work waiting (none if one is waiting
    to start already); returns the agency ids ``dispatched`` and ``skipped``."""
    settings = current_handoff().settings
    waiting = agencies_with_work(settings)
    dispatched: list[str] = []
    skipped: list[str] = []
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(AGENCY_DEPLOYMENT)
        pool = deployment.work_pool_name  # None when served by ``handoff up`` (no pool)
        if pool is not None:
            ensure_agency_queues(client, pool, [a.id for a in settings.agencies])
        for agency_id in waiting:
            if _waiting_to_start(client, deployment.id, agency_id):
                skipped.append(agency_id)
                continue
            run_deployment(
                AGENCY_DEPLOYMENT,
                parameters={"agencies": [agency_id], "sweep": True},
                tags=["handoff", "ingest", f"agency:{agency_id}"],
                work_queue_name=agency_queue(agency_id) if pool is not None else None,
                timeout=0,
            )
            dispatched.append(agency_id)
    get_run_logger().info(
        "dispatched ingest runs for %d agencies (%d already waiting to start)",
        len(dispatched),
        len(skipped),
    )
    return {"dispatched": dispatched, "skipped": skipped}
