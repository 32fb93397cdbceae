"""Round trips through our own encrypt/decrypt, key encodings, and the header encoder."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hmis_handoff.crypto import bech32
from hmis_handoff.crypto.age import (
    HybridIdentity,
    KeyFormatError,
    NoIdentityMatch,
    X25519Identity,
    X25519Recipient,
    decrypt,
    decrypt_with_stats,
    encrypt,
    encrypt_with_stats,
    parse_identity,
    parse_recipient,
)
from hmis_handoff.crypto.errors import Bech32Error
from hmis_handoff.crypto.header import encode_header, parse_header
from hmis_handoff.crypto.readahead import Reader
from hmis_handoff.crypto.stream import CHUNK_SIZE, SEALED_CHUNK_SIZE

from .conftest import KIB, MIB, REPO_ROOT, random_payload
from .test_age_vectors import load_vector, vector_paths

# Examples from the age specification (c2sp.org/age).
SPEC_X25519_IDENTITY = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
SPEC_X25519_RECIPIENT = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
SPEC_PQ_IDENTITY = "AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR"
SPEC_PQ_RECIPIENT_HEAD = "age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5zr"
SPEC_PQ_RECIPIENT_TAIL = "yty7saeq0d3fzv49zc0k"  # ends in the Bech32 checksum over everything

SIZES = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    2 * CHUNK_SIZE,
    512 * KIB,
    512 * KIB + 1,
    3 * MIB + 5,
]


def roundtrip(data: bytes, recipients: list[X25519Recipient], identity: X25519Identity) -> bytes:
    sealed = io.BytesIO()
    encrypt(io.BytesIO(data), sealed, recipients)
    opened = io.BytesIO()
    decrypt(io.BytesIO(sealed.getvalue()), opened, [identity])
    return opened.getvalue()


def sealed_size(n: int) -> int:
    chunks = max(1, -(-n // CHUNK_SIZE))
    return n + 16 * chunks


@pytest.mark.parametrize("size", SIZES)
def test_roundtrip_sizes(size: int, identity: X25519Identity) -> None:
    data = random_payload(size, seed=size)
    sealed = io.BytesIO()
    stats = encrypt_with_stats(io.BytesIO(data), sealed, [identity.recipient])
    body = sealed.getvalue()
    assert stats.plaintext_size == size
    assert stats.ciphertext_size == len(body)
    header_end = body.index(b"\n---") + 1 + len("--- ") + 43 + 1
    assert len(body) - header_end - 16 == sealed_size(size)
    opened = io.BytesIO()
    back = decrypt_with_stats(io.BytesIO(body), opened, [identity])
    assert opened.getvalue() == data
    assert back == stats


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=3 * SEALED_CHUNK_SIZE))
def test_roundtrip_property(data: bytes) -> None:
    identity = X25519Identity.generate()
    assert roundtrip(data, [identity.recipient], identity) == data


def test_two_recipients_each_decrypts(
    identity: X25519Identity, other_identity: X25519Identity
) -> None:
    data = random_payload(100_000)
    recipients = [identity.recipient, other_identity.recipient]
    assert roundtrip(data, recipients, identity) == data
    assert roundtrip(data, recipients, other_identity) == data


def test_wrong_identity_is_no_match(
    identity: X25519Identity, other_identity: X25519Identity
) -> None:
    with pytest.raises(NoIdentityMatch, match="encrypted to another key"):
        roundtrip(b"secret", [identity.recipient], other_identity)


def test_hybrid_roundtrip_and_no_mixing() -> None:
    hybrid = HybridIdentity.generate()
    data = random_payload(70_000)
    sealed = io.BytesIO()
    encrypt(io.BytesIO(data), sealed, [hybrid.recipient])
    assert b"-> mlkem768x25519 " in sealed.getvalue()
    opened = io.BytesIO()
    decrypt(io.BytesIO(sealed.getvalue()), opened, [X25519Identity.generate(), hybrid])
    assert opened.getvalue() == data
    with pytest.raises(ValueError, match="cannot be mixed"):
        encrypt(
            io.BytesIO(b""), io.BytesIO(), [hybrid.recipient, X25519Identity.generate().recipient]
        )
    with pytest.raises(ValueError, match="at least one recipient"):
        encrypt(io.BytesIO(b""), io.BytesIO(), [])


def test_spec_key_examples() -> None:
    identity = parse_identity(SPEC_X25519_IDENTITY)
    assert str(identity) == SPEC_X25519_IDENTITY
    assert str(identity.recipient) == SPEC_X25519_RECIPIENT
    assert parse_recipient(SPEC_X25519_RECIPIENT) == identity.recipient
    pq = parse_identity(SPEC_PQ_IDENTITY)
    assert str(pq) == SPEC_PQ_IDENTITY
    pq_recipient = str(pq.recipient)
    assert pq_recipient.startswith(SPEC_PQ_RECIPIENT_HEAD)
    assert pq_recipient.endswith(SPEC_PQ_RECIPIENT_TAIL)
    assert parse_recipient(pq_recipient) == pq.recipient


def test_recipient_fingerprint_is_short_and_stable() -> None:
    recipient = X25519Recipient.parse(SPEC_X25519_RECIPIENT)
    assert recipient.fingerprint == X25519Recipient.parse(SPEC_X25519_RECIPIENT).fingerprint
    assert len(recipient.fingerprint) == 12
    assert int(recipient.fingerprint, 16) >= 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SPEC_X25519_IDENTITY, "secret key"),
        (SPEC_X25519_RECIPIENT.upper(), "not an age recipient"),
        (SPEC_X25519_RECIPIENT[:-1] + "q", "checksum|Bech32"),
        ("age1" + "q" * 10, "Bech32"),
        ("ssh-ed25519 AAAAC3Nza", "not an age recipient"),
        ("", "not an age recipient"),
    ],
)
def test_bad_recipients(text: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message) as caught:
        parse_recipient(text)
    if text:
        assert text not in str(caught.value)


def test_bad_identity_messages_never_quote_the_key() -> None:
    broken = SPEC_X25519_IDENTITY[:-1] + "Q"
    for text in (broken, broken.lower(), SPEC_X25519_IDENTITY[:-2], SPEC_X25519_RECIPIENT):
        with pytest.raises(KeyFormatError) as caught:
            parse_identity(text)
        assert text not in str(caught.value)
        assert "GFPYYSJZ" not in str(caught.value)


def test_identity_repr_hides_secret(identity: X25519Identity) -> None:
    assert str(identity) not in repr(identity)
    assert str(identity.recipient) in repr(identity)
    hybrid = HybridIdentity.generate()
    assert str(hybrid) not in repr(hybrid)


def test_bech32_rejects_mixed_case_and_bad_padding() -> None:
    with pytest.raises(Bech32Error):
        bech32.decode("Age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
    assert bech32.decode(bech32.encode("test", b"\x00\xff")) == ("test", b"\x00\xff")
    assert bech32.encode("ABC", b"\x01").isupper()


def test_header_encoder_reproduces_vector_headers() -> None:
    """Re-encoding every successfully parsed X25519 vector header with its file key is exact."""
    checked = 0
    for path in vector_paths():
        vector = load_vector(path)
        if vector.expect != "success" or vector.armored:
            continue
        file_key = bytes.fromhex(
            next(
                line.split(": ", 1)[1]
                for line in path.read_bytes().partition(b"\n\n")[0].decode().splitlines()
                if line.startswith("file key: ")
            )
        )
        header = parse_header(Reader(io.BytesIO(vector.body)))
        assert encode_header(header.stanzas, file_key) == header.raw, vector.name
        checked += 1
    assert checked >= 15


_RSS_CHILD = """
import io, sys
from hmis_handoff.crypto.age import X25519Identity, encrypt

