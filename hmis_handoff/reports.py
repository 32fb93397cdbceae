"""Agency-facing receipts, rejection reports and duplicate notices (CSV + HTML).

Contract:

* Value-free by construction: the inputs are counts, row numbers, our canonical column
  names, rule ids and the rule catalogue's fixed text. There is no parameter through which
  a cell value could arrive. The one agency-given text is ``agency_file_name``: the name
  of the file, shown so staff can match receipt and file; it goes only into the page body
  inside the agency's own reports folder (never into a file name we create).
* Every report adds an entry to the folder's ``index.html`` (:mod:`report_index`).
* File names come from the received date and ``file_ref`` only
  (``<yyyy-mm-dd>_<file_ref>_{receipt|rejected|duplicate}.{csv,html}``); ``file_ref`` must
  be a short id (letters, digits, ``-``, ``_``), so no path is ever built from agency text.
* Both files are written atomically with mode 0600; writing the same report again
  replaces it with the same content (safe to repeat after a crash).
* The CSV is for sorting in Excel: UTF-8 with BOM, CRLF, every field quoted, and every cell
  that starts with ``= + - @`` TAB CR or NUL prefixed with ``'`` so a spreadsheet never
  runs it as a formula. The HTML page is plain language with the counts first; every piece
  of text is HTML-escaped and the page loads nothing (no script, no external resource).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Final, Protocol

from hmis_handoff import report_index
from hmis_handoff.fsutil import atomic_write_bytes

__all__ = [
    "CSV_FIELDS",
    "HTML_ROW_LIMIT",
    "ReportPaths",
    "ReportProblem",
    "ReportSummary",
    "RuleInfo",
    "RuleText",
    "index_page_stale",
    "neutralise",
    "outcome_line",
    "write_agency_report",
    "write_duplicate_notice",
    "write_index_page",
]

CSV_FIELDS: Final = ("file_ref", "row", "column", "rule_id", "severity", "title", "what_to_fix")
HTML_ROW_LIMIT: Final = 5_000
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r", "\0")
_REF: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class RuleText(Protocol):
    """What a report needs from a rule catalogue entry (``schemas.rules.Rule`` fits)."""

    @property
    def title(self) -> str: ...

    @property
    def guidance(self) -> str: ...

    @property
    def severity(self) -> str: ...


@dataclass(frozen=True)
class RuleInfo:
    """A plain :class:`RuleText`, for callers without a catalogue entry at hand."""

    title: str
    guidance: str
    severity: str


@dataclass(frozen=True)
class ReportProblem:
    """One finding: spreadsheet ``row`` (header = 1; ``None`` for the whole file), canonical
    ``column`` (``None`` when the rule is not about one column), rule id and severity;
    ``detail`` is value-free context from the validator (which household, which head row)."""

    row: int | None
    column: str | None
    rule_id: str
    severity: str
    detail: str = ""


@dataclass(frozen=True)
class ReportSummary:
    """The counts at the top of a report.

    ``rejected_rule`` is the file-level rule that turned the whole file back (``None`` if
    the file was processed); ``rejected_detail`` is that rule's value-free detail
    (``FileRejected.detail``). ``package_ref`` names the package sent to the partner.
    """

    rows_received: int
    rows_sent: int
    rows_held_back: int
    rows_not_transmittable: int
    warnings: int
    rejected_rule: str | None = None
    package_ref: str | None = None
    rejected_detail: str | None = None
    blank_rows_ignored: int = 0
    rows_already_sent: int = 0


@dataclass(frozen=True)
class ReportPaths:
    """Where a report was written."""

    csv: Path
    html: Path


def neutralise(cell: str) -> str:
    """``cell`` made inert for spreadsheets: a leading formula character gets a ``'``."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _check_ref(ref: str, what: str) -> str:
    if not _REF.fullmatch(ref):
        raise ValueError(f"{what} must be a short id of letters, digits, '-' and '_'")
    return ref


def _paths(reports_dir: Path, received_at: datetime, file_ref: str, kind: str) -> ReportPaths:
    stem = f"{received_at:%Y-%m-%d}_{_check_ref(file_ref, 'file_ref')}_{kind}"
    return ReportPaths(csv=reports_dir / f"{stem}.csv", html=reports_dir / f"{stem}.html")


