"""The packages import each other in one direction only: no module imports (at the top or inside
a function) a module that imports it back, and no lower layer imports an upper one."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from spatial.settings import PROJECT_ROOT

PACKAGES = ("spatial", "ingest", "layers", "records", "accounts", "profiles", "web", "cli")
# a package may import those to its left, never those to its right
ORDER = {"spatial": 0, "ingest": 1, "layers": 2, "accounts": 3, "records": 3, "profiles": 4}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, known: set[str]) -> set[str]:
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        targets |= {n for n in names if n in known}
    return targets


def test_no_module_imports_one_that_imports_it_back():
    modules = _modules()
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' → '.join(exc.args[1])}") from None


def test_lower_layers_never_import_upper_ones():
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        own = ORDER.get(name.split(".")[0])
        if own is None:
            continue
        for target in _imports(path, set(modules)):
            theirs = ORDER.get(target.split(".")[0], 99)
            if theirs > own:
                wrong.append(f"{name} imports {target}")
    assert not wrong, wrong
