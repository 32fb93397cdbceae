"""Encryption and signing for partner packages: age v1 files and Ed25519-signed manifests.

Entry points other code uses:

* :mod:`~hmis_handoff.crypto.age`: encrypt/decrypt age files (streams or files), keys and
  key files, and the error classes.
* :mod:`~hmis_handoff.crypto.package`: a partner package (ciphertext + signed manifest):
  write it, check it is complete, verify and decrypt it.
* :mod:`~hmis_handoff.crypto.signing`: the CoC's Ed25519 signing key and SSHSIG signatures.
* :mod:`~hmis_handoff.crypto.keys`: validating configured recipients, spotting secret keys.

Internals: :mod:`~hmis_handoff.crypto.primitives` (the only module importing
``cryptography``), :mod:`~hmis_handoff.crypto.bech32`, :mod:`~hmis_handoff.crypto.header`,
:mod:`~hmis_handoff.crypto.stream`, :mod:`~hmis_handoff.crypto.lanes`,
:mod:`~hmis_handoff.crypto.readahead`, :mod:`~hmis_handoff.crypto.armor`,
:mod:`~hmis_handoff.crypto.recipients` and :mod:`~hmis_handoff.crypto.errors`.
"""
