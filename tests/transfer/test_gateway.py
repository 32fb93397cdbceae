"""The hosted SFTP gateway recipe, end to end with OpenSSH's own tools.

`handoff sftp-gateway` prints setup commands and Match blocks; the test runs exactly
those, starts a real sshd with the blocks, uploads an intake with OpenSSH's `sftp`
client in batch mode as the agency, runs the pipeline, and downloads the package as the
partner through its own chrooted login, then decrypts it with Debian's `age`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.stack.prefect_server import free_port
from tests.transfer.conftest import require_sshd
from tests.transfer.helpers import (
    PARTNER,
    VALID_IDS,
    append_config,
    decrypt_ids,
    demo_root,
    install_secret,
)
from tests.transfer.sshd import keygen, private_root, remove_tree, running_sshd

pytestmark = pytest.mark.server


def _sftp(user: str, port: int, key: Path, known: Path, batch: str, tmp: Path) -> int:
    script = tmp / f"batch-{user}"
    script.write_text(batch)
    done = subprocess.run(
        [
            "sftp", "-b", str(script), "-i", str(key), "-P", str(port),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
            f"{user}@127.0.0.1",
        ],
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return done.returncode


def test_gateway_upload_lands_in_drop_folder_and_is_delivered(
    tmp_path: Path, prefect_api: str
) -> None:
    require_sshd()
    base, keys_dir, gateway = (private_root(n) for n in ("gw-data", "gw-keys", "gw-root"))
    try:
        root = demo_root(base / "x", prefect_api)
        port = free_port()
        recipe = run_cli(
            "sftp-gateway", "--config", str(root / "handoff.toml"), "--keys-dir", str(keys_dir),
            "--gateway-root", str(gateway), "--port", str(port),
        ).stdout  # fmt: skip
        assert "WARNING" not in recipe  # the chroot rule holds for this data root
        for line in recipe.splitlines():
            if line.startswith("#   $ "):
                subprocess.run(["sh", "-c", line.removeprefix("#   $ ")], check=True)

        agency_user, partner_user = "handoff-demo-agency", f"handoff-{PARTNER}"
        keys = tmp_path / "client"
        keys.mkdir(mode=0o700)
        agency_key, partner_key, push_key = (
            keygen(keys / n) for n in ("agency", "partner", "push")
        )
        (keys_dir / agency_user).write_text(agency_key.with_suffix(".pub").read_text())
        (keys_dir / partner_user).write_text(
            partner_key.with_suffix(".pub").read_text() + push_key.with_suffix(".pub").read_text()
        )
        blocks = "\n".join(line for line in recipe.splitlines() if not line.startswith("#"))
        with running_sshd(tmp_path / "sshd", blocks, port=port) as sshd:
            known = sshd.known_hosts(keys / "known_hosts")
            sample = root / "samples" / "demo-intake.csv"
            # The agency uploads under a temp name, then renames: OpenSSH's client, batch mode.
            batch = f"put {sample} .partial\nrename .partial intake.csv\n"
            assert _sftp(agency_user, port, agency_key, known, batch, tmp_path) == 0
            landed = root / "agencies" / "demo-agency" / "drop" / "intake.csv"
            assert landed.read_bytes() == sample.read_bytes()
            # The chroot shows the agency its drop folder only, not its reports or others'.
            assert _sftp(agency_user, port, agency_key, known, "ls /reports\n", tmp_path) != 0
            escape = f"put {sample} /../../escaped.csv\n"
            assert _sftp(agency_user, port, agency_key, known, escape, tmp_path) != 0
            assert not list(base.rglob("escaped.csv"))

            append_config(
                root,
                f"""
[[partners.delivery]]
kind = "sftp"
url = "sftp://{partner_user}@127.0.0.1:{port}/outbox"
key_file = "{install_secret(root, push_key, "gateway-push.key")}"
known_hosts = "{install_secret(root, known, "gateway-known_hosts")}"
""",
            )
            result = run_cli("process", "--config", str(root / "handoff.toml"), "--json")
            assert json.loads(result.stdout)["by_state"] == {"delivered": 1}
            outbox = gateway / "partners" / PARTNER / "outbox"
            assert len(list(outbox.glob("*.age"))) == 1

            # The partner fetches through its own chrooted login and removes what it took.
            fetched = tmp_path / "fetched"
            fetched.mkdir()
            batch = f"get *.age {fetched}/\nget *.manifest.json* {fetched}/\nrm *\n"
            assert _sftp(partner_user, port, partner_key, known, batch, tmp_path) == 0
            [package] = list(fetched.glob("*.age"))
            assert decrypt_ids(root, package) == VALID_IDS
            assert list(outbox.iterdir()) == []
    finally:
        for path in (base, keys_dir, gateway):
            remove_tree(path)
        shutil.rmtree(tmp_path / "sshd", ignore_errors=True)
