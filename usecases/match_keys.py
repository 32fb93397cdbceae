"""Match keys: keyed hashes that let an HMIS export be matched to a delivered intake later.

The intake's plaintext identity exists only while its file is processed, so the keys are
computed then (:func:`record_match_keys`) and stored in the ledger. An HMIS ``Client.csv``
row gives the same keys (:func:`client_match_keys`), whether the export is unhashed
(``HashStatus`` 1) or hashed (``HashStatus`` 4), because both sides first go to the HUD
HashStatus 4 form (SHA-256 of the name's Soundex; SSN as last four + SHA-256 of the padded
SSN) and only then through our HMAC. The HUD forms are guessable (a 9-digit space; a few
thousand Soundex codes), so they are never stored: only HMACs of them are.

Three keys, each ``None`` when its parts are missing or unusable:

* ``match_key_a``: first-name hash, last-name hash, DOB (ISO);
* ``match_key_b``: the hashed full SSN;
* ``match_key_c``: first-name hash, last-name hash, the SSN's last four digits.

Intake side rules: a DOB counts only if it is an ISO date and ``DOBDataQuality`` (when
given) is 1 or 2; a full SSN counts only if it is nine digits, passes the HUD validity rules
and ``SSNDataQuality`` (when given) is 1; last four digits count if they are digits, not
``0000``, and the SSN is not a full but invalid number. Export side: hashed values count
only if they have the HashStatus 4 shape (a placeholder hash never matches anything).
Nothing here raises on bad data, and nothing returns or formats a plaintext value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from hmis_handoff.config import Settings
from hmis_handoff.errors import ConfigError
from hmis_handoff.hashing import (
    MIN_SECRET_BYTES,
    RecordKeyer,
    hud_hashed_name,
    hud_hashed_ssn,
    is_hud_hashed_name,
    is_hud_hashed_ssn,
)
from hmis_handoff.layout import Layout
from hmis_handoff.record_key import adopt_legacy_hmac_key
from schemas.ssn import is_valid_ssn

__all__ = [
    "MATCH_KEY_COLUMNS",
    "HudForm",
    "RowLike",
    "client_match_keys",
    "keyer_for",
    "match_keys_from_hud_form",
    "record_match_keys",
]

#: Ledger columns (``intake_record``) holding the keys, in the order of the docstring.
MATCH_KEY_COLUMNS = ("match_key_a", "match_key_b", "match_key_c")

# Agency ids cannot contain "/", so these domains never collide with a real intake key.
_DOMAIN_A = "hmis-handoff/match-a/v1"
_DOMAIN_B = "hmis-handoff/match-b/v1"
_DOMAIN_C = "hmis-handoff/match-c/v1"
_SSN_NOISE = re.compile(r"[\s-]")
_NO_DOB_QUALITY = frozenset({"8", "9", "99"})
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class RowLike(Protocol):
    """Anything with ``get(column, default)``: a ``Mapping[str, str]``, a ``dict`` from
    ``DataFrame.to_dict("records")`` or a pandas row."""

    def get(self, key: str, default: str, /) -> object: ...


@dataclass(frozen=True)
class HudForm:
    """Identity in HUD HashStatus 4 form; "" where unknown or unusable.

    ``ssn`` is the hashed SSN (last four + 64 hex); ``full_ssn`` says whether it may be used
    as a whole-SSN key; ``last_four`` is "" unless it is four digits worth matching on.
    """

    first: str
    last: str
    dob: str
    ssn: str
    full_ssn: bool
    last_four: str


def keyer_for(settings: Settings) -> RecordKeyer:
    """The ledger's keyer (the secret in ``keys/record-hmac.key``); never creates it.

    Raises:
        ConfigError: if the secret is missing or too short (no record could have keys).
    """
    layout = Layout(settings.root)
    adopt_legacy_hmac_key(layout)
    path = layout.hmac_key
    where = path.relative_to(layout.root)
    try:
        secret = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"the record HMAC key ({where}) is missing") from None
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(f"the record HMAC key ({where}) is too short")
    return RecordKeyer(secret)


def match_keys_from_hud_form(keyer: RecordKeyer, form: HudForm) -> dict[str, str | None]:
    """The three keys of one identity (``None`` for a key whose parts are missing)."""
    names = bool(form.first and form.last)

    def mac(domain: str, parts: list[str]) -> str:
        return keyer.intake_key(domain, json.dumps(parts, separators=(",", ":")))

    keys: dict[str, str | None] = dict.fromkeys(MATCH_KEY_COLUMNS)
    if names and form.dob:
        keys["match_key_a"] = mac(_DOMAIN_A, [form.first, form.last, form.dob])
    if form.ssn and form.full_ssn:
        keys["match_key_b"] = mac(_DOMAIN_B, [form.ssn])
    if names and form.last_four:
        keys["match_key_c"] = mac(_DOMAIN_C, [form.first, form.last, form.last_four])
    return keys


def record_match_keys(keyer: RecordKeyer, row: RowLike) -> dict[str, str | None]:
    """Keys of one intake row (``FirstName``, ``LastName``, ``DOB``, ``SSN``, ``SSNDataQuality``;
    ``DOBDataQuality`` if present). Works on a dict or a pandas row; never raises.

    The result's keys are the ledger column names, so it can be splatted into ``NewRecord``.
    """
    ssn = _clean_ssn(_cell(row, "SSN"))
    quality = _cell(row, "SSNDataQuality")
    full = len(ssn) == 9 and ssn.isdigit() and is_valid_ssn(ssn)
    full_but_invalid = len(ssn) == 9 and ssn.isdigit() and not full
    form = HudForm(
        first=hud_hashed_name(_cell(row, "FirstName")),
        last=hud_hashed_name(_cell(row, "LastName")),
        dob=_iso_dob(_cell(row, "DOB"), _cell(row, "DOBDataQuality")),
        ssn=_safe_hud_ssn(ssn),
        full_ssn=full and quality in ("", "1"),
        last_four="" if full_but_invalid else _last_four(ssn),
    )
    return match_keys_from_hud_form(keyer, form)


def client_match_keys(keyer: RecordKeyer, row: RowLike, *, hashed: bool) -> dict[str, str | None]:
    """Keys of one HMIS ``Client.csv`` row; ``hashed`` is True for a HashStatus 4 export.

    Unhashed names and SSNs are hashed the HUD way first; hashed ones are used as they are
    if they have the HashStatus 4 shape and ignored otherwise. Never raises.
    """
    dob = _iso_dob(_cell(row, "DOB"), _cell(row, "DOBDataQuality"))
    if hashed:
        first, last = _cell(row, "FirstName").lower(), _cell(row, "LastName").lower()
        ssn = _cell(row, "SSN").lower()
        ssn = ssn if is_hud_hashed_ssn(ssn) else ""
        form = HudForm(
            first=first if is_hud_hashed_name(first) else "",
            last=last if is_hud_hashed_name(last) else "",
            dob=dob,
            ssn=ssn,
            # A hashed partial SSN (with x) can never equal a full one's hash, so any will do.
            full_ssn=bool(ssn),
            last_four=_last_four(ssn[:4]),
        )
        return match_keys_from_hud_form(keyer, form)
    plain = _clean_ssn(_cell(row, "SSN"))
    form = HudForm(
        first=hud_hashed_name(_cell(row, "FirstName")),
        last=hud_hashed_name(_cell(row, "LastName")),
        dob=dob,
        ssn=_safe_hud_ssn(plain),
        full_ssn=len(plain) == 9 and plain.isdigit(),
        last_four=_last_four(plain),
    )
    return match_keys_from_hud_form(keyer, form)


def _cell(row: RowLike, column: str) -> str:
    value = row.get(column, "")
    return "" if value is None else str(value).strip()


def _clean_ssn(value: str) -> str:
    return _SSN_NOISE.sub("", value).lower()


def _safe_hud_ssn(ssn: str) -> str:
    try:
        return hud_hashed_ssn(ssn)
    except ValueError:  # not digits/x: validation reports it; there is just no key
        return ""


def _last_four(ssn: str) -> str:
    tail = ssn[-4:]
    return tail if len(tail) == 4 and tail.isdigit() and tail != "0000" else ""


def _iso_dob(value: str, quality: str) -> str:
    if quality in _NO_DOB_QUALITY:
        return ""
    day = value[:10]  # an export may write a DOB as a datetime
    if not _ISO_DAY.fullmatch(day) or value[10:].strip(" T0:") != "":
        return ""
    try:
        return date.fromisoformat(day).isoformat()
    except ValueError:
        return ""
