"""Hand-off batches: round-robin across agencies and bounded, so one agency's backlog
cannot keep another's file waiting behind it; nothing settled is dropped from view."""

from __future__ import annotations

import pytest

from connectors.batches import fair_batch, fair_order
from connectors.dropfolder import claim

from .conftest import AGENCIES, Tree


def test_a_single_file_is_not_queued_behind_another_agencys_backlog(tree: Tree) -> None:
    for i in range(30):
        tree.put(f"backlog-{i:02d}.csv", f"id\n{i}\n".encode(), agency=AGENCIES[0])
    tree.put("one.csv", b"id\n99\n", agency=AGENCIES[1])
    scanner = tree.scanner(stable_seconds=0.0)
    settled = scanner.scan().settled
    assert len(settled) == 31

    batch, left = fair_batch(settled, limit=10)
    assert (len(batch), left) == (10, 21)
    # The second agency's only file is among the first two, whatever the listing order.
    assert [c.agency_id for c in batch[:2]].count(AGENCIES[1]) == 1
    for candidate in batch:
        assert claim(candidate, tree.work) is not None

    # What was left is still settled on the next scan, and all of it is handed out in turn.
    seen = {c.path for c in batch}
    while True:
        rest = scanner.scan().settled
        if not rest:
            break
        batch, _left = fair_batch(rest, limit=10)
        assert not seen & {c.path for c in batch}, "a file was batched twice"
        seen |= {c.path for c in batch}
        for candidate in batch:
            assert claim(candidate, tree.work) is not None
    assert len(seen) == 31
    assert tree.listing(tree.drop(AGENCIES[0])) == tree.listing(tree.drop(AGENCIES[1])) == []


def test_a_batch_needs_room_for_one_file() -> None:
    with pytest.raises(ValueError):
        fair_batch([], limit=0)


def test_a_sweep_hands_off_round_robin_across_agencies(tree: Tree) -> None:
    # The order one-shot sweeps and deployment runs claim (and so hand off) files in.
    for i in range(5):
        tree.put(f"a-{i}.csv", f"id\n{i}\n".encode(), agency=AGENCIES[0])
    for i in range(2):
        tree.put(f"b-{i}.csv", f"id\n{i}\n".encode(), agency=AGENCIES[1])
    ordered = fair_order(tree.scanner(stable_seconds=0.0).scan().settled)
    agencies = [c.agency_id for c in ordered]
    assert agencies[:4].count(AGENCIES[1]) == 2 and agencies[4:] == [AGENCIES[0]] * 3
    assert sorted(c.path.name for c in ordered) == sorted(
        [f"a-{i}.csv" for i in range(5)] + ["b-0.csv", "b-1.csv"]
    )
