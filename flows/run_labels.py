"""Names and tags that make runs readable in the Prefect UI: ids only, never a value.

Contract: :func:`label_current_run` renames the current flow run and adds tags to it (the
tags it already has are kept); outside a flow run it does nothing. Tags follow
``agency:<id>``, ``partner:<id>``, ``outcome:<word>``; every run also carries ``handoff``.
"""

from __future__ import annotations

from collections.abc import Iterable

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext

__all__ = ["BASE_TAGS", "ids_tags", "label_current_run"]

BASE_TAGS = ("handoff",)


def label_current_run(name: str | None = None, tags: Iterable[str] = ()) -> None:
    """Rename the running flow run (when ``name``) and merge ``tags`` into its tags."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    run = context.flow_run
    merged = list(dict.fromkeys([*BASE_TAGS, *(run.tags or []), *tags]))
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(run.id, name=name or run.name, tags=merged)
    except Exception as exc:  # labels help operators; losing them must not fail a handoff
        get_run_logger().warning("could not rename or tag this run (%s)", type(exc).__name__)
        return
    if name:
        run.name = name
    run.tags = merged


def ids_tags(agencies: Iterable[str], partners: Iterable[str]) -> list[str]:
    """``agency:<id>`` and ``partner:<id>`` tags, sorted and without repeats."""
    return [
        *(f"agency:{a}" for a in sorted(set(agencies))),
        *(f"partner:{p}" for p in sorted(set(partners))),
    ]
