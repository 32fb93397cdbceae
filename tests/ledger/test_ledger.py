"""The ledger state machine on a real SQLite file and on the real PostgreSQL (required)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, inspect, text

from hmis_handoff.errors import IntegrityError
from hmis_handoff.ledger import FileCounts, FileState, Ledger, NewRecord, PackageInfo, RecordState
from hmis_handoff.ledger.models import Base

PG_URL = os.environ.get("HANDOFF_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path) -> Iterator[Ledger]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        led = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
        yield led
        led.close()
        return
    # No skip: tests/conftest.py has checked PostgreSQL before the session; an error here
    # (credentials, a missing database) is a failure worth seeing.
    schema = f"t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    led = Ledger(f"{PG_URL}?options=-csearch_path%3D{schema}")
    yield led
    led.close()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _claim(ledger: Ledger, claim_id: str, sha: str) -> int:
    return ledger.register_claim(
        claim_id=claim_id,
        sha256=sha,
        agency_id="a1",
        partner_id="p1",
        received_at=datetime.now(UTC),
    ).id


def _record(intake_id: str, state: RecordState = RecordState.DELIVERED) -> NewRecord:
    return NewRecord(
        intake_id=intake_id,
        row_number=2,
        state=state,
        intake_date=date(2026, 2, 11),
        received_on=date(2026, 2, 11),
        due_date=date(2026, 2, 18),
        submitted_late=False,
    )


def test_same_bytes_twice_is_one_file_and_one_duplicate(ledger: Ledger) -> None:
    first = _claim(ledger, "c1", "a" * 64)
    second = ledger.register_claim(
        claim_id="c2",
        sha256="a" * 64,
        agency_id="a1",
        partner_id="p1",
        received_at=datetime.now(UTC),
    )
    assert ledger.file(first).state == FileState.RECEIVED
    assert second.state == FileState.DUPLICATE and second.duplicate_of == first


def test_register_claim_is_idempotent(ledger: Ledger) -> None:
    first = _claim(ledger, "c1", "b" * 64)
    assert _claim(ledger, "c1", "b" * 64) == first
    assert len(ledger.files()) == 1


def test_delivery_lands_records_package_and_state_together(ledger: Ledger) -> None:
    file_id = _claim(ledger, "c1", "c" * 64)
    counts = FileCounts(3, 2, 0, 1, 0, "FY2026", "csv")
    ledger.mark_validated(file_id, counts)
    package = PackageInfo("20260211-cccccccccccc", datetime.now(UTC), 2, "d" * 64)
    records = [_record("I-1"), _record("I-2"), _record("I-3", RecordState.NOT_TRANSMITTABLE)]
    ledger.mark_delivered(file_id, counts=counts, package=package, records=records)
    ledger.mark_delivered(file_id, counts=counts, package=package, records=records)  # repeat
    view = ledger.file(file_id)
    assert view.state == FileState.DELIVERED and view.package_id == package.package_id
    assert len(ledger.records()) == 3
    assert ledger.previously_sent("a1") == frozenset({"I-1", "I-2"})


def test_an_intake_is_delivered_once_even_across_files(ledger: Ledger) -> None:
    counts = FileCounts(1, 1, 0, 0, 0)
    first = _claim(ledger, "c1", "e" * 64)
    ledger.mark_delivered(first, counts=counts, package=None, records=[_record("I-1")])
    second = _claim(ledger, "c2", "f" * 64)
    with pytest.raises(Exception):  # noqa: B017 - the database's unique index refuses it
        ledger.mark_delivered(second, counts=counts, package=None, records=[_record("I-1")])
    assert ledger.file(second).state == FileState.RECEIVED


def test_terminal_states_do_not_move_back(ledger: Ledger) -> None:
    file_id = _claim(ledger, "c1", "1" * 64)
    ledger.mark_rejected(file_id, "FILE-EMPTY", FileCounts(0, 0, 0, 0, 0))
    with pytest.raises(IntegrityError):
        ledger.mark_delivered(file_id, counts=FileCounts(0, 0, 0, 0, 0), package=None, records=[])
    assert ledger.file(file_id).reject_rule == "FILE-EMPTY"


def test_entry_keeps_the_earliest_evidence(ledger: Ledger) -> None:
    file_id = _claim(ledger, "c1", "2" * 64)
    ledger.mark_delivered(
        file_id, counts=FileCounts(1, 1, 0, 0, 0), package=None, records=[_record("I-9")]
    )
    record_id = ledger.records()[0].id
    assert ledger.mark_entered(record_id=record_id, entered_on=date(2026, 2, 17), source="csv")
    assert not ledger.mark_entered(record_id=record_id, entered_on=date(2026, 2, 19), source="x")
    assert ledger.mark_entered(record_id=record_id, entered_on=date(2026, 2, 16), source="hmis")
    rec = ledger.records()[0]
    assert rec.state == RecordState.ENTERED and rec.entered_on == date(2026, 2, 16)


PII_WORDS = ("name", "ssn", "dob", "birth", "first", "last", "social", "address", "phone")


def test_ledger_schema_has_no_pii_columns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    led = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    columns = [
        (table, column["name"])
        for table in inspect(led.engine).get_table_names()
        for column in inspect(led.engine).get_columns(table)
    ]
    led.close()
    assert columns
    offending = [c for c in columns if any(w in c[1].lower() for w in PII_WORDS)]
    assert offending == []
    assert {t.name for t in Base.metadata.sorted_tables} <= {t for t, _ in columns}


def test_a_migration_that_dies_half_way_leaves_no_half_made_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Found by the crash lab: a SIGKILL between two CREATE TABLEs of the first migration
    left ``intake_file`` without a version row, and every later start failed ("table
    intake_file already exists"). Here the second table's name is taken, so the upgrade
    fails after creating the first: nothing of it may remain, and a retry completes."""
    import sqlite3

    db = tmp_path / "ledger.db"
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("CREATE TABLE intake_record (blocker INTEGER)")
        con.commit()
    with pytest.raises(Exception, match="intake_record"):
        Ledger(f"sqlite:///{db}")
    with contextlib.closing(sqlite3.connect(db)) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"intake_record"}, "the failed upgrade left part of its schema"
        con.execute("DROP TABLE intake_record")
        con.commit()
    ledger = Ledger(f"sqlite:///{db}")
    try:
        assert ledger.files() == []
    finally:
        ledger.close()
