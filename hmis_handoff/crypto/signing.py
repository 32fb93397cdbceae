"""The CoC's Ed25519 signing key, and signatures over manifests.

* A :class:`SigningKey` is stored as an unencrypted OpenSSH private key file, mode 0600, so
  ``ssh-keygen -y -f KEY`` shows its public half and ``ssh-keygen -Y sign`` could use it.
* A :class:`VerifyKey` is written ``ed25519:<base64 of the 32-byte key>``; its
  :attr:`~VerifyKey.fingerprint` is a short id for logs and manifests, and
  :attr:`~VerifyKey.openssh_fingerprint` is what ``ssh-keygen -l`` prints, for checking a key
  over the phone.
* Signatures are OpenSSH SSHSIG (``-----BEGIN SSH SIGNATURE-----``) with a namespace, so a
  partner without our tools can check one with
  ``ssh-keygen -Y verify -f allowed_signers -I coc -n NAMESPACE -s FILE.sig < FILE``.
  :meth:`SigningKey.sign` / :meth:`VerifyKey.verify` also offer raw 64-byte signatures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import struct
from collections.abc import Sequence
from pathlib import Path

from hmis_handoff.crypto import primitives
from hmis_handoff.crypto.errors import (
    BadSignature,
    InvalidKey,
    KeyFormatError,
    MalformedSignature,
    UntrustedSigner,
)
from hmis_handoff.fsutil import atomic_write_bytes

__all__ = [
    "SigningKey",
    "VerifyKey",
    "verify_sshsig",
]

_PREFIX = "ed25519:"
_SSH_KEY_TYPE = b"ssh-ed25519"
_SSHSIG_MAGIC = b"SSHSIG"
_SSHSIG_VERSION = 1
_SSHSIG_BEGIN = b"-----BEGIN SSH SIGNATURE-----"
_SSHSIG_END = b"-----END SSH SIGNATURE-----"
_SSHSIG_HASHES = {"sha512": hashlib.sha512, "sha256": hashlib.sha256}
_MAX_KEY_FILE = 64 * 1024
_MAX_SIGNATURE_FILE = 64 * 1024


def _ssh_string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _ssh_public_blob(public: bytes) -> bytes:
    return _ssh_string(_SSH_KEY_TYPE) + _ssh_string(public)


class VerifyKey:
    """An Ed25519 public key that signatures are checked against."""

    __slots__ = ("_public",)

    def __init__(self, public: bytes) -> None:
        if len(public) != 32:
            raise KeyFormatError("an Ed25519 public key must be 32 bytes")
        self._public = public

    @classmethod
    def parse(cls, text: str) -> VerifyKey:
        """Parse ``ed25519:<base64>``; raises :class:`KeyFormatError`."""
        if not text.startswith(_PREFIX):
            raise KeyFormatError("not a signing public key: expected 'ed25519:<base64>'")
        encoded = text[len(_PREFIX) :].encode("ascii", "replace")
        try:
            public = binascii.a2b_base64(encoded, strict_mode=True)
        except binascii.Error:
            raise KeyFormatError("the signing public key is not valid base64") from None
        if base64.b64encode(public) != encoded:
            raise KeyFormatError("the signing public key is not canonical base64")
        return cls(public)

    @property
    def public_bytes(self) -> bytes:
        """The raw 32-byte key."""
        return self._public

    @property
    def fingerprint(self) -> str:
        """First 12 hex digits of SHA-256 of ``str(self)``, like recipient fingerprints."""
        return hashlib.sha256(str(self).encode("ascii")).hexdigest()[:12]

    @property
    def openssh(self) -> str:
        """The key as an OpenSSH public key line (for an ``allowed_signers`` file)."""
        return "ssh-ed25519 " + base64.b64encode(_ssh_public_blob(self._public)).decode("ascii")

    @property
    def openssh_fingerprint(self) -> str:
        """``SHA256:…`` exactly as ``ssh-keygen -l`` prints it."""
        digest = hashlib.sha256(_ssh_public_blob(self._public)).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    def verify(self, data: bytes, signature: bytes) -> None:
        """Check a raw 64-byte Ed25519 signature; raises :class:`BadSignature`."""
        if not primitives.ed25519_verify(self._public, signature, data):
            raise BadSignature("the signature does not verify: the data changed after signing")

    def __str__(self) -> str:
        return _PREFIX + base64.b64encode(self._public).decode("ascii")

    def __repr__(self) -> str:
        return f"VerifyKey({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and other._public == self._public

    def __hash__(self) -> int:
        return hash(("ed25519", self._public))


def _sshsig_signed_data(namespace: str, hash_name: str, data: bytes) -> bytes:
    return (
        _SSHSIG_MAGIC
        + _ssh_string(namespace.encode("utf-8"))
        + _ssh_string(b"")
        + _ssh_string(hash_name.encode("ascii"))
        + _ssh_string(_SSHSIG_HASHES[hash_name](data).digest())
    )


class SigningKey:
    """An Ed25519 private key (the CoC's manifest-signing key). ``repr`` hides the secret."""

    __slots__ = ("_seed", "_verify_key")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise KeyFormatError("an Ed25519 private key seed must be 32 bytes")
        self._seed = seed
        self._verify_key = VerifyKey(primitives.ed25519_public(seed))

    @classmethod
    def generate(cls) -> SigningKey:
        """A new random key."""
        return cls(primitives.random_bytes(32))

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """Load a key saved by :meth:`save` (or ``ssh-keygen -t ed25519 -N ''``).

        Raises :class:`KeyFormatError` if the file is readable by group or others, or is not
        an unencrypted OpenSSH Ed25519 private key.
        """
        with open(path, "rb") as handle:
            if stat.S_IMODE(os.fstat(handle.fileno()).st_mode) & 0o077:
                raise KeyFormatError(
                    "the signing key file is readable by other users; restrict it to mode 0600"
                )
            data = handle.read(_MAX_KEY_FILE + 1)
        if len(data) > _MAX_KEY_FILE:
            raise KeyFormatError("the signing key file is too large")
        try:
            return cls(primitives.ed25519_from_openssh(data))
        except InvalidKey:
            raise KeyFormatError(
                "the signing key file is not an unencrypted OpenSSH Ed25519 private key"
            ) from None

    def save(self, path: Path) -> None:
        """Write the key as an OpenSSH private key file, mode 0600; never replaces a file."""
        atomic_write_bytes(path, primitives.ed25519_to_openssh(self._seed), replace=False)

    @property
    def verify_key(self) -> VerifyKey:
        """The public half."""
        return self._verify_key

    def sign(self, data: bytes) -> bytes:
        """A raw 64-byte Ed25519 signature of ``data``."""
        return primitives.ed25519_sign(self._seed, data)

    def sign_sshsig(self, data: bytes, namespace: str) -> bytes:
        """An armored OpenSSH SSHSIG signature of ``data`` (what ``ssh-keygen -Y sign`` makes)."""
        signed = _sshsig_signed_data(namespace, "sha512", data)
        signature = _ssh_string(_SSH_KEY_TYPE) + _ssh_string(self.sign(signed))
        blob = (
            _SSHSIG_MAGIC
            + struct.pack(">I", _SSHSIG_VERSION)
            + _ssh_string(_ssh_public_blob(self._verify_key.public_bytes))
            + _ssh_string(namespace.encode("utf-8"))
            + _ssh_string(b"")
            + _ssh_string(b"sha512")
            + _ssh_string(signature)
        )
        encoded = base64.b64encode(blob)
        lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)]
        return b"\n".join([_SSHSIG_BEGIN, *lines, _SSHSIG_END]) + b"\n"

    def __repr__(self) -> str:
        return f"SigningKey(public={self._verify_key})"


