"""Checking the recipients configured for partners (the key registry's public side).

The pipeline host only ever holds partners' *public* keys. :func:`validate_recipients`
turns configured strings into recipients and refuses anything else, in particular a secret
key pasted by mistake; :func:`find_secret_key_material` lets a start-up or CI guard scan
any text (config, registry) for private keys. Messages name the field and position, never
the value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hmis_handoff.crypto.errors import KeyFormatError
from hmis_handoff.crypto.recipients import (
    SECRET_KEY_PREFIX,
    HybridRecipient,
    X25519Recipient,
    parse_recipient,
)
from hmis_handoff.errors import ConfigError

__all__ = ["find_secret_key_material", "recipient_fingerprint", "validate_recipients"]

_SECRET_MARKERS = re.compile(
    rf"{re.escape(SECRET_KEY_PREFIX)}|-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----",
    re.IGNORECASE,
)


def find_secret_key_material(text: str) -> list[int]:
    """Line numbers (1-based) of ``text`` that contain age or PEM/OpenSSH/PGP private keys."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if _SECRET_MARKERS.search(line)
    ]


def validate_recipients(
    values: Sequence[str], *, field: str = "recipients"
) -> list[X25519Recipient | HybridRecipient]:
    """Parse configured recipient strings; raises ``ConfigError`` naming ``field[i]``.

    Rejected: an empty list, secret key material, anything that is not an ``age1…`` or
    ``age1pq1…`` recipient, duplicates, and post-quantum mixed with classical recipients.
    Surrounding whitespace is ignored.
    """
    if isinstance(values, str):
        raise ConfigError(f"{field}: expected a list of recipients, not a single string")
    if not values:
        raise ConfigError(f"{field}: at least one recipient (age1…) is required")
    recipients: list[X25519Recipient | HybridRecipient] = []
    for index, raw in enumerate(values):
        where = f"{field}[{index}]"
        if not isinstance(raw, str):
            raise ConfigError(f"{where}: a recipient must be a string")
        value = raw.strip()
        if find_secret_key_material(value):
            raise ConfigError(
                f"{where}: this is a SECRET key; never put private keys in the configuration. "
                "Configure the partner's public key (age1…) and treat this secret as exposed"
            )
        try:
            recipient = parse_recipient(value)
        except KeyFormatError as error:
            raise ConfigError(f"{where}: {error}") from None
        if recipient in recipients:
            raise ConfigError(f"{where}: the same recipient is listed twice")
        recipients.append(recipient)
    if len({r.post_quantum for r in recipients}) > 1:
        raise ConfigError(
            f"{field}: post-quantum (age1pq1…) and classical (age1…) recipients cannot be mixed"
        )
    return recipients


def recipient_fingerprint(value: str) -> str:
    """The short fingerprint of a recipient string; raises ``ConfigError`` if it is invalid."""
    return validate_recipients([value], field="recipient")[0].fingerprint
