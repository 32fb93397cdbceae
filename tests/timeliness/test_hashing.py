"""Keyed record hashes and HUD HashStatus 4 hashes (Soundex names, padded SSNs)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest

from hmis_handoff.hashing import (
    RecordKeyer,
    hud_hashed_name,
    hud_hashed_ssn,
    is_hud_hashed_name,
    is_hud_hashed_ssn,
    soundex,
)

SECRET = b"0123456789abcdef0123456789abcdef"
EVA_DEMO = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "eva-demo" / "demo.zip"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Robert", "R163"),
        ("Rupert", "R163"),
        ("Rubin", "R150"),
        ("Ashcraft", "A261"),  # S and C separated by H count once
        ("Ashcroft", "A261"),
        ("Tymczak", "T522"),  # C and K separated by a vowel count twice
        ("Pfister", "P236"),  # F has the first letter's code
        ("Honeyman", "H555"),
        ("Lee", "L000"),
        ("Gutierrez", "G362"),
        ("Jackson", "J250"),
        ("Washington", "W252"),
        ("VanDeusen", "V532"),
        # Knuth's pairs (TAOCP vol. 3).
        ("Euler", "E460"),
        ("Ellery", "E460"),
        ("Gauss", "G200"),
        ("Ghosh", "G200"),
        ("Hilbert", "H416"),
        ("Heilbronn", "H416"),
        ("Knuth", "K530"),
        ("Kant", "K530"),
        ("Lloyd", "L300"),
        ("Ladd", "L300"),
        ("Lukasiewicz", "L222"),
        ("Lissajous", "L222"),
        # Our choices where the rules are silent: case, punctuation and accents.
        ("  o'brien ", "O165"),
        ("José", "J200"),
        ("Núñez", "N520"),
        ("", ""),
        ("123", ""),
    ],
)
def test_soundex(name: str, code: str) -> None:
    """American Soundex, with the National Archives' H/W rule."""
    assert soundex(name) == code


def test_hud_hashed_name_is_sha256_of_soundex() -> None:
    """Robert and Rupert share R163, so they share the hash; blank names stay blank."""
    r163 = "9841ba9e86d8bbc72379d20791640a315e5c20ec9f75b5550b12b894af26f47f"
    assert hud_hashed_name("Robert") == r163
    assert hud_hashed_name("rupert") == r163
    assert is_hud_hashed_name(r163)
    assert hud_hashed_name("") == hud_hashed_name(None) == hud_hashed_name("--") == ""


def test_hud_hashed_ssn() -> None:
    """Last four + SHA-256 of the 9-character SSN; short SSNs are padded with x."""
    full = "6789" + "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"
    assert hud_hashed_ssn("123456789") == full
    assert hud_hashed_ssn("123-45-6789") == full
    assert is_hud_hashed_ssn(full)
    short = "6789" + "67976810cdbd72c56e6eb4862f532cc1b9add5166b0723a32cab55c1eaa2a2b7"
    assert hud_hashed_ssn("6789") == short  # sha256("xxxxx6789")
    assert hud_hashed_ssn("XXXXX6789") == short
    assert hud_hashed_ssn("") == hud_hashed_ssn(None) == ""


@pytest.mark.parametrize("bad", ["1234567890", "12345678a", "123 45 678?"])
def test_hud_hashed_ssn_refuses_malformed(bad: str) -> None:
    """More than 9 characters, or anything but digits and x, cannot be a HUD SSN."""
    with pytest.raises(ValueError):
        hud_hashed_ssn(bad)


def test_person_key_normalises() -> None:
    """Case, spacing, Unicode form, SSN punctuation and DOB type do not change the key."""
    keyer = RecordKeyer(SECRET)
    key = keyer.person_key("José", "O'Brien", date(1990, 1, 5), "123-45-6789")
    assert len(key) == 64 and int(key, 16) >= 0
    same = keyer.person_key("  JOSE\u0301 ", "o'brien", "1990-01-05", "123456789")
    assert same == key
    assert keyer.person_key("Jose", "O'Brien", date(1990, 1, 5), "123456789") != key
    assert keyer.person_key("José", "O'Brien", date(1990, 1, 6), "123456789") != key


def test_person_key_tolerates_missing_and_odd_values() -> None:
    """Blank parts and a non-ISO DOB still give a key (validation owns formats)."""
    keyer = RecordKeyer(SECRET)
    assert keyer.person_key(None, "", None, None) == keyer.person_key("", " ", "", "")
    assert len(keyer.person_key("A", "B", "01/05/1990", "")) == 64


def test_keys_depend_on_secret_and_kind() -> None:
    """Another secret gives other keys; person and intake keys never coincide by layout."""
    one, two = RecordKeyer(SECRET), RecordKeyer(SECRET[::-1])
    assert one.intake_key("agency", "42") != two.intake_key("agency", "42")
    assert one.intake_key("a", "b") != one.person_key("a", "b", None, None)
    # The fields are encoded unambiguously: moving a character between them changes the key.
    assert one.intake_key("ab", "c") != one.intake_key("a", "bc")


def test_intake_key_keeps_case() -> None:
    """Intake ids are opaque: "A1" and "a1" are different intakes."""
    keyer = RecordKeyer(SECRET)
    assert keyer.intake_key("agency", "A1") != keyer.intake_key("agency", "a1")
    assert keyer.intake_key(" agency ", "A1 ") == keyer.intake_key("agency", "A1")


def test_short_secret_refused() -> None:
    """An HMAC key shorter than 16 bytes is refused."""
    with pytest.raises(ValueError):
        RecordKeyer(b"short")


def test_eva_demo_hashes_are_not_hashstatus_4_sha256() -> None:
    """The Eva demo says HashStatus 4 but holds 32-hex placeholders, shared by every client.

    So it cannot exercise reconciliation against hmis-warehouse-style SHA-256 hashes: our
    shape checks must recognise none of its values.
    """
    with zipfile.ZipFile(EVA_DEMO) as archive:
        export = next(csv.DictReader(io.TextIOWrapper(archive.open("Export.csv"), "utf-8-sig")))
        clients = list(csv.DictReader(io.TextIOWrapper(archive.open("Client.csv"), "utf-8-sig")))
    assert export["HashStatus"] == "4"
    names = {row[col] for row in clients for col in ("FirstName", "LastName")} - {""}
    ssns = {row["SSN"] for row in clients} - {""}
    assert {len(v) for v in names | ssns} == {32}
    assert len(names) == 2 and len(ssns) == 1
    assert not any(is_hud_hashed_name(v) for v in names)
    assert not any(is_hud_hashed_ssn(v) for v in ssns)
