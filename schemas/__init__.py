"""Intake file schemas: columns, HUD code lists, rule catalogue, validation.

The public surface: :func:`schemas.validate.validate_intake` (and
:class:`schemas.validate.ChunkedValidation` for large files), the column contract in
:mod:`schemas.columns`, the rule catalogue in :mod:`schemas.rules`, the pandera models in
:mod:`schemas.intake` and :mod:`schemas.confirmation`. Nothing here imports Prefect.
"""
