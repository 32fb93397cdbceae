"""The bad-input table again, through the whole pipeline instead of the reader alone.

Each case's file is dropped in a demo data root and handed off by the production core (the
ingest flow's own calls: scan, settle, claim, read, validate, report, ledger; see
tests/crash/driver.py): the file must end ``rejected`` with the case's rule id in the
ledger, in a rejection report that holds no cell value, and nothing else may happen. Read
limits come from the configuration (``HANDOFF_INTAKE__MAX_BYTES`` / ``__MAX_ROWS``), as in
production. Two cases stay reader-only, named in READER_ONLY with the reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connectors.reader import ReadLimits
from hmis_handoff.config import load_settings
from hmis_handoff.ledger import FileState, Ledger
from tests.crash.driver import run_once
from tests.crash.lab import make_root
from tests.reader.helpers import canary
from tests.reader.test_bad_inputs import CASES, Case

DEFAULT = ReadLimits()
READER_ONLY = {
    # The XLSX expansion cap is not a configuration setting; at the default cap this small
    # book is fine, so the pipeline goes on to the stand-in header's missing columns.
    "expands-past-cap": "FILE-MISSING-COLUMNS",
    # The table's 6-column stand-in header lacks required columns, which the pipeline
    # reports before it looks for data rows.
    "header-and-blank-rows": "FILE-MISSING-COLUMNS",
}


def _case(param: object) -> Case:
    case = param.values[0] if hasattr(param, "values") else param
    assert isinstance(case, Case)
    return case


PIPELINE_CASES = [p for p in CASES if _case(p).id not in READER_ONLY]


def test_the_reader_only_cases_are_exactly_these() -> None:
    ids = {_case(p).id for p in CASES}
    assert set(READER_ONLY) <= ids
    assert len(PIPELINE_CASES) == len(CASES) - len(READER_ONLY)


@pytest.mark.parametrize("param", PIPELINE_CASES, ids=lambda p: _case(p).id)
def test_bad_input_is_rejected_by_the_pipeline_with_its_rule(
    tmp_path: Path, param: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = _case(param)
    if case.limits.max_bytes != DEFAULT.max_bytes:
        monkeypatch.setenv("HANDOFF_INTAKE__MAX_BYTES", str(case.limits.max_bytes))
    if case.limits.max_rows != DEFAULT.max_rows:
        monkeypatch.setenv("HANDOFF_INTAKE__MAX_ROWS", str(case.limits.max_rows))
    root = make_root(tmp_path)
    value = canary()
    built = case.build(tmp_path, value)
    shutil.move(built, root / "agencies" / "demo-agency" / "drop" / built.name)
    assert run_once(root, time_limit=120) == 0

    ledger = Ledger(load_settings(root / "handoff.toml").ledger_url)
    try:
        [row] = ledger.files()
    finally:
        ledger.close()
    assert (row.state, row.reject_rule) == (FileState.REJECTED, case.rule)
    # The file's receipt (CSV + HTML); the agency's index page and its hidden notes aside.
    reports = sorted(
        p
        for p in (root / "agencies" / "demo-agency" / "reports").iterdir()
        if not p.name.startswith(".") and p.name != "index.html"
    )
    assert [p.suffix for p in reports] == [".csv", ".html"]
    for report in reports:
        text = report.read_text(encoding="utf-8-sig")
        assert case.rule in text
        assert value not in text and built.name not in text
    assert list((root / "partners" / "demo-partner" / "outbox").iterdir()) == []
