"""The CoC signing key: storage, key strings, raw and SSHSIG signatures, ssh-keygen interop."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hmis_handoff.crypto.errors import (
    BadSignature,
    KeyFormatError,
    MalformedSignature,
    SignatureError,
    UntrustedSigner,
)
from hmis_handoff.crypto.signing import SigningKey, VerifyKey, verify_sshsig

NAMESPACE = "hmis-handoff-manifest"


@pytest.fixture
def ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    assert found, "ssh-keygen (Debian openssh-client) is required; make test installs it"
    return found


def test_save_load_roundtrip_mode_0600(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "signing.key"
    signing_key.save(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    loaded = SigningKey.load(path)
    assert loaded.verify_key == signing_key.verify_key
    with pytest.raises(FileExistsError):
        SigningKey.generate().save(path)


def test_load_refuses_readable_or_malformed_files(tmp_path: Path, signing_key: SigningKey) -> None:
    path = tmp_path / "signing.key"
    signing_key.save(path)
    path.chmod(0o644)
    with pytest.raises(KeyFormatError, match="readable by other users"):
        SigningKey.load(path)
    garbage = tmp_path / "garbage.key"
    garbage.write_bytes(b"not a key")
    garbage.chmod(0o600)
    with pytest.raises(KeyFormatError, match="not an unencrypted OpenSSH Ed25519") as caught:
        SigningKey.load(garbage)
    assert "not a key" not in str(caught.value)


def test_verify_key_string_and_fingerprints(signing_key: SigningKey) -> None:
    key = signing_key.verify_key
    text = str(key)
    assert text.startswith("ed25519:") and len(text) == len("ed25519:") + 44
    assert VerifyKey.parse(text) == key
    assert len(key.fingerprint) == 12
    assert key.openssh.startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")
    assert key.openssh_fingerprint.startswith("SHA256:")
    for bad in ("ed25519:abc", "ed25519:" + "A" * 42 + "B=", "ssh-ed25519 AAAA", text + "="):
        with pytest.raises(KeyFormatError):
            VerifyKey.parse(bad)
    assert str(signing_key.verify_key) in repr(signing_key)


def test_raw_signatures(signing_key: SigningKey) -> None:
    signature = signing_key.sign(b"manifest")
    assert len(signature) == 64
    signing_key.verify_key.verify(b"manifest", signature)
    with pytest.raises(BadSignature, match="changed after signing"):
        signing_key.verify_key.verify(b"manifest!", signature)
    with pytest.raises(BadSignature):
        SigningKey.generate().verify_key.verify(b"manifest", signature)


def test_sshsig_checks_in_order(signing_key: SigningKey) -> None:
    data = b'{"package_id": "p1"}\n'
    signature = signing_key.sign_sshsig(data, NAMESPACE)
    assert signature.startswith(b"-----BEGIN SSH SIGNATURE-----\n")
    trusted = [SigningKey.generate().verify_key, signing_key.verify_key]
    assert verify_sshsig(data, signature, NAMESPACE, trusted) == signing_key.verify_key
    with pytest.raises(BadSignature):
        verify_sshsig(data.replace(b"p1", b"p2"), signature, NAMESPACE, trusted)
    with pytest.raises(
        UntrustedSigner, match=re.escape(signing_key.verify_key.openssh_fingerprint)
    ):
        verify_sshsig(data, signature, NAMESPACE, trusted[:1])
    with pytest.raises(MalformedSignature, match="namespace"):
        verify_sshsig(data, signature, "file", trusted)
    for broken in (b"", b"garbage", signature.replace(b"SSH SIGNATURE", b"PGP SIGNATURE")):
        with pytest.raises(MalformedSignature):
            verify_sshsig(data, broken, NAMESPACE, trusted)
    lines = signature.split(b"\n")
    lines[2] = lines[2][:-4] + (b"AAAA" if lines[2][-4:] != b"AAAA" else b"BBBB")
    with pytest.raises(SignatureError):
        verify_sshsig(data, b"\n".join(lines), NAMESPACE, trusted)


def test_ssh_keygen_verifies_our_signature(
    tmp_path: Path, ssh_keygen: str, signing_key: SigningKey
) -> None:
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"coc {signing_key.verify_key.openssh}\n")
    data = b'{"record_count": 3}\n'
    sig = tmp_path / "m.json.sig"
    sig.write_bytes(signing_key.sign_sshsig(data, NAMESPACE))

    def verify(payload: bytes, namespace: str = NAMESPACE) -> int:
        args = ["-Y", "verify", "-f", str(allowed), "-I", "coc", "-n", namespace, "-s", str(sig)]
        return subprocess.run(
            [ssh_keygen, *args], input=payload, capture_output=True, check=False, timeout=30
        ).returncode

    assert verify(data) == 0
    assert verify(data.replace(b"3", b"4")) != 0
    assert verify(data, namespace="file") != 0


def test_we_verify_ssh_keygen_signatures_and_fingerprint(
    tmp_path: Path, ssh_keygen: str, signing_key: SigningKey
) -> None:
    key_path = tmp_path / "signing.key"
    signing_key.save(key_path)
    message = tmp_path / "m.json"
    message.write_bytes(b"hello\n")
    result = subprocess.run(
        [ssh_keygen, "-Y", "sign", "-f", str(key_path), "-n", NAMESPACE, str(message)],
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr.decode()
    signature = (tmp_path / "m.json.sig").read_bytes()
    signer = verify_sshsig(b"hello\n", signature, NAMESPACE, [signing_key.verify_key])
    assert signer == signing_key.verify_key
    listing = subprocess.run(
        [ssh_keygen, "-l", "-f", str(key_path)], capture_output=True, check=True, timeout=30
    ).stdout.decode()
    assert signing_key.verify_key.openssh_fingerprint in listing
