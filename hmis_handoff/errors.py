"""Exception tree, grouped by what should happen next.

::

    HandoffError
    ├── ConfigError            fatal at start-up; the message names the field
    ├── FileRejected           the whole file goes to quarantine with a rule id
    ├── IntegrityError         a package, signature or ledger invariant failed; stop
    └── RetriableError         an I/O blip; the next sweep or a retry may succeed

Every message is built from fixed text, rule ids, counts and internal ids only. No
message ever contains a cell value or an agency's file name: these exceptions may reach
Prefect state messages, logs and events.
"""

from __future__ import annotations


class HandoffError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(HandoffError):
    """Raised when configuration is missing or invalid; the message names the field."""


class FileRejected(HandoffError):
    """Raised when a whole file cannot be accepted.

    ``rule_id`` is a stable id from the rule catalogue; ``detail`` is fixed, value-free text
    (e.g. "line 7 has 8 fields; the header has 7").
    """

    def __init__(self, rule_id: str, detail: str = "") -> None:
        self.rule_id = rule_id
        self.detail = detail
        super().__init__(f"{rule_id}: {detail}" if detail else rule_id)


class IntegrityError(HandoffError):
    """Raised when a package, signature or ledger invariant does not hold."""


class RetriableError(HandoffError):
    """Raised on a transient failure that a later attempt may get past."""
