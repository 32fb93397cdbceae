"""Recovery details: a lock file left by a crash at the very end of cleanup is removed, not
reported; one claim can be loaded by id without listing the work area."""

from __future__ import annotations

import logging
import os
import time

import pytest

from connectors.dropfolder import (
    SettlePolicy,
    claim,
    load_claim,
    pending_claims,
)
from hmis_handoff.errors import ConfigError
from hmis_handoff.workarea import CLAIM_SIDECAR_SUFFIX

from .conftest import Tree

LOCK = "0123456789abcdef0123456789abcdef.lock"


def test_a_lock_without_its_claim_is_removed_after_the_grace(
    tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    tree.work.mkdir(mode=0o700)
    lock = tree.work / LOCK
    lock.touch(mode=0o600)
    caplog.set_level(logging.WARNING)
    assert pending_claims(tree.work) == []
    assert lock.exists()  # young: another worker may be finishing its cleanup
    old = time.time() - 400
    os.utime(lock, (old, old))
    assert pending_claims(tree.work) == []
    assert not lock.exists()
    assert not caplog.records, "a lock file is not a claim without a sidecar"


def test_a_lock_beside_a_live_claim_is_kept(tree: Tree) -> None:
    tree.put("intake.csv")
    [candidate] = tree.scanner(stable_seconds=0).scan().settled
    claimed = claim(candidate, tree.work)
    assert claimed is not None
    lock = tree.work / f"{claimed.claim_id}.lock"
    lock.touch(mode=0o600)
    assert pending_claims(tree.work, orphan_grace_seconds=0) == [claimed]
    assert lock.exists()
    assert (tree.work / f"{claimed.claim_id}{CLAIM_SIDECAR_SUFFIX}").exists()


def test_lock_is_never_a_claimable_suffix() -> None:
    with pytest.raises(ConfigError):
        SettlePolicy(allowed_suffixes=(".csv", ".lock"))


def test_load_claim_reads_one_complete_claim(tree: Tree) -> None:
    tree.put("intake.csv")
    [candidate] = tree.scanner(stable_seconds=0).scan().settled
    claimed = claim(candidate, tree.work)
    assert claimed is not None
    assert load_claim(tree.work, claimed.claim_id) == claimed
    assert load_claim(tree.work, "../" + claimed.claim_id) is None
    assert load_claim(tree.work, "0" * 32) is None
    claimed.path.unlink()  # a sidecar without its file is no claim
    assert load_claim(tree.work, claimed.claim_id) is None


def test_an_orphan_sidecar_and_its_lock_go_in_one_pass(tree: Tree) -> None:
    """Found by the crash lab: a sidecar whose file is gone (crash mid-cleanup) was removed,
    but its lock file only on the next recovery, so a second clean run changed the tree."""
    tree.put("intake.csv")
    [candidate] = tree.scanner(stable_seconds=0).scan().settled
    claimed = claim(candidate, tree.work)
    assert claimed is not None
    lock = tree.work / f"{claimed.claim_id}.lock"
    lock.touch(mode=0o600)
    claimed.path.unlink()  # the pipeline finished with the file, then the process died
    old = time.time() - 400
    os.utime(lock, (old, old))
    assert pending_claims(tree.work, orphan_grace_seconds=0) == []
    assert sorted(os.listdir(tree.work)) == []
