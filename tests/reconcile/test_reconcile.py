"""Reconciliation against HMIS CSV exports: hashed and unhashed, FY2024 and FY2026, ambiguity."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import pytest

from connectors.hmis_export import ExportLimits, open_export
from hmis_handoff.config import Settings
from hmis_handoff.errors import FileRejected
from hmis_handoff.ledger import Ledger
from tests.reconcile.support import (
    OTHER_AGENCY,
    PARTNER,
    SHARED,
    XIA,
    YAN,
    ZED,
    Export,
    Person,
    deliver,
    make_root,
)
from usecases.match_keys import keyer_for
from usecases.reconcile import ReconcileResult, outcomes_by_rule, reconcile_export

INTAKE = date(2026, 3, 2)
TODAY = date(2026, 3, 20)


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[tuple[Settings, Ledger]]:
    settings = make_root(tmp_path)
    ledger = Ledger(settings.ledger_url)
    yield settings, ledger
    ledger.close()


def _run(
    settings: Settings, ledger: Ledger, export: Path, *, partner: str = PARTNER
) -> ReconcileResult:
    return reconcile_export(
        export, partner_id=partner, ledger=ledger, keyer=keyer_for(settings), today=TODAY
    )


def _entered(ledger: Ledger) -> dict[str, tuple[date | None, str | None, str | None]]:
    return {
        r.intake_id: (r.entered_on, r.entered_source, r.hmis_personal_id) for r in ledger.records()
    }


@pytest.mark.parametrize("hash_status", [1, 4])
@pytest.mark.parametrize("fy", ["FY2024", "FY2026"])
@pytest.mark.parametrize("shape", ["zip", "folder"])
def test_delivered_record_is_found_and_dated(
    env: tuple[Settings, Ledger], tmp_path: Path, hash_status: int, fy: str, shape: str
) -> None:
    settings, ledger = env
    deliver(settings, ledger, [("I-1", ZED, INTAKE), ("I-2", YAN, INTAKE)])
    export = Export(hash_status=hash_status, fy=fy)
    export.client("P1", ZED)
    export.client("P9", XIA)  # someone we never sent
    export.enrollment("P1", "2026-03-02", "2026-03-04 16:30:00")
    export.enrollment("P9", "2026-03-02", "2026-03-03 08:00:00")
    path = (
        export.write_zip(tmp_path / "x.zip")
        if shape == "zip"
        else export.write_folder(tmp_path / "x")
    )
    result = _run(settings, ledger, path)
    assert result.summary.hash_status == hash_status and result.summary.csv_version == fy
    assert [(o.intake_id, o.entered_on, o.personal_id) for o in result.matched] == [
        ("I-1", date(2026, 3, 4), "P1")
    ]
    assert outcomes_by_rule(result.problems) == {"RECON-NOT-FOUND": ["I-2"]}
    assert result.newly_entered() == {"demo-agency": ["I-1"]}
    assert _entered(ledger)["I-1"] == (date(2026, 3, 4), "hmis-export", "P1")
    assert _entered(ledger)["I-2"] == (None, None, None)
    # The same export again changes nothing.
    again = _run(settings, ledger, path)
    assert again.newly_entered() == {} and again.counts["matched"] == 1


def test_earliest_live_datecreated_wins_and_deleted_rows_are_ignored(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    deliver(settings, ledger, [("I-1", ZED, INTAKE), ("I-2", YAN, INTAKE)])
    export = Export(hash_status=4)
    export.client("P1", ZED)
    export.client("P2", YAN)
    export.enrollment("P1", "2026-03-02", "2026-03-06 10:00:00")
    export.assessment("P1", "2026-03-02", "2026-03-05 09:00:00")
    export.event("P1", "2026-03-02", "2026-03-04 17:59:59")  # earliest: wins
    export.event("P1", "2026-03-01", "2026-03-01 08:00:00")  # other date: not evidence
    export.enrollment("P2", "2026-03-02", "2026-03-02 09:00:00", deleted="2026-03-02 10:00:00")
    export.assessment("P2", "2026-03-02", "2026-03-09 11:00:00")
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert {o.intake_id: o.entered_on for o in result.matched} == {
        "I-1": date(2026, 3, 4),
        "I-2": date(2026, 3, 9),
    }
    assert result.summary.evidence_rows_deleted == 1


def test_only_deleted_evidence_or_deleted_client_is_not_found(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    deliver(settings, ledger, [("I-1", ZED, INTAKE), ("I-2", YAN, INTAKE)])
    export = Export()
    export.client("P1", ZED)
    export.client("P2", YAN, deleted="2026-03-10 00:00:00")
    export.enrollment("P1", "2026-03-02", "2026-03-03 09:00:00", deleted="2026-03-05 00:00:00")
    export.enrollment("P2", "2026-03-02", "2026-03-03 09:00:00")
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert result.matched == ()
    assert outcomes_by_rule(result.problems) == {"RECON-NOT-FOUND": ["I-1", "I-2"]}
    assert result.summary.clients_deleted == 1


def test_two_clients_with_entries_for_one_record_are_reported_not_guessed(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    deliver(settings, ledger, [("I-1", ZED, INTAKE)])
    export = Export(hash_status=4)
    export.client("P1", ZED)
    export.client("P2", ZED)  # an HMIS duplicate of the same person
    export.enrollment("P1", "2026-03-02", "2026-03-03 09:00:00")
    export.enrollment("P2", "2026-03-02", "2026-03-04 09:00:00")
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert result.matched == ()
    assert outcomes_by_rule(result.problems) == {"RECON-AMBIGUOUS-CLIENTS": ["I-1"]}
    assert _entered(ledger)["I-1"][0] is None


def test_a_duplicate_client_without_an_entry_on_the_date_does_not_compete(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    deliver(settings, ledger, [("I-1", ZED, INTAKE)])
    export = Export()
    export.client("P1", ZED)
    export.client("P2", ZED)
    export.enrollment("P2", "2025-06-01", "2025-06-01 09:00:00")  # an old stay, other date
    export.enrollment("P1", "2026-03-02", "2026-03-03 09:00:00")
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert [(o.intake_id, o.personal_id) for o in result.matched] == [("I-1", "P1")]


def test_one_client_for_two_records_of_one_date_is_reported(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    deliver(settings, ledger, [("I-1", ZED, INTAKE), ("I-5", ZED, date(2026, 3, 9))])
    deliver(settings, ledger, [("J-7", ZED, INTAKE)])  # same person, same day, resent as J-7
    export = Export()
    export.client("P1", ZED)
    export.enrollment("P1", "2026-03-02", "2026-03-03 09:00:00")
    export.enrollment("P1", "2026-03-09", "2026-03-10 09:00:00")
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert outcomes_by_rule(result.problems) == {"RECON-AMBIGUOUS-RECORDS": ["I-1", "J-7"]}
    assert [(o.intake_id, o.entered_on) for o in result.matched] == [("I-5", date(2026, 3, 10))]


def test_created_before_intake_counts_as_the_intake_date_and_future_is_refused(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    deliver(settings, ledger, [("I-1", ZED, INTAKE), ("I-2", YAN, INTAKE)])
    export = Export()
    export.client("P1", ZED)
    export.client("P2", YAN)
    export.enrollment("P1", "2026-03-02", "2026-02-27 09:00:00")
    export.enrollment("P2", "2026-03-02", "2026-04-01 09:00:00")
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert [(o.intake_id, o.entered_on) for o in result.matched] == [("I-1", INTAKE)]
    assert result.summary.created_before_intake == 1
    assert outcomes_by_rule(result.problems) == {"RECON-DATE-FUTURE": ["I-2"]}


def test_other_partners_records_and_unkeyed_records_are_left_alone(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    deliver(settings, ledger, [("O-1", ZED, INTAKE)], agency=OTHER_AGENCY)
    deliver(settings, ledger, [("I-0", None, INTAKE)])  # delivered before match keys existed
    export = Export()
    export.client("P1", ZED)
    export.enrollment("P1", "2026-03-02", "2026-03-03 09:00:00")
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert result.matched == ()
    assert result.records_considered == 1 and result.records_without_keys == 1
    assert outcomes_by_rule(result.problems) == {"RECON-NO-KEYS": ["I-0"]}
    assert all(r.entered_on is None for r in ledger.records())


def test_not_found_is_only_reported_inside_the_export_period(
    env: tuple[Settings, Ledger], tmp_path: Path
) -> None:
    settings, ledger = env
    deliver(settings, ledger, [("I-1", ZED, INTAKE)])
    export = Export(start="2025-01-01", end="2025-12-31")
    export.client("P1", YAN)
    result = _run(settings, ledger, export.write_zip(tmp_path / "x.zip"))
    assert result.problems == ()
    assert result.counts["RECON-NOT-FOUND"] == 1  # counted, but not put to the partner


def test_hmis_warehouse_fixture_parses_and_reconciles(
    env: tuple[Settings, Ledger],
) -> None:
    """The real-shaped FY2026 export (greenriver/hmis-warehouse), read in place."""
    settings, ledger = env
    source = SHARED / "hmis-warehouse" / "source"
    with open_export(source) as export:
        (row,) = export.rows("Export.csv", ["HashStatus", "CSVVersion"], required=["HashStatus"])
        assert row == {"HashStatus": "1", "CSVVersion": "2026 v1.0"}
        clients = list(export.rows("Client.csv", ["PersonalID", "DOB"], required=["PersonalID"]))
        assert [c["PersonalID"] for c in clients] == ["C-1"]
        assert list(export.rows("Assessment.csv", ["PersonalID"])) == []
    # Its one client has DOBDataQuality 99 and no SSN: nothing to match on, so its 2010
    # enrollment is never claimed for our record, even with the same name and DOB text.
    client_one = Person("Client", "One", "2000-01-01", "")
    deliver(settings, ledger, [("W-1", client_one, date(2010, 10, 1))])
    result = reconcile_export(
        source, partner_id=PARTNER, ledger=ledger, keyer=keyer_for(settings), today=TODAY
    )
    assert result.summary.csv_version == "FY2026" and result.summary.hash_status == 1
    assert result.summary.clients == 1 and result.summary.clients_without_keys == 1
    assert result.matched == ()
    assert result.problems == ()  # 2010 is outside the export's 2020 period: not reported
    assert result.counts["RECON-NOT-FOUND"] == 1


def test_eva_demo_placeholder_hashes_never_match(env: tuple[Settings, Ledger]) -> None:
    """Eva's demo.zip: HashStatus 4 but 32-hex placeholders shared by every client."""
    settings, ledger = env
    deliver(settings, ledger, [("E-1", ZED, date(2020, 2, 10)), ("E-2", YAN, date(2020, 3, 4))])
    demo = SHARED / "eva-demo" / "demo.zip"
    result = reconcile_export(
        demo, partner_id=PARTNER, ledger=ledger, keyer=keyer_for(settings), today=TODAY
    )
    assert result.summary.hash_status == 4 and result.summary.clients == 4146
    assert result.summary.clients_without_keys == 4146  # no key from a placeholder hash
    assert result.matched == ()
    assert outcomes_by_rule(result.problems) == {"RECON-NOT-FOUND": ["E-1", "E-2"]}
    assert all(r.entered_on is None for r in ledger.records())


