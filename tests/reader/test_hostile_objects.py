"""Links, pipes, sockets, devices and folders are refused before a byte is read, without hanging."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from connectors.reader import open_regular_file, read_intake
from hmis_handoff.errors import FileRejected
from tests.reader.helpers import csv_text, good_rows, header_map


@pytest.fixture
def other_agency_file(tmp_path: Path) -> Path:
    path = tmp_path / "other-agency" / "CNRY-intake.csv"
    path.parent.mkdir()
    path.write_text(csv_text(good_rows("CNRY-other")))
    return path


def _refused(path: Path) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        read_intake(path, header_map=header_map)
    assert caught.value.rule_id == "FILE-NOT-REGULAR"
    assert "CNRY" not in str(caught.value)
    return caught.value


def test_symlink_to_another_agency_file_is_refused(tmp_path: Path, other_agency_file: Path) -> None:
    link = tmp_path / "CNRY-link.csv"
    link.symlink_to(other_agency_file)
    _refused(link)


def test_symlink_to_a_system_file_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "shadow.csv"
    link.symlink_to("/etc/passwd")
    _refused(link)


def test_hard_link_is_refused_on_both_names(tmp_path: Path, other_agency_file: Path) -> None:
    twin = tmp_path / "CNRY-twin.csv"
    os.link(other_agency_file, twin)
    assert "2 hard links" in _refused(twin).detail
    _refused(other_agency_file)


@pytest.mark.timeout(10)
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "CNRY-pipe.csv"
    os.mkfifo(fifo)
    assert "pipe" in _refused(fifo).detail


@pytest.mark.timeout(10)
def test_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        _refused(path)
    finally:
        server.close()


def test_directory_named_csv_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "CNRY-folder.csv"
    folder.mkdir()
    assert "folder" in _refused(folder).detail


def test_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRejected) as caught:
        open_regular_file("/dev/null")
    assert caught.value.rule_id == "FILE-NOT-REGULAR"


def test_missing_file_raises_oserror_without_the_name(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        read_intake(tmp_path / "CNRY-gone.csv", header_map=header_map)
    assert "CNRY" not in str(caught.value)
    assert caught.value.filename is None
    assert caught.value.__context__ is None


def test_regular_file_gives_a_descriptor_the_caller_closes(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("x")
    fd = open_regular_file(path)
    try:
        assert os.read(fd, 1) == b"x"
    finally:
        os.close(fd)
