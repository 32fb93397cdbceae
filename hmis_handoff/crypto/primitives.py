"""Thin typed wrappers over ``cryptography``: the only module in the project that imports it.

Everything here takes and returns ``bytes`` (or a small wrapper object), so the rest of the
code never touches ``cryptography`` types and an audit of the primitives we rely on is one
file long. Failures surface as the three exceptions below, never as ``cryptography``'s own;
none of their messages carries key material or plaintext.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hpke, serialization
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from hmis_handoff.crypto.errors import AuthenticationFailed, InvalidKey, LowOrderPoint

__all__ = [
    "AEAD_TAG_SIZE",
    "MLKEM768X25519_ENC_SIZE",
    "MLKEM768X25519_PUBLIC_SIZE",
    "X25519_SIZE",
    "Bytes",
    "ChaCha20Poly1305Key",
    "ed25519_from_openssh",
    "ed25519_public",
    "ed25519_sign",
    "ed25519_to_openssh",
    "ed25519_verify",
    "hkdf_sha256",
    "hmac_sha256",
    "hmac_sha256_verify",
    "mlkem768x25519_check_public",
    "mlkem768x25519_open",
    "mlkem768x25519_public",
    "mlkem768x25519_seal",
    "random_bytes",
    "scrypt_32",
    "x25519_public",
    "x25519_shared_secret",
]

Bytes = bytes | bytearray | memoryview

X25519_SIZE = 32
AEAD_TAG_SIZE = 16
MLKEM768X25519_PUBLIC_SIZE = 1184 + 32
MLKEM768X25519_ENC_SIZE = 1088 + 32
_MLKEM_SEED_SIZE = 64


def random_bytes(n: int) -> bytes:
    """``n`` bytes from the operating system's CSPRNG."""
    return os.urandom(n)


# --- X25519 ---------------------------------------------------------------------------------


def x25519_public(private: bytes) -> bytes:
    """The 32-byte public key (``X25519(private, basepoint)``) of a 32-byte private scalar."""
    key = x25519.X25519PrivateKey.from_private_bytes(private)
    return key.public_key().public_bytes_raw()


def x25519_shared_secret(private: bytes, peer_public: bytes) -> bytes:
    """``X25519(private, peer_public)``.

    Raises :class:`LowOrderPoint` if the result is all zeros (``cryptography`` reports that
    as a ``ValueError``) and :class:`InvalidKey` if ``peer_public`` is not 32 bytes.
    """
    if len(peer_public) != X25519_SIZE:
        raise InvalidKey("an X25519 share must be 32 bytes")
    key = x25519.X25519PrivateKey.from_private_bytes(private)
    try:
        shared = key.exchange(x25519.X25519PublicKey.from_public_bytes(peer_public))
    except ValueError:
        raise LowOrderPoint("X25519 share is a low-order point") from None
    if shared == bytes(X25519_SIZE):
        raise LowOrderPoint("X25519 share is a low-order point")
    return shared


# --- KDFs and MACs --------------------------------------------------------------------------


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA-256 (RFC 5869): extract with ``salt`` (empty means none), expand with ``info``."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info).derive(ikm)


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA-256 of ``data``."""
    mac = _hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def hmac_sha256_verify(key: bytes, data: bytes, tag: bytes) -> None:
    """Check an HMAC-SHA-256 tag in constant time; raises :class:`AuthenticationFailed`."""
    mac = _hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    try:
        mac.verify(tag)
    except InvalidSignature:
        raise AuthenticationFailed("HMAC does not verify") from None


def scrypt_32(password: bytes, salt: bytes, log_n: int) -> bytes:
    """scrypt(N = 2**log_n, r = 8, p = 1) with a 32-byte output (RFC 7914)."""
    return Scrypt(salt=salt, length=32, n=1 << log_n, r=8, p=1).derive(password)


# --- ChaCha20-Poly1305 ----------------------------------------------------------------------


class ChaCha20Poly1305Key:
    """A ChaCha20-Poly1305 key (RFC 8439) with no associated data.

    Build one per key and reuse it: the ``*_into`` methods write into caller-owned buffers so
    a streaming loop allocates nothing per chunk. ``cryptography`` releases the GIL while it
    works, so other threads (hashing, I/O) run alongside.
    """

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)

    def seal(self, nonce: bytes, plaintext: bytes) -> bytes:
        """``ciphertext || tag`` of ``plaintext``."""
        return self._aead.encrypt(nonce, plaintext, None)

    def open(self, nonce: bytes, ciphertext: bytes) -> bytes:
        """The plaintext of ``ciphertext || tag``; raises :class:`AuthenticationFailed`."""
        try:
            return self._aead.decrypt(nonce, ciphertext, None)
        except InvalidTag:
            raise AuthenticationFailed("AEAD tag does not verify") from None

    def seal_into(self, nonce: Bytes, plaintext: Bytes, out: memoryview) -> int:
        """Write ``ciphertext || tag`` into ``out`` (exactly ``len(plaintext) + 16`` bytes)."""
        return self._aead.encrypt_into(nonce, plaintext, None, out)

    def open_into(self, nonce: Bytes, ciphertext: Bytes, out: memoryview) -> int:
        """Write the plaintext into ``out`` (exactly ``len(ciphertext) - 16`` bytes).

        Raises :class:`AuthenticationFailed`; ``out`` may then hold garbage and must be
        discarded.
        """
        try:
            return self._aead.decrypt_into(nonce, ciphertext, None, out)
        except InvalidTag:
            raise AuthenticationFailed("AEAD tag does not verify") from None


# --- Ed25519 --------------------------------------------------------------------------------


def ed25519_public(seed: bytes) -> bytes:
    """The 32-byte Ed25519 public key for a 32-byte private seed."""
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """A 64-byte Ed25519 signature (RFC 8032) of ``message``."""
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def ed25519_verify(public: bytes, signature: bytes, message: bytes) -> bool:
    """True if ``signature`` is a valid Ed25519 signature of ``message`` under ``public``."""
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(public)
    except ValueError:
        return False
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def ed25519_to_openssh(seed: bytes) -> bytes:
    """The seed as an unencrypted OpenSSH private key file (``ssh-keygen`` can use it)."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )


