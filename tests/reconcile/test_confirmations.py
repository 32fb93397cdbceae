"""Confirmation files and `handoff confirm`: valid, unknown, duplicate, wrong partner, dates."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from connectors.inbox_folder import scan_inbox
from hmis_handoff.config import Settings, load_settings
from hmis_handoff.errors import ConfirmationRefused
from hmis_handoff.layout import Layout
from hmis_handoff.ledger import Ledger, RecordState
from tests.reconcile.support import (
    OTHER_AGENCY,
    OTHER_PARTNER,
    PARTNER,
    PEOPLE,
    XIA,
    YAN,
    ZED,
    Export,
    deliver,
    make_root,
    write_confirmation,
)
from usecases.confirm_entries import confirm_one
from usecases.partner_inbox import InboxOutcome, process_inbox

INTAKE = date(2026, 3, 2)
NOW = datetime(2026, 3, 10, 9, 30)
HEADER = ("IntakeID", "AgencyID", "PersonalID", "DateEntered")


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[tuple[Settings, Ledger]]:
    settings = make_root(tmp_path)
    ledger = Ledger(settings.ledger_url)
    deliver(settings, ledger, [("I-1", ZED, INTAKE), ("I-2", YAN, INTAKE), ("I-3", XIA, INTAKE)])
    deliver(settings, ledger, [("O-1", ZED, INTAKE)], agency=OTHER_AGENCY)
    deliver(settings, ledger, [("H-1", YAN, INTAKE)], state=RecordState.NOT_TRANSMITTABLE)
    yield settings, ledger
    ledger.close()


def _inbox(settings: Settings, partner: str = PARTNER) -> Path:
    return Layout(settings.root).partner_confirmations(partner)


def _process(settings: Settings, ledger: Ledger, partner: str = PARTNER) -> InboxOutcome:
    return process_inbox(
        settings, partner, ledger=ledger, now=NOW.replace(tzinfo=settings.tz), settle_seconds=0
    )


def _report(settings: Settings, partner: str = PARTNER) -> list[dict[str, str]]:
    (path,) = (_inbox(settings, partner) / "reports").glob("*-confirmation-report.csv")
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _entered(ledger: Ledger) -> dict[str, date | None]:
    return {r.intake_id: r.entered_on for r in ledger.records()}


def test_valid_confirmation_marks_records_and_is_filed(env: tuple[Settings, Ledger]) -> None:
    settings, ledger = env
    dropped = write_confirmation(
        _inbox(settings) / "Zebulonmark Quixplanted confirmations.csv",
        [("I-1", "demo-agency", "HMIS-77", "2026-03-04"), ("I-2", "", "", "2026-03-05 14:10")],
        HEADER,
    )
    outcome = _process(settings, ledger)
    assert outcome.newly_entered() == {"demo-agency": ["I-1", "I-2"]}
    assert _entered(ledger) == {
        "I-1": date(2026, 3, 4), "I-2": date(2026, 3, 5), "I-3": None, "O-1": None, "H-1": None,
    }  # fmt: skip
    record = next(r for r in ledger.records() if r.intake_id == "I-1")
    assert (record.state, record.entered_source, record.hmis_personal_id) == (
        "entered", "confirmation", "HMIS-77",
    )  # fmt: skip
    report = _report(settings)
    assert report[0]["rule_id"] == "SUMMARY" and "2 intakes confirmed" in report[0]["guidance"]
    assert len(report) == 1
    # Filed under our own name, nothing left in the inbox.
    assert not dropped.exists()
    processed = list((_inbox(settings) / "processed").iterdir())
    assert len(processed) == 1 and "Zebulonmark" not in processed[0].name
    assert processed[0].name.endswith(".csv") and (processed[0].stat().st_mode & 0o077) == 0
    assert scan_inbox(_inbox(settings), settle_seconds=0) == []


def test_problems_go_back_to_the_partner_by_row_and_rule(env: tuple[Settings, Ledger]) -> None:
    settings, ledger = env
    write_confirmation(
        _inbox(settings) / "c.csv",
        [
            ("I-9", "", "", "2026-03-04"),  # 2: unknown
            ("O-1", "", "", "2026-03-04"),  # 3: another partner's record
            ("H-1", "", "", "2026-03-04"),  # 4: held back, never sent
            ("I-2", "", "", "2026-03-04"),  # 5: duplicate ...
            ("I-2", "demo-agency", "", "2026-03-05"),  # 6: ... of the same record
            ("I-3", "", "", "2026-03-11"),  # 7: after "today" (2026-03-10)
            ("I-1", "", "", "2026-03-01"),  # 8: before the intake
            ("I 1", "", "", "2026-03-04"),  # 9: not an intake id
            ("", "", "", "2026-03-04"),  # 10: no id
            ("I-1", "", "", "25/03/2026"),  # 11: day first (US month/day is read; issue 13)
            ("I-1", "other-agency", "", "2026-03-04"),  # 12: wrong agency for this id
        ],
        HEADER,
    )
    _process(settings, ledger)
    rows = [(r["row"], r["intake_id"], r["rule_id"]) for r in _report(settings)[1:]]
    assert rows == [
        ("2", "I-9", "CONF-UNKNOWN-ID"),
        ("3", "O-1", "CONF-UNKNOWN-ID"),
        ("4", "H-1", "CONF-UNKNOWN-ID"),
        ("5", "I-2", "CONF-DUPLICATE-ID"),
        ("6", "I-2", "CONF-DUPLICATE-ID"),
        ("7", "I-3", "CONF-DATE-FUTURE"),
        ("8", "I-1", "CONF-DATE-BEFORE-INTAKE"),
        ("9", "", "INTAKE-ID-FORMAT"),
        ("10", "", "VALUE-REQUIRED"),
        ("11", "I-1", "DATE-DAY-FIRST"),
        ("12", "I-1", "CONF-UNKNOWN-ID"),
    ]
    assert all(r["guidance"] for r in _report(settings))
    assert all(v is None for v in _entered(ledger).values())


def test_the_other_partner_confirms_its_own_record(env: tuple[Settings, Ledger]) -> None:
    settings, ledger = env
    write_confirmation(
        _inbox(settings, OTHER_PARTNER) / "c.csv", [("O-1", "", "", "2026-03-03")], HEADER
    )
    write_confirmation(_inbox(settings) / "c.csv", [("O-1", "", "", "2026-03-03")], HEADER)
    _process(settings, ledger)
    assert _entered(ledger)["O-1"] is None
    _process(settings, ledger, OTHER_PARTNER)
    assert _entered(ledger)["O-1"] == date(2026, 3, 3)


def test_shared_intake_ids_need_the_agency(tmp_path: Path) -> None:
    settings = make_root(tmp_path)
    # Both agencies send to one partner in this set-up: rewrite the second agency's partner.
    config = settings.config_path.read_text(encoding="utf-8")
    config = config.replace(f'partner = "{OTHER_PARTNER}"', f'partner = "{PARTNER}"')
    settings.config_path.write_text(config, encoding="utf-8")
    settings = load_settings(settings.config_path)
    ledger = Ledger(settings.ledger_url)
    try:
        deliver(settings, ledger, [("S-1", ZED, INTAKE)])
        deliver(settings, ledger, [("S-1", YAN, INTAKE)], agency=OTHER_AGENCY)
        write_confirmation(
            _inbox(settings) / "c.csv",
            [("S-1", "", "", "2026-03-03"), ("S-1", OTHER_AGENCY, "", "2026-03-04")],
            HEADER,
        )
        _process(settings, ledger)
        assert [(r["row"], r["rule_id"]) for r in _report(settings)[1:]] == [
            ("2", "CONF-AGENCY-NEEDED")
        ]
        by_agency = {r.agency_id: r.entered_on for r in ledger.records()}
        assert by_agency == {"demo-agency": None, OTHER_AGENCY: date(2026, 3, 4)}
    finally:
        ledger.close()


def test_earliest_confirmation_wins_and_repeats_change_nothing(
    env: tuple[Settings, Ledger],
) -> None:
    settings, ledger = env
    write_confirmation(_inbox(settings) / "a.csv", [("I-1", "", "", "2026-03-05")], HEADER)
    _process(settings, ledger)
    write_confirmation(_inbox(settings) / "b.csv", [("I-1", "", "", "2026-03-06")], HEADER)
    outcome = _process(settings, ledger)
    assert outcome.newly_entered() == {}
    write_confirmation(_inbox(settings) / "c.csv", [("I-1", "", "", "2026-03-03")], HEADER)
    outcome = _process(settings, ledger)
    assert outcome.newly_entered() == {"demo-agency": ["I-1"]}
    assert _entered(ledger)["I-1"] == date(2026, 3, 3)


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"", "FILE-EMPTY"),
        (b"\xef\xbb\xbfIntakeID,PersonalID\r\nI-1,P\r\n", "FILE-MISSING-COLUMNS"),
    ],
)
def test_an_unusable_file_is_answered_once(
    env: tuple[Settings, Ledger], content: bytes, rule: str
) -> None:
    settings, ledger = env
    (_inbox(settings) / "bad.csv").write_bytes(content)
    outcome = _process(settings, ledger)
    assert [i.rule_id for i in outcome.items] == [rule]
    assert [r["rule_id"] for r in _report(settings)] == ["SUMMARY", rule]
    assert scan_inbox(_inbox(settings), settle_seconds=0) == []


def test_unsettled_hidden_and_lock_files_wait(env: tuple[Settings, Ledger]) -> None:
    settings, _ = env
    inbox = _inbox(settings)
    write_confirmation(inbox / ".hidden.csv", [("I-1", "", "", "2026-03-04")], HEADER)
    write_confirmation(inbox / "~$lock.csv", [("I-1", "", "", "2026-03-04")], HEADER)
    write_confirmation(inbox / "fresh.csv", [("I-1", "", "", "2026-03-04")], HEADER)
    (inbox / "link.csv").symlink_to(inbox / "fresh.csv")
    assert scan_inbox(inbox, settle_seconds=3600) == []
    assert [p.path.name for p in scan_inbox(inbox, settle_seconds=0)] == ["fresh.csv"]


def test_inbox_tells_exports_from_confirmations_and_files_them(
    tmp_path: Path,
) -> None:
    settings = make_root(tmp_path, archive=True)
    ledger = Ledger(settings.ledger_url)
    try:
        deliver(settings, ledger, [("I-1", ZED, INTAKE), ("I-2", YAN, INTAKE)])
        export = Export(hash_status=4)
        export.client("P1", ZED)
        export.enrollment("P1", "2026-03-02", "2026-03-03 08:15:00")
        inbox = _inbox(settings)
        export.write_zip(inbox / "Quixplanted export.zip")
        folder = Export()
        folder.client("P2", YAN)
        folder.enrollment("P2", "2026-03-02", "2026-03-06 08:15:00")
        folder.write_folder(inbox / "hmis export folder")
        outcome = _process(settings, ledger)
        assert sorted(i.kind for i in outcome.items) == ["export", "export"]
        assert _entered(ledger) == {"I-1": date(2026, 3, 3), "I-2": date(2026, 3, 6)}
        # Exports hold client data: kept only encrypted to the archive key, originals gone.
        assert [p.name for p in inbox.iterdir() if p.name not in ("reports", "processed")] == []
        kept = sorted((inbox / "processed").iterdir())
        assert len(kept) == 2 and all(p.name.endswith(".export.zip.age") for p in kept)
        for path in kept:
            assert path.read_bytes().startswith(b"age-encryption.org/v1")
        reports = list((inbox / "reports").glob("*-reconcile-report.csv"))
        text = "".join(p.read_text(encoding="utf-8-sig") for p in reports)
        for person in PEOPLE:
            for marker in person.markers:
                assert marker not in text
        assert "Quixplanted" not in " ".join(p.name for p in (inbox / "reports").iterdir())
    finally:
        ledger.close()


def test_confirm_one(env: tuple[Settings, Ledger]) -> None:
    settings, ledger = env
    today = date(2026, 3, 10)
    done = confirm_one(settings, None, "I-1", "2026-03-04", "HMIS-9", ledger=ledger, today=today)
    assert (done.intake_id, done.partner_id, done.entered_on, done.changed) == (
        "I-1", PARTNER, date(2026, 3, 4), True,
    )  # fmt: skip
    assert confirm_one(
        settings, "other-agency", "O-1", date(2026, 3, 3), ledger=ledger, today=today
    ).changed
    cases = [
        ((None, "I-404", "2026-03-04"), "CONF-UNKNOWN-ID"),
        (("other-agency", "I-2", "2026-03-04"), "CONF-UNKNOWN-ID"),
        ((None, "H-1", "2026-03-04"), "CONF-UNKNOWN-ID"),
        ((None, "I-2", "2026-03-11"), "CONF-DATE-FUTURE"),
        ((None, "I-2", "2026-03-01"), "CONF-DATE-BEFORE-INTAKE"),
        ((None, "I-2", "4 March"), "DATE-FORMAT"),
    ]
    for (agency, intake, when), rule in cases:
        with pytest.raises(ConfirmationRefused) as caught:
            confirm_one(settings, agency, intake, when, ledger=ledger, today=today)
        assert caught.value.rule_id == rule
    # Without a ledger argument it opens (and closes) the configured one.
    assert not confirm_one(settings, None, "I-1", "2026-03-05", today=today).changed


def test_a_row_not_entered_yet_is_counted_not_reported(env: tuple[Settings, Ledger]) -> None:
    """The prefilled sheet is filled as the work gets done: a blank DateEntered waits."""
    settings, ledger = env
    write_confirmation(
        _inbox(settings) / "c.csv",
        [
            ("I-1", "demo-agency", "", "2026-03-04"),
            ("I-2", "demo-agency", "", ""),  # not entered yet
            ("", "demo-agency", "", ""),  # no IntakeID: still a problem
            ("I-9", "demo-agency", "", "12/33/2026"),  # not a date
        ],
        HEADER,
    )
    _process(settings, ledger)
    report = _report(settings)
    assert "1 rows without DateEntered (not entered yet" in report[0]["guidance"]
    assert [(r["row"], r["intake_id"], r["rule_id"], r["column"]) for r in report[1:]] == [
        ("4", "", "VALUE-REQUIRED", "IntakeID"),
        ("5", "I-9", "DATE-FORMAT", "DateEntered"),
    ]
    assert _entered(ledger) == {
        "I-1": date(2026, 3, 4),
        "I-2": None,
        "I-3": None,
        "O-1": None,
        "H-1": None,
    }


def test_a_refused_file_says_where(env: tuple[Settings, Ledger]) -> None:
    """The guidance says "check the row named in the report": the report names it."""
    settings, ledger = env
    write_confirmation(
        _inbox(settings) / "c.csv",
        [("I-1", "demo-agency", "", "2026-03-04"), ("I-2", "demo-agency", "2026-03-04")],
        HEADER,
    )
    _process(settings, ledger)
    report = _report(settings)
    assert report[0]["guidance"] == (
        "The file was not used (FILE-RAGGED-ROW: row 3 has 3 fields; the header has 4); "
        "nothing was marked entered."
    )
    assert [r["rule_id"] for r in report[1:]] == ["FILE-RAGGED-ROW"]
