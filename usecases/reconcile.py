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

Every row read is first validated with our pandera models of the HMIS CSV files
(:mod:`schemas.hmis_csv`; FY2024 or FY2026 as Export.csv's ``CSVVersion`` says), on the
columns reconciliation reads. A row that fails is not used and is reported as
:class:`ExportRowProblem` (file, row number, column, ``EXPORT-ROW-*`` rule id, never the
value); the valid rows reconcile as usual. Rows whose field count differs from the header
are reported the same way (``EXPORT-ROW-FIELDS``). A failed cell of Export.csv's one row is
reported and read as blank.

Records are only this partner's, delivered or already entered (an earlier date from an
export still wins, as :meth:`Ledger.mark_entered` keeps the earliest evidence). Results hold
ids, dates, rule ids, row numbers, our column names and counts only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Final

from connectors.hmis_export import ExportLimits, ExportSource, export_fingerprint, open_export
from hmis_handoff.errors import FileRejected
from hmis_handoff.hashing import RecordKeyer
from hmis_handoff.ledger import Ledger
from hmis_handoff.ledger.entries import MatchCandidate, match_candidates
from schemas.hmis_csv import HmisYear, hmis_csv_problems, hmis_csv_rule, hmis_csv_year
from usecases.match_keys import MATCH_KEY_COLUMNS, client_match_keys

__all__ = [
    "ENTERED_SOURCE",
    "FIELDS_RULE",
    "MAX_LISTED_ROW_PROBLEMS",
    "ExportRowProblem",
    "ExportSummary",
    "ReconcileResult",
    "RecordOutcome",
    "outcomes_by_rule",
    "reconcile_export",
]

