"""Project-wide rules for the crypto layer that are cheap to check mechanically."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import REPO_ROOT

SOURCE_DIRS = ["hmis_handoff", "schemas", "connectors", "usecases", "flows", "cli", "bench"]
ALLOWED = {Path("hmis_handoff/crypto/primitives.py")}


def _imports_cryptography(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name == "cryptography" or a.name.startswith("cryptography.") for a in node.names
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and (node.module == "cryptography" or node.module.startswith("cryptography."))
        ):
            return True
    return False


def test_only_primitives_imports_cryptography() -> None:
    offenders = [
        path.relative_to(REPO_ROOT)
        for directory in SOURCE_DIRS
        if (REPO_ROOT / directory).is_dir()
        for path in sorted((REPO_ROOT / directory).rglob("*.py"))
        if _imports_cryptography(path)
    ]
    assert set(offenders) == ALLOWED
