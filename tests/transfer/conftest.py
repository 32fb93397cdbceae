"""Fixtures: a real chrooted OpenSSH SFTP server on loopback, client keys, pinned host keys."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.transfer.sshd import (
    SSHD,
    Sshd,
    ensure_user,
    keygen,
    private_root,
    remove_tree,
    running_sshd,
)

USER = "hh-sftp-test"


@dataclass
class SftpServer:
    """A running chrooted SFTP server with one login and one writable folder."""

    sshd: Sshd
    user: str
    chroot: Path
    folder: Path  # on this disk: what the login sees as /inbox
    key_file: Path
    known_hosts: Path

    def url(self, path: str = "/inbox") -> str:
        return f"sftp://{self.user}@127.0.0.1:{self.sshd.port}{path}"


def require_sshd() -> None:
    # Not a skip: the Makefile's system-deps installs openssh-server; without it, fail loudly.
    assert shutil.which("ssh-keygen") and os.path.exists(SSHD), (
        "OpenSSH server missing: run `make system-deps` (installs openssh-server)"
    )


@pytest.fixture()
def sftp_server(tmp_path: Path) -> Iterator[SftpServer]:
    """sshd on a free loopback port; ``USER`` is chrooted with a writable ``/inbox``."""
    require_sshd()
    account = ensure_user(USER)
    chroot = private_root("sftp")
    folder = chroot / "inbox"
    folder.mkdir(mode=0o700)
    os.chown(folder, account.pw_uid, account.pw_gid)
    block = f"Match User {USER}\n    ChrootDirectory {chroot}\n    ForceCommand internal-sftp\n"
    client = tmp_path / "client"
    client.mkdir(mode=0o700)
    key = keygen(client / "id_ed25519")
    try:
        with running_sshd(tmp_path / "sshd", block) as sshd:
            sshd.authorize(USER, key.with_suffix(".pub"))
            known = sshd.known_hosts(client / "known_hosts")
            yield SftpServer(sshd, USER, chroot, folder, key, known)
    finally:
        remove_tree(chroot)
