"""One pass over a data partner's confirmations inbox: confirm, reconcile, report, retire.

For every settled item (:func:`connectors.inbox_folder.scan_inbox`):

* a confirmation file is read, validated and applied (:mod:`usecases.confirm_entries`);
* an HMIS export is reconciled (:mod:`usecases.reconcile`);

then a report goes to ``reports/`` and the item is retired (confirmation files to
``processed/``; exports encrypted to the archive key or deleted). A file-level refusal is
reported with its rule id and retired too, so it is answered once, not every sweep. An
``OSError`` on one item leaves it in place for the next pass and does not stop the others.

Ledger order: the ledger is updated before the report is written and the item retired; a
crash in between re-applies the same evidence next pass, which changes nothing.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from connectors.hmis_export import export_fingerprint
from connectors.inbox_folder import (
    REPORTS,
    InboxItem,
    retire_confirmation,
    retire_export,
    scan_inbox,
)
from connectors.safe_open import open_regular_file
from hmis_handoff import clock
from hmis_handoff.config import Settings
from hmis_handoff.errors import FileRejected, IntakeValidationError
from hmis_handoff.hashing import RecordKeyer
from hmis_handoff.layout import Layout
from hmis_handoff.ledger import Ledger
from usecases.confirm_entries import apply_confirmations, read_confirmation
from usecases.match_keys import keyer_for
from usecases.partner_reports import PartnerReportRow, write_partner_report
from usecases.reconcile import ReconcileResult, reconcile_export

__all__ = ["REF_CHARS", "InboxOutcome", "InboxSummary", "ItemOutcome", "process_inbox"]

REF_CHARS = 12


@dataclass(frozen=True)
class ItemOutcome:
    """One inbox item: its kind, content ref, file-level rule (if refused) and counts."""

    kind: str
    ref: str
    rule_id: str | None
    report: str
    newly_entered: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


class InboxSummary(TypedDict):
    """One partner's pass in counts: files, exports, refusal rule ids, records entered."""

    partner: str
    confirmation_files: int
    exports: int
    refused: list[str]
    newly_entered: int
    left_for_next_pass: int


@dataclass(frozen=True)
class InboxOutcome:
    """Everything one pass did for one partner (ids and counts only)."""

    partner_id: str
    items: tuple[ItemOutcome, ...]
    errors: int = 0

    def newly_entered(self) -> dict[str, list[str]]:
        """Intake ids newly marked entered, per agency, over all items."""
        merged: dict[str, list[str]] = defaultdict(list)
        for item in self.items:
            for agency_id, ids in item.newly_entered.items():
                merged[agency_id].extend(ids)
        return {agency: sorted(set(ids)) for agency, ids in merged.items()}

    def summary(self) -> InboxSummary:
        """This pass in counts and rule ids (no file names, no values)."""
        return InboxSummary(
            partner=self.partner_id,
            confirmation_files=sum(1 for i in self.items if i.kind == "confirmation"),
            exports=sum(1 for i in self.items if i.kind == "export"),
            refused=sorted(i.rule_id for i in self.items if i.rule_id),
            newly_entered=sum(len(ids) for ids in self.newly_entered().values()),
            left_for_next_pass=self.errors,
        )


def _content_ref(item: InboxItem) -> str:
    digest = hashlib.sha256()
    fd = open_regular_file(item.path)
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:REF_CHARS]


def _confirmation(
    settings: Settings, partner_id: str, item: InboxItem, ledger: Ledger, now: datetime
) -> ItemOutcome:
    inbox = Layout(settings.root).partner_confirmations(partner_id)
    ref = _content_ref(item)
    rule: str | None = None
    detail = ""
    rows: list[PartnerReportRow] = []
    newly: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    try:
        result = apply_confirmations(
            read_confirmation(item.path), partner_id=partner_id, ledger=ledger, today=now.date()
        )
    except FileRejected as refusal:
        rule, detail = refusal.rule_id, refusal.detail
    except IntakeValidationError:
        rule = "CONF-FILE-UNREADABLE"
    if rule is not None:
        summary = f"The file was not used ({_why(rule, detail)}); nothing was marked entered."
        rows = [PartnerReportRow(None, "", "", rule)]
    else:
        summary = result.summary()
        rows = list(result.problems)
        newly = result.newly_entered()
        counts = {
            "rows": result.rows,
            "confirmed": len(result.confirmed),
            "newly_entered": sum(len(v) for v in newly.values()),
            "problems": len(result.problems),
        }
    report = write_partner_report(
        inbox / REPORTS, kind="confirmation", ref=ref, created=now, summary=summary, rows=rows
    )
    retire_confirmation(item, inbox, ref=ref, when=now)
    return ItemOutcome("confirmation", ref, rule, report.name, newly, counts)


