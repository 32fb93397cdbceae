"""SFTP push delivery against a real chrooted OpenSSH server, through `handoff process`.

Pushed once and verified; never twice; a host key that does not match the pinned one is
refused; a server that is down is retried until it returns; a kill -9 between the upload
and the ledger commit leaves exactly one remote package, found and recorded next run.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.transfer.conftest import SftpServer
from tests.transfer.helpers import (
    VALID_IDS,
    append_config,
    decrypt_ids,
    demo_root,
    drop_sample,
    install_secret,
    ledger_deliveries,
    outbox,
    package_events,
    remote_files,
)
from tests.transfer.sshd import keygen

pytestmark = pytest.mark.server


def _configure(root: Path, server: SftpServer, *, known_hosts: Path, retries: int = 2) -> None:
    key = install_secret(root, server.key_file, "p-sftp.key")
    known = install_secret(root, known_hosts, "p-known_hosts")
    append_config(
        root,
        f"""
[delivery]
retries = {retries}
backoff_seconds = 1.0
timeout_seconds = 10

[[partners.delivery]]
kind = "sftp"
id = "partner-sftp"
url = "{server.url("/inbox")}"
key_file = "{key}"
known_hosts = "{known}"
""",
    )


def _package_names(root: Path) -> list[str]:
    return sorted(p.name for p in outbox(root).iterdir())


def test_push_delivers_once_verified(
    tmp_path: Path, prefect_api: str, sftp_server: SftpServer
) -> None:
    root = demo_root(tmp_path / "x", prefect_api)
    _configure(root, sftp_server, known_hosts=sftp_server.known_hosts)
    drop_sample(root)
    summary = json.loads(
        run_cli("process", "--config", str(root / "handoff.toml"), "--json").stdout
    )
    assert summary["by_state"] == {"delivered": 1}

    names = _package_names(root)
    assert len(names) == 3
    assert remote_files(sftp_server.folder) == names  # no temp names left behind
    for name in names:
        assert (sftp_server.folder / name).read_bytes() == (outbox(root) / name).read_bytes()
    age_file = next(sftp_server.folder.glob("*.age"))
    assert decrypt_ids(root, age_file) == VALID_IDS

    [row] = ledger_deliveries(root)
    assert row.state == "delivered" and row.attempts == 1 and row.channel_id == "partner-sftp"
    assert row.remote_ref == age_file.name
    assert row.verified_sha256 == hashlib.sha256(age_file.read_bytes()).hexdigest()
    assert row.delivered_at is not None
    [event] = package_events("handoff.package.delivered", row.package_id)
    assert event["payload"]["channel"] == "partner-sftp"
    assert event["payload"]["sha256"] == row.verified_sha256
    assert event["payload"]["records"] == len(VALID_IDS)

    # Another run (and another file) never sends the first package again.
    mtime = age_file.stat().st_mtime_ns
    run_cli("process", "--config", str(root / "handoff.toml"))
    assert age_file.stat().st_mtime_ns == mtime
    [again] = ledger_deliveries(root)
    assert again.attempts == 1


def test_host_key_mismatch_is_refused(
    tmp_path: Path, prefect_api: str, sftp_server: SftpServer
) -> None:
    root = demo_root(tmp_path / "x", prefect_api)
    impostor = keygen(tmp_path / "impostor")
    wrong = tmp_path / "wrong_known_hosts"
    kind, blob = impostor.with_suffix(".pub").read_text().split()[:2]
    wrong.write_text(f"[127.0.0.1]:{sftp_server.sshd.port} {kind} {blob}\n")
    _configure(root, sftp_server, known_hosts=wrong, retries=3)
    drop_sample(root)
    result = run_cli("process", "--config", str(root / "handoff.toml"), "--json")
    # The hand-off itself goes on: the package is in the outbox, the agency has its receipt.
    assert json.loads(result.stdout)["by_state"] == {"delivered": 1}
    assert remote_files(sftp_server.folder) == []
    [row] = ledger_deliveries(root)
    assert row.state == "pending"
    assert row.error_kind == "TransferRefused"
    assert row.attempts == 1  # not retried: an operator must check the key
    assert "host key does not match" in result.stderr + result.stdout
    [event] = package_events("handoff.package.delivery-failed", row.package_id)
    assert event["payload"] == {
        "channel": "partner-sftp",
        "attempt": 1,
        "will_retry": False,
        "error": "TransferRefused",
    }
    assert str(root) not in json.dumps(event)  # no key paths, URLs or server replies


def test_server_down_then_retried_until_it_returns(
    tmp_path: Path, prefect_api: str, sftp_server: SftpServer
) -> None:
    root = demo_root(tmp_path / "x", prefect_api)
    _configure(root, sftp_server, known_hosts=sftp_server.known_hosts, retries=5)
    drop_sample(root)
    sftp_server.sshd.stop()

    failed_while_down: list[int] = []

    def come_back() -> None:
        # Back only after the pipeline has really failed to reach it at least once.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                rows = [r for r in ledger_deliveries(root) if r.error_kind]
            except Exception:  # the ledger is still being created or migrated
                rows = []
            if rows:
                failed_while_down.append(rows[0].attempts)
                break
            time.sleep(0.2)
        sftp_server.sshd.start()

    helper = threading.Thread(target=come_back)
    helper.start()
    try:
        run_cli("process", "--config", str(root / "handoff.toml"))
    finally:
        helper.join()
    assert failed_while_down and failed_while_down[0] >= 1
    [row] = ledger_deliveries(root)
    assert row.state == "delivered"
    assert row.attempts > failed_while_down[0]
    assert remote_files(sftp_server.folder) == _package_names(root)


def test_kill_between_upload_and_commit_leaves_one_remote_package(
    tmp_path: Path, prefect_api: str, sftp_server: SftpServer
) -> None:
    root = demo_root(tmp_path / "x", prefect_api)
    _configure(root, sftp_server, known_hosts=sftp_server.known_hosts)
    drop_sample(root)
    config = str(root / "handoff.toml")
    killed = run_cli(
        "process", "--config", config, env={"HANDOFF_FAILPOINT": "delivery-uploaded"}, check=False
    )
    assert killed.returncode == -9
    names = _package_names(root)
    assert remote_files(sftp_server.folder) == names  # uploaded ...
    [row] = ledger_deliveries(root)
    assert row.state == "pending" and row.attempts == 1  # ... but not committed
    mtimes = {n: (sftp_server.folder / n).stat().st_mtime_ns for n in names}

    run_cli("process", "--config", config)
    [row] = ledger_deliveries(root)
    assert row.state == "delivered" and row.attempts == 2
    assert remote_files(sftp_server.folder) == names  # exactly one package there
    # Found and verified, not uploaded again.
    assert {n: (sftp_server.folder / n).stat().st_mtime_ns for n in names} == mtimes