def _csv_bytes(rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        writer.writerow([neutralise("" if v is None else str(v)) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def _rule(rules: Mapping[str, RuleText], rule_id: str) -> RuleText:
    found = rules.get(rule_id)
    if found is not None:
        return found
    return RuleInfo(
        title=f"Problem {rule_id}",
        guidance="Contact the Coordinated Entry help desk and quote this rule id.",
        severity="error",
    )


def _sorted(problems: Iterable[ReportProblem]) -> list[ReportProblem]:
    unique = set(problems)
    return sorted(
        unique,
        key=lambda p: (p.row is not None, p.row or 0, p.column or "", p.rule_id, p.severity),
    )


def _when(moment: datetime) -> str:
    """A moment as US staff read it: ``12/05/2026 3:07 PM CST``."""
    zone = moment.tzname()
    clock = f"{moment:%I:%M %p}".lstrip("0")
    return f"{moment:%m/%d/%Y} {clock}" + (f" {zone}" if zone else "")


_STYLE: Final = """
body{font-family:Segoe UI,Arial,sans-serif;margin:2rem;max-width:70rem;color:#1b1b1b}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
.status{font-size:1.15rem;padding:.8rem 1rem;border-radius:.4rem}
.ok{background:#e7f4e4}.bad{background:#fde8e8}.info{background:#e8f0fd}
.counts{display:flex;flex-wrap:wrap;gap:1rem;margin:1.5rem 0}
.count{border:1px solid #ccc;border-radius:.4rem;padding:.8rem 1.2rem;min-width:9rem}
.count b{display:block;font-size:2.2rem}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.35rem .5rem;
text-align:left;vertical-align:top}th{background:#f2f2f2}
.note{color:#555;font-size:.9rem;margin-top:2rem}
"""


def _page(title: str, body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    ).encode()


def _count_cards(summary: ReportSummary) -> str:
    if summary.rejected_rule and not summary.rows_received:
        # Turned back before its rows were read: "0 rows received" would not be true.
        return ""
    cards = [
        ("Rows received", summary.rows_received),
        ("Sent to your HMIS data partner", summary.rows_sent),
        ("Held back: need fixing", summary.rows_held_back),
        ("Not sent: no consent to share or protected agency", summary.rows_not_transmittable),
        ("Warnings to check", summary.warnings),
    ]
    if summary.rows_already_sent:
        cards.insert(4, ("Already sent earlier: not sent again", summary.rows_already_sent))
    inner = "".join(
        f'<div class="count"><b>{value:,}</b>{escape(label)}</div>' for label, value in cards
    )
    return f'<div class="counts">{inner}</div>'


def _headline(summary: ReportSummary, rules: Mapping[str, RuleText]) -> tuple[str, str]:
    """(css class, escaped HTML) of the status line."""
    if summary.rejected_rule:
        rule = _rule(rules, summary.rejected_rule)
        detail = f"<br>Where: {escape(summary.rejected_detail)}." if summary.rejected_detail else ""
        return "bad", (
            "This file was <b>not accepted</b>. Nothing from it was sent to your HMIS data "
            f"partner.<br><b>{escape(rule.title)}</b> (rule {escape(summary.rejected_rule)})"
            f"{detail}<br>What to do: {escape(rule.guidance)}"
        )
    if summary.rows_sent:
        package = f" in package <b>{escape(summary.package_ref)}</b>" if summary.package_ref else ""
        return "ok", (
            f"<b>{summary.rows_sent:,}</b> of {summary.rows_received:,} rows were sent to your "
            f"HMIS data partner{package}."
        )
    reasons = []
    if summary.rows_held_back:
        reasons.append(f"{summary.rows_held_back:,} need fixing")
    if summary.rows_not_transmittable:
        reasons.append(f"{summary.rows_not_transmittable:,} may not be shared (no consent)")
    if summary.rows_already_sent:
        reasons.append(f"{summary.rows_already_sent:,} were already sent earlier")
    why = (": " + "; ".join(reasons) + ".") if reasons else ". See below why."
    css = "info" if not summary.rows_held_back else "bad"
    return css, (
        f"<b>Nothing was sent</b> to your HMIS data partner from this file. Of "
        f"{summary.rows_received:,} rows{why}"
    )


def outcome_line(summary: ReportSummary) -> tuple[str, str]:
    """(css class, plain text) of a file's outcome, for the index page."""
    if summary.rejected_rule:
        return "bad", f"Not accepted (rule {summary.rejected_rule})"
    others = [
        f"{count:,} {label}"
        for count, label in (
            (summary.rows_held_back, "need fixing"),
            (summary.rows_not_transmittable, "not sent (no consent)"),
            (summary.rows_already_sent, "already sent earlier"),
        )
        if count
    ]
    if summary.rows_sent:
        tail = "".join(f", {part}" for part in others)
        return "ok", f"Sent {summary.rows_sent:,} of {summary.rows_received:,} rows{tail}"
    css = "bad" if summary.rows_held_back else "info"
    return css, "Nothing sent: " + ", ".join(others or ["see the receipt"])


def _rule_table(
    problems: Sequence[ReportProblem],
    rules: Mapping[str, RuleText],
    notes: Mapping[tuple[str, str], str],
) -> str:
    # A rule with column-specific help gets one line per column, the others one line.
    counts = Counter(
        (p.rule_id, (p.column or "") if (p.rule_id, p.column or "") in notes else "")
        for p in problems
    )
    # What must be fixed first, then rows not sent, then warnings; most frequent first
    # within each (six warnings must not push a must-fix error down the table).
    rank = {"error": 0, "info": 1, "warning": 2}
    severity_rank: dict[str, int] = {}
    for p in problems:
        severity_rank[p.rule_id] = min(severity_rank.get(p.rule_id, 3), rank.get(p.severity, 3))

    def line(rule_id: str, column: str, count: int) -> str:
        rule = _rule(rules, rule_id)
        where = f" &middot; {escape(column)}" if column else ""
        note = f"<br><b>{escape(notes[(rule_id, column)])}</b>" if column else ""
        return (
            f"<tr><td>{escape(rule.title)}<br><small>{escape(rule_id)}{where}</small></td>"
            f"<td>{count:,}</td><td>{escape(rule.guidance)}{note}</td></tr>"
        )

    rows = "".join(
        line(rule_id, column, count)
        for (rule_id, column), count in sorted(
            counts.items(), key=lambda item: (severity_rank[item[0][0]], -item[1], item[0])
        )
    )
    heading = (
        "What to fix" if any(p.severity != "info" for p in problems) else "Rows not sent, and why"
    )
    return (
        f"<h2>{heading}</h2><table><tr><th>Problem</th><th>Times found</th>"
        f"<th>What to do</th></tr>{rows}</table>"
    )


_INFO_LABELS: Final = {"INTAKE-ID-ALREADY-SENT-SAME": "Already sent, not sent again"}


def _severity_label(severity: str, rule_id: str = "") -> str:
    if severity == "info":
        return _INFO_LABELS.get(rule_id, "Not sent")
    return {"error": "Must fix", "warning": "Please check"}.get(severity, severity)


def _problem_table(problems: Sequence[ReportProblem], rules: Mapping[str, RuleText]) -> str:
    shown = problems[:HTML_ROW_LIMIT]
    rows = "".join(
        f"<tr><td>{'whole file' if p.row is None else p.row}</td>"
        f"<td>{escape(p.column or '')}</td><td>{escape(_rule(rules, p.rule_id).title)}"
        f"{'<br><small>' + escape(p.detail) + '</small>' if p.detail else ''}</td>"
        f"<td>{escape(_severity_label(p.severity, p.rule_id))}</td>"
        f"<td>{escape(p.rule_id)}</td></tr>"
        for p in shown
    )
    more = (
        f"<p>The first {HTML_ROW_LIMIT:,} of {len(problems):,} findings are shown; the CSV "
        "file next to this page lists them all.</p>"
        if len(problems) > HTML_ROW_LIMIT
        else ""
    )
    return (
        "<h2>Row by row</h2><table><tr><th>Row</th><th>Column</th><th>Problem</th>"
        f"<th>Severity</th><th>Rule</th></tr>{rows}</table>{more}"
    )


_FOOTER: Final = (
    '<p class="note">Row numbers are the row numbers Excel shows (row 1 is the header row). '
    "This report points to rows and columns and never repeats what your file contains. "
    "Quote the file reference when you contact the Coordinated Entry help desk.</p>"
)


def write_agency_report(
    reports_dir: Path,
    *,
    file_ref: str,
    received_at: datetime,
    outcome_summary: ReportSummary,
    problems: Sequence[ReportProblem],
    rules: Mapping[str, RuleText],
    agency_file_name: str | None = None,
    column_notes: Mapping[tuple[str, str], str] | None = None,
    index_page: bool = True,
) -> ReportPaths:
    """Write the receipt (or, if the file was turned back or nothing was sent, the
    rejection report) for one file; see the module docstring for the guarantees.
    ``agency_file_name`` (the name the agency gave the file) is shown when known.
    ``column_notes`` adds fixed, column-specific help to a rule, keyed by (rule id,
    column): e.g. the codes allowed in that column with their meanings.
    ``index_page=False``: record the index entry but leave ``index.html`` to the caller
    (:func:`write_index_page`, once for a batch of reports).

    Raises:
        ValueError: ``file_ref`` is not a short id.
    """
    summary = outcome_summary
    rejected = bool(summary.rejected_rule) or summary.rows_sent == 0
    paths = _paths(reports_dir, received_at, file_ref, "rejected" if rejected else "receipt")
    ordered = _sorted(problems)

    csv_rows: list[tuple[object, ...]] = []
    if summary.rejected_rule:
        rule = _rule(rules, summary.rejected_rule)
        fix = rule.guidance + (
            f" Where: {summary.rejected_detail}." if summary.rejected_detail else ""
        )
        csv_rows.append((file_ref, "", "", summary.rejected_rule, "error", rule.title, fix))
    notes = column_notes or {}
    for problem in ordered:
        rule = _rule(rules, problem.rule_id)
        note = notes.get((problem.rule_id, problem.column or ""))
        guidance = f"{rule.guidance} {note}" if note else rule.guidance
        csv_rows.append(
            (
                file_ref,
                "" if problem.row is None else problem.row,
                problem.column or "",
                problem.rule_id,
                problem.severity,
                rule.title,
                f"{problem.detail}. {guidance}" if problem.detail else guidance,
            )
        )

    css, headline = _headline(summary, rules)
    blank = (
        f"<p>{summary.blank_rows_ignored:,} empty rows were ignored.</p>"
        if summary.blank_rows_ignored
        else ""
    )
    verdict = (
        "not accepted"
        if summary.rejected_rule
        else ("nothing sent" if summary.rows_sent == 0 else "receipt")
    )
    body = [
        f"<h1>{_file_label(file_ref, agency_file_name)}: {verdict}</h1>",
        _arrival(received_at, file_ref, agency_file_name),
        f'<p class="status {css}">{headline}</p>',
        _count_cards(summary),
        blank,
    ]
    if ordered:
        body += [_rule_table(ordered, rules, notes), _problem_table(ordered, rules)]
    elif not summary.rejected_rule:
        body.append("<p>No problems were found in the rows.</p>")
    body.append(_FOOTER)
    title = f"Intake file {file_ref}"

    reports_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_bytes(paths.csv, _csv_bytes(csv_rows))
    atomic_write_bytes(paths.html, _page(title, "\n".join(body)))
    css_class, outcome = outcome_line(summary)
    _index(
        reports_dir, paths, file_ref, received_at, agency_file_name, outcome, css_class,
        page=index_page,
    )  # fmt: skip
    return paths


def _file_label(file_ref: str, agency_file_name: str | None) -> str:
    """Escaped heading text: the agency's name for the file, else its reference."""
    if agency_file_name:
        return f"Your file &ldquo;{escape(agency_file_name)}&rdquo;"
    return f"Intake file {escape(file_ref)}"


def _arrival(received_at: datetime, file_ref: str, agency_file_name: str | None) -> str:
    named = "" if agency_file_name else " (the file's name was not recorded)"
    return (
        f"<p>Arrived <b>{escape(_when(received_at))}</b>{named}. File reference: "
        f'<b>{escape(file_ref)}</b>. <a href="{report_index.INDEX_PAGE}">All files received'
        "</a></p>"
    )


def _index(
    reports_dir: Path,
    paths: ReportPaths,
    file_ref: str,
    received_at: datetime,
    agency_file_name: str | None,
    outcome: str,
    css_class: str,
    *,
    page: bool = True,
) -> None:
    """Add this report to the folder's index and (``page``) rewrite ``index.html``."""
    entry = report_index.IndexEntry(
        received_at=received_at.isoformat(),
        arrived=_when(received_at),
        file_ref=file_ref,
        name=agency_file_name,
        outcome=outcome,
        outcome_class=css_class,
        page=paths.html.name,
    )
    report_index.add_entry(reports_dir, paths.html.stem, entry)
    if page:
        write_index_page(reports_dir)


def write_index_page(reports_dir: Path) -> None:
    """Rebuild ``index.html`` from every recorded entry (idempotent; derived data only)."""
    atomic_write_bytes(
        reports_dir / report_index.INDEX_PAGE,
        _page("Files received", report_index.body(reports_dir)),
    )


def index_page_stale(reports_dir: Path) -> bool:
    """True when an index entry is newer than ``index.html`` (or the page is missing while
    entries exist): a batch's page rebuild was interrupted."""
    try:
        page = os.lstat(reports_dir / report_index.INDEX_PAGE).st_mtime_ns
    except FileNotFoundError:
        page = -1
    with os.scandir(reports_dir) as found:
        # ">=": an entry written in the page's clock tick may be newer than the page.
        return any(
            item.name.startswith(report_index.ENTRY_PREFIX)
            and item.name.endswith(".json")
            and item.stat(follow_symlinks=False).st_mtime_ns >= page
            for item in found
        )


def write_duplicate_notice(
    reports_dir: Path,
    *,
    file_ref: str,
    received_at: datetime,
    original_ref: str,
    original_received_at: datetime | None,
    notice_id: str = "",
    agency_file_name: str | None = None,
    index_page: bool = True,
) -> ReportPaths:
    """Write "identical to file ref X received on DATE; not processed again".
    ``index_page``: as for :func:`write_agency_report`.

    ``notice_id`` (a short id of this copy, e.g. the random end of its claim id) goes into the
    notice's file name, so two copies sent on one day get two notices, not one overwritten.

    ``original_ref`` may be ``""`` (and ``original_received_at`` ``None``) when the original
    is no longer known; the notice then says "a file received earlier".

    Raises:
        ValueError: ``file_ref`` or a non-empty ``original_ref`` is not a short id.
    """
    kind = f"duplicate-{_check_ref(notice_id, 'notice_id')}" if notice_id else "duplicate"
    paths = _paths(reports_dir, received_at, file_ref, kind)
    if original_ref:
        _check_ref(original_ref, "original_ref")
    earlier = f"file {original_ref}" if original_ref else "a file"
    on = f" on {original_received_at:%Y-%m-%d}" if original_received_at else " earlier"
    sentence = f"Identical to {earlier} received{on}; not processed again."
    guidance = (
        "Nothing was sent again. If you meant to send corrections, change the rows and send "
        "the file again."
    )
    title = "This exact file was already received"
    csv_bytes = _csv_bytes([(file_ref, "", "", "FILE-DUPLICATE", "info", title, sentence)])
    body = "\n".join(
        (
            f"<h1>{_file_label(file_ref, agency_file_name)}: already received</h1>",
            _arrival(received_at, file_ref, agency_file_name),
            f'<p class="status info"><b>{escape(sentence)}</b><br>{escape(guidance)}</p>',
            _FOOTER,
        )
    )
    reports_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_bytes(paths.csv, csv_bytes)
    atomic_write_bytes(paths.html, _page(f"Intake file {file_ref}", body))
    _index(
        reports_dir, paths, file_ref, received_at, agency_file_name,
        "Already received earlier: not processed again", "info", page=index_page,
    )  # fmt: skip
    return paths
