"""Remote agency drop folders over SFTP (``drop_url``) against a real chrooted sshd.

A file the agency put on the SFTP server is settled, claimed by a remote rename,
downloaded and verified, handed off like a local one, removed from the server after the
ledger commit, and the receipt lands in the agency's remote reports folder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from connectors.remote_drop import CLAIM_AREA
from tests.conftest import run_cli
from tests.transfer.conftest import SftpServer
from tests.transfer.helpers import (
    VALID_IDS,
    append_config,
    decrypt_ids,
    demo_root,
    install_secret,
    outbox,
)

pytestmark = pytest.mark.server


def _remote_dirs(server: SftpServer) -> tuple[Path, Path]:
    owner = server.folder.stat()
    dirs = []
    for name in ("drop", "reports"):
        path = server.folder / name
        path.mkdir(mode=0o700)
        os.chown(path, owner.st_uid, owner.st_gid)
        dirs.append(path)
    return dirs[0], dirs[1]


def test_remote_drop_is_claimed_handed_off_cleaned_and_answered(
    tmp_path: Path, prefect_api: str, sftp_server: SftpServer
) -> None:
    root = demo_root(tmp_path / "x", prefect_api)
    drop, reports = _remote_dirs(sftp_server)
    key = install_secret(root, sftp_server.key_file, "a-sftp.key")
    known = install_secret(root, sftp_server.known_hosts, "a-known_hosts")
    # Appended lines belong to the last table in the file: the demo agency.
    append_config(
        root,
        f"""
drop_url = "{sftp_server.url("/inbox/drop")}"
key_file = "{key}"
known_hosts = "{known}"
""",
    )
    agency_name = "Intake Dec 5 (Jane's copy).csv"  # the agency's own name: never ours
    shutil.copyfile(root / "samples" / "demo-intake.csv", drop / agency_name)
    os.chown(drop / agency_name, sftp_server.folder.stat().st_uid, -1)

    result = run_cli("process", "--config", str(root / "handoff.toml"), "--json")
    assert json.loads(result.stdout)["by_state"] == {"delivered": 1}

    [package] = list(outbox(root).glob("*.age"))
    assert decrypt_ids(root, package) == VALID_IDS
    # Taken from the server, and its claimed copy removed after the ledger commit.
    assert [p.name for p in drop.iterdir()] == [CLAIM_AREA]
    assert list((drop / CLAIM_AREA).iterdir()) == []
    # The receipt is back in the agency's remote reports folder, byte for byte.
    local_reports = root / "agencies" / "demo-agency" / "reports"
    # Hidden notes (the receipts index's and file-name notes) stay on our side.
    names = sorted(p.name for p in local_reports.iterdir() if not p.name.startswith("."))
    assert names and sorted(p.name for p in reports.iterdir()) == names
    for name in names:
        assert (reports / name).read_bytes() == (local_reports / name).read_bytes()
    # The agency's own file name appears in nothing we created or logged.
    created = [*root.rglob("*"), *reports.iterdir()]
    assert not [p for p in created if "Jane" in p.name]
    assert "Jane" not in result.stdout + result.stderr
    assert not list((root / "state" / "remote-intake").glob("*.json"))

    # Nothing is taken or sent twice: another run finds nothing new.
    again = json.loads(run_cli("process", "--config", str(root / "handoff.toml"), "--json").stdout)
    assert again["files"] == 0
    assert len(list(outbox(root).glob("*.age"))) == 1


@pytest.mark.parametrize("point", ["remote-claimed", "remote-downloaded"])
def test_kill_during_remote_claim_is_completed_exactly_once(
    tmp_path: Path, prefect_api: str, sftp_server: SftpServer, point: str
) -> None:
    root = demo_root(tmp_path / "x", prefect_api)
    drop, _reports = _remote_dirs(sftp_server)
    key = install_secret(root, sftp_server.key_file, "a-sftp.key")
    known = install_secret(root, sftp_server.known_hosts, "a-known_hosts")
    append_config(
        root,
        f"""
drop_url = "{sftp_server.url("/inbox/drop")}"
key_file = "{key}"
known_hosts = "{known}"
""",
    )
    shutil.copyfile(root / "samples" / "demo-intake.csv", drop / "intake.csv")
    config = str(root / "handoff.toml")
    killed = run_cli("process", "--config", config, env={"HANDOFF_FAILPOINT": point}, check=False)
    assert killed.returncode == -9
    assert not (drop / "intake.csv").exists()  # claimed on the server ...
    assert len(list((drop / CLAIM_AREA).iterdir())) == 1  # ... and still there
    assert len(list((root / "state" / "remote-intake").glob("*.json"))) == 1

    first = json.loads(run_cli("process", "--config", config, "--json").stdout)
    again = json.loads(run_cli("process", "--config", config, "--json").stdout)
    states = {**first["by_state"]}
    for state, count in again["by_state"].items():
        states[state] = states.get(state, 0) + count
    assert states == {"delivered": 1}  # exactly once: no duplicate, nothing lost
    [package] = list(outbox(root).glob("*.age"))
    assert decrypt_ids(root, package) == VALID_IDS
    assert list((drop / CLAIM_AREA).iterdir()) == []
    assert not list((root / "state" / "remote-intake").glob("*.json"))
