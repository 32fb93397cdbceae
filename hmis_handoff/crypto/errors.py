"""Errors of the crypto sub-package (age files, packages, signatures, keys, primitives).

They are the sub-package's public API and part of the project's one exception tree: each
derives from :class:`~hmis_handoff.errors.HandoffError` (most through
:class:`~hmis_handoff.errors.IntegrityError`), and the tree, with when each is raised and
whether its message is shown, is drawn once, in :mod:`hmis_handoff.errors`.

Messages are fixed text plus counts and chunk numbers: never key material, plaintext, or
bytes from the file.
"""

from __future__ import annotations

from hmis_handoff.errors import HandoffError, IntegrityError

__all__ = [
    "AgeError",
    "ArmorError",
    "AuthenticationFailed",
    "BadSignature",
    "Bech32Error",
    "CiphertextMismatch",
    "CiphertextTruncated",
    "CryptoPrimitiveError",
    "HeaderError",
    "HeaderMacError",
    "InvalidKey",
    "KeyFormatError",
    "LowOrderPoint",
    "MalformedSignature",
    "ManifestInvalid",
    "ManifestTampered",
    "NoIdentityMatch",
    "PackageConflict",
    "PackageError",
    "PackageIncomplete",
    "PayloadError",
    "PlaintextMismatch",
    "SignatureError",
    "SignatureInvalid",
    "UntrustedSigner",
    "WrongSigner",
]


# age files -----------------------------------------------------------------------------------


class AgeError(IntegrityError):
    """Raised when an age file cannot be decrypted; the subclass says why."""


class NoIdentityMatch(AgeError):
    """Raised when none of the given identities can unwrap the file key."""


class HeaderError(AgeError):
    """Raised when the header is malformed, unsupported, or a stanza is invalid."""


class HeaderMacError(AgeError):
    """Raised when the header MAC does not verify under the unwrapped file key."""


class PayloadError(AgeError):
    """Raised when the payload fails to authenticate or is truncated, padded or extended."""


class ArmorError(AgeError):
    """Raised when ASCII-armored input is not strict, canonical PEM."""


# packages ------------------------------------------------------------------------------------


class PackageError(IntegrityError):
    """Raised when a package cannot be written or trusted; the subclass says why."""


class PackageIncomplete(PackageError):
    """Raised when the package's manifest or signature file is missing."""


class SignatureInvalid(PackageError):
    """Raised when the ``.sig`` file is not a manifest signature at all."""


class WrongSigner(PackageError):
    """Raised when the manifest was signed by a key that is not trusted."""


class ManifestTampered(PackageError):
    """Raised when the signature does not match the manifest: it was edited after signing."""


class ManifestInvalid(PackageError):
    """Raised when a correctly signed manifest is malformed or belongs to another package."""


class CiphertextMismatch(PackageError):
    """Raised when the ``.age`` file's SHA-256 or size differs from the signed manifest."""


class CiphertextTruncated(CiphertextMismatch):
    """Raised when the ``.age`` file is shorter than the signed manifest says."""


class PlaintextMismatch(PackageError):
    """Raised when the decrypted file's SHA-256 differs from the signed manifest."""


class PackageConflict(PackageError):
    """Raised when a different package with the same id already exists in the outbox."""


# signatures ----------------------------------------------------------------------------------


class SignatureError(IntegrityError):
    """Raised when a signature does not prove that a trusted key signed the data."""


class MalformedSignature(SignatureError):
    """Raised when a signature file is not a well-formed SSHSIG for the expected namespace."""


class UntrustedSigner(SignatureError):
    """Raised when the signature was made by a key that is not among the trusted ones."""


class BadSignature(SignatureError):
    """Raised when the signature does not verify: the data was changed after signing."""


# keys and encodings --------------------------------------------------------------------------


class KeyFormatError(HandoffError, ValueError):
    """Raised when a recipient, identity or key file is malformed; never quotes the key."""


class Bech32Error(HandoffError, ValueError):
    """Raised when a string is not valid Bech32 or its data is not whole bytes."""


# primitives ----------------------------------------------------------------------------------


class CryptoPrimitiveError(HandoffError):
    """Raised by :mod:`hmis_handoff.crypto.primitives`; callers word it for people."""


class AuthenticationFailed(CryptoPrimitiveError):
    """Raised when an AEAD tag, HPKE ciphertext or HMAC does not verify."""


class LowOrderPoint(CryptoPrimitiveError):
    """Raised when an X25519 exchange yields the all-zero shared secret (a low-order share)."""


class InvalidKey(CryptoPrimitiveError, ValueError):
    """Raised when bytes are not a valid key of the expected kind."""
