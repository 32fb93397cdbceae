"""SFTP push of a package to a partner's server: a :class:`~hmis_handoff.delivery.Channel`.

Each file goes up under a temp name and is renamed into place (``.age``, then the
manifest, then the signature, whose arrival completes the package, as in our outbox).
After each upload the file is read back and its size and SHA-256 compared with ours;
a mismatch is an error and the delivery is retried. :meth:`SftpPush.find` answers
"is the complete package already there, byte for byte?", which resolves a crash between
the upload and the ledger commit without a second copy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from connectors.remote_folder import RemoteFolder
from connectors.sftp import SftpFolder
from hmis_handoff.delivery import PackageFiles, Proof
from hmis_handoff.errors import RetriableError

__all__ = ["FolderPush", "SftpPush"]


def _local_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class FolderPush:
    """Push packages into any :class:`RemoteFolder` (SFTP here; a local folder in tests)."""

    kind = "sftp"

    def __init__(self, folder: RemoteFolder) -> None:
        self.folder = folder

    def find(self, package: PackageFiles) -> Proof | None:
        for path in package.files():
            entry = self.folder.stat(path.name)
            size, sha = _local_digest(path)
            if entry is None or entry.size != size:
                return None
            if self.folder.sha256(path.name) != (size, sha):
                return None
        return Proof(package.age.name, package.ciphertext_sha256)

    def send(self, package: PackageFiles) -> Proof:
        for path in package.files():
            expected = _local_digest(path)
            written = self.folder.upload(path, path.name)
            if (written.size, written.sha256) != expected:
                raise RetriableError("SFTP upload did not verify (size or SHA-256 differs)")
        return Proof(package.age.name, package.ciphertext_sha256)


class SftpPush(FolderPush):
    """Connects on first use (after the ledger counted the attempt); close() when done."""

    def __init__(self, url: str, *, key_file: Path, known_hosts: Path, timeout: float) -> None:
        self._sftp = SftpFolder(url, key_file=key_file, known_hosts=known_hosts, timeout=timeout)
        super().__init__(self._sftp)
        self._open = False

    def _ensure_open(self) -> None:
        if not self._open:
            self._sftp.open()
            self._open = True

    def find(self, package: PackageFiles) -> Proof | None:
        self._ensure_open()
        return super().find(package)

    def send(self, package: PackageFiles) -> Proof:
        self._ensure_open()
        return super().send(package)

    def close(self) -> None:
        self._sftp.close()
        self._open = False
