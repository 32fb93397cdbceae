"""``handoff init``: a data root with its config, keys and folders.

Creates (all 0700 / 0600):

* ``handoff.toml`` with every setting commented, agencies and partners (demo ones with
  ``--demo``);
* ``state/signing.key`` (the CoC's Ed25519 manifest-signing key) and ``state/signing.pub``;
  its fingerprint (``SHA256:...``, the one form ``handoff decrypt --signer`` accepts and
  prints) is shown so the CoC can read it to partners, who pin it on their side. No key is
  put in the partner folders: a key next to a package proves nothing;
* ``keys/record-hmac.key`` (secret for keyed record hashes in the ledger; not in state/);
* ``keys/coc-archive.key``: the CoC archive identity. Only its *recipient* goes into the
  config: originals are kept encrypted to it. Move the identity off this host;
* with ``--demo``: ``demo-keys/demo-partner.key`` (a TEST identity for the demo partner;
  a real partner keeps its identity on its own machine) and a synthetic sample intake
  ``samples/demo-intake.csv``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hmis_handoff.crypto.age import X25519Identity, write_identity_file
from hmis_handoff.crypto.signing import SigningKey
from hmis_handoff.errors import ConfigError
from hmis_handoff.fsutil import atomic_write_text, ensure_private_dir
from hmis_handoff.layout import Layout
from hmis_handoff.signers import fingerprint_of
from hmis_handoff.workarea import load_or_create_secret
from usecases.demo import write_demo_intake

__all__ = ["DEMO_AGENCY", "DEMO_PARTNER", "initialise"]

DEMO_AGENCY = "demo-agency"
DEMO_PARTNER = "demo-partner"

_CONFIG_TEMPLATE = """\
# HMIS Handoff configuration. Environment variables override any value:
# HANDOFF_<SECTION>__<KEY>, e.g. HANDOFF_LEDGER__URL for [ledger] url.

# Runtime tree (drop folders, outboxes, ledger); relative to this file.
data_root = "."
timezone = "America/Chicago"
coc_code = "MO-606"
# Originals are kept only encrypted to this CoC archive key. Its identity was written to
# keys/coc-archive.key: move that file OFF this host (e.g. to the CoC's safe).
archive_recipient = "{archive_recipient}"

[ledger]
# Empty: SQLite at state/ledger.db. At scale: postgresql+psycopg://user@host/db
url = ""

[prefect]
host = "127.0.0.1"
port = {port}

[intake]
max_bytes = 52428800
max_rows = 200000
# A dropped file is claimed once its size and mtime hold still this long.
stable_seconds = 2.0
sweep_interval_seconds = 30.0
# true for network shares where file events never arrive; unset = auto-detect
# force_polling = true
# send_valid_rows: send the good rows, report the rest. reject_file: any error rejects all.
error_policy = "send_valid_rows"

[calendar]
calendar = "us-mo"        # US federal + Missouri (incl. Lincoln Day, Truman Day)
business_days = 3
due_soon_within = 1
cutoff = "17:00:00"       # files received later count from the next business day
clock_start = "intake_date"
extra_closures = []       # e.g. ["2026-11-27"] for a governor-declared closure
open_overrides = []

[retention]
archive_days = 30
rejected_days = 30

[notifications]
webhook_url = ""
[notifications.email]
host = ""
port = 25
sender = "hmis-handoff@localhost"
to = []
"""

_DEMO_ENTITIES = """
[[partners]]
id = "{partner}"
name = "Demo Data Partner (TEST KEY - not for client data)"
recipients = ["{recipient}"]

[[agencies]]
id = "{agency}"
name = "Demo Agency"
partner = "{partner}"
victim_service_provider = false
"""

_NO_ENTITIES = """
# Add one [[partners]] block per data partner and one [[agencies]] block per agency:
#
# [[partners]]
# id = "partner-id"
# name = "Partner name"
# recipients = ["age1..."]     # from the partner's `handoff keygen` / `age-keygen -y`
#
# [[agencies]]
# id = "agency-id"
# name = "Agency name"
# partner = "partner-id"
# victim_service_provider = false
"""


def initialise(directory: Path, *, demo: bool, port: int = 4200) -> list[str]:
    """Create the data root; returns lines to show the operator. Refuses to overwrite."""
    root = directory.expanduser().resolve()
    config_path = root / "handoff.toml"
    if config_path.exists():
        raise ConfigError(f"{config_path} already exists; refusing to overwrite it")
    ensure_private_dir(root)
    layout = Layout(root)
    agencies = [DEMO_AGENCY] if demo else []
    partners = [DEMO_PARTNER] if demo else []
    layout.create(agencies, partners)

    signing = SigningKey.generate()
    signing.save(layout.signing_key)
    atomic_write_text(layout.signing_public_key, str(signing.verify_key) + "\n")
    load_or_create_secret(layout.hmac_key)

    archive = X25519Identity.generate()
    keys_dir = ensure_private_dir(root / "keys")
    write_identity_file(
        keys_dir / "coc-archive.key",
        archive,
        comment_lines=["CoC ARCHIVE identity: move this file off the pipeline host."],
    )
    text = _CONFIG_TEMPLATE.format(archive_recipient=archive.recipient, port=port)
    lines = [f"created {root}", f"  config:       {config_path}"]
    if demo:
        partner_identity = X25519Identity.generate()
        demo_keys = ensure_private_dir(root / "demo-keys")
        write_identity_file(
            demo_keys / f"{DEMO_PARTNER}.key",
            partner_identity,
            comment_lines=["TEST identity of the demo partner. Never use for client data."],
        )
        text += _DEMO_ENTITIES.format(
            partner=DEMO_PARTNER, agency=DEMO_AGENCY, recipient=partner_identity.recipient
        )
        samples = ensure_private_dir(root / "samples")
        sample = samples / "demo-intake.csv"
        write_demo_intake(sample, agency_id=DEMO_AGENCY, today=datetime.now(UTC).date())
        lines += [
            f"  demo partner key (TEST): {demo_keys / (DEMO_PARTNER + '.key')}",
            f"  sample intake: {sample}",
            f"  drop it here:  {layout.agency_drop(DEMO_AGENCY)}",
        ]
    else:
        text += _NO_ENTITIES
    atomic_write_text(config_path, text, replace=False)
    fingerprint = fingerprint_of(signing.verify_key)
    lines += [
        f"  signing key fingerprint: {fingerprint} (read it to partners)",
        f"  partners pin it: handoff decrypt PKG -i KEY --signer {fingerprint}",
        f"  archive identity: {keys_dir / 'coc-archive.key'} (move it off this host)",
    ]
    return lines
