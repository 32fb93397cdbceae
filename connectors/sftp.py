"""An SFTP folder (paramiko): the :class:`~connectors.remote_folder.RemoteFolder` protocol.

Trust: the server's host key must be in the pinned ``known_hosts`` file given in the
config (OpenSSH format, ``[host]:port`` for non-standard ports). Unknown or changed keys
are refused (paramiko ``RejectPolicy``); nothing is ever added to a known_hosts file, and
the user's own ``~/.ssh`` files, agent and default keys are never consulted. Logins are
by key file only, and the key file must be 0600 (or stricter) and owned by us.

Renames use the ``posix-rename@openssh.com`` extension, so a rename over an existing
name is atomic on OpenSSH servers (plain SFTP rename refuses to overwrite).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO, Self
from urllib.parse import unquote, urlsplit

import paramiko

from connectors.remote_folder import (
    TEMP_PREFIX,
    RemoteEntry,
    Written,
    check_name,
    sha256_stream,
    temp_name,
)
from hmis_handoff.errors import RetriableError, TransferRefused

__all__ = ["SftpFolder", "SftpTarget", "check_key_file"]

_CHUNK = 1 << 18


class SftpTarget:
    """A parsed ``sftp://user@host:port/path`` (no password: key-only)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "sftp" or not parts.hostname or not parts.username:
            raise ValueError("expected sftp://user@host[:port]/path")
        self.user = unquote(parts.username)
        self.host = parts.hostname
        self.port = parts.port or 22
        self.path = unquote(parts.path) or "/"


def check_key_file(path: Path) -> None:
    """Refuse a private key file that others could read or that we do not own."""
    try:
        st = path.stat()
    except OSError:
        raise TransferRefused("SSH key file missing or unreadable") from None
    if st.st_mode & 0o077 or st.st_uid != os.getuid():
        raise TransferRefused("SSH key file must be owned by this user and mode 0600")


class SftpFolder:
    """A folder on an SFTP server; connect with :meth:`open` or as a context manager."""

    def __init__(
        self, url: str, *, key_file: Path, known_hosts: Path, timeout: float = 30.0
    ) -> None:
        self.target = SftpTarget(url)
        self.key_file = key_file
        self.known_hosts = known_hosts
        self.timeout = timeout
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    # Connection ---------------------------------------------------------------------

    def open(self) -> Self:
        """Connect and start SFTP. Raises TransferRefused or RetriableError (fixed text)."""
        check_key_file(self.key_file)
        if not self.known_hosts.is_file():
            raise TransferRefused("known_hosts file missing: pin the server's host key first")
        client = paramiko.SSHClient()
        client.load_host_keys(str(self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                self.target.host,
                port=self.target.port,
                username=self.target.user,
                key_filename=str(self.key_file),
                look_for_keys=False,
                allow_agent=False,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
            )
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(self.timeout)  # type: ignore[union-attr]
        except paramiko.BadHostKeyException:
            client.close()
            raise TransferRefused("SFTP host key does not match the pinned key") from None
        except paramiko.SSHException as exc:
            client.close()
            # RejectPolicy raises a plain SSHException for a host missing from known_hosts.
            if "not found in known_hosts" in str(exc):
                raise TransferRefused("SFTP host key is not pinned in known_hosts") from None
            if isinstance(exc, paramiko.AuthenticationException):
                raise TransferRefused("SFTP login refused (key not accepted)") from None
            raise RetriableError(f"SFTP session failed ({type(exc).__name__})") from None
        except (OSError, EOFError) as exc:
            client.close()
            raise RetriableError(f"SFTP server not reached ({type(exc).__name__})") from None
        self._client, self._sftp = client, sftp
        return self

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._sftp is not None:
            with contextlib.suppress(Exception):
                self._sftp.close()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
        self._sftp = self._client = None

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise RuntimeError("SftpFolder used before open()")
        return self._sftp

    def _path(self, name: str) -> str:
        return str(PurePosixPath(self.target.path) / check_name(name))

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise
        except PermissionError:
            raise TransferRefused(f"SFTP {action}: permission denied") from None
        except (TimeoutError, OSError, EOFError, paramiko.SSHException) as exc:
            raise RetriableError(f"SFTP {action} failed ({type(exc).__name__})") from None

    # Protocol -----------------------------------------------------------------------

    def list(self, subdir: str = "") -> list[RemoteEntry]:
        base = self._path(subdir) if subdir else self.target.path
        with self._errors("list"):
            try:
                items = self.sftp.listdir_attr(base)
            except FileNotFoundError:
                return []
        entries = [
            RemoteEntry(
                f"{subdir}/{item.filename}" if subdir else item.filename,
                int(item.st_size or 0),
                float(item.st_mtime or 0),
            )
            for item in items
            if item.st_mode is not None
            and stat.S_ISREG(item.st_mode)
            and not item.filename.startswith(TEMP_PREFIX)
        ]
        return sorted(entries, key=lambda e: e.name)

    def stat(self, name: str) -> RemoteEntry | None:
        with self._errors("stat"):
            try:
                attrs = self.sftp.lstat(self._path(name))
            except FileNotFoundError:
                return None
        if attrs.st_mode is None or not stat.S_ISREG(attrs.st_mode):
            return None
        return RemoteEntry(name, int(attrs.st_size or 0), float(attrs.st_mtime or 0))

    def download(self, name: str, target: BinaryIO) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        with self._errors("download"), self.sftp.open(self._path(name), "rb") as source:
            source.prefetch()
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                target.write(chunk)
                size += len(chunk)
        return size, digest.hexdigest()

    def read_bytes(self, name: str) -> bytes:
        with self._errors("read"), self.sftp.open(self._path(name), "rb") as source:
            return bytes(source.read())

    def _write(self, name: str, source: BinaryIO) -> Written:
        temp = temp_name(name)
        with self._errors("upload"):
            try:
                with self.sftp.open(self._path(temp), "wb") as remote:
                    remote.set_pipelined(True)
                    while chunk := source.read(_CHUNK):
                        remote.write(chunk)
                self.sftp.chmod(self._path(temp), 0o600)
                self.sftp.posix_rename(self._path(temp), self._path(name))
            except BaseException:
                with contextlib.suppress(Exception):
                    self.sftp.remove(self._path(temp))
                raise
        size, sha = self.sha256(name)
        return Written(name, size, sha)

    def upload(self, source: Path, name: str) -> Written:
        with source.open("rb") as handle:
            return self._write(name, handle)

    def write_bytes(self, data: bytes, name: str) -> Written:
        return self._write(name, io.BytesIO(data))

    def rename(self, name: str, new_name: str) -> None:
        with self._errors("rename"):
            self.sftp.posix_rename(self._path(name), self._path(new_name))

    def remove(self, name: str) -> None:
        with self._errors("remove"), contextlib.suppress(FileNotFoundError):
            self.sftp.remove(self._path(name))

    def makedirs(self, subdir: str) -> None:
        path = PurePosixPath(self.target.path)
        with self._errors("mkdir"):
            for part in PurePosixPath(check_name(subdir)).parts:
                path = path / part
                try:
                    self.sftp.mkdir(str(path), 0o700)
                except OSError:
                    # Exists already (SFTP gives no distinct error code for that).
                    attrs = self.sftp.stat(str(path))
                    if attrs.st_mode is None or not stat.S_ISDIR(attrs.st_mode):
                        raise

    def sha256(self, name: str) -> tuple[int, str]:
        with self._errors("verify"), self.sftp.open(self._path(name), "rb") as handle:
            handle.prefetch()
            return sha256_stream(handle)  # type: ignore[arg-type]
