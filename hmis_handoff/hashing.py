"""Hashes for matching records without keeping PII: our keyed hashes and HUD's hashed export.

Two families, for two jobs:

* :class:`RecordKeyer` makes **keyed** hashes (HMAC-SHA256 under a secret the CoC holds) for
  the ledger. Without the key, nobody can test a guessed name, DOB or SSN against them.
* ``soundex`` / ``hud_hashed_name`` / ``hud_hashed_ssn`` reproduce the **unkeyed** HUD HMIS CSV
  ``HashStatus`` 4 (SHA-256) values, so an intake can be compared with a hashed HMIS export
  without the partner sending plaintext. These are guessable by design (a name's Soundex has
  a few thousand values; an SSN hash leaks its last four digits), so they are computed on the
  fly for a comparison and never stored in the ledger.

HashStatus 4 as hmis-warehouse writes it (greenriver/hmis-warehouse,
``drivers/hmis_csv_twenty_twenty_six/app/models/hmis_csv_twenty_twenty_six/exporter/client/
overrides.rb``, ``apply_hash_status``): ``FirstName``, ``MiddleName`` and ``LastName`` become
``SHA256.hexdigest(Soundex.new(name).soundex)``, each only if present (``NameSuffix`` is left
alone); ``SSN`` becomes ``last_four + SHA256.hexdigest(padded)``, where ``padded`` is the SSN
left-padded to 9 characters with ``x`` and ``last_four`` its last four characters. The Soundex
comes from the Ruby gem ``soundex`` 0.1.2 (their Gemfile.lock). We use American Soundex
(National Archives rules, below). The gem's source was not available to check edge cases
(H/W between same-coded letters, non-ASCII letters, names with no letters).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Iterable
from datetime import date

__all__ = [
    "MIN_SECRET_BYTES",
    "RecordKeyer",
    "hud_hashed_name",
    "hud_hashed_ssn",
    "is_hud_hashed_name",
    "is_hud_hashed_ssn",
    "soundex",
]

MIN_SECRET_BYTES = 16
_PERSON_DOMAIN = "hmis-handoff/person/v1"
_INTAKE_DOMAIN = "hmis-handoff/intake/v1"
_CONTENT_DOMAIN = "hmis-handoff/content/v1"

_SOUNDEX_DIGITS = {
    **dict.fromkeys("BFPV", "1"),
    **dict.fromkeys("CGJKQSXZ", "2"),
    **dict.fromkeys("DT", "3"),
    "L": "4",
    **dict.fromkeys("MN", "5"),
    "R": "6",
}
_SEPARATING_VOWELS = frozenset("AEIOUY")  # H and W do not separate: the NARA rule
_SSN_CHARS = re.compile(r"[0-9x]{1,9}")
_SSN_NOISE = re.compile(r"[\s-]")
_WHITESPACE = re.compile(r"\s+")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HUD_SSN = re.compile(r"[0-9x]{4}[0-9a-f]{64}")


def _normalise_text(value: str | None) -> str:
    """NFKC, casefold, strip, and runs of whitespace folded to one space; None is ''."""
    if value is None:
        return ""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return _WHITESPACE.sub(" ", folded).strip()


def _normalise_ssn(value: str | None) -> str:
    """Digits and ``x`` only: spaces and dashes removed, ``X`` lowered; None is ''."""
    return _SSN_NOISE.sub("", _normalise_text(value))


def _normalise_dob(value: date | str | None) -> str:
    """ISO ``YYYY-MM-DD`` for a date or an ISO string; any other string as normalised text."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    text = _normalise_text(value)
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        # Validation owns the DOB format; a key must still come out for every row.
        return text


