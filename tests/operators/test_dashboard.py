"""The dashboard's content from a real ledger (SQLite), the runbook, run outcomes, the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from hmis_handoff import clock, dashboard_markdown
from hmis_handoff.config import Settings, load_settings
from hmis_handoff.deadlines import today_in
from hmis_handoff.errors import ConfigError
from hmis_handoff.ledger import FileCounts, Ledger, NewRecord, PackageInfo, RecordState
from hmis_handoff.runbook import runbook_markdown
from tests.conftest import run_cli
from usecases.ingest_outcomes import file_outcome, run_outcome

AS_OF = date(2026, 12, 10)  # a Thursday
REFRESHED = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)  # 09:00 in Chicago


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("dash") / "data"
    run_cli("init", str(root), "--demo")
    return load_settings(root / "handoff.toml")


def _record(intake_id: str, intake: date, due: date, **extra: object) -> NewRecord:
    return NewRecord(
        intake_id=intake_id,
        row_number=2,
        state=extra.pop("state", RecordState.DELIVERED),  # type: ignore[arg-type]
        intake_date=intake,
        received_on=extra.pop("received_on", intake),  # type: ignore[arg-type]
        due_date=due,
        submitted_late=bool(extra.pop("submitted_late", False)),
        reason_rule=extra.pop("reason_rule", None),  # type: ignore[arg-type]
    )


def _counts(sent: int, held: int = 0, nt: int = 0) -> FileCounts:
    return FileCounts(rows_total=sent + held + nt, rows_sent=sent, rows_held=held,
                      rows_not_transmittable=nt, warnings=0)  # fmt: skip


def test_empty_ledger_says_none_and_never_a_placeholder_row(
    tmp_path: Path, settings: Settings
) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'empty.db'}")
    found = dashboard_markdown.deadlines(settings, ledger, as_of=AS_OF)
    for text in (
        dashboard_markdown.overdue_markdown(settings, found, REFRESHED),
        dashboard_markdown.due_soon_markdown(settings, found, REFRESHED),
        dashboard_markdown.intake_summary_markdown(settings, ledger, REFRESHED),
        dashboard_markdown.trend_markdown(settings, ledger, as_of=AS_OF, refreshed=REFRESHED),
    ):
        assert "\n\nnone\n\n" in text
        assert "| - |" not in text
    summary = dashboard_markdown.summary_markdown(settings, found, REFRESHED)
    assert "| overdue | 0 |" in summary and "09:00 CST" in summary
    ledger.close()


def test_overdue_due_soon_summary_and_trend_from_the_ledger(
    tmp_path: Path, settings: Settings
) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    received = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # 08:00 in Chicago
    first = ledger.register_claim(claim_id="c1", sha256="a" * 64, agency_id="demo-agency",
                                  partner_id="demo-partner", received_at=received)  # fmt: skip
    ledger.mark_delivered(
        first.id,
        counts=_counts(4, held=1, nt=1),
        # Rows were sent, so the file has a package (without one it would be "not sent").
        package=PackageInfo(
            package_id="20261210-aaaaaaaaaaaa",
            created_at=received,
            record_count=4,
            ciphertext_sha256="c" * 64,
        ),
        records=[
            _record("LATEP", date(2026, 12, 3), date(2026, 12, 8)),
            _record(
                "LATEA",
                date(2026, 11, 30),
                date(2026, 12, 3),
                submitted_late=True,
                received_on=date(2026, 12, 9),
            ),
            _record("SOON1", date(2026, 12, 8), date(2026, 12, 11)),
            _record("DONE1", date(2026, 12, 1), date(2026, 12, 4)),
            _record(
                "HELD1",
                date(2026, 12, 8),
                date(2026, 12, 11),
                state=RecordState.NOT_TRANSMITTABLE,
                reason_rule="ROI-MISSING",
            ),
        ],
    )
    second = ledger.register_claim(claim_id="c2", sha256="b" * 64, agency_id="demo-agency",
                                   partner_id="demo-partner", received_at=received)  # fmt: skip
    ledger.mark_rejected(second.id, "FILE-MISSING-COLUMNS", _counts(0))
    _enter(ledger, "DONE1", date(2026, 12, 3))

    found = dashboard_markdown.deadlines(settings, ledger, as_of=AS_OF)
    overdue = dashboard_markdown.overdue_markdown(settings, found, REFRESHED)
    assert "2 record(s)" in overdue
    assert (
        "| LATEA | demo-agency | demo-partner | 2026-11-30 | 2026-12-03 | 5 | agency |" in overdue
    )
    assert (
        "| LATEP | demo-agency | demo-partner | 2026-12-03 | 2026-12-08 | 2 | partner |" in overdue
    )
    soon = dashboard_markdown.due_soon_markdown(settings, found, REFRESHED)
    assert "| SOON1 | demo-agency | demo-partner | 2026-12-08 | 2026-12-11 |" in soon
    assert "HELD1" not in soon  # not transmittable: no deadline

    intake = dashboard_markdown.intake_summary_markdown(settings, ledger, REFRESHED)
    assert intake.count("| demo-agency | 2 (1 / 1 / 0) | 4 / 1 / 1 |") == 2  # today, 7 days
    assert "FILE-MISSING-COLUMNS (1)" in intake and "ROI-MISSING (1)" in intake

    trend = dashboard_markdown.trend_markdown(settings, ledger, as_of=AS_OF, refreshed=REFRESHED)
    # Week of 2026-11-30: DONE1 on time, LATEA overdue; week of 2026-12-07: LATEP overdue.
    assert "| demo-agency | - | - | 50% (1/2) | 0% (0/1) |" in trend
    assert "| demo-partner | - | - | 50% (1/2) | 0% (0/1) |" in trend
    ledger.close()


def _enter(ledger: Ledger, intake_id: str, on: date) -> None:
    from sqlalchemy import update

    from hmis_handoff.ledger.models import IntakeRecord

    with ledger.session() as session:
        session.execute(
            update(IntakeRecord)
            .where(IntakeRecord.intake_id == intake_id)
            .values(state=RecordState.ENTERED.value, entered_on=on)
        )


def test_runbook_says_when_nobody_is_notified(settings: Settings) -> None:
    silent = runbook_markdown(settings, channel=None)
    assert "No notification channel is configured" in silent
    assert "America/Chicago" in silent
    for state in ("Refused", "Failed", "Crashed", "Late"):
        assert f"**{state}" in silent
    assert "No notification" not in runbook_markdown(settings, channel="slack-webhook/ops")


def test_run_outcome_names_the_state_an_operator_must_see() -> None:
    delivered = {"state": "delivered", "rows_sent": 3}
    held_back = {"state": "delivered", "rows_sent": 0}
    refused = {"state": "rejected", "rows_sent": 0}
    duplicate = {"state": "duplicate", "rows_sent": 0}
    assert [file_outcome(o) for o in (delivered, held_back, refused, duplicate)] == [
        "delivered", "held-back", "refused", "duplicate"
    ]  # fmt: skip
    assert run_outcome([delivered]) == ("Delivered", "delivered")
    assert run_outcome([delivered, refused]) == ("Refused", "refused")
    assert run_outcome([held_back, delivered]) == ("Held back", "held-back")
    assert run_outcome([duplicate]) == ("Duplicate", "duplicate")
    assert run_outcome([]) == ("Completed", "none")


def test_handoff_clock_moves_today_in_the_cocs_zone(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(clock.CLOCK_ENV, "2026-12-05T22:30:00-06:00")
    assert clock.now().astimezone(UTC).date() == date(2026, 12, 6)  # already Sunday in UTC
    assert today_in(settings) == date(2026, 12, 5)  # still Saturday in Chicago
    monkeypatch.setenv(clock.CLOCK_ENV, "2026-12-05T22:30:00")
    with pytest.raises(ConfigError, match="UTC offset"):
        clock.now()