class _Fields:
    """Sequential reader of SSH wire-format fields; any overrun is a malformed signature."""

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._pos = 0

    def raw(self, n: int) -> bytes:
        if self._pos + n > len(self._blob):
            raise MalformedSignature("the signature is truncated")
        value = self._blob[self._pos : self._pos + n]
        self._pos += n
        return value

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.raw(4))[0]
        return value

    def string(self) -> bytes:
        return self.raw(self.uint32())

    def end(self) -> None:
        if self._pos != len(self._blob):
            raise MalformedSignature("the signature has trailing data")


def _sshsig_blob(armored: bytes) -> bytes:
    if len(armored) > _MAX_SIGNATURE_FILE:
        raise MalformedSignature("the signature file is too large")
    lines = armored.replace(b"\r\n", b"\n").strip().split(b"\n")
    if len(lines) < 3 or lines[0] != _SSHSIG_BEGIN or lines[-1] != _SSHSIG_END:
        raise MalformedSignature("the signature file is not an SSH SIGNATURE block")
    try:
        return binascii.a2b_base64(b"".join(lines[1:-1]), strict_mode=True)
    except binascii.Error:
        raise MalformedSignature("the signature is not valid base64") from None


def verify_sshsig(
    data: bytes, armored: bytes, namespace: str, trusted: Sequence[VerifyKey]
) -> VerifyKey:
    """Check an SSHSIG signature of ``data`` and return the trusted key that made it.

    Raises :class:`MalformedSignature` (not SSHSIG, or another namespace),
    :class:`UntrustedSigner` (a key not in ``trusted``) or :class:`BadSignature` (the data
    or signature was changed), in that order of checking.
    """
    fields = _Fields(_sshsig_blob(armored))
    if fields.raw(6) != _SSHSIG_MAGIC or fields.uint32() != _SSHSIG_VERSION:
        raise MalformedSignature("the signature is not an SSHSIG version 1 signature")
    key_fields = _Fields(fields.string())
    if key_fields.string() != _SSH_KEY_TYPE:
        raise MalformedSignature("the signature was not made with an Ed25519 key")
    public = key_fields.string()
    key_fields.end()
    if fields.string() != namespace.encode("utf-8"):
        raise MalformedSignature("the signature was made for another purpose (namespace)")
    fields.string()  # reserved
    hash_name = fields.string().decode("ascii", "replace")
    if hash_name not in _SSHSIG_HASHES:
        raise MalformedSignature("the signature uses an unsupported hash")
    sig_fields = _Fields(fields.string())
    fields.end()
    if sig_fields.string() != _SSH_KEY_TYPE:
        raise MalformedSignature("the signature is not an Ed25519 signature")
    raw_signature = sig_fields.string()
    sig_fields.end()
    if len(public) != 32:
        raise MalformedSignature("the signature's public key has the wrong length")
    signer = VerifyKey(public)
    if signer not in trusted:
        raise UntrustedSigner(
            f"the signature was made by key {signer.openssh_fingerprint}, "
            "which is not a trusted signer"
        )
    signer.verify(_sshsig_signed_data(namespace, hash_name, data), raw_signature)
    return signer
