"""The data partner's side: ``handoff decrypt`` (verify the signed manifest, then decrypt).

Which signing keys are trusted, first match wins:

1. ``--signer`` values (``ed25519:...`` strings or files holding one);
2. ``coc-signing.pub`` beside the partner's outbox folder (placed there by ``handoff init``);
3. ``state/signing.pub`` of the configuration, if one is found.

The fingerprint of the key that verified the package is printed, so partners can compare
it with the one the CoC read to them over the phone.
"""

from __future__ import annotations

from pathlib import Path

from hmis_handoff.config import load_settings, resolve_config_path
from hmis_handoff.crypto.age import parse_identities_file
from hmis_handoff.crypto.package import verify_and_decrypt
from hmis_handoff.crypto.signing import VerifyKey
from hmis_handoff.errors import ConfigError, HandoffError
from hmis_handoff.layout import Layout


def _signer_from(value: str) -> VerifyKey:
    candidate = Path(value)
    text = candidate.read_text(encoding="utf-8").strip() if candidate.is_file() else value
    return VerifyKey.parse(text)


def trusted_signers(
    package: Path, signers: list[str] | None, config: Path | None
) -> list[VerifyKey]:
    """The signing keys to trust for ``package`` (see the module docstring)."""
    if signers:
        return [_signer_from(s) for s in signers]
    beside = package.resolve().parent.parent / "coc-signing.pub"
    if beside.is_file():
        return [_signer_from(str(beside))]
    try:
        settings = load_settings(config) if config or resolve_config_path().is_file() else None
    except ConfigError:
        settings = None
    if settings is not None:
        pub = Layout(settings.root).signing_public_key
        if pub.is_file():
            return [_signer_from(str(pub))]
    raise ConfigError(
        "no trusted CoC signing key: pass --signer ed25519:... (ask the CoC for it) "
        "or keep coc-signing.pub beside your outbox folder"
    )


def decrypt_package(
    package: Path,
    *,
    identity: Path,
    out: Path,
    signers: list[str] | None = None,
    config: Path | None = None,
) -> list[str]:
    """Verify and decrypt; returns lines for the partner. Raises HandoffError on any failure.

    Nothing is written unless the signature, the ciphertext hash and every chunk verify.
    """
    if out.exists():
        raise HandoffError(f"{out} exists; refusing to overwrite it")
    identities = parse_identities_file(identity)
    keys = trusted_signers(package, signers, config)
    manifest = verify_and_decrypt(package, out, identities=identities, trusted_signers=keys)
    return [
        f"verified: signed by the CoC key {manifest.signer}",
        f"package {manifest.package_id}: {manifest.record_count} record(s) from agency "
        f"{manifest.agency_id}, created {manifest.created_at}",
        f"wrote {out}",
    ]
