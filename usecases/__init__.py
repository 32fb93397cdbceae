"""The use cases: what HMIS Handoff does, written once, free of Prefect.

Hand off a claimed intake file (:mod:`usecases.handoff`), keep one claim's failure from
blocking the others (:mod:`usecases.isolation`), read a data partner's inbox
(:mod:`usecases.partner_inbox`: confirmations via :mod:`usecases.confirm_entries`, HMIS
exports via :mod:`usecases.reconcile`), set up a data root (:mod:`usecases.initialise`).
They stand on :mod:`schemas` and :mod:`connectors`, which stand on the core
(:mod:`hmis_handoff`); :mod:`flows` and :mod:`cli` call them. See docs/architecture.md.
"""
