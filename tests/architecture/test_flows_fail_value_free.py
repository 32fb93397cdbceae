"""Every flow body is wrapped by :func:`flows.guard.value_free`.

A flow that raises has its exception pickled into result storage and its text put in the
state message; an exception's text may quote a cell value or a path. So no flow may raise
out of its body: each is decorated ``@flow(...)`` then ``@value_free``.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _decorator_names(node: ast.FunctionDef) -> list[str]:
    names = []
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.append(target.id if isinstance(target, ast.Name) else ast.unparse(target))
    return names


def test_every_flow_fails_value_free() -> None:
    flows: dict[str, list[str]] = {}
    for path in sorted((REPO_ROOT / "flows").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and "flow" in _decorator_names(node):
                flows[f"{path.name}:{node.name}"] = _decorator_names(node)
    assert len(flows) >= 6, sorted(flows)
    unguarded = sorted(name for name, decorators in flows.items() if "value_free" not in decorators)
    assert unguarded == []
    # value_free must be inside @flow (applied first), or Prefect would see the raise.
    assert all(d.index("flow") < d.index("value_free") for d in flows.values())
