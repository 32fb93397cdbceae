"""One exception tree: every exception class of ours derives from ``HandoffError`` and is
drawn, under its real parent, in the docstring of :mod:`hmis_handoff.errors`."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

from hmis_handoff import errors
from hmis_handoff.errors import HandoffError

PACKAGES = ("hmis_handoff", "schemas", "connectors", "usecases", "flows", "cli")
REPO = Path(__file__).resolve().parents[2]
# Run, not imported: Alembic executes env.py inside its own command; ``python -m`` runs
# __main__. Their sources are checked to define no class at all instead.
NOT_IMPORTED = ("hmis_handoff.migrations.env",)
_TREE_LINE = re.compile(r"^(?P<prefix>[ │├└─]*)(?P<name>[A-Z][A-Za-z0-9_]*)\b(?P<rest>.*)$")


def _module_names() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        names.append(package)
        path = importlib.import_module(package).__path__
        for info in pkgutil.walk_packages(path, f"{package}."):
            names.append(info.name)
    return names


def _our_exception_classes() -> set[type[BaseException]]:
    for name in _module_names():
        if name in NOT_IMPORTED or name.endswith(".__main__"):
            continue
        importlib.import_module(name)
    found: set[type[BaseException]] = set()
    pending: list[type[BaseException]] = [BaseException]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return {cls for cls in found if cls.__module__.split(".")[0] in PACKAGES}


def _drawing() -> list[tuple[str, str | None, str]]:
    """(class name, drawn parent or None, the rest of the line) for each line of the tree."""
    doc = errors.__doc__ or ""
    block = doc.split("::\n", 1)[1]
    lines: list[str] = []
    for line in block.splitlines()[1:]:
        if line and not line.startswith("    "):
            break
        if line.strip():
            lines.append(line[4:])
    stack: list[str] = []
    out: list[tuple[str, str | None, str]] = []
    for line in lines:
        match = _TREE_LINE.match(line)
        assert match, f"not a tree line: {line!r}"
        depth = len(match["prefix"]) // 4
        stack[depth:] = [match["name"]]
        out.append((match["name"], stack[depth - 1] if depth else None, match["rest"]))
    return out


def test_every_exception_class_derives_from_the_root() -> None:
    classes = _our_exception_classes()
    assert errors.FileRejected in classes  # the walk does find our classes
    outside = sorted(
        f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, HandoffError)
    )
    assert outside == []


def test_class_names_do_not_collide() -> None:
    by_name: dict[str, list[str]] = {}
    for cls in _our_exception_classes():
        by_name.setdefault(cls.__name__, []).append(cls.__module__)
    assert {name: mods for name, mods in by_name.items() if len(mods) > 1} == {}


def test_every_class_is_drawn_under_its_parent() -> None:
    classes = {cls.__name__: cls for cls in _our_exception_classes()}
    drawing = _drawing()
    drawn = [name for name, _, _ in drawing]
    assert len(drawn) == len(set(drawn)), "a class is drawn twice"
    assert sorted(set(classes) - set(drawn)) == [], "classes missing from the drawing"
    assert sorted(set(drawn) - set(classes)) == [], "drawn classes that do not exist"
    for name, parent, rest in drawing:
        cls = classes[name]
        if parent is None:
            assert cls is HandoffError
        else:
            assert classes[parent] in cls.__bases__, f"{name} is not drawn under its base"
        assert "shown" in rest or "internal" in rest, f"{name}: say whether it is shown"


def test_the_modules_left_unimported_define_no_class() -> None:
    for name in _module_names():
        if name in NOT_IMPORTED or name.endswith(".__main__"):
            path = REPO / (name.replace(".", "/") + ".py")
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert not [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)], name