class RecordKeyer:
    """Keyed (HMAC-SHA256) match keys for the ledger; same secret, same keys.

    Raises:
        ValueError: if the secret is shorter than 16 bytes.
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the HMAC secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def _mac(self, fields: list[str]) -> str:
        # JSON of a list is unambiguous where joining with a separator is not.
        message = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def person_key(
        self, first: str | None, last: str | None, dob: date | str | None, ssn: str | None
    ) -> str:
        """Key of a person: 64 hex digits.

        Names are NFKC-normalised, casefolded, stripped and whitespace-folded, so
        "  JOSÉ " and "josé" give the same key; the SSN keeps only digits and ``x``
        ("123-45-6789" equals "123456789"); ``dob`` is a date or an ISO ``YYYY-MM-DD``
        string (any other string is used as normalised text: validation owns the format).
        Missing parts (None or blank) are allowed and hash as empty. Never raises.
        """
        return self._mac(
            [
                _PERSON_DOMAIN,
                _normalise_text(first),
                _normalise_text(last),
                _normalise_dob(dob),
                _normalise_ssn(ssn),
            ]
        )

    def content_key(self, agency_id: str, cells: Iterable[tuple[str, str]]) -> str:
        """Key of one intake row's content, 64 hex digits: ``cells`` are (canonical column,
        normalised value) pairs, order-independent; blank cells are left out, so adding an
        empty optional column does not make a re-sent row look changed."""
        parts = sorted(f"{column}={value}" for column, value in cells if value != "")
        return self._mac([_CONTENT_DOMAIN, agency_id, *parts])

    def intake_key(self, agency_id: str, intake_id: str) -> str:
        """Key of one agency's intake: 64 hex digits.

        IDs are NFKC-normalised and stripped but keep their case: "A1" and "a1" may be
        different intakes.
        """
        parts = [unicodedata.normalize("NFKC", s).strip() for s in (agency_id, intake_id)]
        return self._mac([_INTAKE_DOMAIN, *parts])


def _ascii_letters(name: str) -> str:
    """Upper-case A-Z letters of ``name``; accents dropped first, so "José" gives "JOSE"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed.upper() if "A" <= c <= "Z")


def soundex(name: str) -> str:
    """American Soundex of ``name`` ("Robert" -> "R163"), or "" if it has no letters.

    Rules (US National Archives): keep the first letter; code the rest B F P V=1,
    C G J K Q S X Z=2, D T=3, L=4, M N=5, R=6; skip A E I O U Y H W; letters with the same
    code next to each other, or separated only by H or W, count once (including the first
    letter: "Pfister" is P236); a vowel between them makes them count twice ("Tymczak" is
    T522); pad with zeros or cut to one letter and three digits. Non-letters are ignored and
    accents dropped.
    """
    letters = _ascii_letters(name)
    if not letters:
        return ""
    digits: list[str] = []
    previous = _SOUNDEX_DIGITS.get(letters[0], "")
    for letter in letters[1:]:
        code = _SOUNDEX_DIGITS.get(letter)
        if code is None:
            if letter in _SEPARATING_VOWELS:
                previous = ""
            continue
        if code != previous:
            digits.append(code)
            if len(digits) == 3:
                break
        previous = code
    return (letters[0] + "".join(digits)).ljust(4, "0")


def hud_hashed_name(name: str | None) -> str:
    """A name as a HashStatus 4 export holds it: SHA-256 hex of its Soundex.

    Blank names stay "" (the exporter hashes only present values). A name with no letters
    also gives "": its Soundex would be empty and would falsely match every other such name.
    """
    code = soundex(name or "")
    return hashlib.sha256(code.encode("ascii")).hexdigest() if code else ""


def hud_hashed_ssn(ssn: str | None) -> str:
    """An SSN as a HashStatus 4 export holds it: last four + SHA-256 hex of the padded SSN.

    The SSN is first reduced to digits and lower-case ``x`` (unknown digits, as in HMIS CSV),
    then left-padded with ``x`` to 9 characters. Blank gives "".

    Raises:
        ValueError: if the SSN has other characters or more than 9 of them.
    """
    cleaned = _normalise_ssn(ssn)
    if not cleaned:
        return ""
    if not _SSN_CHARS.fullmatch(cleaned):
        raise ValueError("an SSN must be at most 9 digits or 'x'")
    padded = cleaned.rjust(9, "x")
    return padded[-4:] + hashlib.sha256(padded.encode("ascii")).hexdigest()


def is_hud_hashed_name(value: str) -> bool:
    """True if ``value`` has the shape of a HashStatus 4 name (64 lower-case hex digits)."""
    return _HEX64.fullmatch(value) is not None


def is_hud_hashed_ssn(value: str) -> bool:
    """True if ``value`` has the shape of a HashStatus 4 SSN (4 chars + 64 hex digits)."""
    return _HUD_SSN.fullmatch(value) is not None
