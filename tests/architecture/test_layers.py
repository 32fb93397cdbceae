"""The layers of docs/architecture.md hold, and the contracts that hold them bite.

``make lint`` runs ``lint-imports`` in CI; these tests also prove each contract fails on the
violation it exists for, in a throw-away copy of the packages (a contract that passes
everything would pass the real tree too).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("hmis_handoff", "schemas", "connectors", "usecases", "flows", "cli")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
    for contract in (
        "Layers: command line, flows, use cases, schemas | connectors, core",
        "Only the top layer (flows, cli) imports Prefect",
        "Only hmis_handoff.crypto.primitives imports cryptography",
        "Only the ledger (and its migrations) imports SQLAlchemy and Alembic",
    ):
        assert f"{contract} KEPT" in result.stdout


@pytest.fixture
def copy_of_the_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        (
            "hmis_handoff/clock.py",
            "import usecases.handoff",
            "Layers: command line, flows, use cases, schemas | connectors, core",
        ),
        (
            "connectors/sniff.py",
            "import schemas.columns",
            "Layers: command line, flows, use cases, schemas | connectors, core",
        ),
        (
            "usecases/demo.py",
            "import prefect",
            "Only the top layer (flows, cli) imports Prefect",
        ),
        (
            "hmis_handoff/hashing.py",
            "import cryptography.hazmat",
            "Only hmis_handoff.crypto.primitives imports cryptography",
        ),
        (
            "usecases/reconcile.py",
            "import sqlalchemy",
            "Only the ledger (and its migrations) imports SQLAlchemy and Alembic",
        ),
    ],
)
def test_each_contract_refuses_its_violation(
    copy_of_the_tree: Path, module: str, line: str, broken: str
) -> None:
    path = copy_of_the_tree / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    result = lint_imports(copy_of_the_tree)
    assert result.returncode != 0
    assert f"{broken} BROKEN" in result.stdout
