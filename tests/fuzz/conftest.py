"""Hypothesis profiles for the property tests (``HYPOTHESIS_PROFILE`` picks one).

* ``ci`` (default): bounded, a few seconds per test, part of every test run.
* ``long``: the documented longer run (README "Fuzzing"): many more examples, no deadline.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=_QUIET, derandomize=False
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("HANDOFF_FUZZ_EXAMPLES", "20000")),
    deadline=None,
    suppress_health_check=_QUIET,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