def ed25519_from_openssh(data: bytes) -> bytes:
    """The 32-byte seed from an unencrypted OpenSSH Ed25519 private key file.

    Raises :class:`InvalidKey` for anything else (other key types, passphrase-protected
    files, garbage); the message never quotes the input.
    """
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except (ValueError, TypeError):
        raise InvalidKey("not an unencrypted OpenSSH private key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InvalidKey("the OpenSSH private key is not an Ed25519 key")
    return key.private_bytes_raw()


# --- MLKEM768-X25519 (X-Wing) via HPKE ------------------------------------------------------

_HPKE_XWING = hpke.Suite(
    hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305
)


def _xwing_private(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    # draft-ietf-hpke-pq / filippo.io/hpke-pq: SHAKE256(seed, 96) = ML-KEM seed || X25519 key.
    expanded = hashlib.shake_256(seed).digest(_MLKEM_SEED_SIZE + X25519_SIZE)
    return (
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:_MLKEM_SEED_SIZE]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[_MLKEM_SEED_SIZE:]),
    )


def mlkem768x25519_public(seed: bytes) -> bytes:
    """The 1216-byte MLKEM768-X25519 public key (ML-KEM key || X25519 key) for a 32-byte seed."""
    mk, xk = _xwing_private(seed)
    return mk.public_key().public_bytes_raw() + xk.public_key().public_bytes_raw()


def _xwing_public(public: bytes) -> hpke.MLKEM768X25519PublicKey:
    if len(public) != MLKEM768X25519_PUBLIC_SIZE:
        raise InvalidKey("an MLKEM768-X25519 public key must be 1216 bytes")
    try:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(public[:1184]),
            x25519.X25519PublicKey.from_public_bytes(public[1184:]),
        )
    except ValueError:
        raise InvalidKey("not a valid MLKEM768-X25519 public key") from None


def mlkem768x25519_check_public(public: bytes) -> None:
    """Raise :class:`InvalidKey` unless ``public`` is a valid MLKEM768-X25519 public key."""
    _xwing_public(public)


def mlkem768x25519_seal(public: bytes, plaintext: bytes, info: bytes) -> tuple[bytes, bytes]:
    """HPKE SealBase (MLKEM768-X25519, HKDF-SHA256, ChaCha20Poly1305, empty AAD).

    Returns ``(enc, ciphertext)`` with a 1120-byte ``enc``.
    """
    sealed = _HPKE_XWING.encrypt(plaintext, _xwing_public(public), info=info)
    return sealed[:MLKEM768X25519_ENC_SIZE], sealed[MLKEM768X25519_ENC_SIZE:]


def mlkem768x25519_open(seed: bytes, enc: bytes, ciphertext: bytes, info: bytes) -> bytes:
    """HPKE OpenBase, the inverse of :func:`mlkem768x25519_seal`.

    Raises :class:`LowOrderPoint` if the X25519 half of ``enc`` is low-order (checked first,
    because HPKE would report it as an ordinary tag failure) and :class:`AuthenticationFailed`
    if the ciphertext does not open.
    """
    if len(enc) != MLKEM768X25519_ENC_SIZE:
        raise InvalidKey("an MLKEM768-X25519 enc must be 1120 bytes")
    mk, xk = _xwing_private(seed)
    x25519_shared_secret(xk.private_bytes_raw(), enc[-X25519_SIZE:])
    try:
        return _HPKE_XWING.decrypt(enc + ciphertext, hpke.MLKEM768X25519PrivateKey(mk, xk), info)
    except (InvalidTag, ValueError):
        raise AuthenticationFailed("HPKE ciphertext does not open") from None
