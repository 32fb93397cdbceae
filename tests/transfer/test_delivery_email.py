"""E-mail delivery against a real loopback SMTP server (aiosmtpd): STARTTLS or TLS, login.

The message carries the package, its manifest and signature; the attachment decrypts with
Debian's `age` to the package's rows; the body has ids and counts only; the password comes
from an environment variable and appears nowhere; a second run sends nothing again.
"""

from __future__ import annotations

import csv
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import run_cli
from tests.reconcile.conftest import SmtpSink, self_signed
from tests.stack.prefect_server import free_port
from tests.transfer.helpers import (
    VALID_IDS,
    append_config,
    decrypt_ids,
    demo_root,
    drop_sample,
    ledger_deliveries,
    outbox,
)

pytestmark = pytest.mark.server

USER, PASSWORD = "handoff-relay", "synthetic-relay-pass-7f3a"


class LoginFirst:
    """Refuses MAIL until the session has logged in, as aiosmtpd's ``auth_required=True``
    does. That flag cannot serve an implicit-TLS listener: there it needs
    ``auth_require_tls=False``, and aiosmtpd then warns "Requiring AUTH while not requiring
    TLS" (it counts only STARTTLS as TLS), although the whole connection is encrypted."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(
        self, _server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return await self.sink.handle_DATA(server, session, envelope)


@pytest.fixture(params=["starttls", "tls"])
def smtp_starttls_auth(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[SmtpSink, Path, str]]:
    """SMTP on loopback with STARTTLS (or implicit TLS), then LOGIN/PLAIN auth.

    Yields the sink, the CA certificate and the security mode.
    """
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sink = SmtpSink("127.0.0.1", free_port())

    def authenticator(
        _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok)

    # aiosmtpd counts only STARTTLS as "TLS" for auth_require_tls; with implicit TLS the
    # whole connection is already encrypted, so that flag must be off for AUTH to be offered,
    # and the login is then required by the handler (see LoginFirst).
    handler: object
    if request.param == "starttls":
        handler = sink
        tls: dict[str, Any] = {
            "tls_context": context,
            "require_starttls": True,
            "auth_require_tls": True,
            "auth_required": True,
        }
    else:
        handler = LoginFirst(sink)
        tls = {"ssl_context": context, "auth_require_tls": False}
    controller = Controller(
        handler,
        hostname=sink.host,
        port=sink.port,
        authenticator=authenticator,
        **tls,
    )
    controller.start()
    try:
        yield sink, cert, request.param
    finally:
        controller.stop()


def test_email_delivery_attachment_decrypts_to_the_rows(
    tmp_path: Path, prefect_api: str, smtp_starttls_auth: tuple[SmtpSink, Path, str]
) -> None:
    sink, cert, security = smtp_starttls_auth
    root = demo_root(tmp_path / "x", prefect_api)
    append_config(
        root,
        f"""
[[partners.delivery]]
kind = "email"
to = ["intake@partner.example"]
sender = "handoff@coc.example"
host = "127.0.0.1"
port = {sink.port}
security = "{security}"
username = "{USER}"
password_env = "HANDOFF_TEST_SMTP_PASSWORD"
ca_file = "{cert}"
""",
    )
    assert PASSWORD not in (root / "handoff.toml").read_text()
    drop_sample(root)
    config = str(root / "handoff.toml")
    env = {"HANDOFF_TEST_SMTP_PASSWORD": PASSWORD}
    result = run_cli("process", "--config", config, "--json", env=env)
    assert json.loads(result.stdout)["by_state"] == {"delivered": 1}

    [message] = sink.messages
    files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    package = next(p for p in outbox(root).glob("*.age"))
    stem = package.name.removesuffix(".age")
    assert set(files) == {package.name, f"{stem}.manifest.json", f"{stem}.manifest.json.sig"}
    for name, content in files.items():
        assert content == (outbox(root) / name).read_bytes()
    received = tmp_path / "received.age"
    received.write_bytes(files[package.name])
    assert decrypt_ids(root, received) == VALID_IDS

    # The body: ids, counts and hashes; no client value, no secret.
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert stem in text and f"Records: {len(VALID_IDS)}" in text
    with (root / "samples" / "demo-intake.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for column in ("FirstName", "LastName", "SSN", "DOB"):
                if row[column]:
                    assert row[column] not in text
    assert PASSWORD not in result.stdout + result.stderr

    [row] = ledger_deliveries(root)
    assert row.state == "delivered" and row.kind == "email" and row.attempts == 1

    run_cli("process", "--config", config, env=env)
    assert len(sink.messages) == 1  # never sent twice after success
