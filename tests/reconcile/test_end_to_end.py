"""Issue 5 end to end: delivered records age into due_soon and overdue, the partner confirms
one and its HMIS export proves another, and the CE lead gets e-mails with counts and ids only.

Real SQLite ledger in tmp_path, settings from a written handoff.toml, a real SMTP server on
loopback. Intake Monday 2026-03-02, so due Thursday 2026-03-05 (3 business days).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from connectors.notify import send_notice
from hmis_handoff.deadlines import DeadlineRow, deadline_report
from hmis_handoff.layout import Layout
from hmis_handoff.ledger import Ledger
from hmis_handoff.notices import build_digest, overdue_notice
from tests.reconcile.conftest import SmtpSink
from tests.reconcile.support import (
    OTHER_AGENCY,
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
from usecases.partner_inbox import process_inbox

INTAKE = date(2026, 3, 2)
DUE = date(2026, 3, 5)


def _flags(rows: list[DeadlineRow], agency: str = "demo-agency") -> dict[str, str]:
    return {r.intake_id: r.state for r in rows if r.agency == agency}


def test_records_age_get_confirmed_and_reconciled_and_mail_is_pii_free(
    tmp_path: Path, smtp_server: SmtpSink
) -> None:
    settings = make_root(tmp_path, smtp=(smtp_server.host, smtp_server.port))
    ledger = Ledger(settings.ledger_url)
    try:
        deliver(
            settings, ledger, [("I-1", ZED, INTAKE), ("I-2", YAN, INTAKE), ("I-3", XIA, INTAKE)]
        )
        deliver(settings, ledger, [("O-1", ZED, INTAKE)], agency=OTHER_AGENCY,
                received_on=date(2026, 3, 9))  # fmt: skip  # the agency sent it late

        def report(day: date) -> list[DeadlineRow]:
            return deadline_report(settings, as_of=day, ledger=ledger)

        assert {r.due for r in report(INTAKE)} == {DUE}
        assert _flags(report(date(2026, 3, 3))) == {
            "I-1": "pending",
            "I-2": "pending",
            "I-3": "pending",
        }
        assert set(_flags(report(date(2026, 3, 4))).values()) == {"due_soon"}
        assert set(_flags(report(DUE)).values()) == {"due_soon"}  # the due date itself
        friday = report(date(2026, 3, 6))
        assert set(_flags(friday).values()) == {"overdue"}

        # Escalation on Friday morning: counts and ids only.
        notice = overdue_notice(friday, as_of=date(2026, 3, 6))
        assert notice is not None
        status = send_notice(
            settings.notifications, subject=notice.subject, text=notice.text, payload=notice.payload
        )
        assert status == {"email": "sent", "webhook": "off"}

        # Tuesday: the partner confirms I-1 (entered Thursday) and drops a hashed export in
        # which Yan's CE enrollment was created Monday 2026-03-09 (late).
        inbox = Layout(settings.root).partner_confirmations(PARTNER)
        write_confirmation(
            inbox / "confirm Zebulonmark.csv",
            [("I-1", "demo-agency", "HMIS-1001", "2026-03-05")],
            ("IntakeID", "AgencyID", "PersonalID", "DateEntered"),
        )
        export = Export(hash_status=4)
        export.client("HMIS-1002", YAN)
        export.client("HMIS-1003", ZED)  # Zed's old client record: no entry on the date
        export.enrollment("HMIS-1002", "2026-03-02", "2026-03-09 11:42:00")
        export.write_zip(inbox / "Vorplanted export.zip")
        tuesday = datetime(2026, 3, 10, 8, 0, tzinfo=settings.tz)
        outcome = process_inbox(settings, PARTNER, ledger=ledger, now=tuesday, settle_seconds=0)
        assert outcome.newly_entered() == {"demo-agency": ["I-1", "I-2"]}

        rows = report(date(2026, 3, 10))
        assert _flags(rows) == {"I-1": "entered_on_time", "I-2": "entered_late", "I-3": "overdue"}
        entered = {r.intake_id: r.entered_on for r in rows}
        assert entered["I-1"] == date(2026, 3, 5) and entered["I-2"] == date(2026, 3, 9)
        (other,) = [r for r in rows if r.agency == OTHER_AGENCY]
        assert other.state == "overdue" and other.submitted_late  # the agency's lateness

        digest = build_digest(rows, as_of=date(2026, 3, 10), timezone=settings.timezone)
        send_notice(
            settings.notifications, subject=digest.subject, text=digest.text, payload=digest.payload
        )
    finally:
        ledger.close()

    overdue_mail, digest_mail = smtp_server.messages
    assert overdue_mail["Subject"] == (
        "HMIS Handoff: 4 intake(s) overdue for HMIS entry as of 2026-03-06"
    )
    body = overdue_mail.get_content().replace("\r\n", "\n")
    assert all(f"demo-agency/I-{n}  due 2026-03-05\n" in body for n in (1, 2, 3))
    assert "other-agency/O-1  due 2026-03-05  [agency submitted late]" in body
    assert digest_mail["Subject"] == "HMIS Handoff 2026-03-10: 2 overdue, 0 due soon"
    text = digest_mail.get_content().replace("\r\n", "\n")
    assert "1 entered late, 1 entered on time" in text
    assert "other-agency/O-1  received 2026-03-09, due 2026-03-05" in text
    assert "Submitted late by agencies: 1." in text

    # Nothing identifying anywhere we wrote: mails, partner reports, ledger file.
    written = [m.as_string() for m in smtp_server.messages]
    for path in (settings.root / "partners").rglob("*-report.csv"):
        written.append(path.read_text(encoding="utf-8-sig"))
    ledger_bytes = b"".join(p.read_bytes() for p in (settings.root / "state").glob("ledger.db*"))
    for person in PEOPLE:
        for marker in person.markers:
            assert all(marker not in blob for blob in written), marker
            assert marker.encode() not in ledger_bytes, marker
    assert all("Zebulonmark" not in p.name and "Vorplanted" not in p.name
               for p in settings.root.rglob("*"))  # fmt: skip
