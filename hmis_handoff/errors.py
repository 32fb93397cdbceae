"""The one exception tree of the project, grouped by what should happen next.

Every exception class defined in our code derives from :class:`HandoffError` and is drawn
below, one line each: when it is raised, and whether its message may be shown to people
("shown": operators, agencies or partners may read it in a report, a log, a Prefect state
or at the command line; "internal": caught where it is raised, never reaches anyone).
Classes marked ``crypto`` are the crypto sub-package's public API and are defined in
:mod:`hmis_handoff.crypto.errors`; every other class is defined here. A second base in
parentheses is kept so that ``except ValueError`` clauses still catch it.

::

    HandoffError                  root; raised bare for a one-off refusal at the command line; shown
    ├── ConfigError               configuration missing or invalid (names the field); shown
    ├── FileRejected              a whole file is refused, with a rule id; shown to the agency
    ├── IntegrityError            a package, signature or ledger invariant failed: stop; shown
    │   ├── AgeError              crypto: an age file cannot be decrypted; shown
    │   │   ├── NoIdentityMatch   crypto: no identity unwraps any recipient stanza; shown
    │   │   ├── HeaderError       crypto: age header malformed, unsupported or bad share; shown
    │   │   ├── HeaderMacError    crypto: age header MAC does not verify (edited); shown
    │   │   ├── PayloadError      crypto: a chunk fails to authenticate, or bad length; shown
    │   │   └── ArmorError        crypto: ASCII armor is not strict PEM; shown
    │   ├── PackageError          crypto: a package cannot be written or trusted; shown
    │   │   ├── PackageIncomplete     crypto: manifest or signature file missing; shown
    │   │   ├── SignatureInvalid      crypto: the .sig file is no manifest signature; shown
    │   │   ├── WrongSigner           crypto: signed by a key that is not trusted; shown
    │   │   ├── ManifestTampered      crypto: manifest edited after signing; shown
    │   │   ├── ManifestInvalid       crypto: signed manifest malformed or foreign; shown
    │   │   ├── CiphertextMismatch    crypto: .age hash or size differs from manifest; shown
    │   │   │   └── CiphertextTruncated   crypto: .age shorter than the manifest; shown
    │   │   ├── PlaintextMismatch     crypto: decrypted hash differs from manifest; shown
    │   │   └── PackageConflict       crypto: another package has this id in the outbox; shown
    │   └── SignatureError        crypto: no proof that a trusted key signed the data; shown
    │       ├── MalformedSignature    crypto: not a well-formed SSHSIG for the namespace; shown
    │       ├── UntrustedSigner       crypto: signed by a key not among the trusted; shown
    │       └── BadSignature          crypto: does not verify (data changed); shown
    ├── RetriableError            an I/O blip; the next sweep or a retry may succeed; shown
    ├── KeyFormatError            crypto (and ValueError): malformed key string or file; shown
    ├── Bech32Error               crypto (and ValueError): not Bech32; internal (KeyFormatError)
    ├── CryptoPrimitiveError      crypto: a primitive failed; internal: the caller words it
    │   ├── AuthenticationFailed  crypto: an AEAD tag, HPKE ciphertext or HMAC fails; internal
    │   ├── LowOrderPoint         crypto: X25519 gives the all-zero secret; internal, fixed text
    │   └── InvalidKey            crypto (and ValueError): bytes are not such a key; internal
    ├── UnsafeFolderError         a folder is a link, not a directory or not ours; shown
    ├── IntakeValidationError     a frame does not fit its model, or pandera failed; shown
    ├── ConfirmationRefused       one confirmation cannot be used (rule id); shown to partner
    ├── TransferRefused           the other side of a transfer is untrusted or refuses; shown
    ├── PartnerPackageRefused     the partner's decrypt command refuses a package; shown
    │   ├── PackageNotFound       no package file at the path given; shown to the partner
    │   ├── WrongKey              not encrypted to the partner's identity; shown to partner
    │   ├── SignerNotPinned       signed by a key the partner has not pinned; shown to partner
    │   └── Tampered              manifest, ciphertext or plaintext changed; shown to partner
    ├── StackStopped              a stop signal reached ``handoff up``; internal
    ├── CopyGrewTooLarge          a file grew past the limit while copied; internal
    └── ControlCharacterFound     a control character in a text file; internal

Every message is built from fixed text, rule ids, counts, internal ids and (for folders)
the folder's role: never a cell value or an agency's file name, since these exceptions reach
Prefect state messages, logs and events. The partner's own command may name the paths the
partner typed.
"""

