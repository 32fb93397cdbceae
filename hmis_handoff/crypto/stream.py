"""The age payload: ChaCha20-Poly1305 STREAM over 64 KiB chunks, in bounded memory.

Chunk ``i`` is sealed with nonce ``i`` (11 bytes, big endian) followed by ``0x01`` for the
final chunk and ``0x00`` otherwise. The final chunk may be full-size; it is empty only when
the whole payload is.

Data moves in blocks of :data:`BLOCK_CHUNKS` chunks through a ring of reusable buffers
(:mod:`~hmis_handoff.crypto.lanes`): one block of read-ahead tells us which chunk is
final, and writing and the optional SHA-256 digests run on worker lanes over blocks
already processed, overlapping the cipher. Memory use is a few MiB whatever the file size.

Decryption releases exactly what the reference implementation releases: every chunk that
authenticates is written before an error about a later chunk (or trailing data) is raised.
Callers that must never expose partial output write to a temp file and discard it on error
(see :func:`hmis_handoff.crypto.age.decrypt_file`).
"""

from __future__ import annotations

from collections.abc import Callable

from hmis_handoff.crypto import primitives
from hmis_handoff.crypto.errors import AuthenticationFailed, PayloadError
from hmis_handoff.crypto.lanes import (
    PAGE_SIZE,
    Lane,
    Slot,
    StreamDigest,
    page_offset,
    reclaim_all,
)
from hmis_handoff.crypto.readahead import Reader

__all__ = [
    "BLOCK_CHUNKS",
    "CHUNK_SIZE",
    "NONCE_SIZE",
    "SEALED_CHUNK_SIZE",
    "TAG_SIZE",
    "StreamDigest",
    "Write",
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

Write = Callable[[memoryview], object]


def payload_key(file_key: bytes, nonce: bytes) -> primitives.ChaCha20Poly1305Key:
    """The STREAM key: ``HKDF-SHA-256(ikm = file key, salt = nonce, info = "payload")``."""
    return primitives.ChaCha20Poly1305Key(primitives.hkdf_sha256(file_key, nonce, b"payload"))


def seal_payload(
    key: primitives.ChaCha20Poly1305Key,
    reader: Reader,
    write: Write,
    *,
    plain_digest: StreamDigest | None = None,
    cipher_digest: StreamDigest | None = None,
    written: int = 0,
) -> None:
    """Encrypt everything ``reader`` yields into STREAM chunks passed to ``write``.

    ``write`` is called from a worker thread, in order, and must consume its argument
    before returning. ``written`` is how many bytes precede the payload in the output
    (header and nonce); it only tunes buffer placement.
    """
    ring = [Slot(_PLAIN_BLOCK, _SEALED_BLOCK) for _ in range(_RING)]
    writer = Lane(write, "age-write")
    seal_into = key.seal_into
    nonce = bytearray(12)
    counter = 0
    index = 0
    slot = ring[0]
    try:
        slot.place(reader.page_offset(PAGE_SIZE), page_offset(written))
        size = reader.readinto(slot.inp)
        while True:
            following = ring[(index + 1) % _RING]
            next_size = 0
            if size == _PLAIN_BLOCK:
                following.reclaim()
                written += size + BLOCK_CHUNKS * TAG_SIZE
                following.place(reader.page_offset(PAGE_SIZE), page_offset(written))
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
            slot.hand_off(writer, slot.out[:out], last)
            slot.hand_off(plain_digest, slot.inp[:size], last)
            slot.hand_off(cipher_digest, slot.out[:out], last)
            if last:
                break
            slot, size, index = following, next_size, index + 1
    except BaseException:
        reclaim_all(ring, quietly=True)
        raise
    finally:
        writer.close()
    reclaim_all(ring)


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
        except AuthenticationFailed:
            continue
        return final
    return None


def _open_block(
    open_into: Callable[[bytearray, memoryview, memoryview], int],
    slot: Slot,
    size: int,
    counter: int,
    more_after: bool,
) -> tuple[int, int, bool, PayloadError | None]:
    """Open the chunks of one block: (plaintext length, next counter, final seen, error)."""
    nonce = bytearray(12)
    pos = out = 0
    while pos < size:
        end = min(pos + SEALED_CHUNK_SIZE, size)
        more = end < size or more_after
        length = end - pos
        if length < TAG_SIZE:
            return (
                out,
                counter,
                False,
                PayloadError("the file is truncated: the last chunk is incomplete"),
            )
        if length == TAG_SIZE and counter > 0:
            return (
                out,
                counter,
                False,
                PayloadError("the final chunk is empty, which only an empty file may have"),
            )
        nonce[:11] = counter.to_bytes(11, "big")
        final = _open_chunk(
            open_into,
            nonce,
            slot.inp[pos:end],
            slot.out[out : out + length - TAG_SIZE],
            # Only a full-size chunk can be either; try the likelier flag first.
            (not more, more) if length == SEALED_CHUNK_SIZE else (True,),
        )
        if final is None:
            return (
                out,
                counter,
                False,
                PayloadError(
                    f"chunk {counter} failed to authenticate: the file was damaged or tampered with"
                ),
            )
        counter += 1
        pos, out = end, out + length - TAG_SIZE
        if final:
            error = (
                PayloadError("unexpected data after the final chunk: the file was extended")
                if more
                else None
            )
            return out, counter, True, error
    return out, counter, False, None


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
    ``write`` is called from a worker thread, in order; every chunk that authenticated
    has been written when this returns or raises.
    """
    ring = [Slot(_SEALED_BLOCK, _PLAIN_BLOCK) for _ in range(_RING)]
    writer = Lane(write, "age-write")
    open_into = key.open_into
    counter = 0
    index = 0
    slot = ring[0]
    try:
        # Plaintext blocks are whole pages, so output views stay at offset 0.
        slot.place(reader.page_offset(PAGE_SIZE), 0)
        size = reader.readinto(slot.inp)
        if size == 0:
            raise PayloadError("the file is truncated: there is no payload after the header")
        while True:
            following = ring[(index + 1) % _RING]
            next_size = 0
            if size == _SEALED_BLOCK:
                following.reclaim()
                following.place(reader.page_offset(PAGE_SIZE), 0)
                next_size = reader.readinto(following.inp)
            out, counter, done, error = _open_block(open_into, slot, size, counter, next_size > 0)
            stop = done or error is not None or next_size == 0
            if out:
                slot.hand_off(writer, slot.out[:out], stop)
            slot.hand_off(cipher_digest, slot.inp[:size], stop)
            slot.hand_off(plain_digest, slot.out[:out], stop)
            if error is not None:
                raise error
            if done:
                break
            if next_size == 0:
                raise PayloadError("the file is truncated: it ends before the final chunk")
            slot, size, index = following, next_size, index + 1
    except BaseException:
        reclaim_all(ring, quietly=True)
        raise
    finally:
        writer.close()
    reclaim_all(ring)
