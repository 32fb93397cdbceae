"""Match keys: the intake and both kinds of HMIS export meet in one HMAC space."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from hmis_handoff.hashing import RecordKeyer, hud_hashed_name, hud_hashed_ssn
from hmis_handoff.ledger import FileCounts, Ledger, NewRecord, RecordState
from hmis_handoff.ledger.models import Base
from hmis_handoff.ledger.store import make_engine
from usecases.match_keys import MATCH_KEY_COLUMNS, client_match_keys, record_match_keys

KEYER = RecordKeyer(b"k" * 32)
ROW = {
    "FirstName": "Alpha",
    "LastName": "Testperson",
    "DOB": "1980-05-17",
    "SSN": "700010001",
    "SSNDataQuality": "1",
}
MIGRATIONS = Path(__file__).resolve().parents[2] / "hmis_handoff" / "migrations"


def _hashed(row: dict[str, str]) -> dict[str, str]:
    return {
        **row,
        "FirstName": hud_hashed_name(row["FirstName"]),
        "LastName": hud_hashed_name(row["LastName"]),
        "SSN": hud_hashed_ssn(row["SSN"]),
    }


def test_intake_unhashed_and_hashed_exports_give_the_same_keys() -> None:
    keys = record_match_keys(KEYER, ROW)
    assert set(keys) == set(MATCH_KEY_COLUMNS) and all(keys.values())
    assert client_match_keys(KEYER, ROW, hashed=False) == keys
    assert client_match_keys(KEYER, _hashed(ROW), hashed=True) == keys
    # Soundex tolerates a misspelt name; an export writes DOB as a datetime.
    sloppy = {**ROW, "FirstName": "Alfa", "DOB": "1980-05-17 00:00:00", "SSN": "700-01-0001"}
    assert client_match_keys(KEYER, sloppy, hashed=False) == keys


def test_keys_are_keyed_and_hold_no_hud_hash() -> None:
    keys = record_match_keys(KEYER, ROW)
    other = record_match_keys(RecordKeyer(b"o" * 32), ROW)
    assert not set(keys.values()) & set(other.values())
    hud = {hud_hashed_name("Alpha"), hud_hashed_name("Testperson"), hud_hashed_ssn("700010001")}
    for value in keys.values():
        assert value is not None
        assert value not in hud
        assert "1980" not in value and "0001" not in value


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"SSN": "", "SSNDataQuality": "99"}, {"match_key_b": None, "match_key_c": None}),
        ({"SSN": "123456789"}, {"match_key_b": None, "match_key_c": None}),  # invalid run
        ({"SSN": "xxxxx0001", "SSNDataQuality": "2"}, {"match_key_b": None}),
        ({"SSNDataQuality": "2"}, {"match_key_b": None}),
        ({"DOB": "", "DOBDataQuality": "99"}, {"match_key_a": None}),
        ({"DOB": "05/17/1980"}, {"match_key_a": None}),
        ({"FirstName": ""}, {"match_key_a": None, "match_key_c": None}),
        ({"LastName": "---"}, {"match_key_a": None, "match_key_c": None}),
    ],
)
def test_unusable_parts_give_no_key(change: dict[str, str], expected: dict[str, None]) -> None:
    keys = record_match_keys(KEYER, {**ROW, **change})
    for column in MATCH_KEY_COLUMNS:
        if column in expected:
            assert keys[column] is None, column
        else:
            assert keys[column] is not None, column


def test_placeholder_hashes_in_an_export_give_no_key() -> None:
    placeholder = {
        **ROW,
        "FirstName": "2cb30d5ef678412db20875ccf25c63ff",
        "LastName": "e7237c4404bb3671b76aacf5e84bec3d",
        "SSN": "8665fe03681cf0c07eda9cf76fa800f2",
    }
    assert client_match_keys(KEYER, placeholder, hashed=True) == {
        "match_key_a": None,
        "match_key_b": None,
        "match_key_c": None,
    }


def test_partial_ssn_in_a_hashed_export_never_matches_a_full_one() -> None:
    partial = _hashed({**ROW, "SSN": "xxxxx0001"})
    keys = client_match_keys(KEYER, partial, hashed=True)
    intake = record_match_keys(KEYER, ROW)
    assert keys["match_key_b"] != intake["match_key_b"]
    assert keys["match_key_c"] == intake["match_key_c"]  # names + last four still meet


def test_never_raises_on_junk() -> None:
    junk = {"FirstName": "\x00", "LastName": "💥", "DOB": "9999-99-99", "SSN": "abc-!"}
    assert record_match_keys(KEYER, junk) == {c: None for c in MATCH_KEY_COLUMNS}
    assert client_match_keys(KEYER, junk, hashed=True) == {c: None for c in MATCH_KEY_COLUMNS}


def test_migration_0002_upgrades_a_0001_ledger_with_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO intake_file (id, claim_id, sha256, agency_id, partner_id, state,"
                " received_at, updated_at, rows_total, rows_sent, rows_held,"
                " rows_not_transmittable, warnings) VALUES (1, 'c', 'a', 'a1', 'p1', 'delivered',"
                " '2026-03-02', '2026-03-02', 1, 1, 0, 0, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO intake_record (file_id, agency_id, partner_id, intake_id, row_number,"
                " state, intake_date, received_on, due_date, submitted_late) VALUES"
                " (1, 'a1', 'p1', 'I-1', 2, 'delivered', '2026-03-02', '2026-03-02',"
                " '2026-03-05', 0)"
            )
        )
    engine.dispose()
    ledger = Ledger(url)  # migrates to head
    try:
        assert ledger.records()[0].match_key_a is None
        columns = {c["name"] for c in inspect(ledger.engine).get_columns("intake_record")}
        assert set(MATCH_KEY_COLUMNS) <= columns
        with ledger.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"version_table": "handoff_alembic_version"}
            )
            assert compare_metadata(context, Base.metadata) == []
        with ledger.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        columns = {c["name"] for c in inspect(ledger.engine).get_columns("intake_record")}
        assert not set(MATCH_KEY_COLUMNS) & columns
    finally:
        ledger.close()


def test_delivery_stores_the_keys(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        file_id = ledger.register_claim(
            claim_id="c1",
            sha256="a" * 64,
            agency_id="a1",
            partner_id="p1",
            received_at=datetime.now(UTC),
        ).id
        keys = record_match_keys(KEYER, ROW)
        record = NewRecord(
            intake_id="I-1",
            row_number=2,
            state=RecordState.DELIVERED,
            intake_date=date(2026, 3, 2),
            received_on=date(2026, 3, 2),
            due_date=date(2026, 3, 5),
            submitted_late=False,
            **keys,
        )
        ledger.mark_delivered(
            file_id, counts=FileCounts(1, 1, 0, 0, 0), package=None, records=[record]
        )
        stored = ledger.records()[0]
        assert (stored.match_key_a, stored.match_key_b, stored.match_key_c) == (
            keys["match_key_a"],
            keys["match_key_b"],
            keys["match_key_c"],
        )
    finally:
        ledger.close()
