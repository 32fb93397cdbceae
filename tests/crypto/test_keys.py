"""Recipient validation for configuration, secret-key detection, and age key files."""

from __future__ import annotations

from pathlib import Path

import pytest

from hmis_handoff.crypto.age import (
    HybridIdentity,
    KeyFormatError,
    X25519Identity,
    parse_identities_file,
    write_identity_file,
)
from hmis_handoff.crypto.keys import (
    find_secret_key_material,
    recipient_fingerprint,
    validate_recipients,
)
from hmis_handoff.errors import ConfigError


def test_validate_accepts_recipients(identity: X25519Identity) -> None:
    text = str(identity.recipient)
    (parsed,) = validate_recipients([f"  {text}\n"])
    assert parsed == identity.recipient
    assert recipient_fingerprint(text) == identity.recipient.fingerprint


def test_validate_rejects_secret_keys_without_echoing_them(identity: X25519Identity) -> None:
    secret = str(identity)
    for value in (secret, secret.lower(), f"# {secret}"):
        with pytest.raises(ConfigError, match=r"partners\[1\]: this is a SECRET key") as caught:
            validate_recipients([str(X25519Identity.generate().recipient), value], field="partners")
        assert secret not in str(caught.value)
        assert secret[20:40] not in str(caught.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "at least one recipient"),
        (["age1notvalid"], r"recipients\[0\]: not a valid X25519 recipient"),
        (["ssh-ed25519 AAAA"], r"recipients\[0\]: not an age recipient"),
        ("age1abc", "not a single string"),
    ],
)
def test_validate_rejects_malformed(values: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_recipients(values)


def test_validate_rejects_duplicates_and_mixing(identity: X25519Identity) -> None:
    text = str(identity.recipient)
    with pytest.raises(ConfigError, match=r"\[1\]: the same recipient is listed twice"):
        validate_recipients([text, text])
    with pytest.raises(ConfigError, match="cannot be mixed"):
        validate_recipients([text, str(HybridIdentity.generate().recipient)])


def test_find_secret_key_material() -> None:
    text = "\n".join(
        [
            "[partners.demo]",
            'recipient = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"',
            "# AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----",
            "-----BEGIN PUBLIC KEY-----",
        ]
    )
    assert find_secret_key_material(text) == [3, 4, 5]


def test_identity_file_parsing(tmp_path: Path) -> None:
    first, second = X25519Identity.generate(), HybridIdentity.generate()
    path = tmp_path / "keys.txt"
    path.write_bytes(
        "\ufeff# created: 2026-01-01T00:00:00Z\r\n# public key: x\r\n\r\n".encode()
        + f"{first}\r\n  {second}  \n".encode()
    )
    parsed = parse_identities_file(path)
    assert [str(i) for i in parsed] == [str(first), str(second)]


def test_identity_file_errors_name_the_line_only(tmp_path: Path) -> None:
    identity = X25519Identity.generate()
    broken = str(identity)[:-1] + ("Q" if str(identity)[-1] != "Q" else "P")
    path = tmp_path / "keys.txt"
    path.write_text(f"# comment\n{identity}\n{broken}\n")
    with pytest.raises(KeyFormatError, match="line 3 of the identity file") as caught:
        parse_identities_file(path)
    assert broken not in str(caught.value)
    path.write_text("# only comments\n\n")
    with pytest.raises(KeyFormatError, match="no identities"):
        parse_identities_file(path)


def test_write_identity_file_comments_and_no_overwrite(tmp_path: Path) -> None:
    identity = X25519Identity.generate()
    path = tmp_path / "partner.key"
    write_identity_file(path, identity, comment_lines=["partner: demo-partner", "# keep offline"])
    lines = path.read_text().splitlines()
    assert lines[2:] == ["# partner: demo-partner", "# keep offline", str(identity)]
    assert [str(i) for i in parse_identities_file(path)] == [str(identity)]
    with pytest.raises(FileExistsError):
        write_identity_file(path, identity)
    with pytest.raises(ValueError):
        write_identity_file(tmp_path / "other.key", identity, comment_lines=["two\nlines"])
