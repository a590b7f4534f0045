"""The layers stand on each other in one direction: the domain at the bottom, the texts
(words, catalogues, formatting, signed links) above it, the activities, the archive and the
workflows above those, the API on top; and no two modules import each other, even through
others, inside a function or under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
# Not Alliance's own modules: its tests, the benchmark, the directory's migration scripts.
OUTSIDE = {".venv", "tests", "bench", "build", "artifacts", "docs", "scripts"}


def project_modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[0] in OUTSIDE or parts[0].startswith(".") or "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every project module this module imports, wherever the import stands."""

    def resolved(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {resolved(alias.name) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parents, *([base] if base else [])])
            found |= {
                resolved(f"{base}.{alias.name}" if base else alias.name) for alias in node.names
            }
    return found - {None, name}


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in edges[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in edges:
        if module not in index:
            visit(module)
    return found


def test_the_checker_sees_imports_inside_functions_and_under_type_checking(tmp_path):
    (tmp_path / "a.py").write_text("def f():\n    from b import x\n")
    (tmp_path / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import f\n"
    )
    modules = {"a": tmp_path / "a.py", "b": tmp_path / "b.py"}
    edges = {name: imports_of(name, path, modules) for name, path in modules.items()}
    assert circles(edges) == [["a", "b"]]


def test_no_module_imports_itself_through_others():
    edges = graph()
    assert {"api.pages.routes", "texts.i18n", "codec", "settings"} <= set(edges)
    assert circles(edges) == []


def test_nothing_below_the_api_imports_it():
    below = ("domain", "texts", "activities", "archive", "workflows", "directory")
    wrong = {
        module: sorted(other for other in imported if other.split(".")[0] == "api")
        for module, imported in graph().items()
        if module.split(".")[0] in below
    }
    assert {m: found for m, found in wrong.items() if found} == {}


def test_the_domain_imports_neither_temporal_nor_the_layers_above_it():
    modules = project_modules()
    for name, path in modules.items():
        if name.split(".")[0] != "domain":
            continue
        assert all(other.split(".")[0] == "domain" for other in imports_of(name, path, modules)), (
            name
        )
        assert "temporalio" not in path.read_text("utf-8"), name