from __future__ import annotations

__all__ = [
    "RULE_FOLDER_UNSAFE",
    "ConfigError",
    "ConfirmationRefused",
    "ControlCharacterFound",
    "CopyGrewTooLarge",
    "FileRejected",
    "HandoffError",
    "IntakeValidationError",
    "IntegrityError",
    "PackageNotFound",
    "PartnerPackageRefused",
    "RetriableError",
    "SignerNotPinned",
    "StackStopped",
    "Tampered",
    "TransferRefused",
    "UnsafeFolderError",
    "WrongKey",
]

RULE_FOLDER_UNSAFE = "FOLDER-UNSAFE"


class HandoffError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(HandoffError):
    """Raised when configuration is missing or invalid; the message names the field."""


class FileRejected(HandoffError):
    """Raised when a whole file cannot be accepted.

    ``rule_id`` is a stable id from the rule catalogue; ``detail`` is fixed, value-free text
    (e.g. "line 7 has 8 fields; the header has 7").
    """

    def __init__(self, rule_id: str, detail: str = "") -> None:
        self.rule_id = rule_id
        self.detail = detail
        super().__init__(f"{rule_id}: {detail}" if detail else rule_id)


class IntegrityError(HandoffError):
    """Raised when a package, signature or ledger invariant does not hold."""


class RetriableError(HandoffError):
    """Raised on a transient failure that a later attempt may get past."""


class UnsafeFolderError(HandoffError):
    """A folder we must use is a symlink, not a directory, or owned by someone else.

    ``rule_id`` is ``FOLDER-UNSAFE``; ``role`` says which folder (e.g. ``drop of agency
    a1``). The message is fixed text plus the role: safe for logs and Prefect.
    """

    def __init__(self, role: str, why: str) -> None:
        self.rule_id = RULE_FOLDER_UNSAFE
        self.role = role
        super().__init__(
            f"{RULE_FOLDER_UNSAFE}: the {role} folder is refused ({why}); an operator must "
            "replace it with a plain directory owned by the pipeline's user"
        )


class IntakeValidationError(HandoffError):
    """Raised when validation fails unexpectedly; the message names no value."""


class ConfirmationRefused(HandoffError):
    """A single confirmation could not be used; ``rule_id`` says why (catalogued)."""

    def __init__(self, rule_id: str, detail: str) -> None:
        self.rule_id = rule_id
        super().__init__(f"{rule_id}: {detail}")


class TransferRefused(HandoffError):
    """Raised when the other side cannot be trusted or refuses us (not worth retrying).

    A host key that does not match the pinned one, a key file with loose permissions, or
    a permission denied on the folder: an operator must act.
    """


class PartnerPackageRefused(HandoffError):
    """Raised by the partner's decrypt command when a package cannot be opened and trusted."""


class PackageNotFound(PartnerPackageRefused):
    """The package file given does not exist."""


class WrongKey(PartnerPackageRefused):
    """The package was not encrypted to the partner's identity."""


class SignerNotPinned(PartnerPackageRefused):
    """The package was signed by a key the partner has not pinned."""


class Tampered(PartnerPackageRefused):
    """The package's manifest, ciphertext or plaintext changed after signing."""


class StackStopped(HandoffError):
    """Raised in the main thread of ``handoff up`` when a stop signal arrives."""


class CopyGrewTooLarge(HandoffError):
    """Internal: the original grew past the size limit while it was copied."""


class ControlCharacterFound(HandoffError):
    """Internal: a control character in a text file (raised from a line generator, caught by
    its reader). ``nul`` tells a NUL byte (a binary file) from other control characters."""

    def __init__(self, nul: bool) -> None:
        super().__init__()
        self.nul = nul
