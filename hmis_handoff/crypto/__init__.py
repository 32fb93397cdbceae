"""Encryption and signing for packages: age v1 files and Ed25519-signed manifests.

Modules: :mod:`~hmis_handoff.crypto.age` (the age format, the public entry point for
encrypting and decrypting), :mod:`~hmis_handoff.crypto.signing` (the CoC signing key),
:mod:`~hmis_handoff.crypto.package` (a partner package: ciphertext + signed manifest),
:mod:`~hmis_handoff.crypto.keys` (checking configured recipients). Only
:mod:`~hmis_handoff.crypto.primitives` imports ``cryptography``.
"""
