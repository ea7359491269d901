"""Pure modules must import (and so run on a laptop, in a notebook or a UDF) without pyspark."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import musim_spark

PURE_PACKAGES = ("musim_spark.similarity", "musim_spark.sampledata", "musim_spark.ingest")
PURE_MODULES = ("musim_spark.layout", "musim_spark.errors", "musim_spark.config", "musim_spark.model",
                "musim_spark.midi", "musim_spark.labels", "musim_spark.cli")

BLOCKER = """
import sys
class _NoSpark:
    def find_spec(self, name, path=None, target=None):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError("pyspark imported by a pure module")
sys.meta_path.insert(0, _NoSpark())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
"""


def _pure_modules():
    names = list(PURE_MODULES)
    root = Path(musim_spark.__file__).parent
    for pkg in PURE_PACKAGES:
        sub = root.joinpath(*pkg.split(".")[1:])
        if sub.is_dir():
            names.append(pkg)
            names += [f"{pkg}.{m.name}" for m in pkgutil.iter_modules([str(sub)])]
    return names


def test_pure_modules_do_not_import_pyspark():
    names = _pure_modules()
    r = subprocess.run([sys.executable, "-c", BLOCKER, *names], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
