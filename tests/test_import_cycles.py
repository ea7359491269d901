"""No import cycles between the modules of musim_spark.

Parses the source of every module (nothing is imported) and builds the graph of the imports
between them; the test fails on any cycle and prints it.

What counts as an import (decided here):

- every ``import`` / ``from ... import`` statement anywhere in a module: at module level, inside
  functions and methods (a deferred import is still a dependency; deferring one only hides a
  cycle), and under ``if TYPE_CHECKING:`` (an import for type hints still ties the two modules'
  designs together, and the runs <-> io cycle this test was written against was half a
  TYPE_CHECKING import);
- relative imports are resolved against the importing module's package;
- ``from package import name`` is an edge to ``package.name`` when that is a module, else to
  ``package`` (its ``__init__``);
- the implicit import of parent packages (``import a.b.c`` runs ``a/__init__`` and
  ``a/b/__init__``) is not an edge: a package's ``__init__`` importing its own submodules would
  otherwise be a cycle with each of them;
- imports of other distributions (numpy, deltalake...) are ignored.
"""

from __future__ import annotations

import ast
from pathlib import Path

import musim_spark

PACKAGE = "musim_spark"
ROOT = Path(musim_spark.__file__).parent


def all_modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (source file, is a package)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = (path, is_package)
    return out


def imports_of(name: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports (see the module docstring)."""
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()

    def add(module: str) -> None:
        # `import a.b.c` where a.b.c is a module of ours; for a name that is not a module
        # (e.g. a mistyped or dynamic one) the nearest enclosing module of ours.
        while module and module not in known:
            module = module.rpartition(".")[0]
        if module:
            targets.add(module)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not (base == PACKAGE or base.startswith(PACKAGE + ".")):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in known else base)
    targets.discard(name)
    return targets


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    return {
        name: imports_of(name, path.read_text(encoding="utf-8"), is_package, known)
        for name, (path, is_package) in modules.items()
    }


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan; the graph has ~100 nodes, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)

    cycles = []
    for component in components:
        start = min(component)
        # shortest path from start back to start inside the component (breadth first)
        paths = {w: [start, w] for w in sorted(graph[start]) if w in component}
        frontier = list(paths)
        while start not in paths:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w in component and w not in paths:
                        paths[w] = paths[v] + [w]
                        nxt.append(w)
            frontier = nxt
        cycles.append(paths[start])
    return cycles


def test_cycle_finder_finds_and_prints_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"f"}, "f": {"e"}}
    assert sorted(find_cycles(graph)) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_imports_are_resolved_like_python_does():
    known = {"musim_spark", "musim_spark.io", "musim_spark.io.read", "musim_spark.runs", "musim_spark.errors",
             "musim_spark.ingest", "musim_spark.ingest.stage"}
    src = (
        "from ..runs import run_txn_version\n"          # relative, two levels
        "from . import read\n"                          # a sibling module
        "from .. import errors\n"                       # a module of the parent package
        "import numpy, musim_spark.ingest.stage\n"      # absolute; numpy ignored
        "def f():\n    from ..ingest import helper\n"   # inside a function; not a module: the package
        "if TYPE_CHECKING:\n    from musim_spark.runs import X\n"
    )
    got = imports_of("musim_spark.io.write", src, False, known | {"musim_spark.io.write"})
    assert got == {"musim_spark.runs", "musim_spark.io.read", "musim_spark.errors",
                   "musim_spark.ingest.stage", "musim_spark.ingest"}
    # in a package's __init__, "." is the package itself
    assert imports_of("musim_spark.io", "from .read import x\n", True, known) == {"musim_spark.io.read"}


def test_no_import_cycles():
    graph = import_graph()
    assert "musim_spark.io.plan" in graph and graph["musim_spark.io.plan"] >= {"musim_spark.runs"}
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
