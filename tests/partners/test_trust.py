"""Trust a partner can check: pinned signers only, one fingerprint form, distinct errors.

Regression (issue 9): a package signed by an attacker's key, encrypted to the partner's
recipient, with the attacker's public key next to it, used to print "verified".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from hmis_handoff.config import load_settings
from hmis_handoff.crypto.age import X25519Identity, parse_recipient, write_identity_file
from hmis_handoff.crypto.package import write_package
from hmis_handoff.crypto.signing import SigningKey
from hmis_handoff.signers import fingerprint_of
from tests.conftest import run_cli
from tests.partners.conftest import Delivered
from usecases.initialise import initialise

NO_CONFIG = {"HANDOFF_CONFIG": "/nonexistent/handoff.toml"}


def decrypt(d: Delivered, package: Path, *args: str, key: Path | None = None) -> tuple[int, str]:
    result = run_cli(
        "decrypt", str(package), "-i", str(key or d.key), *args, env=NO_CONFIG, check=False
    )
    return result.returncode, result.stdout + result.stderr


def forged_package(d: Delivered, tmp_path: Path) -> tuple[Path, SigningKey]:
    """Signed by the attacker, encrypted to the real partner, attacker's key beside it."""
    attacker = SigningKey.generate()
    partner = load_settings(d.root / "handoff.toml").partner("demo-partner")
    folder = tmp_path / "evil" / "demo-partner"
    plain = tmp_path / "forged.csv"
    plain.write_text("IntakeID\nFORGED-1\n", encoding="utf-8")
    paths = write_package(
        plain, folder / "outbox", package_id="20260706-forged", agency_id="demo-agency",
        partner_id="demo-partner", record_count=1, schema_version="hmis-intake-csv.FY2026",
        recipients=[parse_recipient(r) for r in partner.recipients], signing_key=attacker,
        created_at=datetime(2026, 7, 6, tzinfo=UTC),
    )  # fmt: skip
    (folder / "coc-signing.pub").write_text(str(attacker.verify_key) + "\n")
    (folder / "outbox" / "coc-signing.pub").write_text(str(attacker.verify_key) + "\n")
    return paths.age, attacker


def test_a_forged_package_with_its_key_beside_it_is_refused(
    delivered: Delivered, tmp_path: Path
) -> None:
    package, attacker = forged_package(delivered, tmp_path)
    out = tmp_path / "out.csv"
    code, text = decrypt(delivered, package, "-o", str(out), "--signer", delivered.fingerprint)
    assert code == 2 and "untrusted signer" in text
    assert fingerprint_of(attacker.verify_key) in text and "verified" not in text
    assert not out.exists()
    # With no pin at all, the key beside the package is not picked up either.
    code, text = decrypt(delivered, package, "-o", str(out))
    assert code == 2 and "no trusted CoC signing key" in text and not out.exists()


def test_the_fingerprint_init_prints_is_accepted_and_printed_back(
    delivered: Delivered, tmp_path: Path
) -> None:
    code, text = decrypt(delivered, delivered.package, "--signer", delivered.fingerprint)
    assert code == 0, text
    assert f"verified: signed by the CoC key {delivered.fingerprint}" in text
    key = (delivered.root / "state" / "signing.pub").read_text().strip()
    code, text = decrypt(delivered, delivered.package, "--signer", key)
    assert code == 0 and delivered.fingerprint in text


def test_a_known_signers_file_pins_the_coc(
    delivered: Delivered, isolated_pins: Path, tmp_path: Path
) -> None:
    code, text = decrypt(delivered, delivered.package)
    assert code == 2 and "no trusted CoC signing key" in text
    isolated_pins.write_text(f"# our CoC, read to us by phone\n{delivered.fingerprint} MO-606\n")
    code, text = decrypt(delivered, delivered.package)
    assert code == 0 and delivered.fingerprint in text
    package, _ = forged_package(delivered, tmp_path)
    code, text = decrypt(delivered, package)
    assert code == 2 and "untrusted signer" in text


def test_each_failure_has_its_own_message(delivered: Delivered, tmp_path: Path) -> None:
    pin = ("--signer", delivered.fingerprint)
    code, text = decrypt(delivered, tmp_path / "nope.age", *pin)
    assert code == 2 and "no package file" in text

    stranger = tmp_path / "stranger.key"
    write_identity_file(stranger, X25519Identity.generate())
    code, text = decrypt(delivered, delivered.package, *pin, key=stranger)
    assert code == 2 and "wrong key" in text

    copy = tmp_path / "copy"
    shutil.copytree(delivered.package.parent, copy)
    age_file = copy / delivered.package.name
    data = bytearray(age_file.read_bytes())
    data[-20] ^= 1
    age_file.write_bytes(bytes(data))
    code, text = decrypt(delivered, age_file, *pin)
    assert code == 2 and "tampered" in text

    shutil.rmtree(copy)
    shutil.copytree(delivered.package.parent, copy)
    manifest = copy / delivered.package.name.replace(".age", ".manifest.json")
    manifest.write_text(manifest.read_text().replace('"record_count": 3', '"record_count": 4'))
    code, text = decrypt(delivered, copy / delivered.package.name, *pin)
    assert code == 2 and "tampered" in text


def test_a_handoff_toml_planted_in_the_working_directory_is_not_trusted(
    delivered: Delivered, tmp_path: Path
) -> None:
    planted = tmp_path / "planted"
    initialise(planted, demo=False)  # handoff.toml + state/signing.pub of the attacker
    attacker = SigningKey.load(planted / "state" / "signing.key")
    partner = load_settings(delivered.root / "handoff.toml").partner("demo-partner")
    plain = tmp_path / "forged.csv"
    plain.write_text("IntakeID\nFORGED-2\n", encoding="utf-8")
    paths = write_package(
        plain, planted / "outbox", package_id="20260706-planted", agency_id="demo-agency",
        partner_id="demo-partner", record_count=1, schema_version="hmis-intake-csv.FY2026",
        recipients=[parse_recipient(r) for r in partner.recipients], signing_key=attacker,
        created_at=datetime(2026, 7, 6, tzinfo=UTC),
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "HANDOFF_CONFIG"}
    out = tmp_path / "out.csv"
    result = subprocess.run(
        [sys.executable, "-m", "cli", "decrypt", str(paths.age), "-i",
         str(delivered.key), "-o", str(out)],
        cwd=planted, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "no trusted CoC signing key" in result.stderr
    assert not out.exists()


def test_a_wrong_path_is_named_before_asking_for_a_signer(
    delivered: Delivered, tmp_path: Path
) -> None:
    """No pin yet (a partner's first try): a mistyped package or key path says so, not
    "no trusted CoC signing key"."""
    code, text = decrypt(delivered, tmp_path / "nope.age")
    assert code == 2 and "no package file" in text and "signing key" not in text
    code, text = decrypt(delivered, delivered.package, key=tmp_path / "nokey")
    assert code == 2 and "no identity file" in text and "signing key" not in text
    code, text = decrypt(delivered, delivered.package)
    assert code == 2 and "no trusted CoC signing key" in text
