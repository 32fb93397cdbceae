"""The ledger and the record HMAC key are apart, and rows never sent leave no identity hash."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from hmis_handoff.hashing import RecordKeyer
from hmis_handoff.ledger import FileState, RecordState
from tests.pipeline.test_pipeline import drop_rows, make_pipeline, rows, run_all
from usecases.initialise import initialise
from usecases.match_keys import keyer_for


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    initialise(data, demo=True)
    return data


def test_the_hmac_key_is_not_beside_the_ledger(root: Path) -> None:
    state = root / "state"
    assert not (state / "record-hmac.key").exists()
    key = root / "keys" / "record-hmac.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert not any(p.name.endswith(".key") for p in state.rglob("*") if "hmac" in p.name)


def test_a_legacy_key_is_moved_once_and_keeps_matching(root: Path) -> None:
    key = root / "keys" / "record-hmac.key"
    secret = key.read_bytes()
    legacy = root / "state" / "record-hmac.key"
    key.rename(legacy)
    pipe = make_pipeline(root)
    assert key.read_bytes() == secret and not legacy.exists()
    assert pipe.keyer.intake_key("a", "b") == RecordKeyer(secret).intake_key("a", "b")
    assert keyer_for(pipe.settings).intake_key("a", "b") == pipe.keyer.intake_key("a", "b")


def test_rows_never_sent_store_no_keyed_identity_hash(root: Path) -> None:
    pipe = make_pipeline(root)
    data = rows(3, "NOS")
    data[1]["ROIConsent"] = "0"
    data[1]["ROISignedDate"] = ""
    drop_rows(root, data)
    (outcome,), _ = run_all(pipe)
    assert outcome.state == FileState.DELIVERED
    assert (outcome.rows_sent, outcome.rows_not_transmittable) == (2, 1)
    ledger = root / "state" / "ledger.db"
    with sqlite3.connect(ledger) as db:
        found = db.execute(
            "SELECT state, person_key, match_key_a, match_key_b, match_key_c FROM intake_record"
        ).fetchall()
    held = [r for r in found if r[0] == RecordState.NOT_TRANSMITTABLE]
    sent = [r for r in found if r[0] == RecordState.DELIVERED]
    assert len(held) == 1 and held[0][1:] == (None, None, None, None)
    assert len(sent) == 2 and all(all(r[1:]) for r in sent)
