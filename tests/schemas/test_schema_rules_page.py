"""The rules page is generated from the catalogue and the pandera schema, and is current."""

from __future__ import annotations

from schemas import rules_page
from schemas.intake_schema import schema_rule_ids
from schemas.rules import RULES


def test_committed_rules_page_is_current() -> None:
    """Fails when a rule changed and `python -m schemas.rules_page` was not run."""
    assert rules_page.PAGE.read_text(encoding="utf-8") == rules_page.render()


def test_every_rule_is_on_the_page_with_its_severity_and_columns() -> None:
    text = rules_page.render()
    for rule in RULES.values():
        assert f"| `{rule.id}` | {rule.severity} | {rule.scope} |" in text
    for rule_id in schema_rule_ids():
        # Every rule the schema judges touches at least one column in some spec version.
        touched = rules_page.columns_touched(rule_id, "FY2026") + rules_page.columns_touched(
            rule_id, "FY2024"
        )
        assert touched, rule_id
