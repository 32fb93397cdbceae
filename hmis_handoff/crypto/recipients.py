"""age recipient and identity types: X25519, MLKEM768-X25519 (post-quantum) and scrypt.

A *recipient* wraps a file key into header stanzas; an *identity* unwraps it. Identities
ignore stanzas of other types, return ``None`` when no stanza of their type opens, and raise
:class:`HeaderError` for a malformed stanza of their own type (c2sp.org/age).

String forms are Bech32: ``age1…`` / ``AGE-SECRET-KEY-1…`` for X25519 and ``age1pq1…`` /
``AGE-SECRET-KEY-PQ-1…`` for the hybrid. ``repr`` of an identity never shows the secret.
Passphrase (scrypt) support is decryption-only: the pipeline never produces such files.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from hmis_handoff.crypto import bech32, primitives
from hmis_handoff.crypto.errors import (
    AuthenticationFailed,
    Bech32Error,
    HeaderError,
    InvalidKey,
    KeyFormatError,
    LowOrderPoint,
)
from hmis_handoff.crypto.header import Stanza, b64decode, b64encode

__all__ = [
    "SECRET_KEY_PREFIX",
    "HybridIdentity",
    "HybridRecipient",
    "Identity",
    "Recipient",
    "ScryptIdentity",
    "X25519Identity",
    "X25519Recipient",
    "fingerprint_of",
    "parse_identity",
    "parse_recipient",
]

_ZERO_NONCE = bytes(12)
_FILE_KEY_SIZE = 16
_WRAPPED_SIZE = _FILE_KEY_SIZE + primitives.AEAD_TAG_SIZE
_X25519_INFO = b"age-encryption.org/v1/X25519"
_HYBRID_INFO = b"age-encryption.org/mlkem768x25519"
_SCRYPT_LABEL = b"age-encryption.org/v1/scrypt"
_WORK_FACTOR = re.compile(r"[1-9][0-9]*")
SECRET_KEY_PREFIX = "AGE-SECRET-KEY-"


@runtime_checkable
class Recipient(Protocol):
    """Something a file can be encrypted to."""

    @property
    def post_quantum(self) -> bool:
        """True if this recipient type resists quantum attacks (it must not be mixed)."""
        ...

    @property
    def fingerprint(self) -> str:
        """A short, stable, public id: the first 12 hex digits of SHA-256 of ``str(self)``."""
        ...

    def wrap(self, file_key: bytes) -> list[Stanza]:
        """Stanzas carrying ``file_key`` for this recipient."""
        ...


@runtime_checkable
class Identity(Protocol):
    """Something that can unwrap a file key from a header's stanzas."""

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key, or None if no stanza is for this identity; raises HeaderError."""
        ...


def fingerprint_of(public_string: str) -> str:
    """First 12 hex digits of SHA-256 over a public key's string form."""
    return hashlib.sha256(public_string.encode("ascii")).hexdigest()[:12]


def _decode_key(text: str, hrp: str, size: int, what: str) -> bytes:
    expected_case = text.upper() if hrp.isupper() else text.lower()
    try:
        found_hrp, data = bech32.decode(text)
    except Bech32Error:
        raise KeyFormatError(f"not a valid {what}: bad Bech32 encoding") from None
    if text != expected_case or found_hrp != hrp.lower():
        raise KeyFormatError(f"not a valid {what}: wrong prefix or letter case")
    if len(data) != size:
        raise KeyFormatError(f"not a valid {what}: wrong key length")
    return data


def _wrap_key_stanza_arg(stanza: Stanza, size: int, what: str) -> bytes:
    if len(stanza.args) != 2:
        raise HeaderError(f"a {stanza.type} stanza must have exactly two arguments")
    try:
        value = b64decode(stanza.args[1])
    except ValueError:
        raise HeaderError(f"the {what} in a {stanza.type} stanza is not canonical base64") from None
    if len(value) != size:
        raise HeaderError(f"the {what} in a {stanza.type} stanza has the wrong length")
    if len(stanza.body) != _WRAPPED_SIZE:
        raise HeaderError(f"a {stanza.type} stanza body must be {_WRAPPED_SIZE} bytes")
    return value


# --- X25519 ---------------------------------------------------------------------------------


