"""Confirmations: the data partner (or an operator) says "this intake is in HMIS since D".

Two ways in: a confirmation CSV the partner drops into its confirmations folder
(:func:`process_confirmation_file`), and one intake at a time from the command line
(:func:`confirm_one`). Either way a record is marked ``entered`` through
:meth:`Ledger.mark_entered`, which keeps the earliest evidence.

Row rules, in order (a row failing one is reported with that rule and not used):

1. the pandera model (:mod:`schemas.confirmation`): ``VALUE-REQUIRED``,
   ``INTAKE-ID-FORMAT``, ``TEXT-TOO-LONG``, ``DATE-FORMAT``;
2. the intake must have been delivered to *this* partner (``CONF-UNKNOWN-ID``; a record of
   another partner is unknown here, and a not-transmittable one was never sent); an
   IntakeID that several agencies used needs the AgencyID (``CONF-AGENCY-NEEDED``);
3. each intake once per file (``CONF-DUPLICATE-ID``: every row of it is refused);
4. the date entered (time of day dropped; partner local time is CoC time) is not after
   today (``CONF-DATE-FUTURE``) nor before the intake date (``CONF-DATE-BEFORE-INTAKE``).

A row with an IntakeID and a blank DateEntered is an intake not entered yet (the prefilled
sheet is filled as the work gets done): it is counted, not reported as a problem.

Nothing here logs or raises with a cell value; refusals carry rule ids and the intake id.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import pandas as pd

from connectors.reader import ReadLimits, read_intake
from hmis_handoff.config import Settings
from hmis_handoff.deadlines import today_in
from hmis_handoff.errors import ConfirmationRefused
from hmis_handoff.ledger import Ledger
from hmis_handoff.ledger.entries import TransmittedRecord, transmitted_records
from schemas.confirmation import (
    canonical_confirmation_header,
    confirmation_problems,
    parse_date_entered,
)
from schemas.confirmation_dates import parse_entered_on
from usecases.partner_reports import PartnerReportRow

__all__ = [
    "CONFIRMATION_LIMITS",
    "CONFIRMATION_SOURCE",
    "MANUAL_SOURCE",
    "ConfirmationResult",
    "ConfirmedRecord",
    "apply_confirmations",
    "confirm_one",
    "read_confirmation",
]

CONFIRMATION_SOURCE: Final = "confirmation"
MANUAL_SOURCE: Final = "manual"
CONFIRMATION_LIMITS: Final = ReadLimits(max_bytes=20 * 2**20, max_rows=200_000)


@dataclass(frozen=True)
class ConfirmedRecord:
    """A record a confirmation applied to; ``changed`` if the ledger took the date."""

    record_id: int
    intake_id: str
    agency_id: str
    partner_id: str
    entered_on: date
    changed: bool


@dataclass(frozen=True)
class ConfirmationResult:
    """One confirmation file's outcome: ids, dates, rule ids, counts."""

    rows: int
    confirmed: tuple[ConfirmedRecord, ...]
    problems: tuple[PartnerReportRow, ...]
    not_yet_entered: int = 0

    def newly_entered(self) -> dict[str, list[str]]:
        """Intake ids the ledger newly marked entered (or moved earlier), per agency."""
        out: dict[str, list[str]] = defaultdict(list)
        for record in self.confirmed:
            if record.changed:
                out[record.agency_id].append(record.intake_id)
        return dict(out)

    def summary(self) -> str:
        """A value-free sentence for the partner's report."""
        changed = sum(1 for r in self.confirmed if r.changed)
        waiting = (
            f"{self.not_yet_entered} rows without DateEntered (not entered yet: nothing to "
            "do until they are); "
            if self.not_yet_entered
            else ""
        )
        return (
            f"{self.rows} rows read; {len(self.confirmed)} intakes confirmed "
            f"({changed} newly marked entered, {len(self.confirmed) - changed} already had "
            f"an earlier or equal date); {waiting}{len(self.problems)} problems listed below."
        )


def _resolve(
    known: dict[str, list[TransmittedRecord]], intake_id: str, agency_id: str
) -> TransmittedRecord | str:
    """The one record meant, or the rule id saying why there is none."""
    hits = [k for k in known.get(intake_id, []) if agency_id in ("", k.agency_id)]
    if not hits:
        return "CONF-UNKNOWN-ID"
    if len(hits) > 1:
        return "CONF-AGENCY-NEEDED"
    return hits[0]


def _date_rule(entered_on: date, intake_date: date, today: date) -> str | None:
    if entered_on > today:
        return "CONF-DATE-FUTURE"
    if entered_on < intake_date:
        return "CONF-DATE-BEFORE-INTAKE"
    return None


def read_confirmation(path: Path) -> pd.DataFrame:
    """The confirmation file as an all-text frame with canonical columns.

    Raises:
        FileRejected: a file-level rule (``FILE-*`` ids; see :mod:`connectors.reader`).
    """
    return read_intake(
        path,
        header_map=canonical_confirmation_header,
        required=("IntakeID", "DateEntered"),
        limits=CONFIRMATION_LIMITS,
        on_unknown="drop",
    ).frame