ENTERED_SOURCE: Final = "hmis-export"
#: Row problems listed one by one; beyond this they are only counted per rule id.
MAX_LISTED_ROW_PROBLEMS: Final = 1000
FIELDS_RULE: Final = "EXPORT-ROW-FIELDS"
_EXPORT_COLUMNS: Final = (
    "ExportID",
    "HashStatus",
    "CSVVersion",
    "ExportStartDate",
    "ExportEndDate",
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


@dataclass(frozen=True)
class ExportRowProblem:
    """A row of the export that our model refused: file, row number (header = 1), our
    column name ("" when the whole row is at fault) and rule id. Never a value."""

    file: str
    row: int
    column: str
    rule_id: str


@dataclass
class ExportSummary:
    """Counts about the export (no values). ``rows_invalid`` counts rows not used because
    they failed the model; ``rows_skipped`` those with the wrong number of fields."""

    hash_status: int = 0
    csv_version: str = ""
    clients: int = 0
    clients_deleted: int = 0
    clients_without_keys: int = 0
    clients_linked: int = 0
    evidence_rows: int = 0
    evidence_rows_deleted: int = 0
    created_before_intake: int = 0
    rows_skipped: int = 0
    rows_invalid: int = 0


@dataclass(frozen=True)
class ReconcileResult:
    """What one export told us about one partner's records.

    ``problems`` are the outcomes worth telling the partner; ``counts`` counts every
    considered record by rule id ("matched" for found ones) plus "newly_entered".
    ``row_problems`` lists the export's refused rows (the first
    :data:`MAX_LISTED_ROW_PROBLEMS`); ``row_problem_counts`` counts all of them by rule id.
    """

    partner_id: str
    export_ref: str
    summary: ExportSummary
    matched: tuple[RecordOutcome, ...]
    problems: tuple[RecordOutcome, ...]
    records_considered: int
    records_without_keys: int
    counts: dict[str, int] = field(default_factory=dict)
    row_problems: tuple[ExportRowProblem, ...] = ()
    row_problem_counts: dict[str, int] = field(default_factory=dict)

    def newly_entered(self) -> dict[str, list[str]]:
        """Intake ids whose entry date the ledger took from this export, per agency."""
        out: dict[str, list[str]] = defaultdict(list)
        for outcome in self.matched:
            if outcome.changed:
                out[outcome.agency_id].append(outcome.intake_id)
        return dict(out)


class _RowCheck:
    """Validates an export's rows with our HMIS CSV models; keeps the problems found."""

    def __init__(self, source: ExportSource) -> None:
        self.source = source
        self.year: HmisYear = "FY2026"
        self.listed: list[ExportRowProblem] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.rows_invalid = 0

    def _note(self, problem: ExportRowProblem) -> None:
        self.counts[problem.rule_id] += 1
        if len(self.listed) < MAX_LISTED_ROW_PROBLEMS:
            self.listed.append(problem)

    def rows(
        self,
        member: str,
        columns: Collection[str],
        *,
        required: Collection[str] = (),
        keep_invalid: bool = False,
    ) -> Iterator[dict[str, str]]:
        """Valid rows of ``member`` as ``{column: text}`` ("" for a column the file lacks).

        With ``keep_invalid`` a failing row is kept with its failed cells blanked.
        """
        for frame in self.source.frames(member, columns, required=required):
            found = hmis_csv_problems(member, frame, year=self.year, partial=True)
            failed: dict[int, set[str]] = defaultdict(set)
            for number, column, rule_id in sorted(
                {(r, c, hmis_csv_rule(k)) for _, r, c, k in found}
            ):
                self._note(ExportRowProblem(member, number, column, rule_id))
                failed[number - 2].add(column)
            if any(label < 0 for label in failed):  # a frame-level failure: no row is sure
                failed = {label: set(frame.columns) for label in frame.index}
            if keep_invalid:
                for label, bad_columns in failed.items():
                    frame.loc[label, sorted(bad_columns)] = ""
            else:
                self.rows_invalid += len(failed)
                frame = frame.drop(index=list(failed))
            present = [str(name) for name in frame.columns]
            for values in frame.itertuples(index=False, name=None):
                row = dict.fromkeys(columns, "")
                row.update(zip(present, values, strict=True))
                yield row

    def note_skipped(self) -> int:
        """Report the rows skipped for their field count; returns how many there were."""
        for member, numbers in sorted(self.source.skipped_rows.items()):
            for number in numbers:
                self._note(ExportRowProblem(member, number, "", FIELDS_RULE))
            extra = self.source.skipped.get(member, 0) - len(numbers)
            self.counts[FIELDS_RULE] += max(extra, 0)
        return sum(self.source.skipped.values())


def _export_header(check: _RowCheck, summary: ExportSummary) -> tuple[date | None, date | None]:
    rows = list(
        check.rows("Export.csv", _EXPORT_COLUMNS, required=("HashStatus",), keep_invalid=True)
    )
    if len(rows) != 1:
        raise FileRejected("EXPORT-EXPORT-ROW", f"Export.csv has {len(rows)} rows")
    row = rows[0]
    if row["HashStatus"] not in ("1", "4"):
        raise FileRejected("EXPORT-HASH-UNSUPPORTED", "HashStatus is not 1 or 4")
    summary.hash_status = int(row["HashStatus"])
    year = hmis_csv_year(row["CSVVersion"])
    summary.csv_version = year or "other"
    # The columns read are the same in both years; an unknown version is read as FY2026.
    check.year = year or "FY2026"
    return _day(row["ExportStartDate"]), _day(row["ExportEndDate"])


def _day(text: str) -> date | None:
    """A validated yyyy-mm-dd cell as a date ("" -> None)."""
    return date.fromisoformat(text) if text else None


def _link_clients(
    check: _RowCheck,
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
    for row in check.rows("Client.csv", _CLIENT_COLUMNS, required=("PersonalID",)):
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
            if key and key in index[slot]:
                links[row["PersonalID"]].update(index[slot][key])
    summary.clients_linked = len(links)
    return links


def _evidence(
    check: _RowCheck,
    wanted: dict[str, set[date]],
    summary: ExportSummary,
) -> dict[tuple[str, date], datetime]:
    """(PersonalID, intake date) -> earliest DateCreated of a live matching row."""
    earliest: dict[tuple[str, date], datetime] = {}
    for member, date_column in _EVIDENCE:
        columns = ("PersonalID", date_column, "DateCreated", "DateDeleted")
        required = columns[:3] if check.source.has(member) else ()
        for row in check.rows(member, columns, required=required):
            dates = wanted.get(row["PersonalID"])
            if not dates:
                continue
            day = _day(row[date_column])
            if day is None or day not in dates:
                continue
            if row["DateDeleted"]:
                summary.evidence_rows_deleted += 1
                continue
            # Validated as yyyy-mm-dd hh:mm:ss by the model (a required column).
            created = datetime.fromisoformat(row["DateCreated"])
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
        check = _RowCheck(source)
        window = _export_header(check, summary)
        links = _link_clients(check, keyer, candidates, summary)
        wanted: dict[str, set[date]] = {
            personal_id: {candidates[i].intake_date for i in positions}
            for personal_id, positions in links.items()
        }
        earliest = _evidence(check, wanted, summary)
        summary.rows_skipped = check.note_skipped()
        summary.rows_invalid = check.rows_invalid
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
        row_problems=tuple(check.listed),
        row_problem_counts=dict(check.counts),
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
