"""`handoff --help` and every command's `--help` read as prose: docstring paragraphs are
reflowed (the source wraps them at 100 columns; the help used to keep those breaks, cutting
"without / one" mid-sentence), no reStructuredText backticks show, no file of the code is
named to a user, and no placeholder in angle brackets is swallowed as markup."""

from __future__ import annotations

import pytest
import typer

from cli.app import app
from tests.conftest import run_cli

COMMANDS = sorted(typer.main.get_group(app).commands)
WIDE = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def _help(*command: str) -> str:
    return run_cli(*command, "--help", env=WIDE).stdout


def test_every_command_is_listed_and_its_help_is_clean() -> None:
    top = _help()
    assert len(COMMANDS) >= 12
    for name in COMMANDS:
        assert f" {name} " in top, name
        text = _help(name)
        assert "``" not in text, name
        assert ".py" not in text, name


@pytest.mark.parametrize(
    ("command", "sentence"),
    [
        (
            "process",
            "Runs as an ingest flow run on the handoff up server when its API answers."
            " Without one, runs the same steps directly",
        ),
        ("confirmations", "for a host that does not run it: reports go to"),
    ],
)
def test_paragraphs_are_reflowed(command: str, sentence: str) -> None:
    lines = [" ".join(line.split()) for line in _help(command).splitlines()]
    assert any(sentence in line for line in lines), lines


def test_placeholders_survive_and_the_top_help_shows_how_to_start() -> None:
    assert "the package's .age file" in " ".join(_help("decrypt").split())
    top = " ".join(_help().split())
    assert "handoff init var --demo" in top
    assert "handoff up --config var/handoff.toml" in top
