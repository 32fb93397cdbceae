"""Secrets stay out of handoff.toml and errors; keys are 0600; host keys never auto-accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.delivery_email import read_secret
from connectors.sftp import SftpFolder
from hmis_handoff.config import load_settings
from hmis_handoff.errors import ConfigError, TransferRefused
from tests.transfer.conftest import SftpServer

RECIPIENT = "age15sxa9tnuawfkj0q469r7sch2qr6n2qw6ysgp6p6ju896ztt9nscs4800q4"


def _config(tmp_path: Path, delivery: str, agency_extra: str = "") -> Path:
    path = tmp_path / "handoff.toml"
    path.write_text(
        f"""
[[partners]]
id = "p1"
name = "Partner"
recipients = ["{RECIPIENT}"]
{delivery}

[[agencies]]
id = "a1"
name = "Agency"
partner = "p1"
{agency_extra}
"""
    )
    return path


def test_channels_load_with_ids(tmp_path: Path) -> None:
    settings = load_settings(
        _config(
            tmp_path,
            """
[[partners.delivery]]
kind = "sftp"
url = "sftp://p1@127.0.0.1:2222/inbox"
key_file = "keys/p1-sftp.key"
known_hosts = "keys/p1-known_hosts"
[[partners.delivery]]
kind = "email"
to = ["intake@partner.example"]
host = "smtp.example"
username = "relay"
password_env = "SMTP_PASSWORD"
""",
        )
    )
    channels = settings.partner("p1").channels()
    assert [(ident, c.kind) for ident, c in channels] == [("sftp-1", "sftp"), ("email-2", "email")]
    assert settings.data_path(Path("keys/x")) == tmp_path / "keys" / "x"


@pytest.mark.parametrize(
    ("delivery", "agency", "message"),
    [
        (  # a password in clear in the file is not a known key at all
            '[[partners.delivery]]\nkind = "email"\nto = ["a@b.example"]\nhost = "h"\n'
            'username = "u"\npassword = "hunter2-synthetic"',
            "",
            "password",
        ),
        (
            '[[partners.delivery]]\nkind = "email"\nto = ["a@b.example"]\nhost = "h"\n'
            'username = "u"',
            "",
            "password_file or password_env",
        ),
        (
            '[[partners.delivery]]\nkind = "sftp"\nurl = "sftp://u:hunter2-synthetic@h/x"\n'
            'key_file = "k"\nknown_hosts = "kh"',
            "",
            "no password in the URL",
        ),
        ('[[partners.delivery]]\nkind = "sftp"\nurl = "sftp://u@h/x"', "", "known_hosts"),
        ("", 'drop_url = "sftp://a1@h:2222/drop"\nkey_file = "k"', "known_hosts"),
    ],
)
def test_bad_secret_settings_are_refused_without_echoing_them(
    tmp_path: Path, delivery: str, agency: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_config(tmp_path, delivery, agency))
    assert message in str(caught.value)
    assert "hunter2-synthetic" not in str(caught.value)


def test_password_file_must_be_private_and_env_must_be_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "smtp.pass"
    secret.write_text("synthetic-pass\n")
    secret.chmod(0o644)
    with pytest.raises(ConfigError, match="0600"):
        read_secret(secret, "", "delivery email-1")
    secret.chmod(0o600)
    assert read_secret(secret, "", "delivery email-1") == "synthetic-pass"
    monkeypatch.delenv("HANDOFF_TEST_UNSET", raising=False)
    with pytest.raises(ConfigError, match="HANDOFF_TEST_UNSET"):
        read_secret(None, "HANDOFF_TEST_UNSET", "delivery email-1")
    monkeypatch.setenv("HANDOFF_TEST_SET", "from-env")
    assert read_secret(None, "HANDOFF_TEST_SET", "x") == "from-env"


def test_loose_key_file_is_refused_before_connecting(
    tmp_path: Path, sftp_server: SftpServer
) -> None:
    key = tmp_path / "loose.key"
    key.write_bytes(sftp_server.key_file.read_bytes())
    key.chmod(0o644)
    folder = SftpFolder(sftp_server.url(), key_file=key, known_hosts=sftp_server.known_hosts)
    with pytest.raises(TransferRefused, match="0600"):
        folder.open()


def test_unpinned_host_is_refused_and_never_added(tmp_path: Path, sftp_server: SftpServer) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    folder = SftpFolder(sftp_server.url(), key_file=sftp_server.key_file, known_hosts=empty)
    with pytest.raises(TransferRefused, match="not pinned"):
        folder.open()
    assert empty.read_text() == ""
    missing = SftpFolder(
        sftp_server.url(), key_file=sftp_server.key_file, known_hosts=tmp_path / "absent"
    )
    with pytest.raises(TransferRefused, match="known_hosts file missing"):
        missing.open()
