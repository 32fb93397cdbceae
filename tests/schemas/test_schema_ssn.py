"""SSN validity (hmis-domain.md §2.1): the vectorised rules agree with a scalar reference."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import ssn

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)
ssn_like = st.text(alphabet="0123456789xX-", min_size=0, max_size=11)


def _series(values: list[str], dtype: str) -> pd.Series:
    return pd.Series(values, dtype=dtype)


@settings(max_examples=150, deadline=None)
@given(st.lists(nine_digits, min_size=1, max_size=40), st.sampled_from(["str", "object"]))
def test_vectorised_matches_reference(values: list[str], dtype: str) -> None:
    flagged = ssn.invalid_mask(_series(values, dtype)).tolist()
    assert flagged == [not ssn.is_valid_ssn(v) for v in values]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 9), st.integers(0, 9), st.booleans())
def test_every_rotation_and_reverse_of_0_to_9_is_invalid(start: int, _: int, reverse: bool) -> None:
    run = ("0123456789" * 2)[start : start + 9]
    value = run[::-1] if reverse else run
    assert not ssn.is_valid_ssn(value)
    assert ssn.invalid_mask(_series([value], "str")).tolist() == [True]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 9))
def test_repeated_digit_is_invalid(digit: int) -> None:
    assert ssn.invalid_mask(_series([str(digit) * 9], "str")).tolist() == [True]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 899).filter(lambda a: a != 666), st.integers(1, 99), st.integers(1, 9999))
def test_issued_ranges_are_valid_unless_special(area: int, group: int, serial: int) -> None:
    value = f"{area:03d}{group:02d}{serial:04d}"
    expected = value not in ssn.SEQUENTIAL_RUNS | ssn.REPEATED_DIGITS | ssn.KNOWN_INVALID
    assert ssn.is_valid_ssn(value) is expected
    assert ssn.invalid_mask(_series([value], "object")).tolist() == [not expected]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 999), st.integers(0, 99), st.integers(0, 9999))
def test_never_issued_parts_are_invalid(area: int, group: int, serial: int) -> None:
    value = f"{area:03d}{group:02d}{serial:04d}"
    if area in (0, 666) or area >= 900 or group == 0 or serial == 0:
        assert not ssn.is_valid_ssn(value)
        assert ssn.invalid_mask(_series([value], "str")).tolist() == [True]


@settings(max_examples=200, deadline=None)
@given(st.lists(ssn_like, min_size=1, max_size=30))
def test_format_is_nine_digits_or_x(values: list[str]) -> None:
    series = _series(values, "str")
    shaped = ssn.format_ok(series).tolist()
    assert shaped == [len(v) == 9 and "-" not in v for v in values]
    # Only full nine-digit values are judged for validity; the rest are format questions.
    flagged = ssn.invalid_mask(series).tolist()
    assert all(
        not f for f, v in zip(flagged, values, strict=True) if not v.isdigit() or len(v) != 9
    )


def test_known_numbers() -> None:
    assert ssn.invalid_mask(_series(["078051120", "219099999", "700010001"], "str")).tolist() == [
        True,
        True,
        False,
    ]


def test_unknown_digits_are_detected() -> None:
    series = _series(["xxxxx1234", "70001000x", "700010001", "xxx-xx-1234", ""], "str")
    assert ssn.has_unknown_digits(series).tolist() == [True, True, False, False, False]
