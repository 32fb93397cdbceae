"""One conformance suite over every RemoteFolder implementation: local disk and real SFTP.

S3 is not among them: no real S3-compatible server can run here (see README, "Transfer
channels"); a mock would not prove anything about a real one.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.remote_folder import TEMP_PREFIX, LocalFolder, RemoteFolder, check_name
from connectors.sftp import SftpFolder
from tests.transfer.conftest import SftpServer


@pytest.fixture(params=["local", "sftp"])
def folder(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[RemoteFolder, Path]]:
    """(the folder, the same directory on this disk) for each implementation."""
    if request.param == "local":
        root = tmp_path / "local-folder"
        root.mkdir()
        with LocalFolder(root) as local:
            yield local, root
    else:
        server: SftpServer = request.getfixturevalue("sftp_server")
        with SftpFolder(
            server.url("/inbox"), key_file=server.key_file, known_hosts=server.known_hosts
        ) as remote:
            yield remote, server.folder


def test_write_then_list_gives_size_mtime_and_verified_hash(
    folder: tuple[RemoteFolder, Path],
) -> None:
    remote, disk = folder
    data = b"synthetic,package\r\n" * 1000
    before = time.time() - 5
    written = remote.write_bytes(data, "p1.age")
    assert written.size == len(data)
    assert written.sha256 == hashlib.sha256(data).hexdigest()
    [entry] = remote.list()
    assert entry.name == "p1.age" and entry.size == len(data)
    assert before <= entry.mtime <= time.time() + 5
    assert (disk / "p1.age").read_bytes() == data
    assert not [p for p in disk.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_upload_read_download_and_hash(folder: tuple[RemoteFolder, Path], tmp_path: Path) -> None:
    remote, _disk = folder
    source = tmp_path / "src.bin"
    source.write_bytes(bytes(range(256)) * 4096)  # 1 MiB, several chunks
    written = remote.upload(source, "big.bin")
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    assert (written.size, written.sha256) == (source.stat().st_size, expected)
    sink = io.BytesIO()
    assert remote.download("big.bin", sink) == (source.stat().st_size, expected)
    assert sink.getvalue() == source.read_bytes()
    assert remote.read_bytes("big.bin") == source.read_bytes()
    assert remote.sha256("big.bin") == (source.stat().st_size, expected)


def test_write_replaces_atomically_and_hides_temps(folder: tuple[RemoteFolder, Path]) -> None:
    remote, disk = folder
    remote.write_bytes(b"old", "x.csv")
    remote.write_bytes(b"newer", "x.csv")
    assert remote.read_bytes("x.csv") == b"newer"
    # A temp file of ours (a writer in flight) and a directory are not listed.
    (disk / f"{TEMP_PREFIX}inflight").write_bytes(b"partial")
    remote.makedirs("claimed")
    assert [e.name for e in remote.list()] == ["x.csv"]


def test_rename_into_claim_area_then_remove(folder: tuple[RemoteFolder, Path]) -> None:
    remote, disk = folder
    remote.write_bytes(b"intake", "drop.csv")
    remote.makedirs("claimed/deeper")
    remote.makedirs("claimed")  # idempotent
    remote.rename("drop.csv", "claimed/c1.csv")
    assert remote.stat("drop.csv") is None
    entry = remote.stat("claimed/c1.csv")
    assert entry is not None and entry.size == len(b"intake")
    assert [e.name for e in remote.list("claimed")] == ["claimed/c1.csv"]
    with pytest.raises(FileNotFoundError):
        remote.rename("drop.csv", "claimed/c2.csv")  # the loser of a claim race
    remote.remove("claimed/c1.csv")
    remote.remove("claimed/c1.csv")  # missing is fine
    assert remote.list("claimed") == []
    assert not (disk / "claimed" / "c1.csv").exists()


def test_missing_things(folder: tuple[RemoteFolder, Path]) -> None:
    remote, _disk = folder
    assert remote.stat("nope.csv") is None
    assert remote.list("no-such-dir") == []
    with pytest.raises(FileNotFoundError):
        remote.read_bytes("nope.csv")


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs", "a/../b", "", "a//b/."])
def test_names_stay_inside_the_folder(bad: str) -> None:
    with pytest.raises(ValueError):
        check_name(bad)
