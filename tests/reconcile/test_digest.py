"""Digest, overdue notice, e-mail (real SMTP on loopback) and webhook: counts and ids only."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from connectors.notify import post_webhook, send_email, send_notice
from hmis_handoff.config import EmailSettings, NotificationSettings
from hmis_handoff.deadlines import DeadlineRow, deadline_report
from hmis_handoff.errors import ConfigError, RetriableError
from hmis_handoff.escalation import NoticeMemory
from hmis_handoff.ledger import Ledger
from hmis_handoff.notices import MAX_LISTED, build_digest, overdue_notice
from tests.reconcile.conftest import SmtpSink, WebhookSink
from tests.reconcile.support import OTHER_AGENCY, PEOPLE, XIA, YAN, ZED, deliver, make_root
from tests.stack.prefect_server import free_port

AS_OF = date(2026, 3, 6)


def _row(intake_id: str, state: str, *, agency: str = "a1", partner: str = "p1",
         late: bool = False, due: date = date(2026, 3, 5)) -> DeadlineRow:  # fmt: skip
    return DeadlineRow(
        record_id=1, intake_id=intake_id, agency=agency, partner=partner,
        intake_date=date(2026, 3, 2), received_on=date(2026, 3, 6) if late else date(2026, 3, 2),
        due=due, state=state, entered_on=None, submitted_late=late, reason=None, package_id=None,
    )  # fmt: skip


ROWS = [
    _row("I-1", "overdue"),
    _row("I-2", "overdue", late=True),
    _row("I-3", "due_soon", due=date(2026, 3, 9)),
    _row("I-4", "entered_on_time"),
    _row("B-1", "pending", agency="b2", partner="p2", due=date(2026, 3, 11)),
    _row("B-2", "not_transmittable", agency="b2", partner="p2"),
]


def test_digest_has_counts_sections_and_lateness_attribution() -> None:
    digest = build_digest(ROWS, as_of=AS_OF, timezone="America/Chicago")
    text = digest.text
    assert digest.subject == "HMIS Handoff 2026-03-06: 2 overdue, 1 due soon"
    assert (
        "All records: 2 overdue, 1 due soon, 1 pending, 0 entered late, 1 entered on time" in text
    )
    assert "Submitted late by agencies: 1." in text
    assert "Data partner p1" in text and "Data partner p2" in text
    assert "a1/I-2  due 2026-03-05  [agency submitted late]" in text
    assert "a1/I-1  due 2026-03-05\n" in text
    assert "Of the overdue, 1 arrived from the agency already late." in text
    assert "Agency a1 (data partner p1)" in text
    assert "a1/I-2  received 2026-03-06, due 2026-03-05" in text
    assert digest.payload["partners"]["p1"]["overdue"] == [
        {"id": "a1/I-1", "due": "2026-03-05"}, {"id": "a1/I-2", "due": "2026-03-05"},
    ]  # fmt: skip
    assert digest.payload["agencies"]["a1"]["submitted_late"] == 1
    assert digest.markdown.startswith("# HMIS Handoff digest for 2026-03-06")
    json.dumps(digest.payload)  # webhook-ready


def test_digest_cuts_long_lists_and_handles_an_empty_ledger() -> None:
    many = [_row(f"I-{i:04d}", "overdue") for i in range(MAX_LISTED + 5)]
    text = build_digest(many, as_of=AS_OF, timezone="America/Chicago").text
    assert "... and 5 more" in text
    assert "No records in the ledger yet." in build_digest([], as_of=AS_OF, timezone="UTC").text


def test_overdue_notice_only_when_overdue_and_stable_fingerprint() -> None:
    assert overdue_notice([r for r in ROWS if r.state != "overdue"], as_of=AS_OF) is None
    notice = overdue_notice(ROWS, as_of=AS_OF)
    assert notice is not None
    assert notice.subject == "HMIS Handoff: 2 intake(s) overdue for HMIS entry as of 2026-03-06"
    assert "Data partner p1: 2 overdue (1 submitted late)" in notice.text
    later = overdue_notice(ROWS, as_of=date(2026, 3, 9))
    assert later is not None and later.fingerprint == notice.fingerprint
    more = overdue_notice([*ROWS, _row("I-9", "overdue")], as_of=AS_OF)
    assert more is not None and more.fingerprint != notice.fingerprint


def test_notice_memory_sends_daily_or_on_change(tmp_path: Path) -> None:
    memory = NoticeMemory(tmp_path / "state" / "n.json")
    assert memory.is_due("f1", AS_OF)
    memory.remember("f1", AS_OF)
    assert not memory.is_due("f1", AS_OF)
    assert memory.is_due("f2", AS_OF) and memory.is_due("f1", date(2026, 3, 9))
    assert (tmp_path / "state" / "n.json").stat().st_mode & 0o077 == 0
    (tmp_path / "state" / "n.json").write_text("{broken")
    assert memory.is_due("f1", AS_OF)


def test_digest_from_a_ledger_carries_no_pii(tmp_path: Path) -> None:
    """Plant names, SSNs and DOBs in the intakes behind the ledger; none reaches the digest."""
    settings = make_root(tmp_path)
    ledger = Ledger(settings.ledger_url)
    try:
        deliver(settings, ledger, [("I-1", ZED, date(2026, 3, 2)), ("I-2", YAN, date(2026, 3, 4))])
        deliver(settings, ledger, [("O-1", XIA, date(2026, 3, 2))], agency=OTHER_AGENCY,
                received_on=date(2026, 3, 9))  # fmt: skip
        rows = deadline_report(settings, as_of=date(2026, 3, 9), ledger=ledger)
    finally:
        ledger.close()
    digest = build_digest(rows, as_of=date(2026, 3, 9), timezone=settings.timezone)
    notice = overdue_notice(rows, as_of=date(2026, 3, 9))
    assert notice is not None
    blob = "\n".join(
        [digest.text, digest.markdown, json.dumps(digest.payload), notice.text,
         json.dumps(notice.payload), digest.subject, notice.subject]
    )  # fmt: skip
    for person in PEOPLE:
        for marker in person.markers:
            assert marker not in blob
    assert "Shownname" not in blob  # display names from the config stay out too
    assert "demo-agency/I-1" in blob and "other-agency/O-1" in blob


def test_send_email_reaches_a_real_smtp_server(smtp_server: SmtpSink) -> None:
    settings = EmailSettings(
        host=smtp_server.host, port=smtp_server.port, sender="h@test.invalid",
        to=("a@test.invalid", "b@test.invalid"),
    )  # fmt: skip
    assert send_email(settings, "subject 1", "body with a1/I-1\n")
    (message,) = smtp_server.messages
    assert message["Subject"] == "subject 1" and message["To"] == "a@test.invalid, b@test.invalid"
    assert message.get_content().replace("\r\n", "\n") == "body with a1/I-1\n"
    assert not send_email(EmailSettings(), "s", "b")  # not configured: nothing sent


def test_starttls_verifies_the_server(
    starttls_server: tuple[SmtpSink, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, cert = starttls_server
    settings = EmailSettings(host=sink.host, port=sink.port, to=("a@test.invalid",), starttls=True)
    with pytest.raises(RetriableError, match="SSLCertVerificationError"):
        send_email(settings, "s", "b")  # self-signed and not trusted: refused
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    assert send_email(settings, "over tls", "b")
    assert [m["Subject"] for m in sink.messages] == ["over tls"]
    plain = EmailSettings(host=sink.host, port=sink.port, to=("a@test.invalid",))
    with pytest.raises(RetriableError):  # the server insists on STARTTLS
        send_email(plain, "s", "b")


def test_webhook_posts_json_and_reports_failures(webhook_server: WebhookSink) -> None:
    assert post_webhook(webhook_server.url, {"count": 2, "intake_ids": ["I-1"]}) == 204
    assert webhook_server.bodies == [{"count": 2, "intake_ids": ["I-1"]}]
    webhook_server.status = 500
    with pytest.raises(RetriableError, match="HTTP 500"):
        post_webhook(webhook_server.url, {})
    with pytest.raises(RetriableError) as caught:
        post_webhook(f"http://127.0.0.1:{free_port()}/secret-token", {}, timeout=2)
    assert "secret-token" not in str(caught.value)
    with pytest.raises(ConfigError):
        post_webhook("file:///etc/passwd", {})


def test_send_notice_tries_both_channels(
    smtp_server: SmtpSink, webhook_server: WebhookSink
) -> None:
    good = NotificationSettings(
        email=EmailSettings(host=smtp_server.host, port=smtp_server.port, to=("a@test.invalid",)),
        webhook_url=webhook_server.url,
    )
    assert send_notice(good, subject="s", text="t", payload={"n": 1}) == {
        "email": "sent", "webhook": "sent",
    }  # fmt: skip
    broken = NotificationSettings(
        email=EmailSettings(host="127.0.0.1", port=free_port(), to=("a@test.invalid",)),
        webhook_url=webhook_server.url,
    )
    status = send_notice(broken, subject="s", text="t", payload={"n": 2})
    assert status["email"].startswith("failed") and status["webhook"] == "sent"
    assert send_notice(NotificationSettings(), subject="s", text="t", payload={}) == {
        "email": "off", "webhook": "off",
    }  # fmt: skip