class X25519Recipient:
    """An X25519 public key (``age1…``)."""

    __slots__ = ("_public",)
    post_quantum = False

    def __init__(self, public: bytes) -> None:
        if len(public) != primitives.X25519_SIZE:
            raise KeyFormatError("an X25519 public key must be 32 bytes")
        self._public = public

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        """Parse ``age1…``; raises :class:`KeyFormatError`."""
        return cls(_decode_key(text, "age", primitives.X25519_SIZE, "X25519 recipient (age1…)"))

    @property
    def public_bytes(self) -> bytes:
        """The raw 32-byte public key."""
        return self._public

    @property
    def fingerprint(self) -> str:
        """First 12 hex digits of SHA-256 of ``age1…``."""
        return fingerprint_of(str(self))

    def wrap(self, file_key: bytes) -> list[Stanza]:
        """One ``X25519`` stanza with a fresh ephemeral share."""
        ephemeral = primitives.random_bytes(32)
        share = primitives.x25519_public(ephemeral)
        shared = primitives.x25519_shared_secret(ephemeral, self._public)
        wrap_key = primitives.hkdf_sha256(shared, share + self._public, _X25519_INFO)
        body = primitives.ChaCha20Poly1305Key(wrap_key).seal(_ZERO_NONCE, file_key)
        return [Stanza(("X25519", b64encode(share)), body)]

    def __str__(self) -> str:
        return bech32.encode("age", self._public)

    def __repr__(self) -> str:
        return f"X25519Recipient({self})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, X25519Recipient) and other._public == self._public

    def __hash__(self) -> int:
        return hash(("X25519", self._public))


class X25519Identity:
    """An X25519 private key (``AGE-SECRET-KEY-1…``)."""

    __slots__ = ("_public", "_secret")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != primitives.X25519_SIZE:
            raise KeyFormatError("an X25519 private key must be 32 bytes")
        self._secret = secret
        self._public = primitives.x25519_public(secret)

    @classmethod
    def generate(cls) -> X25519Identity:
        """A new random identity."""
        return cls(primitives.random_bytes(primitives.X25519_SIZE))

    @classmethod
    def parse(cls, text: str) -> X25519Identity:
        """Parse ``AGE-SECRET-KEY-1…``; raises :class:`KeyFormatError` (never quoting it)."""
        return cls(_decode_key(text, SECRET_KEY_PREFIX, primitives.X25519_SIZE, "X25519 identity"))

    @property
    def recipient(self) -> X25519Recipient:
        """The matching public recipient."""
        return X25519Recipient(self._public)

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key from the first ``X25519`` stanza addressed to this identity."""
        for stanza in stanzas:
            if stanza.type != "X25519":
                continue
            share = _wrap_key_stanza_arg(stanza, primitives.X25519_SIZE, "share")
            try:
                shared = primitives.x25519_shared_secret(self._secret, share)
            except LowOrderPoint:
                raise HeaderError("an X25519 stanza has a low-order share") from None
            wrap_key = primitives.hkdf_sha256(shared, share + self._public, _X25519_INFO)
            try:
                return primitives.ChaCha20Poly1305Key(wrap_key).open(_ZERO_NONCE, stanza.body)
            except AuthenticationFailed:
                continue
        return None

    def __str__(self) -> str:
        return bech32.encode(SECRET_KEY_PREFIX, self._secret)

    def __repr__(self) -> str:
        return f"X25519Identity(recipient={self.recipient})"


# --- MLKEM768-X25519 ------------------------------------------------------------------------


class HybridRecipient:
    """An MLKEM768-X25519 post-quantum public key (``age1pq1…``); needs age ≥ 1.3 to read."""

    __slots__ = ("_public",)
    post_quantum = True

    def __init__(self, public: bytes) -> None:
        try:
            primitives.mlkem768x25519_check_public(public)
        except InvalidKey:
            raise KeyFormatError("not a valid MLKEM768-X25519 public key") from None
        self._public = public

    @classmethod
    def parse(cls, text: str) -> HybridRecipient:
        """Parse ``age1pq1…``; raises :class:`KeyFormatError`."""
        size = primitives.MLKEM768X25519_PUBLIC_SIZE
        return cls(_decode_key(text, "age1pq", size, "post-quantum recipient (age1pq1…)"))

    @property
    def fingerprint(self) -> str:
        """First 12 hex digits of SHA-256 of ``age1pq1…``."""
        return fingerprint_of(str(self))

    def wrap(self, file_key: bytes) -> list[Stanza]:
        """One ``mlkem768x25519`` stanza (HPKE SealBase)."""
        enc, body = primitives.mlkem768x25519_seal(self._public, file_key, _HYBRID_INFO)
        return [Stanza(("mlkem768x25519", b64encode(enc)), body)]

    def __str__(self) -> str:
        return bech32.encode("age1pq", self._public)

    def __repr__(self) -> str:
        return f"HybridRecipient(fingerprint={self.fingerprint})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HybridRecipient) and other._public == self._public

    def __hash__(self) -> int:
        return hash(("mlkem768x25519", self._public))


class HybridIdentity:
    """An MLKEM768-X25519 private key (``AGE-SECRET-KEY-PQ-1…``), a 32-byte seed."""

    __slots__ = ("_public", "_seed")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != 32:
            raise KeyFormatError("a post-quantum identity seed must be 32 bytes")
        self._seed = seed
        self._public = primitives.mlkem768x25519_public(seed)

    @classmethod
    def generate(cls) -> HybridIdentity:
        """A new random identity."""
        return cls(primitives.random_bytes(32))

    @classmethod
    def parse(cls, text: str) -> HybridIdentity:
        """Parse ``AGE-SECRET-KEY-PQ-1…``; raises :class:`KeyFormatError` (never quoting it)."""
        return cls(_decode_key(text, SECRET_KEY_PREFIX + "PQ-", 32, "post-quantum identity"))

    @property
    def recipient(self) -> HybridRecipient:
        """The matching public recipient."""
        return HybridRecipient(self._public)

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key from the first ``mlkem768x25519`` stanza addressed to this identity."""
        for stanza in stanzas:
            if stanza.type != "mlkem768x25519":
                continue
            enc = _wrap_key_stanza_arg(stanza, primitives.MLKEM768X25519_ENC_SIZE, "enc")
            try:
                return primitives.mlkem768x25519_open(self._seed, enc, stanza.body, _HYBRID_INFO)
            except LowOrderPoint:
                raise HeaderError("an mlkem768x25519 stanza has a low-order X25519 share") from None
            except AuthenticationFailed:
                continue
        return None

    def __str__(self) -> str:
        return bech32.encode(SECRET_KEY_PREFIX + "PQ-", self._seed)

    def __repr__(self) -> str:
        return f"HybridIdentity(recipient={self.recipient.fingerprint})"


