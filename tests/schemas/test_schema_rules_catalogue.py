"""The rule catalogue: stable ids, severities and agency-facing guidance."""

from __future__ import annotations

import re

from schemas.rules import FILE_RULE_IDS, GATE_RULE_IDS, RULES, rule, severity_of

READER_RULES = {
    "FILE-EMPTY", "FILE-NO-ROWS", "FILE-ENCODING", "FILE-BINARY", "FILE-TOO-LARGE",
    "FILE-TOO-MANY-ROWS", "FILE-DUPLICATE-HEADER", "FILE-BLANK-HEADER",
    "FILE-MISSING-COLUMNS", "FILE-UNKNOWN-COLUMNS", "FILE-RAGGED-ROW", "FILE-QUOTE",
    "FILE-XLSX-ENCRYPTED", "FILE-XLSX-MACRO", "FILE-XLSX-SHEETS", "FILE-XLSX-FORMULA",
    "FILE-XLSX-BOMB", "FILE-NOT-REGULAR", "FILE-WRONG-AGENCY", "FILE-CONTROL-CHARS",
    "FILE-DUPLICATE", "FILE-HAS-ERRORS", "FILE-NO-VALID-ROWS",
}  # fmt: skip


def test_ids_are_stable_shapes() -> None:
    for rule_id, entry in RULES.items():
        assert entry.id == rule_id
        assert re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", rule_id)


def test_file_rules_the_reader_and_pipeline_use_are_catalogued() -> None:
    assert READER_RULES <= FILE_RULE_IDS
    assert all(RULES[r].severity == "error" for r in FILE_RULE_IDS)


def test_gate_reasons() -> None:
    assert {"ROI-MISSING", "ROI-EXPIRED", "VSP-NO-PII"} == GATE_RULE_IDS


def test_guidance_is_plain_and_complete() -> None:
    for entry in RULES.values():
        assert entry.severity in ("error", "warning", "info")
        assert entry.scope in ("file", "row", "household", "gate")
        assert 8 <= len(entry.title) <= 80
        assert len(entry.guidance) >= 30
        assert entry.guidance.endswith(".")
        # Agency staff read these: no code identifiers or exception jargon.
        assert not re.search(r"\b(regex|dtype|NaN|pandas|pandera|exception|null)\b", entry.guidance)


def test_lookup_helpers() -> None:
    assert rule("SSN-INVALID").severity == "error"
    assert severity_of("AGE-OVER-100") == "warning"