# Zip safety ---------------------------------------------------------------------------------


def _zip_with(path: Path, entries: Sequence[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    base = Export().files()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in base.items():
            archive.writestr(name, data)
        for info, data in entries:
            archive.writestr(info, data)
    return path


@pytest.mark.parametrize(
    "name", ["../evil.csv", "/etc/evil.csv", "a/../../evil.csv", "C:/evil.csv", "a\\..\\e.csv"]
)
def test_path_traversal_refuses_the_zip(tmp_path: Path, name: str) -> None:
    path = _zip_with(tmp_path / "x.zip", [(name, b"x")])
    with pytest.raises(FileRejected) as caught, open_export(path):
        pass
    assert caught.value.rule_id == "EXPORT-ZIP-UNSAFE"
    assert "evil" not in str(caught.value)
    assert not (tmp_path / "evil.csv").exists()


def test_link_and_encrypted_entries_refuse_the_zip(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("Link.csv")
    link.external_attr = 0o120777 << 16
    path = _zip_with(tmp_path / "l.zip", [(link, b"/etc/passwd")])
    with pytest.raises(FileRejected, match="EXPORT-ZIP-UNSAFE"), open_export(path):
        pass
    path = _zip_with(tmp_path / "e.zip", [("Other.csv", b"x")])
    _set_encrypted_flag(path, b"Other.csv")  # zipfile cannot write encrypted entries
    with pytest.raises(FileRejected, match="EXPORT-ZIP-UNSAFE"), open_export(path):
        pass


def _set_encrypted_flag(path: Path, name: bytes) -> None:
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    while data[local + 30 : local + 30 + len(name)] != name:
        local = data.index(b"PK\x03\x04", local + 4)
    data[local + 6] |= 0x1
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 8] |= 0x1
    path.write_bytes(bytes(data))


def test_bombs_are_refused_before_reading(tmp_path: Path) -> None:
    path = _zip_with(tmp_path / "b.zip", [("Services.csv", b"0" * (8 * 2**20))])
    with pytest.raises(FileRejected, match="EXPORT-ZIP-BOMB"), open_export(path):
        pass
    many = [(f"f{i}.csv", b"") for i in range(300)]
    path = _zip_with(tmp_path / "m.zip", many)
    with pytest.raises(FileRejected, match="EXPORT-ZIP-BOMB"), open_export(path):
        pass
    small = ExportLimits(max_member_bytes=300)
    path = Export().write_zip(tmp_path / "s.zip")
    with pytest.raises(FileRejected, match="EXPORT-ZIP-BOMB"), open_export(path, small):
        pass


def test_a_member_larger_than_declared_is_stopped_while_streaming(tmp_path: Path) -> None:
    export = Export()
    for i in range(200):
        export.client(f"P{i}", ZED)
    path = export.write_zip(tmp_path / "x.zip")
    with open_export(path) as source:
        source.limits = ExportLimits(max_member_bytes=2000)  # as if the header lied
        with pytest.raises(FileRejected, match="EXPORT-ZIP-BOMB"):
            list(source.rows("Client.csv", ["PersonalID"]))


def test_structural_problems_have_rule_ids(tmp_path: Path) -> None:
    (tmp_path / "nz.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(FileRejected, match="EXPORT-NOT-ZIP"), open_export(tmp_path / "nz.zip"):
        pass
    files = Export().files()
    files.pop("Client.csv")
    folder = tmp_path / "f"
    folder.mkdir()
    for name, data in files.items():
        (folder / name.lower()).write_bytes(data)  # case does not matter
    with open_export(folder) as source, pytest.raises(FileRejected, match="MISSING-FILE"):
        list(source.rows("Client.csv", ["PersonalID"]))
    (folder / "client.csv").write_bytes(b'"FirstName","DOB"\r\n"Zebulonmark","1971-07-13"\r\n')
    with open_export(folder) as source, pytest.raises(FileRejected) as caught:
        list(source.rows("Client.csv", ["PersonalID"], required=["PersonalID"]))
    assert caught.value.rule_id == "EXPORT-MISSING-COLUMNS"
    assert "Zebulonmark" not in str(caught.value)
    (folder / "client.csv").write_bytes(b'PersonalID,DOB\r\n"P1,1971-07-13\r\n')
    with open_export(folder) as source, pytest.raises(FileRejected) as caught:
        list(source.rows("Client.csv", ["PersonalID"], required=["PersonalID"]))
    assert caught.value.rule_id == "EXPORT-CSV-MALFORMED" and "1971" not in str(caught.value)


def test_a_symlinked_export_is_refused(tmp_path: Path) -> None:
    real = Export().write_zip(tmp_path / "real.zip")
    (tmp_path / "link.zip").symlink_to(real)
    with pytest.raises(FileRejected, match="FILE-NOT-REGULAR"), open_export(tmp_path / "link.zip"):
        pass


def test_cp1252_member_is_read(tmp_path: Path) -> None:
    folder = Export().write_folder(tmp_path / "f")
    (folder / "Client.csv").write_bytes(
        "PersonalID,FirstName,LastName,DOB,DateDeleted\r\nP1,Jos\xe9,Ni\xf1o,1971-07-13,\r\n".encode(
            "cp1252"
        )
    )
    with open_export(folder) as source:
        rows = list(source.rows("Client.csv", ["PersonalID", "FirstName"]))
    assert rows == [{"PersonalID": "P1", "FirstName": "José"}]
