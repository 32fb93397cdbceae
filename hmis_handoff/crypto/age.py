"""age v1 (c2sp.org/age) encryption and decryption, streaming, on ``cryptography`` primitives.

Files we write are readable by any age implementation (``age -d``, rage, typage); we read
anything they write with X25519 or MLKEM768-X25519 recipients, passphrases (scrypt) and ASCII
armor. Everything streams in 64 KiB chunks with a few MiB of buffers whatever the file size.

Use :func:`encrypt_file` / :func:`decrypt_file` for files: they write a temp file, fsync it and
rename it into place only when everything (for decryption: the final chunk) has
authenticated, so a tampered, truncated or padded file never leaves output behind. The
stream functions :func:`encrypt` / :func:`decrypt` write as they go; on a decryption error
``dst`` holds the chunks that authenticated before it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hmis_handoff.crypto import armor, primitives, stream
from hmis_handoff.crypto.errors import (
    AgeError,
    ArmorError,
    HeaderError,
    HeaderMacError,
    KeyFormatError,
    NoIdentityMatch,
    PayloadError,
)
from hmis_handoff.crypto.header import Header, encode_header, parse_header, verify_mac
from hmis_handoff.crypto.lanes import StreamDigest
from hmis_handoff.crypto.readahead import ByteSink, RawSource, Reader
from hmis_handoff.crypto.recipients import (
    HybridIdentity,
    HybridRecipient,
    Identity,
    Recipient,
    ScryptIdentity,
    X25519Identity,
    X25519Recipient,
    parse_identity,
    parse_recipient,
)
from hmis_handoff.fsutil import atomic_write_text, atomic_writer

__all__ = [
    "AgeError",
    "ArmorError",
    "CipherStats",
    "HeaderError",
    "HeaderMacError",
    "HybridIdentity",
    "HybridRecipient",
    "Identity",
    "KeyFormatError",
    "NoIdentityMatch",
    "PayloadError",
    "Recipient",
    "ScryptIdentity",
    "X25519Identity",
    "X25519Recipient",
    "decrypt",
    "decrypt_file",
    "decrypt_to_file",
    "decrypt_with_stats",
    "encrypt",
    "encrypt_file",
    "encrypt_with_stats",
    "parse_identities_file",
    "parse_identity",
    "parse_recipient",
    "unwrap_file_key",
    "write_identity_file",
]

_FILE_KEY_SIZE = 16
_MAX_IDENTITY_FILE = 1 << 20


@dataclass(frozen=True, slots=True)
class CipherStats:
    """Hex SHA-256 digests and sizes of both sides of one encryption or decryption.

    The ciphertext side is the binary age file (for armored input, the de-armored bytes).
    """

    plaintext_sha256: str
    ciphertext_sha256: str
    plaintext_size: int
    ciphertext_size: int


def _write_all(dst: ByteSink) -> stream.Write:
    write = dst.write

    def write_all(view: memoryview) -> None:
        done = write(view)
        # Raw (unbuffered) streams may take only part of a buffer.
        while done is not None and done < len(view):
            view = view[done:]
            done = write(view)

    return write_all


def _check_recipients(recipients: Sequence[Recipient]) -> None:
    if not recipients:
        raise ValueError("encryption needs at least one recipient")
    kinds = {r.post_quantum for r in recipients}
    if len(kinds) > 1:
        raise ValueError(
            "post-quantum and classical recipients cannot be mixed in one file: "
            "the classical one would undo the post-quantum protection"
        )


def _encrypt(
    reader: Reader,
    dst: ByteSink,
    recipients: Sequence[Recipient],
    plain: StreamDigest | None,
    cipher: StreamDigest | None,
) -> None:
    _check_recipients(recipients)
    file_key = primitives.random_bytes(_FILE_KEY_SIZE)
    header = encode_header([s for r in recipients for s in r.wrap(file_key)], file_key)
    nonce = primitives.random_bytes(stream.NONCE_SIZE)
    write = _write_all(dst)
    write(memoryview(header + nonce))
    if cipher is not None:
        cipher.update(header + nonce)
    key = stream.payload_key(file_key, nonce)
    stream.seal_payload(
        key,
        reader,
        write,
        plain_digest=plain,
        cipher_digest=cipher,
        written=len(header) + len(nonce),
    )


def unwrap_file_key(header: Header, identities: Sequence[Identity]) -> bytes:
    """The file key for ``header``, with the header MAC checked.

    Raises :class:`HeaderError` (malformed stanza, or an scrypt stanza that is not alone),
    :class:`NoIdentityMatch` and :class:`HeaderMacError`, in that order of checking.
    """
    if len(header.stanzas) > 1 and any(s.type == "scrypt" for s in header.stanzas):
        raise HeaderError("a passphrase (scrypt) stanza must be the only stanza in the header")
    for identity in identities:
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            break
    else:
        raise NoIdentityMatch(
            "no identity matches any recipient of this file: it was encrypted to another key"
        )
    if len(file_key) != _FILE_KEY_SIZE:
        raise HeaderError("the unwrapped file key has the wrong length")
    verify_mac(header, file_key)
    return file_key


def _open(
    src: RawSource, identities: Sequence[Identity], armored: bool | None
) -> tuple[Reader, Header, bytes, bytes]:
    """Parse the header, unwrap the file key and read the nonce.

    Returns the reader (positioned at the first chunk), the header, the nonce and the key.
    """
    reader = Reader(src)
    if armored or (armored is None and armor.looks_armored(reader)):
        reader = Reader(armor.ArmorReader(reader))
    header = parse_header(reader)
    file_key = unwrap_file_key(header, identities)
    nonce = reader.read(stream.NONCE_SIZE)
    if len(nonce) != stream.NONCE_SIZE:
        raise HeaderError("the file is truncated: the payload nonce is missing")
    return reader, header, nonce, file_key


def _decrypt(
    src: RawSource,
    dst: ByteSink,
    identities: Sequence[Identity],
    armored: bool | None,
    plain: StreamDigest | None,
    cipher: StreamDigest | None,
) -> None:
    reader, header, nonce, file_key = _open(src, identities, armored)
    if cipher is not None:
        cipher.update(header.raw + nonce)
    stream.open_payload(
        stream.payload_key(file_key, nonce),
        reader,
        _write_all(dst),
        plain_digest=plain,
        cipher_digest=cipher,
    )


@contextlib.contextmanager
def _digests() -> Iterator[tuple[StreamDigest, StreamDigest]]:
    plain, cipher = StreamDigest(), StreamDigest()
    try:
        yield plain, cipher
    finally:
        plain.close()
        cipher.close()


def _stats(plain: StreamDigest, cipher: StreamDigest) -> CipherStats:
    return CipherStats(plain.hexdigest(), cipher.hexdigest(), plain.size, cipher.size)


def encrypt(src: RawSource, dst: ByteSink, recipients: Sequence[Recipient]) -> None:
    """Encrypt all of ``src`` to ``recipients`` as a binary age file written to ``dst``.

    Raises ``ValueError`` for no recipients or for post-quantum mixed with classical ones.
    For inputs over one 512 KiB block, ``dst.write`` is called from a worker thread (one
    call at a time, in order); it must consume its argument before returning, as files and
    BytesIO do. Its errors are re-raised here.
    """
    _encrypt(Reader(src), dst, recipients, None, None)


def encrypt_with_stats(
    src: RawSource, dst: ByteSink, recipients: Sequence[Recipient]
) -> CipherStats:
    """:func:`encrypt`, also returning digests and sizes computed in the same pass."""
    with _digests() as (plain, cipher):
        _encrypt(Reader(src), dst, recipients, plain, cipher)
        return _stats(plain, cipher)


def decrypt(
    src: RawSource,
    dst: ByteSink,
    identities: Sequence[Identity],
    *,
    armored: bool | None = None,
) -> None:
    """Decrypt the age file in ``src`` to ``dst`` with the first identity that matches.

    ``armored=None`` detects ASCII armor. Raises an :class:`AgeError` subclass saying what
    failed; ``dst`` then holds only the chunks that authenticated before the failure.
    ``dst.write`` is used as in :func:`encrypt`.
    """
    _decrypt(src, dst, identities, armored, None, None)


def decrypt_with_stats(
    src: RawSource,
    dst: ByteSink,
    identities: Sequence[Identity],
    *,
    armored: bool | None = None,
) -> CipherStats:
    """:func:`decrypt`, also returning digests and sizes computed in the same pass."""
    with _digests() as (plain, cipher):
        _decrypt(src, dst, identities, armored, plain, cipher)
        return _stats(plain, cipher)


def _refuse_existing(dst: Path, overwrite: bool) -> None:
    if not overwrite and os.path.lexists(dst):
        raise FileExistsError("the output file already exists")


def encrypt_file(
    src: Path, dst: Path, recipients: Sequence[Recipient], *, overwrite: bool = False
) -> CipherStats:
    """Encrypt file ``src`` to ``dst`` (temp file, fsync, rename; mode 0600).

    Without ``overwrite`` an existing ``dst`` raises ``FileExistsError`` and is never
    replaced. Digests and sizes are computed in the same pass.
    """
    _refuse_existing(dst, overwrite)
    _check_recipients(recipients)
    with open(src, "rb", buffering=0) as source, atomic_writer(dst, replace=overwrite) as out:
        return encrypt_with_stats(source, out, recipients)


def decrypt_to_file(
    src: RawSource,
    dst: Path,
    identities: Sequence[Identity],
    *,
    overwrite: bool = False,
    armored: bool | None = None,
    before_commit: Callable[[CipherStats], None] | None = None,
) -> CipherStats:
    """Decrypt the age stream ``src`` into file ``dst``, all or nothing.

    The header is checked and the file key unwrapped before any output exists; plaintext
    goes to a temp file that is fsynced and renamed to ``dst`` only after the final chunk
    authenticates and ``before_commit`` (given the finished stats) has returned without
    raising. On any failure neither ``dst`` nor the temp file remains. Raises the
    :class:`AgeError` subclass that says what failed, whatever ``before_commit`` raised,
    or ``FileExistsError`` (see :func:`encrypt_file`).
    """
    _refuse_existing(dst, overwrite)
    with _digests() as (plain, cipher):
        reader, header, nonce, file_key = _open(src, identities, armored)
        cipher.update(header.raw + nonce)
        with atomic_writer(dst, replace=overwrite) as out:
            stream.open_payload(
                stream.payload_key(file_key, nonce),
                reader,
                _write_all(out),
                plain_digest=plain,
                cipher_digest=cipher,
            )
            stats = _stats(plain, cipher)
            if before_commit is not None:
                before_commit(stats)
        return stats


def decrypt_file(
    src: Path,
    dst: Path,
    identities: Sequence[Identity],
    *,
    overwrite: bool = False,
    armored: bool | None = None,
) -> CipherStats:
    """Decrypt file ``src`` to ``dst``, all or nothing (see :func:`decrypt_to_file`)."""
    _refuse_existing(dst, overwrite)
    with open(src, "rb", buffering=0) as source:
        return decrypt_to_file(source, dst, identities, overwrite=overwrite, armored=armored)


def parse_identities_file(path: Path) -> list[Identity]:
    """Identities from an age key file: one per line, ``#`` comments and blank lines skipped.

    Raises :class:`KeyFormatError` naming the bad line by number only (never its content).
    """
    data = path.read_bytes()[: _MAX_IDENTITY_FILE + 1]
    if len(data) > _MAX_IDENTITY_FILE:
        raise KeyFormatError("the identity file is too large to be an age key file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyFormatError("the identity file is not UTF-8 text") from None
    identities: list[Identity] = []
    for number, raw_line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            identities.append(parse_identity(line))
        except KeyFormatError:
            raise KeyFormatError(
                f"line {number} of the identity file is not a valid age identity"
            ) from None
    if not identities:
        raise KeyFormatError("the identity file contains no identities")
    return identities


def write_identity_file(
    path: Path,
    identity: X25519Identity | HybridIdentity,
    *,
    comment_lines: Sequence[str] = (),
) -> None:
    """Write ``identity`` as an age key file, like ``age-keygen -o`` (mode 0600).

    Never replaces an existing file (``FileExistsError``). Comment lines must be single
    lines; they are prefixed with ``# `` where needed.
    """
    created = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    lines = [f"# created: {created}", f"# public key: {identity.recipient}"]
    for comment in comment_lines:
        if "\n" in comment or "\r" in comment:
            raise ValueError("identity file comments must be single lines")
        lines.append(comment if comment.startswith("#") else f"# {comment}")
    lines.append(str(identity))
    atomic_write_text(path, "\n".join(lines) + "\n", replace=False)