def _why(rule_id: str, detail: str) -> str:
    """The rule id and the refusal's detail: value-free by the contract of
    :class:`~hmis_handoff.errors.FileRejected` (row numbers, our column names, counts)."""
    return f"{rule_id}: {detail}" if detail else rule_id


def _row_problems_sentence(result: ReconcileResult) -> str:
    """How many problems the export's rows had, by rule id, and how many are listed."""
    total = sum(result.row_problem_counts.values())
    by_rule = ", ".join(f"{rule} {n}" for rule, n in sorted(result.row_problem_counts.items()))
    sentence = (
        f" {total} problem(s) in rows of the export ({by_rule}): those rows were not used, "
        "the others were"
    )
    if total > len(result.row_problems):
        return sentence + f"; the first {len(result.row_problems)} are listed below."
    return sentence + "; listed below with file, row and column."


def _export(
    settings: Settings,
    partner_id: str,
    item: InboxItem,
    ledger: Ledger,
    keyer: RecordKeyer,
    now: datetime,
) -> ItemOutcome:
    layout = Layout(settings.root)
    inbox = layout.partner_confirmations(partner_id)
    rule: str | None = None
    detail = ""
    try:
        ref = export_fingerprint(item.path)[:REF_CHARS]
    except FileRejected as refusal:  # too large or a link: name the report by time instead
        rule, detail = refusal.rule_id, refusal.detail
        ref = hashlib.sha256(f"{partner_id}:{now.isoformat()}".encode()).hexdigest()[:REF_CHARS]
    if rule is None:
        try:
            result = reconcile_export(
                item.path, partner_id=partner_id, ledger=ledger, keyer=keyer, today=now.date()
            )
        except FileRejected as refusal:
            rule, detail = refusal.rule_id, refusal.detail
    if rule is not None:
        summary = f"The export was not used ({_why(rule, detail)}); nothing was marked entered."
        rows = [PartnerReportRow(None, "", "", rule)]
        newly: dict[str, list[str]] = {}
        counts: dict[str, int] = {}
    else:
        newly = result.newly_entered()
        refused_rows = sum(result.row_problem_counts.values())
        counts = {
            **result.counts,
            "clients": result.summary.clients,
            "export_row_problems": refused_rows,
        }
        summary = (
            f"HMIS export ({result.summary.csv_version}, HashStatus "
            f"{result.summary.hash_status}): {result.summary.clients} clients read; "
            f"{len(result.matched)} of your {result.records_considered} intakes found "
            f"({counts.get('newly_entered', 0)} newly marked entered); "
            f"{len(result.problems)} intakes listed below."
        )
        if refused_rows:
            summary += _row_problems_sentence(result)
        rows = [
            PartnerReportRow(None, o.intake_id, o.agency_id, o.rule_id or "")
            for o in result.problems
        ]
        rows += [
            PartnerReportRow(p.row, "", "", p.rule_id, file=p.file, column=p.column)
            for p in result.row_problems
        ]
    report = write_partner_report(
        inbox / REPORTS, kind="reconcile", ref=ref, created=now, summary=summary, rows=rows
    )
    retire_export(
        item,
        inbox,
        ref=ref,
        when=now,
        archive_recipient=settings.archive_recipient,
        work_dir=layout.work,
    )
    return ItemOutcome("export", ref, rule, report.name, newly, counts)


def process_inbox(
    settings: Settings,
    partner_id: str,
    *,
    ledger: Ledger,
    now: datetime | None = None,
    settle_seconds: float | None = None,
    keyer: RecordKeyer | None = None,
) -> InboxOutcome:
    """Handle every settled item in ``partner_id``'s inbox (see the module docstring).

    ``now`` (default: the current time in the CoC's zone) names reports and is "today" for
    the date rules; settling is judged on the real clock. The keyer is loaded from the data
    root only if an export is present.

    Raises:
        ConfigError: an export is present but the record HMAC key is missing.
    """
    when = now or clock.now(settings.tz)
    inbox = Layout(settings.root).partner_confirmations(partner_id)
    settle = settings.intake.stable_seconds if settle_seconds is None else settle_seconds
    items: list[ItemOutcome] = []
    errors = 0
    for item in scan_inbox(inbox, settle_seconds=settle):
        try:
            if item.kind == "confirmation":
                items.append(_confirmation(settings, partner_id, item, ledger, when))
            else:
                keyer = keyer or keyer_for(settings)
                items.append(_export(settings, partner_id, item, ledger, keyer, when))
        except OSError:
            errors += 1  # vanished or unreadable mid-way: left for the next pass
    return InboxOutcome(partner_id, tuple(items), errors)
