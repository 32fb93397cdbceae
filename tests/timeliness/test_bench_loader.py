"""The ledger's fast column scan returns exactly what a plain ORM query does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select

from hmis_handoff.ledger import Ledger, RecordState
from hmis_handoff.ledger.models import IntakeRecord
from hmis_handoff.ledger.scan import _load_generic, load_record_arrays
from tests.timeliness.bench_support import build_ledger


def test_fast_scan_matches_plain_query(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    build_ledger(db, 2_000)
    ledger = Ledger(f"sqlite:///{db}")
    fast = load_record_arrays(ledger)
    generic = _load_generic(ledger, "", {})
    order = np.argsort(fast.ids)
    assert np.array_equal(fast.ids[order], generic.ids)
    for name in ("intake", "received", "due", "entered", "transmittable"):
        assert np.array_equal(
            getattr(fast, name)[order], getattr(generic, name), equal_nan=name != "transmittable"
        ), name
    with ledger.session() as session:
        rows = session.execute(
            select(IntakeRecord.id, IntakeRecord.entered_on, IntakeRecord.state).order_by(
                IntakeRecord.id
            )
        ).all()
    assert [r.id for r in rows] == generic.ids.tolist()
    assert [
        r.state != RecordState.NOT_TRANSMITTABLE for r in rows
    ] == generic.transmittable.tolist()
    assert sum(r.entered_on is None for r in rows) == int(np.isnat(generic.entered).sum())
    narrow = load_record_arrays(ledger, with_start=False, agency_id="agency-1")
    assert np.isnat(narrow.intake).all() and len(narrow) == sum(
        1 for i in range(2_000) if i % 8 == 1
    )
    ledger.close()


def test_one_scan_assigns_every_record_its_agency_partner_pair(tmp_path: Path) -> None:
    from hmis_handoff.ledger.scan import agency_partner_pairs

    db = tmp_path / "ledger.db"
    build_ledger(db, 500)
    ledger = Ledger(f"sqlite:///{db}")
    pairs = agency_partner_pairs(ledger)
    arrays = load_record_arrays(ledger, pairs=pairs, with_start=False)
    with ledger.session() as session:
        truth = dict(
            session.execute(
                select(IntakeRecord.id, IntakeRecord.agency_id + "|" + IntakeRecord.partner_id)
            ).all()
        )
    assert len(pairs) == 24
    for record_id, pair in zip(arrays.ids.tolist(), arrays.pair.tolist(), strict=True):
        assert "|".join(pairs[pair]) == truth[record_id]
    ledger.close()
