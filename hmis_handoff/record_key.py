"""Where the record HMAC key lives: ``keys/record-hmac.key``, not beside the ledger.

The ledger stores keyed hashes (HMAC-SHA256) of names, DOBs and SSNs. Whoever holds the
ledger **and** the key can test guesses offline: an SSN has only 10^9 values, so the key
is what stands between a copied ledger and the SSNs of the clients in it (SECURITY.md).
Earlier versions kept the key in ``state/`` beside ``ledger.db``, so one copy of ``state/``
(a backup, a support bundle) held both. It now lives in ``keys/`` (0700, the key 0600),
the folder that already holds the CoC archive identity, so ``state/`` can be backed up or
handed over alone. :func:`adopt_legacy_hmac_key` moves an old key once, by rename.
"""

from __future__ import annotations

import os
from pathlib import Path

from hmis_handoff.fsutil import ensure_private_dir, fsync_dir
from hmis_handoff.layout import Layout
from hmis_handoff.workarea import RECORD_HMAC_KEY

__all__ = ["LEGACY_HMAC_KEY", "adopt_legacy_hmac_key"]

#: The key's old place, relative to the data root.
LEGACY_HMAC_KEY = Path("state") / RECORD_HMAC_KEY


def adopt_legacy_hmac_key(layout: Layout) -> None:
    """Move ``state/record-hmac.key`` to :attr:`Layout.hmac_key` if only the old one exists.

    Idempotent and safe to call on every start: it does nothing when the new key exists
    (then an old copy is left for an operator to remove; we never pick between two keys)
    or when there is no old key. The rename keeps the key's bytes and mode (0600).
    """
    legacy = layout.root / LEGACY_HMAC_KEY
    target = layout.hmac_key
    if target.exists() or not legacy.is_file() or legacy.is_symlink():
        return
    ensure_private_dir(target.parent)
    os.chmod(legacy, 0o600)
    try:
        os.link(legacy, target)  # never replaces a key another process just created
    except FileExistsError:
        return
    legacy.unlink()
    fsync_dir(target.parent)
    fsync_dir(legacy.parent)
