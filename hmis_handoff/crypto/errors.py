"""Errors of the age layer, one class per kind of failure the age test vectors distinguish.

::

    IntegrityError (hmis_handoff.errors)
    └── AgeError
        ├── NoIdentityMatch   no identity unwraps any recipient stanza (wrong key)
        ├── HeaderError       the header is malformed, unsupported or carries a bad share
        ├── HeaderMacError    the header MAC does not verify (header edited)
        ├── PayloadError      a chunk failed to authenticate, or the payload is truncated,
        │                     padded or has trailing data
        └── ArmorError        the ASCII armor is not strict PEM

    KeyFormatError (HandoffError, ValueError)   a key string or key file is malformed

Messages are fixed text plus counts and chunk numbers: never key material, plaintext, or
bytes from the file.
"""

from __future__ import annotations

from hmis_handoff.errors import HandoffError, IntegrityError

__all__ = [
    "AgeError",
    "ArmorError",
    "HeaderError",
    "HeaderMacError",
    "KeyFormatError",
    "NoIdentityMatch",
    "PayloadError",
]


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


class KeyFormatError(HandoffError, ValueError):
    """Raised when a recipient, identity or key file is malformed; never quotes the key."""