# --- scrypt (decryption only) ---------------------------------------------------------------


class ScryptIdentity:
    """A passphrase, for reading passphrase-encrypted files (``age -p``).

    Work factors above ``max_work_factor`` (log2 N, default 22 as in the reference
    implementation) are refused as a header failure rather than computed.
    """

    __slots__ = ("_max_work_factor", "_passphrase")

    def __init__(self, passphrase: str, *, max_work_factor: int = 22) -> None:
        self._passphrase = passphrase.encode("utf-8")
        self._max_work_factor = max_work_factor

    def unwrap(self, stanzas: Sequence[Stanza]) -> bytes | None:
        """The file key from an ``scrypt`` stanza, if the passphrase opens it."""
        for stanza in stanzas:
            if stanza.type != "scrypt":
                continue
            if len(stanza.args) != 3:
                raise HeaderError("an scrypt stanza must have exactly three arguments")
            try:
                salt = b64decode(stanza.args[1])
            except ValueError:
                raise HeaderError("the salt in an scrypt stanza is not canonical base64") from None
            if len(salt) != 16:
                raise HeaderError("the salt in an scrypt stanza must be 16 bytes")
            if not _WORK_FACTOR.fullmatch(stanza.args[2]):
                raise HeaderError("the scrypt work factor is not a plain decimal number")
            if len(stanza.args[2]) > 2 or int(stanza.args[2]) > self._max_work_factor:
                raise HeaderError("the scrypt work factor is higher than allowed")
            if len(stanza.body) != _WRAPPED_SIZE:
                raise HeaderError(f"an scrypt stanza body must be {_WRAPPED_SIZE} bytes")
            wrap_key = primitives.scrypt_32(
                self._passphrase, _SCRYPT_LABEL + salt, int(stanza.args[2])
            )
            try:
                return primitives.ChaCha20Poly1305Key(wrap_key).open(_ZERO_NONCE, stanza.body)
            except AuthenticationFailed:
                continue
        return None

    def __repr__(self) -> str:
        return "ScryptIdentity(<passphrase>)"


# --- string forms ---------------------------------------------------------------------------


def parse_recipient(text: str) -> X25519Recipient | HybridRecipient:
    """Parse an ``age1…`` or ``age1pq1…`` recipient; raises :class:`KeyFormatError`.

    A secret key passed by mistake gets its own message, so config errors are obvious.
    """
    if text.upper().startswith(SECRET_KEY_PREFIX):
        raise KeyFormatError(
            "this is a secret key (AGE-SECRET-KEY-…), not a recipient: "
            "give the public key (age1…) instead"
        )
    if text.startswith("age1pq1"):
        return HybridRecipient.parse(text)
    if text.startswith("age1"):
        return X25519Recipient.parse(text)
    raise KeyFormatError("not an age recipient: expected a public key starting with age1")


def parse_identity(text: str) -> X25519Identity | HybridIdentity:
    """Parse ``AGE-SECRET-KEY-1…`` or ``AGE-SECRET-KEY-PQ-1…``; raises :class:`KeyFormatError`."""
    if text.startswith(SECRET_KEY_PREFIX + "PQ-1"):
        return HybridIdentity.parse(text)
    if text.startswith(SECRET_KEY_PREFIX + "1"):
        return X25519Identity.parse(text)
    raise KeyFormatError("not an age identity: expected a key starting with AGE-SECRET-KEY-")
