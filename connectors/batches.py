"""Which settled files go into the next hand-off batch: fair across agencies, bounded.

The watcher hands every batch to one ingest flow run and sweeps again only when it returns,
so a batch of a thousand files from one agency would keep another agency's single file
waiting for all of them. A batch therefore takes files round-robin across agencies (each
agency's in the order the scanner found them) and at most ``limit`` in all; the rest stay
unclaimed in their drop folders, settled, and lead the next sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import zip_longest

from connectors.dropfolder import DropCandidate

__all__ = ["DEFAULT_BATCH_LIMIT", "fair_batch", "fair_order"]

DEFAULT_BATCH_LIMIT = 50


def fair_order(settled: Sequence[DropCandidate]) -> list[DropCandidate]:
    """All of ``settled``, round-robin across agencies (each agency's in its own order)."""
    queues: dict[str, list[DropCandidate]] = {}
    for candidate in settled:
        queues.setdefault(candidate.agency_id, []).append(candidate)
    return [c for turn in zip_longest(*queues.values()) for c in turn if c is not None]


def fair_batch(
    settled: Sequence[DropCandidate], limit: int = DEFAULT_BATCH_LIMIT
) -> tuple[list[DropCandidate], int]:
    """(the batch, how many settled files were left for the next one). ``limit`` >= 1."""
    if limit < 1:
        raise ValueError("limit must be >= 1")
    interleaved = fair_order(settled)
    return interleaved[:limit], max(0, len(interleaved) - limit)
