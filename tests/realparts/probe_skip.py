"""Probe for test_required_parts: a skip and an xfail (run explicitly, never collected)."""

import pytest


def test_skips() -> None:
    pytest.skip("probe skip")


@pytest.mark.xfail(reason="probe xfail", strict=False)
def test_xfails() -> None:
    raise AssertionError("expected by the probe")
