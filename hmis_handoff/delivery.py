"""Deliver a package to one partner channel, exactly once (use case; Prefect-free).

A package in the partner's outbox is three files (``<id>.age``, ``<id>.manifest.json``,
``<id>.manifest.json.sig``). A *channel* (SFTP push, e-mail) carries copies of them to
the partner. Contract of :func:`deliver`:

1. If the ledger says this package was delivered on this channel, nothing is sent again.
2. The attempt is counted in the ledger before any byte moves.
3. The channel is asked whether the package is already there, verified (an SFTP upload
   that finished before a crash killed us ahead of the ledger commit): if so, the
   delivery is recorded without sending.
4. Otherwise it is sent; the channel returns its proof (remote name, verified SHA-256)
   and the ledger records ``delivered``. A crash between 4's send and its commit is
   resolved by step 3 on the next attempt (SFTP). E-mail cannot be looked up on the
   far side: its Message-ID is derived from package and channel, so a resend after such
   a crash is recognisable as the same message by the recipient's mail system.

Failures raise :class:`~hmis_handoff.errors.RetriableError` (retry later) or a
:class:`~hmis_handoff.errors.HandoffError` an operator must fix; the error *type* is kept
on the delivery row. The crash point ``delivery-uploaded`` (see
:mod:`hmis_handoff.failpoints`) sits between the send and the ledger commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hmis_handoff.failpoints import failpoint
from hmis_handoff.ledger import Ledger
from hmis_handoff.ledger.deliveries import (
    DeliveryView,
    begin_attempt,
    delivered_pairs,
    mark_delivered,
    note_failure,
    packages_of,
)
from hmis_handoff.ledger.models import DeliveryState

__all__ = [
    "FAILPOINT_UPLOADED",
    "Channel",
    "DeliveryOutcome",
    "Outstanding",
    "PackageFiles",
    "Proof",
    "deliver",
    "outstanding",
]

FAILPOINT_UPLOADED = "delivery-uploaded"


@dataclass(frozen=True)
class PackageFiles:
    """The outbox files of one package, and what the ledger knows of it (no PII)."""

    package_id: str
    partner_id: str
    record_count: int
    ciphertext_sha256: str
    age: Path
    manifest: Path
    signature: Path

    @classmethod
    def in_outbox(
        cls, outbox: Path, package_id: str, partner_id: str, record_count: int, sha256: str
    ) -> PackageFiles:
        return cls(
            package_id=package_id,
            partner_id=partner_id,
            record_count=record_count,
            ciphertext_sha256=sha256,
            age=outbox / f"{package_id}.age",
            manifest=outbox / f"{package_id}.manifest.json",
            signature=outbox / f"{package_id}.manifest.json.sig",
        )

    def files(self) -> tuple[Path, Path, Path]:
        """In sending order: the signature last (its arrival completes the package)."""
        return (self.age, self.manifest, self.signature)


@dataclass
class Outstanding:
    """What one partner's channels still lack: (package id, channel id) pairs to deliver,
    and the pairs left out because they are delivered already or gone from the outbox."""

    due: list[tuple[str, str]] = field(default_factory=list)
    already: int = 0
    missing: int = 0


def outstanding(
    ledger: Ledger, partner_id: str, outbox: Path, channel_ids: Iterable[str]
) -> Outstanding:
    """Every package of ``partner_id`` not yet delivered on each of ``channel_ids``, oldest
    first. A package whose signature is no longer in the outbox (the partner took it
    already) is counted ``missing``, never sent: a channel copies what the outbox holds."""
    channels = list(channel_ids)
    found = Outstanding()
    finished = delivered_pairs(ledger, partner_id)
    for ref in packages_of(ledger, partner_id):
        files = PackageFiles.in_outbox(
            outbox, ref.package_id, partner_id, ref.record_count, ref.ciphertext_sha256
        )
        for channel_id in channels:
            if (ref.package_id, channel_id) in finished:
                found.already += 1
            elif not files.signature.exists():
                found.missing += 1
            else:
                found.due.append((ref.package_id, channel_id))
    return found


@dataclass(frozen=True)
class Proof:
    """What the channel verified: the name there and the ciphertext SHA-256."""

    remote_ref: str
    sha256: str


class Channel(Protocol):
    """A way to carry a package to a partner (connectors: SFTP push, e-mail)."""

    kind: str

    def find(self, package: PackageFiles) -> Proof | None:
        """The proof if the complete, verified package is already there, else None."""
        ...

    def send(self, package: PackageFiles) -> Proof:
        """Carry the package; return the verified proof. Raises on any failure."""
        ...


@dataclass(frozen=True)
class DeliveryOutcome:
    """The result of one :func:`deliver` call: ids, counts and states only."""

    package_id: str
    partner_id: str
    channel_id: str
    kind: str
    state: str
    attempts: int
    sent_now: bool
    found_remote: bool
    verified_sha256: str | None


def _outcome(view: DeliveryView, *, sent_now: bool, found_remote: bool) -> DeliveryOutcome:
    return DeliveryOutcome(
        package_id=view.package_id,
        partner_id=view.partner_id,
        channel_id=view.channel_id,
        kind=view.kind,
        state=view.state,
        attempts=view.attempts,
        sent_now=sent_now,
        found_remote=found_remote,
        verified_sha256=view.verified_sha256,
    )


def deliver(
    ledger: Ledger, channel_id: str, channel: Channel, package: PackageFiles
) -> DeliveryOutcome:
    """Deliver ``package`` on ``channel`` unless already done (see module docstring)."""
    view = begin_attempt(ledger, package.package_id, package.partner_id, channel_id, channel.kind)
    if view.state == DeliveryState.DELIVERED:
        return _outcome(view, sent_now=False, found_remote=False)
    try:
        proof = channel.find(package)
        found = proof is not None
        if proof is None:
            proof = channel.send(package)
            failpoint(FAILPOINT_UPLOADED)
    except Exception as exc:
        note_failure(ledger, package.package_id, channel_id, type(exc).__name__)
        raise
    done = mark_delivered(
        ledger,
        package.package_id,
        channel_id,
        remote_ref=proof.remote_ref,
        verified_sha256=proof.sha256,
    )
    return _outcome(done, sent_now=not found, found_remote=found)
