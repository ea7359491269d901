"""Spark stays at the edges: only the declared Spark modules import pyspark.

Two checks. The SOURCE check parses every module of musim_spark and fails if a module other than
the declared Spark modules imports pyspark (or delta-spark's ``delta`` package, which imports
pyspark) anywhere: at module level, inside a function, under ``TYPE_CHECKING``, or by
``importlib.import_module``/``__import__`` with a literal name. The LOAD-TIME check imports every
other module with pyspark blocked, so a module that pulls in a Spark module which then imports
pyspark at load fails too. Pure modules so run on a laptop, in a notebook or in a UDF.

A Spark module says so in its docstring ("Spark module") and is listed in :data:`SPARK_MODULES`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import musim_spark

#: The modules that may import pyspark; each says "Spark module" in its docstring.
SPARK_MODULES = frozenset({
    "musim_spark.spark",          # builds the session
    "musim_spark.io.spark_io",    # DataFrames in and out of Delta tables
    "musim_spark.ingest.stage",   # the ingest stage's Spark job
    "musim_spark.sweep.stage",    # the similarity sweep's Spark job
    "musim_spark.audio.stage",    # the transcribe stage's Spark job (GPU resource profile)
})
#: Top-level packages that mean "Spark": pyspark, and delta-spark's Python package (imports pyspark).
SPARK_PACKAGES = ("pyspark", "delta")
MARKER = "Spark module"

ROOT = Path(musim_spark.__file__).parent

BLOCKER = """
import sys
class _NoSpark:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pyspark", "delta"):
            raise ImportError(f"{name} imported while importing a pure module")
sys.meta_path.insert(0, _NoSpark())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
"""


def all_modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> source file."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_spark(name: str | None) -> bool:
    return bool(name) and name.split(".")[0] in SPARK_PACKAGES


def spark_imports(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` of every import of a Spark package anywhere in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if _is_spark(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and _is_spark(node.module):
                found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__") and _is_spark(str(node.args[0].value)):
                found.append((node.lineno, f"{called}({node.args[0].value!r})"))
    return found


def test_the_source_check_sees_imports_everywhere():
    src = (
        "import os\nimport deltalake\nfrom .delta import x\n"
        "def f():\n    from pyspark.sql import functions as F\n"
        "if TYPE_CHECKING:\n    import pyspark\n"
        "def g():\n    importlib.import_module('pyspark.sql')\n"
        "class C:\n    def m(self):\n        from delta.tables import DeltaTable\n"
    )
    assert [line for line, _ in spark_imports(src)] == [5, 7, 9, 12]


def test_only_declared_spark_modules_import_pyspark_in_their_source():
    offenders = []
    for name, path in all_modules().items():
        if name in SPARK_MODULES:
            continue
        offenders += [f"{name}:{line}: {what}" for line, what in spark_imports(path.read_text(encoding="utf-8"))]
    assert not offenders, "pyspark imported outside the Spark modules:\n" + "\n".join(offenders)


def test_spark_modules_are_declared_and_real():
    modules = all_modules()
    for name in SPARK_MODULES:
        assert name in modules, f"{name} is listed as a Spark module but does not exist"
        source = modules[name].read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source)) or ""
        assert MARKER in doc, f"{name}: its docstring must say it is a {MARKER}"
        assert spark_imports(source), f"{name} imports no pyspark: take it off SPARK_MODULES"


def test_other_modules_load_without_pyspark():
    names = sorted(n for n in all_modules() if n not in SPARK_MODULES)
    r = subprocess.run([sys.executable, "-c", BLOCKER, *names], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
