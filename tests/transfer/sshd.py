"""A real OpenSSH server for the tests: Debian's sshd on a loopback port, chrooted SFTP.

Started as ``sshd -D -e -f <tmp config>`` with a fresh host key, key-only logins and
``ForceCommand internal-sftp`` inside a chroot. OpenSSH requires every component of a
chroot path to be root-owned and not group/world-writable, which ``/tmp`` is not, so
chroots live under ``/var/lib/hmis-handoff-tests/`` and are removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.stack.prefect_server import free_port

SSHD = "/usr/sbin/sshd"
CHROOT_BASE = Path("/var/lib/hmis-handoff-tests")


def ensure_user(name: str) -> pwd.struct_passwd:
    """A system account for SFTP logins (no shell, no password, not locked)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
        # "!" (useradd's default) counts as locked for sshd even with keys; "*" does not.
        subprocess.run(["usermod", "-p", "*", name], check=True, capture_output=True)
        return pwd.getpwnam(name)


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """A passphrase-less key pair at ``path`` / ``path.pub`` (0600 private)."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    path.chmod(0o600)
    return path


def private_root(name: str) -> Path:
    """A fresh root-owned 0755 directory usable as (or above) a chroot."""
    CHROOT_BASE.mkdir(mode=0o755, exist_ok=True)
    CHROOT_BASE.chmod(0o755)
    path = CHROOT_BASE / f"{name}-{secrets.token_hex(4)}"
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    return path


@dataclass
class Sshd:
    """A running sshd: where it listens, how to trust it, where its files are."""

    port: int
    host_key_pub: Path
    directory: Path
    config: Path
    keys_dir: Path
    process: subprocess.Popen[bytes] | None = None
    authorized: dict[str, list[str]] = field(default_factory=dict)

    def known_hosts(self, target: Path) -> Path:
        """Write a known_hosts pinning this server's host key; returns its path."""
        key = self.host_key_pub.read_text().split()
        target.write_text(f"[127.0.0.1]:{self.port} {key[0]} {key[1]}\n")
        target.chmod(0o600)
        return target

    def authorize(self, user: str, public_key: Path) -> None:
        # sshd reads these as the user, so they live outside pytest's 0700 tmp tree.
        keys = self.keys_dir
        self.authorized.setdefault(user, []).append(public_key.read_text().strip())
        (keys / user).write_text("\n".join(self.authorized[user]) + "\n")
        (keys / user).chmod(0o644)

    def start(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
        with (self.directory / "sshd.log").open("ab") as log_file:  # sshd holds its own copy
            self.process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config)],
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.directory / "sshd.log").read_text(errors="replace")
                raise RuntimeError(f"sshd exited {self.process.returncode}: {log[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
            ):
                if sock.recv(4).startswith(b"SSH-"):
                    return
            time.sleep(0.1)
        raise RuntimeError("sshd did not answer within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


def write_config(
    directory: Path, port: int, host_key: Path, match_blocks: str, *, keys_dir: Path
) -> Path:
    config = directory / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {directory}/sshd.pid
AuthorizedKeysFile {keys_dir}/%u
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
AllowTcpForwarding no
X11Forwarding no
LogLevel VERBOSE
Subsystem sftp internal-sftp
{match_blocks}
"""
    )
    return config


@contextlib.contextmanager
def running_sshd(directory: Path, match_blocks: str, port: int | None = None) -> Iterator[Sshd]:
    """Start sshd with ``match_blocks`` appended to a key-only loopback config."""
    directory.mkdir(parents=True, exist_ok=True)
    host_key = keygen(directory / "ssh_host_ed25519_key")
    port = port or free_port()
    keys_dir = private_root("authorized-keys")
    config = write_config(directory, port, host_key, match_blocks, keys_dir=keys_dir)
    server = Sshd(port, host_key.with_suffix(".pub"), directory, config, keys_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        remove_tree(keys_dir)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
