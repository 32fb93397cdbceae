"""Intake file schemas: columns, HUD code lists, rule catalogue, validation.

The public surface: :func:`schemas.validate.validate_intake` (and
:class:`schemas.validate.ChunkedValidation` for large files, :func:`schemas.batch.validate_batch`
for many small files), all running the pandera intake schema of :mod:`schemas.intake_schema`;
the column contract in :mod:`schemas.columns`, the rule catalogue in :mod:`schemas.rules`
(rendered to ``docs/rules.md`` by :mod:`schemas.rules_page`), the pandera models in
:mod:`schemas.intake` (a partial, context-free model kept for its tests) and
:mod:`schemas.confirmation`. Nothing here imports Prefect.
"""