def apply_confirmations(
    frame: pd.DataFrame,
    *,
    partner_id: str,
    ledger: Ledger,
    today: date,
    source: str = CONFIRMATION_SOURCE,
) -> ConfirmationResult:
    """Validate ``frame`` (from :func:`read_confirmation`) and mark the confirmed records.

    Raises:
        hmis_handoff.errors.IntakeValidationError: the frame does not fit the model at all
            (a missing required column); the message names no value.
    """
    problems: list[PartnerReportRow] = []
    failed: dict[int, tuple[str, str]] = {}
    blank_date_only: dict[int, bool] = {}
    for problem in confirmation_problems(frame):
        if problem.row not in failed or problem.column == "IntakeID":  # the id first
            failed[problem.row] = (problem.rule_id, problem.column)
        alone = problem.column == "DateEntered" and problem.rule_id == "VALUE-REQUIRED"
        blank_date_only[problem.row] = blank_date_only.get(problem.row, True) and alone
    text = frame.astype("str")
    agency = text["AgencyID"] if "AgencyID" in text else pd.Series("", index=text.index)
    personal = text["PersonalID"] if "PersonalID" in text else pd.Series("", index=text.index)
    dates = parse_date_entered(text["DateEntered"])
    rows = [int(i) + 2 for i in text.index]
    known = transmitted_records(ledger, partner_id=partner_id, intake_ids=text["IntakeID"])
    resolved: dict[int, TransmittedRecord] = {}
    not_yet = 0
    for row, intake_id, agency_id in zip(rows, text["IntakeID"], agency, strict=True):
        if blank_date_only.get(row, False):
            not_yet += 1
            continue
        if row in failed:
            rule_id, column = failed[row]
            shown = intake_id if rule_id != "INTAKE-ID-FORMAT" else ""
            problems.append(PartnerReportRow(row, shown, "", rule_id, column=column))
            continue
        target = _resolve(known, intake_id, agency_id.strip())
        if isinstance(target, str):
            problems.append(PartnerReportRow(row, intake_id, agency_id.strip(), target))
        else:
            resolved[row] = target
    rows_of: dict[int, list[int]] = defaultdict(list)
    for row, target in resolved.items():
        rows_of[target.record_id].append(row)
    confirmed: list[ConfirmedRecord] = []
    by_row = dict(zip(rows, zip(dates, personal, strict=True), strict=True))
    for row, target in sorted(resolved.items()):
        if len(rows_of[target.record_id]) > 1:
            problems.append(
                PartnerReportRow(row, target.intake_id, target.agency_id, "CONF-DUPLICATE-ID")
            )
            continue
        stamp, personal_id = by_row[row]
        entered_on = pd.Timestamp(stamp).date()
        rule = _date_rule(entered_on, target.intake_date, today)
        if rule is not None:
            problems.append(PartnerReportRow(row, target.intake_id, target.agency_id, rule))
            continue
        changed = ledger.mark_entered(
            record_id=target.record_id,
            entered_on=entered_on,
            source=source,
            hmis_personal_id=personal_id.strip() or None,
        )
        confirmed.append(
            ConfirmedRecord(
                target.record_id,
                target.intake_id,
                target.agency_id,
                target.partner_id,
                entered_on,
                changed,
            )
        )
    return ConfirmationResult(
        rows=len(text),
        confirmed=tuple(confirmed),
        problems=tuple(problems),
        not_yet_entered=not_yet,
    )


def confirm_one(
    settings: Settings,
    agency_id: str | None,
    intake_id: str,
    entered_on: date | str,
    personal_id: str | None = None,
    *,
    ledger: Ledger | None = None,
    today: date | None = None,
) -> ConfirmedRecord:
    """Mark one delivered intake entered on ``entered_on`` (a date, or ``today``,
    ``YYYY-MM-DD`` or ``MM/DD/YYYY``; "today" is in the CoC's timezone).

    For the operator's ``handoff confirm``: any partner's record, found by intake id (and
    agency id when several agencies used that id). Same date rules as a confirmation file.

    Raises:
        ConfirmationRefused: ``CONF-UNKNOWN-ID``, ``CONF-AGENCY-NEEDED``, ``DATE-FORMAT``,
            ``CONF-DATE-FUTURE`` or ``CONF-DATE-BEFORE-INTAKE``; the message names the
            intake id and the rule only.
    """
    today = today or today_in(settings)
    if isinstance(entered_on, str):
        try:
            entered_on = parse_entered_on(entered_on, today)
        except ValueError:
            raise ConfirmationRefused(
                "DATE-FORMAT", "the date must be today, YYYY-MM-DD or MM/DD/YYYY"
            ) from None
    if personal_id is not None and len(personal_id.strip()) > 32:
        raise ConfirmationRefused("TEXT-TOO-LONG", "the PersonalID is longer than 32 characters")
    own = ledger is None
    ledger = ledger or Ledger(settings.ledger_url)
    try:
        target = _resolve(
            transmitted_records(ledger, partner_id=None, intake_ids=[intake_id]),
            intake_id,
            agency_id or "",
        )
        if isinstance(target, str):
            raise ConfirmationRefused(target, _refusal_text(target, intake_id))
        rule = _date_rule(entered_on, target.intake_date, today)
        if rule is not None:
            raise ConfirmationRefused(rule, _refusal_text(rule, intake_id))
        changed = ledger.mark_entered(
            record_id=target.record_id,
            entered_on=entered_on,
            source=MANUAL_SOURCE,
            hmis_personal_id=(personal_id or "").strip() or None,
        )
    finally:
        if own:
            ledger.close()
    return ConfirmedRecord(
        target.record_id, target.intake_id, target.agency_id, target.partner_id, entered_on, changed
    )


def _refusal_text(rule_id: str, intake_id: str) -> str:
    return {
        "CONF-UNKNOWN-ID": f"no delivered intake {intake_id!r} (check the id and agency)",
        "CONF-AGENCY-NEEDED": f"several agencies sent intake {intake_id!r}; give the agency",
        "CONF-DATE-FUTURE": f"intake {intake_id!r}: the date entered is after today",
        "CONF-DATE-BEFORE-INTAKE": f"intake {intake_id!r}: the date entered is before the intake",
    }.get(rule_id, f"intake {intake_id!r} refused")
