"""Every public module says what it offers: ``__all__``, complete and sorted.

Complete: every public name a module defines (function, class, assignment; not a type
variable or its ``logger``) is listed. Sorted: the order ruff's RUF022 keeps (constants,
then classes, then the rest). Resolvable: importing the module yields every listed name,
including the names a package re-exports.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hmis_handoff", "schemas", "connectors", "usecases", "flows", "cli")
NOT_API = {"__all__", "logger"}


def _public_modules() -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = path.relative_to(REPO_ROOT).parts
            if "migrations" in parts or path.name == "__main__.py":
                continue
            if any(p.startswith("_") and p != "__init__.py" for p in parts):
                continue
            found.append(path)
    return found


def _defined_public_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            call = node.value
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") in (
                "TypeVar",
                "ParamSpec",
            ):
                continue
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_") and n not in NOT_API}


def _declared_all(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        target = (
            node.targets[0]
            if isinstance(node, ast.Assign)
            else node.target
            if isinstance(node, ast.AnnAssign)
            else None
        )
        if isinstance(target, ast.Name) and target.id == "__all__":
            assert isinstance(node.value, ast.List | ast.Tuple)
            return [ast.literal_eval(e) for e in node.value.elts]
    return None


def _ruff_order(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[0].isupper() else 2
    return kind, name


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = _public_modules()


def test_every_package_is_walked() -> None:
    assert {m.relative_to(REPO_ROOT).parts[0] for m in MODULES} == set(PACKAGES)
    assert len(MODULES) > 100


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_all_is_complete_sorted_and_resolvable(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    defined = _defined_public_names(tree)
    declared = _declared_all(tree)
    if declared is None:
        assert not defined, f"{path.name} defines public names but no __all__: {sorted(defined)}"
        return
    assert defined <= set(declared), f"missing from __all__: {sorted(defined - set(declared))}"
    assert declared == sorted(declared, key=_ruff_order)
    assert len(declared) == len(set(declared))
    module = importlib.import_module(_module_name(path))
    assert [n for n in declared if not hasattr(module, n)] == []
