"""The use cases: what HMIS Handoff does, written once, free of Prefect.

Hand off a claimed intake file (:mod:`usecases.handoff`), a batch of them judged together
(:mod:`usecases.handoff_batch`), keep one claim's failure from blocking the others
(:mod:`usecases.isolation`), sum up an ingest run (:mod:`usecases.ingest_outcomes`), read a
data partner's inbox (:mod:`usecases.partner_inbox`: confirmations via
:mod:`usecases.confirm_entries`, HMIS exports via :mod:`usecases.reconcile`), fetch remote
drop folders (:mod:`usecases.remote_intake`), send overdue notices
(:mod:`usecases.send_notices`), set up a data root (:mod:`usecases.initialise`).
They stand on :mod:`schemas` and :mod:`connectors`, which stand on the core
(:mod:`hmis_handoff`); :mod:`flows` and :mod:`cli` call them. See docs/architecture.md.
"""
