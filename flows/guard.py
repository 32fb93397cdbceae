"""Flow bodies whose failures carry no value and leave nothing in result storage.

When a flow raises, Prefect 3 pickles the exception into result storage
(``state/prefect/storage``) whatever ``persist_result`` says, and puts its text in the
state message. An exception's text may quote a cell value or a path. :func:`value_free`
catches it inside the flow, logs only its type name, and returns a ``Failed`` state built
from fixed text: the run still ends Failed (automations and ``handoff process`` see it),
but no exception object is pickled and no message carries a value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

from prefect import get_run_logger
from prefect.states import Failed

__all__ = ["value_free"]

P = ParamSpec("P")
R = TypeVar("R")


def value_free(body: Callable[P, R]) -> Callable[P, R]:
    """Wrap a flow body: return its result, or a value-free ``Failed`` state (Prefect turns
    that into the run's final state; a direct caller gets Prefect's value-free error)."""

    @functools.wraps(body)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return body(*args, **kwargs)
        except Exception as exc:
            kind = type(exc).__name__
            rule = getattr(exc, "rule_id", None)
            get_run_logger().error("%s failed: %s %s", body.__name__, kind, rule or "")
            message = f"{body.__name__} failed: {kind} {rule or ''}".strip()
            return cast(R, Failed(message=message))

    return run
