"""Bech32 (BIP 173) without the 90-character limit, as age uses it for keys.

A string is all lowercase or all uppercase; the checksum is computed over the lowercase form.
:func:`decode` is strict: bad characters, mixed case, a wrong checksum, or non-zero padding
bits are all rejected with :class:`Bech32Error`, whose message never quotes the input (it may
be a secret key).
"""

from __future__ import annotations

from hmis_handoff.crypto.errors import Bech32Error

__all__ = ["decode", "encode"]

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {c: i for i, c in enumerate(_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_CHECKSUM_LENGTH = 6


def _polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (acc << (to_bits - bits)) & max_value:
        raise Bech32Error("Bech32 data has invalid padding")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Encode ``data`` under the human-readable part ``hrp``, in the letter case of ``hrp``."""
    lower_hrp = hrp.lower()
    words = _convert_bits(data, 8, 5, pad=True)
    checksum_input = _hrp_expand(lower_hrp) + words + [0] * _CHECKSUM_LENGTH
    polymod = _polymod(checksum_input) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(_CHECKSUM_LENGTH)]
    encoded = lower_hrp + "1" + "".join(_CHARSET[w] for w in words + checksum)
    return encoded.upper() if hrp.isupper() else encoded


def decode(text: str) -> tuple[str, bytes]:
    """Decode a Bech32 string into ``(lowercase hrp, data)``; raises :class:`Bech32Error`."""
    if text.lower() != text and text.upper() != text:
        raise Bech32Error("Bech32 string mixes upper and lower case")
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise Bech32Error("Bech32 string has characters outside printable ASCII")
    lowered = text.lower()
    separator = lowered.rfind("1")
    if separator < 1 or separator + _CHECKSUM_LENGTH + 1 > len(lowered):
        raise Bech32Error("Bech32 string has no valid separator")
    hrp = lowered[:separator]
    try:
        words = [_VALUES[c] for c in lowered[separator + 1 :]]
    except KeyError:
        raise Bech32Error("Bech32 string has a character outside the Bech32 alphabet") from None
    if _polymod(_hrp_expand(hrp) + words) != 1:
        raise Bech32Error("Bech32 checksum does not match")
    return hrp, bytes(_convert_bits(words[:-_CHECKSUM_LENGTH], 5, 8, pad=False))
