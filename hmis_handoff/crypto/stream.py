"""The age payload: ChaCha20-Poly1305 STREAM over 64 KiB chunks, in bounded memory.

Chunk ``i`` is sealed with nonce ``i`` (11 bytes, big endian) followed by ``0x01`` for the
final chunk and ``0x00`` otherwise. The final chunk may be full-size; it is empty only when
the whole payload is.

Data moves in blocks of :data:`BLOCK_CHUNKS` chunks through a small ring of reusable
buffers: one read-ahead block tells us which chunk is final, and the optional SHA-256
digests run on worker threads over blocks already written (``hashlib`` and ``cryptography``
both release the GIL), so hashing overlaps the cipher instead of adding to it. Memory use is
a few MiB whatever the file size.

Decryption follows the reference implementation exactly in what it releases: every chunk
that authenticates is written before an error about a later chunk (or trailing data) is
raised. Callers that must never see partial output write to a temp file and discard it on
error (see :func:`hmis_handoff.crypto.age.decrypt_file`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from hmis_handoff.crypto import primitives
from hmis_handoff.crypto.errors import PayloadError
from hmis_handoff.crypto.reader import Reader

__all__ = [
    "BLOCK_CHUNKS",
    "CHUNK_SIZE",
    "NONCE_SIZE",
    "SEALED_CHUNK_SIZE",
    "TAG_SIZE",
    "StreamDigest",
    "open_payload",
    "payload_key",
    "seal_payload",
]

CHUNK_SIZE = 64 * 1024
TAG_SIZE = primitives.AEAD_TAG_SIZE
SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
NONCE_SIZE = 16
BLOCK_CHUNKS = 8
_RING = 4
_PLAIN_BLOCK = BLOCK_CHUNKS * CHUNK_SIZE
_SEALED_BLOCK = BLOCK_CHUNKS * SEALED_CHUNK_SIZE

Write = Callable[[memoryview], None]


def payload_key(file_key: bytes, nonce: bytes) -> primitives.ChaCha20Poly1305Key:
    """The STREAM key: ``HKDF-SHA-256(ikm = file key, salt = nonce, info = "payload")``."""
    return primitives.ChaCha20Poly1305Key(primitives.hkdf_sha256(file_key, nonce, b"payload"))


class StreamDigest:
    """SHA-256 and length of a byte stream, fed in order, hashed on a worker thread.

    Contract: a buffer passed to :meth:`update` must not change until the returned future
    (if any) is done. Small inputs are hashed inline so tiny files start no thread.
    """

    __slots__ = ("_executor", "_last", "_sha", "size")

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._executor: ThreadPoolExecutor | None = None
        self._last: Future[None] | None = None
        self.size = 0

    def update(self, data: memoryview | bytes, *, inline: bool = False) -> Future[None] | None:
        """Add ``data``; returns a future for background work, or None if hashed inline."""
        self.size += len(data)
        if inline and self._executor is None:
            self._sha.update(data)
            return None
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="sha256")
        self._last = self._executor.submit(self._sha.update, data)
        return self._last

    def hexdigest(self) -> str:
        """The SHA-256 of everything added so far (waits for pending work)."""
        if self._last is not None:
            self._last.result()
        return self._sha.hexdigest()

    def close(self) -> None:
        """Stop the worker thread, if one was started; waits for pending work."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


class _Slot:
    """One ring entry: an input and an output block plus the hash work still reading them."""

    __slots__ = ("inp", "out", "pending")

    def __init__(self, in_size: int, out_size: int) -> None:
        self.inp = memoryview(bytearray(in_size))
        self.out = memoryview(bytearray(out_size))
        self.pending: list[Future[None]] = []

    def reclaim(self) -> None:
        for future in self.pending:
            future.result()
        self.pending.clear()

    def hand_off(
        self,
        in_len: int,
        out_len: int,
        in_digest: StreamDigest | None,
        out_digest: StreamDigest | None,
        last: bool,
    ) -> None:
        for digest, view in ((in_digest, self.inp[:in_len]), (out_digest, self.out[:out_len])):
            if digest is not None:
                future = digest.update(view, inline=last)
                if future is not None:
                    self.pending.append(future)


def _reclaim_all(ring: list[_Slot]) -> None:
    for slot in ring:
        slot.reclaim()


