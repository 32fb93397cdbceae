"""What an ingest run hands back and how it is named: ids, counts and words, never a value.

Prefect-free helpers of the ingest flow (``flows/ingest.py``) and of the direct one-shot run
(``flows/direct.py``): the run's summary, each file's outcome word, the run's final state
name, its label and the table of the "latest run" artifact. Everything here is built from
:class:`~usecases.handoff.OutcomeRecord` (ids, counts, rule ids), safe for Prefect
parameters, results, state messages, tags and artifacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypedDict

from usecases.handoff import OutcomeRecord

__all__ = [
    "LAST_RUN_COLUMNS",
    "IngestSummary",
    "StateAndRows",
    "agencies_label",
    "batch_label",
    "claim_label",
    "file_outcome",
    "files_label",
    "last_run_table",
    "run_label",
    "run_outcome",
    "state_message",
    "summarise",
]

#: The columns of the ``intake-last-run`` artifact (ids and counts only).
LAST_RUN_COLUMNS: Final = (
    "file_ref",
    "agency_id",
    "partner_id",
    "state",
    "rows_total",
    "rows_sent",
    "rows_held",
    "rows_not_transmittable",
    "warnings",
    "reject_rule",
    "package_id",
)


class StateAndRows(TypedDict):
    """What an outcome word is decided from (every :class:`OutcomeRecord` has both)."""

    state: str
    rows_sent: int


class IngestSummary(TypedDict):
    """An ingest run's result: counts by state and totals, then each file's outcome."""

    files: int
    by_state: dict[str, int]
    rows_sent: int
    rows_held: int
    rows_not_transmittable: int
    outcomes: list[OutcomeRecord]
    claims_failed: int  # claims that raised this run: retried next run, given up after a few


def summarise(outcomes: Sequence[OutcomeRecord], claims_failed: int = 0) -> IngestSummary:
    """Counts by state and totals, for ``handoff process --json`` and the flow result."""
    by_state: dict[str, int] = {}
    for outcome in outcomes:
        by_state[outcome["state"]] = by_state.get(outcome["state"], 0) + 1
    return IngestSummary(
        files=len(outcomes),
        by_state=by_state,
        rows_sent=sum(o["rows_sent"] for o in outcomes),
        rows_held=sum(o["rows_held"] for o in outcomes),
        rows_not_transmittable=sum(o["rows_not_transmittable"] for o in outcomes),
        outcomes=list(outcomes),
        claims_failed=claims_failed,
    )


def file_outcome(outcome: StateAndRows) -> str:
    """One file's outcome word: delivered, refused, held-back or duplicate."""
    if outcome["state"] == "rejected":
        return "refused"
    if outcome["state"] == "duplicate":
        return "duplicate"
    if outcome["state"] == "not_sent" or (
        outcome["state"] == "delivered" and outcome["rows_sent"] == 0
    ):
        return "held-back"
    return "delivered"


def run_outcome(outcomes: Sequence[StateAndRows]) -> tuple[str, str]:
    """(state name, outcome tag word) for a run: the file needing most attention wins.

    The state type stays COMPLETED: the run did its job (the agency has its report), so no
    retry and no failure alarm; the name makes a refusal stand out in the run list.
    """
    words = {file_outcome(o) for o in outcomes}
    for word, name in (
        ("refused", "Refused"),
        ("held-back", "Held back"),
        ("delivered", "Delivered"),
        ("duplicate", "Duplicate"),
    ):
        if word in words:
            return name, word
    return "Completed", "none"


def agencies_label(agencies: Sequence[str]) -> str:
    """The one agency's id, or ``<n> agencies``."""
    unique = sorted(set(agencies))
    return unique[0] if len(unique) == 1 else f"{len(unique)} agencies"


def claim_label(agency_id: str, claim_id: str) -> str:
    """``<agency> claim <id>``: whose file, by the claim's random id (no name, no value)."""
    return f"{agency_id} claim {claim_id[:12]}"


def files_label(claims: Sequence[tuple[str, str]]) -> str | None:
    """Whose files, from their (agency id, claim id) pairs, before any is judged:
    ``<agency> claim <id>`` for one, ``<agencies> <n> files`` for more; None for none."""
    if len(claims) == 1:
        return claim_label(*claims[0])
    if claims:
        return f"{agencies_label([a for a, _ in claims])} {len(claims)} files"
    return None


def batch_label(claims: Sequence[tuple[str, str]]) -> str | None:
    """A run's name from its (agency id, claim id) pairs (see :func:`files_label`):
    ``ingest <agency> claim <id>`` for one, ``ingest <agencies> <n> files`` for more."""
    label = files_label(claims)
    return None if label is None else f"ingest {label}"


def run_label(outcomes: Sequence[OutcomeRecord]) -> str | None:
    """A finished run's name: ``ingest <agency> <file ref>`` for one file, else a count."""
    if len(outcomes) == 1:
        return f"ingest {outcomes[0]['agency_id']} {outcomes[0]['file_ref']}"
    if outcomes:
        return f"ingest {agencies_label([o['agency_id'] for o in outcomes])} {len(outcomes)} files"
    return None


def state_message(summary: IngestSummary) -> str:
    """The final state's message: counts by state and rows sent."""
    states = ", ".join(f"{n} {s}" for s, n in sorted(summary["by_state"].items()))
    return f"{summary['files']} file(s): {states or 'none'}; {summary['rows_sent']} row(s) sent"


def last_run_table(outcomes: Sequence[OutcomeRecord]) -> list[dict[str, object]]:
    """The rows of the ``intake-last-run`` artifact."""
    rows: list[dict[str, object]] = [dict(outcome) for outcome in outcomes]
    return [{column: row[column] for column in LAST_RUN_COLUMNS} for row in rows]
