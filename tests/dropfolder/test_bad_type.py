"""Unsupported types are answered once they settle (FILE-BAD-TYPE), never ignored forever;
fingerprints are keyed when the caller has a key."""

from __future__ import annotations

import hashlib
import hmac
import json
import os

import pytest

from connectors.dropfolder import (
    RULE_BAD_TYPE,
    RULE_NOT_REGULAR,
    DropFolderScanner,
    SettlePolicy,
    claim,
    pending_claims,
    quarantine_refusal,
)
from hmis_handoff.workarea import CLAIM_SIDECAR_SUFFIX, name_fingerprint
from schemas.rules import FILE_RULE_IDS, RULES

from .conftest import AGENCIES, FakeClock, Tree

KEY = b"k" * 32
UNSUPPORTED = ["intake.xls", "scan.PDF", "notes.docx", "bundle.zip", "intake", "intake.csv.bak"]


def test_unsupported_files_are_refused_once_after_they_settle(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    for name in UNSUPPORTED:
        tree.put(name)
    first = scanner.scan()
    assert (first.refused, first.pending, first.ignored) == ([], len(UNSUPPORTED), 0)
    clock.advance(2)
    second = scanner.scan()
    assert sorted(r.path.name for r in second.refused) == sorted(UNSUPPORTED)
    assert {(r.reason_rule_id, r.kind) for r in second.refused} == {(RULE_BAD_TYPE, "file")}
    assert second.settled == []
    clock.advance(5)
    assert scanner.scan().refused == []  # reported once per object
    for refusal in second.refused:
        moved = quarantine_refusal(refusal, tree.quarantine)
        assert moved is not None and moved.is_file()
    assert tree.listing(tree.drop()) == []


def test_a_growing_unsupported_file_is_not_refused_mid_write(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    path = tree.put("intake.xls", b"a")
    scanner.scan()
    clock.advance(1.5)
    with path.open("ab") as handle:
        handle.write(b"b")
    clock.advance(0.6)
    assert scanner.scan().refused == []
    clock.advance(2)
    [refusal] = scanner.scan().refused
    assert refusal.reason_rule_id == RULE_BAD_TYPE


def test_a_done_marker_does_not_hurry_an_unsupported_file(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock)
    tree.put("intake.xls")
    tree.put("intake.xls.done", b"")
    assert scanner.scan().refused == []


def test_temp_names_are_still_ignored(tree: Tree, clock: FakeClock) -> None:
    scanner = tree.scanner(clock, stable_seconds=0)
    for name in ("A1B2C3D4", "~$intake.xlsx", "intake.tmp", ".hidden"):
        tree.put(name)
    result = scanner.scan()
    assert (result.refused, result.ignored) == ([], 4)


def test_non_regular_objects_without_an_allowed_suffix_are_refused(
    tree: Tree, clock: FakeClock
) -> None:
    os.symlink("/etc/passwd", tree.drop() / "passwd")
    os.mkfifo(tree.drop() / "pipe.xls")
    result = tree.scanner(clock, stable_seconds=0).scan()
    kinds = {r.path.name: (r.reason_rule_id, r.kind) for r in result.refused}
    assert kinds == {
        "passwd": (RULE_NOT_REGULAR, "symlink"),
        "pipe.xls": (RULE_NOT_REGULAR, "fifo"),
    }


def test_bad_type_is_in_the_catalogue_with_plain_guidance() -> None:
    assert RULE_BAD_TYPE in FILE_RULE_IDS
    entry = RULES[RULE_BAD_TYPE]
    assert entry.severity == "error"
    assert ".xlsx" in entry.guidance and "CSV UTF-8" in entry.guidance


def test_keyed_fingerprint_is_a_truncated_hmac() -> None:
    name = "Jane_Doe_intake.csv"
    expected = hmac.new(KEY, name.encode(), hashlib.sha256).hexdigest()[:16]
    assert name_fingerprint(name, KEY) == expected
    assert name_fingerprint(name.encode(), KEY) == expected
    assert name_fingerprint(name, b"other-key") != expected
    assert name_fingerprint(name) == hashlib.sha256(name.encode()).hexdigest()[:12]
    with pytest.raises(ValueError):
        name_fingerprint(name, b"")


def test_scanner_and_claim_use_the_key(tree: Tree, clock: FakeClock) -> None:
    scanner = DropFolderScanner(
        tree.agencies, AGENCIES, SettlePolicy(stable_seconds=0), clock, fingerprint_key=KEY
    )
    tree.put("Jane_Doe.pdf")
    tree.put("Jane_Doe.csv")
    result = scanner.scan()
    [refusal] = result.refused
    assert refusal.fingerprint == name_fingerprint("Jane_Doe.pdf", KEY)
    [candidate] = result.settled
    claimed = claim(candidate, tree.work, fingerprint_key=KEY)
    assert claimed is not None
    assert claimed.name_fingerprint == name_fingerprint("Jane_Doe.csv", KEY)
    sidecar = json.loads((tree.work / f"{claimed.claim_id}{CLAIM_SIDECAR_SUFFIX}").read_text())
    assert sidecar["name_fingerprint"] == claimed.name_fingerprint
    assert pending_claims(tree.work) == [claimed]


def test_an_empty_key_is_refused_up_front(tree: Tree) -> None:
    with pytest.raises(ValueError):
        DropFolderScanner(tree.agencies, AGENCIES, SettlePolicy(), fingerprint_key=b"")