class Zeros(io.RawIOBase):
    def __init__(self, size): self.left = size
    def readable(self): return True
    def readinto(self, view):
        n = min(len(view), self.left); view[:n] = bytes(n); self.left -= n; return n

class Discard(io.RawIOBase):
    def writable(self): return True
    def write(self, view): return len(view)

identity = X25519Identity.generate()
size = int(sys.argv[1])
encrypt(Zeros(size), Discard(), [identity.recipient])
with open("/proc/self/status") as status:
    print(next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_memory_stays_flat() -> None:
    """Peak RSS of a process encrypting 512 MiB is within a few MiB of one encrypting 1 MiB."""

    def peak_kib(size: int) -> int:
        result = subprocess.run(
            [sys.executable, "-c", _RSS_CHILD, str(size)],
            capture_output=True,
            check=True,
            timeout=120,
            cwd=REPO_ROOT,
        )
        return int(result.stdout)

    small, large = peak_kib(MIB), peak_kib(512 * MIB)
    assert large - small < 16 * 1024, (small, large)


class FailingSink:
    """Accepts ``budget`` writes, then fails like a full disk."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.written = 0

    def write(self, view: memoryview) -> int:
        if self.budget == 0:
            raise OSError(28, "No space left on device")
        self.budget -= 1
        self.written += len(view)
        return len(view)


@pytest.mark.parametrize("budget", [0, 1, 3])
def test_write_errors_propagate_from_the_writer_lane(identity: X25519Identity, budget: int) -> None:
    data = random_payload(4 * MIB)
    with pytest.raises(OSError, match="No space left"):
        encrypt(io.BytesIO(data), FailingSink(budget), [identity.recipient])
    sealed = io.BytesIO()
    encrypt(io.BytesIO(data), sealed, [identity.recipient])
    with pytest.raises(OSError, match="No space left"):
        decrypt(io.BytesIO(sealed.getvalue()), FailingSink(budget), [identity])


def test_partial_writes_are_completed(identity: X25519Identity) -> None:
    class Dribble(io.BytesIO):
        def write(self, data: bytes | memoryview) -> int:  # type: ignore[override]
            return super().write(bytes(data)[:1000])

    data = random_payload(300_000)
    out = Dribble()
    encrypt(io.BytesIO(data), out, [identity.recipient])
    opened = io.BytesIO()
    decrypt(io.BytesIO(out.getvalue()), opened, [identity])
    assert opened.getvalue() == data
