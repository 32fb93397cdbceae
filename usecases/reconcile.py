"""Reconcile delivered intakes with a data partner's HMIS CSV export: which were entered, when.

Matching (hmis-domain.md §3.6 and §9.4):

1. Each live ``Client.csv`` row (``DateDeleted`` blank) gets its match keys
   (:func:`usecases.match_keys.client_match_keys`, HashStatus 1 or 4). A client *links*
   to a delivered record of this partner when any key is equal.
2. Evidence of entry for a linked client is a live ``Enrollment`` with ``EntryDate``, an
   ``Assessment`` with ``AssessmentDate`` or an ``Event`` with ``EventDate`` equal to the
   record's intake date. Its ``DateCreated`` (no zone in HMIS CSV: read as CoC local time)
   is when it was entered; the earliest over the matched rows wins.
3. Ambiguity is reported, never resolved by guessing: a record with evidence on more than
   one client (``RECON-AMBIGUOUS-CLIENTS``), or several records of one intake date resolved
   to the same client (``RECON-AMBIGUOUS-RECORDS``). Linked clients without evidence on the
   date do not count: an HMIS duplicate without the CE entry is not a competing match.
4. An entry created before the intake date (a back-dated or re-dated row) counts as entered
   on the intake date; one dated after today is not used (``RECON-DATE-FUTURE``).

Records are only this partner's, delivered or already entered (an earlier date from an
export still wins, as :meth:`Ledger.mark_entered` keeps the earliest evidence). Results hold
ids, dates, rule ids and counts only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Final

from connectors.hmis_export import ExportLimits, ExportSource, export_fingerprint, open_export
from hmis_handoff.errors import FileRejected
from hmis_handoff.hashing import RecordKeyer
from hmis_handoff.ledger import Ledger
from hmis_handoff.ledger.entries import MatchCandidate, match_candidates
from usecases.match_keys import MATCH_KEY_COLUMNS, client_match_keys

__all__ = [
    "ENTERED_SOURCE",
    "ExportSummary",
    "ReconcileResult",
    "RecordOutcome",
    "outcomes_by_rule",
    "reconcile_export",
]

ENTERED_SOURCE: Final = "hmis-export"
_FY = re.compile(r"(20[0-9]{2})\b")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_STAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
)
_CLIENT_COLUMNS: Final = (
    "PersonalID",
    "FirstName",
    "LastName",
    "SSN",
    "SSNDataQuality",
    "DOB",
    "DOBDataQuality",
    "DateDeleted",
)
# (member, date column) holding evidence of a CE entry.
_EVIDENCE: Final = (
    ("Enrollment.csv", "EntryDate"),
    ("Assessment.csv", "AssessmentDate"),
    ("Event.csv", "EventDate"),
)


@dataclass(frozen=True)
class RecordOutcome:
    """One record's result. ``rule_id`` is None when it matched (then ``entered_on`` is set).

    ``changed`` is True when the ledger took the date (new, or earlier than before).
    """

    record_id: int
    intake_id: str
    agency_id: str
    rule_id: str | None
    entered_on: date | None = None
    personal_id: str | None = None
    changed: bool = False


@dataclass
class ExportSummary:
    """Counts about the export (no values)."""

    hash_status: int = 0
    csv_version: str = ""
    clients: int = 0
    clients_deleted: int = 0
    clients_without_keys: int = 0
    clients_linked: int = 0
    evidence_rows: int = 0
    evidence_rows_deleted: int = 0
    evidence_bad_dates: int = 0
    created_before_intake: int = 0
    rows_skipped: int = 0


@dataclass(frozen=True)
class ReconcileResult:
    """What one export told us about one partner's records.

    ``problems`` are the outcomes worth telling the partner; ``counts`` counts every
    considered record by rule id ("matched" for found ones) plus "newly_entered".
    """

    partner_id: str
    export_ref: str
    summary: ExportSummary
    matched: tuple[RecordOutcome, ...]
    problems: tuple[RecordOutcome, ...]
    records_considered: int
    records_without_keys: int
    counts: dict[str, int] = field(default_factory=dict)

    def newly_entered(self) -> dict[str, list[str]]:
        """Intake ids whose entry date the ledger took from this export, per agency."""
        out: dict[str, list[str]] = defaultdict(list)
        for outcome in self.matched:
            if outcome.changed:
                out[outcome.agency_id].append(outcome.intake_id)
        return dict(out)


def _day(text: str) -> date | None:
    head = text[:10]
    if not _DAY.fullmatch(head):
        return None
    try:
        return date.fromisoformat(head)
    except ValueError:
        return None


def _stamp(text: str) -> datetime | None:
    if not _STAMP.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("T", " "))
    except ValueError:
        return None


def _export_header(source: ExportSource, summary: ExportSummary) -> tuple[date | None, date | None]:
    rows = list(
        source.rows(
            "Export.csv",
            ("ExportID", "HashStatus", "CSVVersion", "ExportStartDate", "ExportEndDate"),
            required=("HashStatus",),
        )
    )
    if len(rows) != 1:
        raise FileRejected("EXPORT-EXPORT-ROW", f"Export.csv has {len(rows)} rows")
    row = rows[0]
    if row["HashStatus"] not in ("1", "4"):
        raise FileRejected("EXPORT-HASH-UNSUPPORTED", "HashStatus is not 1 or 4")
    summary.hash_status = int(row["HashStatus"])
    version = _FY.match(row["CSVVersion"])
    summary.csv_version = f"FY{version.group(1)}" if version else "other"
    return _day(row["ExportStartDate"]), _day(row["ExportEndDate"])


def _link_clients(
    source: ExportSource,
    keyer: RecordKeyer,
    candidates: list[MatchCandidate],
    summary: ExportSummary,
) -> dict[str, set[int]]:
    """PersonalID -> indexes into ``candidates`` whose keys the client shares."""
    index: list[dict[str, list[int]]] = [defaultdict(list) for _ in MATCH_KEY_COLUMNS]
    for position, candidate in enumerate(candidates):
        for slot, key in enumerate(candidate.keys):
            if key:
                index[slot][key].append(position)
    hashed = summary.hash_status == 4
    links: dict[str, set[int]] = defaultdict(set)
    for row in source.rows("Client.csv", _CLIENT_COLUMNS, required=("PersonalID",)):
        summary.clients += 1
        if row["DateDeleted"]:
            summary.clients_deleted += 1
            continue
        keys = client_match_keys(keyer, row, hashed=hashed)
        if not any(keys.values()):
            summary.clients_without_keys += 1
            continue
        for slot, column in enumerate(MATCH_KEY_COLUMNS):
            key = keys[column]
            if key and key in index[slot] and row["PersonalID"]:
                links[row["PersonalID"]].update(index[slot][key])
    summary.clients_linked = len(links)
    return links


def _evidence(
    source: ExportSource,
    wanted: dict[str, set[date]],
    summary: ExportSummary,
) -> dict[tuple[str, date], datetime]:
    """(PersonalID, intake date) -> earliest DateCreated of a live matching row."""
    earliest: dict[tuple[str, date], datetime] = {}
    for member, date_column in _EVIDENCE:
        columns = ("PersonalID", date_column, "DateCreated", "DateDeleted")
        required = columns[:3] if source.has(member) else ()
        for row in source.rows(member, columns, required=required):
            dates = wanted.get(row["PersonalID"])
            if not dates:
                continue
            day = _day(row[date_column])
            if day is None or day not in dates:
                continue
            if row["DateDeleted"]:
                summary.evidence_rows_deleted += 1
                continue
            created = _stamp(row["DateCreated"])
            if created is None:
                summary.evidence_bad_dates += 1
                continue
            summary.evidence_rows += 1
            key = (row["PersonalID"], day)
            if key not in earliest or created < earliest[key]:
                earliest[key] = created
    return earliest


def reconcile_export(
    export: Path,
    *,
    partner_id: str,
    ledger: Ledger,
    keyer: RecordKeyer,
    today: date,
    limits: ExportLimits = ExportLimits(),  # noqa: B008 - frozen, so a shared default is safe
    apply: bool = True,
) -> ReconcileResult:
    """Match ``export`` (zip or folder) to ``partner_id``'s records; mark the entered ones.

    With ``apply=False`` nothing is written to the ledger (``changed`` stays False).

    Raises:
        FileRejected: the export cannot be used (``EXPORT-*`` rule ids); nothing was marked.
    """
    ref = export_fingerprint(export, limits)[:12]
    candidates = match_candidates(ledger, partner_id, MATCH_KEY_COLUMNS)
    summary = ExportSummary()
    with open_export(export, limits) as source:
        window = _export_header(source, summary)
        links = _link_clients(source, keyer, candidates, summary)
        wanted: dict[str, set[date]] = {
            personal_id: {candidates[i].intake_date for i in positions}
            for personal_id, positions in links.items()
        }
        earliest = _evidence(source, wanted, summary)
        summary.rows_skipped = sum(source.skipped.values())
    by_record: dict[int, set[str]] = defaultdict(set)
    for personal_id, positions in links.items():
        for position in positions:
            if (personal_id, candidates[position].intake_date) in earliest:
                by_record[position].add(personal_id)
    claims: dict[tuple[str, date], list[int]] = defaultdict(list)
    for position, clients in by_record.items():
        if len(clients) == 1:
            claims[(next(iter(clients)), candidates[position].intake_date)].append(position)
    matched: list[RecordOutcome] = []
    problems: list[RecordOutcome] = []
    counts: dict[str, int] = defaultdict(int)
    for position, candidate in enumerate(candidates):
        outcome = _decide(position, candidate, by_record, claims, earliest, today, summary)
        counts[outcome.rule_id or "matched"] += 1
        if outcome.rule_id is None:
            if apply and outcome.entered_on is not None:
                changed = ledger.mark_entered(
                    record_id=candidate.record_id,
                    entered_on=outcome.entered_on,
                    source=ENTERED_SOURCE,
                    hmis_personal_id=outcome.personal_id,
                )
                outcome = _with_changed(outcome, changed)
            matched.append(outcome)
        elif _worth_reporting(outcome, candidate, window):
            problems.append(outcome)
    without_keys = sum(1 for c in candidates if not any(c.keys))
    counts["newly_entered"] = sum(1 for o in matched if o.changed)
    return ReconcileResult(
        partner_id=partner_id,
        export_ref=ref,
        summary=summary,
        matched=tuple(matched),
        problems=tuple(problems),
        records_considered=len(candidates),
        records_without_keys=without_keys,
        counts=dict(counts),
    )


def _decide(
    position: int,
    candidate: MatchCandidate,
    by_record: dict[int, set[str]],
    claims: dict[tuple[str, date], list[int]],
    earliest: dict[tuple[str, date], datetime],
    today: date,
    summary: ExportSummary,
) -> RecordOutcome:
    base = RecordOutcome(candidate.record_id, candidate.intake_id, candidate.agency_id, None)
    clients = by_record.get(position, set())
    if not clients:
        rule = "RECON-NO-KEYS" if not any(candidate.keys) else "RECON-NOT-FOUND"
        return _with_rule(base, rule)
    if len(clients) > 1:
        return _with_rule(base, "RECON-AMBIGUOUS-CLIENTS")
    personal_id = next(iter(clients))
    if len(claims[(personal_id, candidate.intake_date)]) > 1:
        return _with_rule(base, "RECON-AMBIGUOUS-RECORDS")
    entered = earliest[(personal_id, candidate.intake_date)].date()
    if entered > today:
        return _with_rule(base, "RECON-DATE-FUTURE")
    if entered < candidate.intake_date:
        summary.created_before_intake += 1
        entered = candidate.intake_date
    return RecordOutcome(
        candidate.record_id,
        candidate.intake_id,
        candidate.agency_id,
        None,
        entered_on=entered,
        personal_id=personal_id,
    )


def _with_rule(outcome: RecordOutcome, rule_id: str) -> RecordOutcome:
    return RecordOutcome(outcome.record_id, outcome.intake_id, outcome.agency_id, rule_id)


def _with_changed(outcome: RecordOutcome, changed: bool) -> RecordOutcome:
    return RecordOutcome(
        outcome.record_id,
        outcome.intake_id,
        outcome.agency_id,
        outcome.rule_id,
        outcome.entered_on,
        outcome.personal_id,
        changed,
    )


def _worth_reporting(
    outcome: RecordOutcome, candidate: MatchCandidate, window: tuple[date | None, date | None]
) -> bool:
    """Ambiguity and future dates always; "not found" only for records not yet entered
    whose intake date falls in the export's period (an export cannot hold later ones)."""
    if outcome.rule_id in (
        "RECON-AMBIGUOUS-CLIENTS",
        "RECON-AMBIGUOUS-RECORDS",
        "RECON-DATE-FUTURE",
    ):
        return True
    if candidate.entered_on is not None:
        return False
    start, end = window
    if start is not None and candidate.intake_date < start:
        return False
    return not (end is not None and candidate.intake_date > end)


def outcomes_by_rule(outcomes: Iterable[RecordOutcome]) -> dict[str, list[str]]:
    """Intake ids per rule id (for reports and artifacts)."""
    out: dict[str, list[str]] = defaultdict(list)
    for outcome in outcomes:
        out[outcome.rule_id or "matched"].append(outcome.intake_id)
    return dict(out)