def seal_payload(
    key: primitives.ChaCha20Poly1305Key,
    reader: Reader,
    write: Write,
    *,
    plain_digest: StreamDigest | None = None,
    cipher_digest: StreamDigest | None = None,
) -> None:
    """Encrypt everything ``reader`` yields into STREAM chunks passed to ``write``."""
    ring = [_Slot(_PLAIN_BLOCK, _SEALED_BLOCK) for _ in range(_RING)]
    seal_into = key.seal_into
    nonce = bytearray(12)
    counter = 0
    index = 0
    slot = ring[0]
    try:
        size = reader.readinto(slot.inp)
        while True:
            following = ring[(index + 1) % _RING]
            next_size = 0
            if size == _PLAIN_BLOCK:
                following.reclaim()
                next_size = reader.readinto(following.inp)
            last = next_size == 0
            pos = out = 0
            while True:
                end = min(pos + CHUNK_SIZE, size)
                nonce[:11] = counter.to_bytes(11, "big")
                nonce[11] = last and end == size
                out_end = out + end - pos + TAG_SIZE
                seal_into(nonce, slot.inp[pos:end], slot.out[out:out_end])
                counter += 1
                pos, out = end, out_end
                if pos == size:
                    break
            write(slot.out[:out])
            slot.hand_off(size, out, plain_digest, cipher_digest, last)
            if last:
                return
            slot, size, index = following, next_size, index + 1
    finally:
        _reclaim_all(ring)


def _open_chunk(
    open_into: Callable[[bytearray, memoryview, memoryview], int],
    nonce: bytearray,
    sealed: memoryview,
    out: memoryview,
    flags: tuple[bool, ...],
) -> bool | None:
    """Try each final flag in turn; the flag that authenticated, or None."""
    for final in flags:
        nonce[11] = final
        try:
            open_into(nonce, sealed, out)
        except primitives.AuthenticationFailed:
            continue
        return final
    return None


def open_payload(
    key: primitives.ChaCha20Poly1305Key,
    reader: Reader,
    write: Write,
    *,
    plain_digest: StreamDigest | None = None,
    cipher_digest: StreamDigest | None = None,
) -> None:
    """Decrypt STREAM chunks from ``reader`` to ``write``; raises :class:`PayloadError`.

    Succeeds only if a final chunk authenticates and is followed by end of stream.
    """
    ring = [_Slot(_SEALED_BLOCK, _PLAIN_BLOCK) for _ in range(_RING)]
    open_into = key.open_into
    nonce = bytearray(12)
    counter = 0
    index = 0
    slot = ring[0]
    try:
        size = reader.readinto(slot.inp)
        if size == 0:
            raise PayloadError("the file is truncated: there is no payload after the header")
        while True:
            following = ring[(index + 1) % _RING]
            next_size = 0
            if size == _SEALED_BLOCK:
                following.reclaim()
                next_size = reader.readinto(following.inp)
            pos = out = 0
            error: PayloadError | None = None
            done = False
            while pos < size:
                end = min(pos + SEALED_CHUNK_SIZE, size)
                more = end < size or next_size > 0
                length = end - pos
                nonce[:11] = counter.to_bytes(11, "big")
                if length <= TAG_SIZE and (length < TAG_SIZE or counter > 0):
                    error = PayloadError(
                        "the file is truncated: the last chunk is incomplete"
                        if length < TAG_SIZE
                        else "the final chunk is empty, which only an empty file may have"
                    )
                    break
                final = _open_chunk(
                    open_into,
                    nonce,
                    slot.inp[pos:end],
                    slot.out[out : out + length - TAG_SIZE],
                    # Only a full-size chunk can be either; try the likelier flag first.
                    (not more, more) if length == SEALED_CHUNK_SIZE else (True,),
                )
                if final is None:
                    error = PayloadError(
                        f"chunk {counter} failed to authenticate: "
                        "the file was damaged or tampered with"
                    )
                    break
                counter += 1
                pos, out = end, out + length - TAG_SIZE
                if final:
                    done = True
                    if more:
                        error = PayloadError(
                            "unexpected data after the final chunk: the file was extended"
                        )
                    break
            if out:
                write(slot.out[:out])
            slot.hand_off(size, out, cipher_digest, plain_digest, done or error is not None)
            if error is not None:
                raise error
            if done:
                return
            if next_size == 0:
                raise PayloadError("the file is truncated: it ends before the final chunk")
            slot, size, index = following, next_size, index + 1
    finally:
        _reclaim_all(ring)
