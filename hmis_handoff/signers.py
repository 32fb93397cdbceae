"""Which CoC signing keys a data partner trusts: pins kept on the partner's side only.

A pin is one of:

* a fingerprint ``SHA256:<43 base64 characters>``: the one form ``handoff init`` prints,
  ``handoff decrypt`` prints and ``ssh-keygen -l`` shows for the key;
* a public key ``ed25519:<base64>`` or an OpenSSH line ``ssh-ed25519 AAAA...``.

Pins come from ``--signer`` values (a pin, or a file holding one), from the partner's known
signers file (``--known-signers FILE``, else ``$HANDOFF_KNOWN_SIGNERS``, else
``~/.config/hmis-handoff/known_signers``: one pin per line, ``#`` comments, text after the
pin ignored) and from the ``state/signing.pub`` of a configuration the partner runs.

Nothing found next to a package is ever trusted: whoever can drop a package can drop a key
beside it. A fingerprint pin trusts the key the manifest names only if that key's
fingerprint equals the pin; the signature is then checked against that key.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hmis_handoff.crypto.errors import KeyFormatError
from hmis_handoff.crypto.signing import VerifyKey
from hmis_handoff.errors import ConfigError

__all__ = [
    "KNOWN_SIGNERS_ENV",
    "Pins",
    "default_known_signers_file",
    "describe",
    "fingerprint_of",
    "parse_pin",
    "pins_from_values",
    "read_known_signers",
]

KNOWN_SIGNERS_ENV = "HANDOFF_KNOWN_SIGNERS"
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
_MAX_PIN_FILE = 64 * 1024


def fingerprint_of(key: VerifyKey) -> str:
    """The fingerprint form partners compare: ``SHA256:...`` as ``ssh-keygen -l`` prints."""
    return key.openssh_fingerprint


@dataclass
class Pins:
    """Pinned keys and fingerprints; :meth:`trusted_for` resolves them for one manifest."""

    keys: list[VerifyKey] = field(default_factory=list)
    fingerprints: set[str] = field(default_factory=set)

    def add(self, other: Pins) -> None:
        self.keys.extend(other.keys)
        self.fingerprints |= other.fingerprints

    def __bool__(self) -> bool:
        return bool(self.keys or self.fingerprints)

    def trusted_for(self, named_signer: VerifyKey | None) -> list[VerifyKey]:
        """The keys to verify against: every pinned key, plus the manifest's named key when
        a pinned fingerprint matches it exactly."""
        trusted = list(self.keys)
        if named_signer is not None and fingerprint_of(named_signer) in self.fingerprints:
            trusted.append(named_signer)
        return trusted


def _parse_openssh(text: str) -> VerifyKey:
    parts = text.split()
    try:
        blob = binascii.a2b_base64(parts[1].encode("ascii"), strict_mode=True)
    except (IndexError, binascii.Error, UnicodeEncodeError):
        raise KeyFormatError("the ssh-ed25519 key is not valid base64") from None
    expected = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
    if len(blob) != len(expected) + 32 or not blob.startswith(expected):
        raise KeyFormatError("the ssh-ed25519 key is malformed")
    return VerifyKey(blob[len(expected) :])


def parse_pin(text: str) -> Pins:
    """One pin (fingerprint or key); raises :class:`ConfigError` saying which forms work."""
    value = text.strip()
    token = value.split()[0] if value else ""
    try:
        if _FINGERPRINT.fullmatch(token):
            base64.b64decode(token[7:] + "=", validate=True)
            return Pins(fingerprints={token})
        if token.startswith("ed25519:"):
            return Pins(keys=[VerifyKey.parse(token)])
        if token == "ssh-ed25519":
            return Pins(keys=[_parse_openssh(value)])
    except (KeyFormatError, binascii.Error):
        pass
    raise ConfigError(
        "not a CoC signing key or fingerprint: give the fingerprint the CoC read to you "
        "(SHA256:... as printed by `handoff init`), or its public key (ed25519:...)"
    )


def _read_pin_file(path: Path) -> str:
    with open(path, encoding="utf-8") as handle:
        text = handle.read(_MAX_PIN_FILE + 1)
    if len(text) > _MAX_PIN_FILE:
        raise ConfigError(f"{path} is too large to be a signing key file")
    return text


def _pins_from_text(text: str) -> Pins:
    pins = Pins()
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped:
            pins.add(parse_pin(stripped))
    return pins


def pins_from_values(values: Iterable[str]) -> Pins:
    """Pins from ``--signer`` values: each a pin, or a file holding pins."""
    pins = Pins()
    for value in values:
        candidate = Path(value)
        if candidate.is_file():
            pins.add(_pins_from_text(_read_pin_file(candidate)))
        else:
            pins.add(parse_pin(value))
    return pins


def default_known_signers_file() -> Path:
    """``$HANDOFF_KNOWN_SIGNERS``, else ``$XDG_CONFIG_HOME/hmis-handoff/known_signers``."""
    explicit = os.environ.get(KNOWN_SIGNERS_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hmis-handoff" / "known_signers"


def read_known_signers(path: Path | None) -> Pins:
    """Pins of a known signers file; an absent default file gives no pins, an absent
    explicit file is an error."""
    target = path or default_known_signers_file()
    if not target.is_file():
        if path is not None:
            raise ConfigError(f"known signers file {path} not found")
        return Pins()
    return _pins_from_text(_read_pin_file(target))


def describe(keys: Sequence[VerifyKey]) -> str:
    """Fingerprints of ``keys`` for a message (public data only)."""
    return ", ".join(fingerprint_of(k) for k in keys)
