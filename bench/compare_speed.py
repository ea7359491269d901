"""Wall time of ``musim compare A B`` in a fresh process: first call after install, and warm.

"Cold" runs with an empty numba cache (``NUMBA_CACHE_DIR``) and an empty bytecode cache
(``PYTHONPYCACHEPREFIX``: every module, the dependencies' too, compiled from source, which is more
than a first call after ``pip install`` pays, as pip compiles the dependencies' bytecode); "warm"
repeats the call with both caches filled. Also prints the slowest imports of a warm call (``python -X importtime``), since
imports, not the comparison, dominated before issue 10 (librosa, scipy, numba compilation).
The issue's targets for two 4-minute songs: <= 2 s warm, <= 15 s cold.

Run: ``python bench/compare_speed.py [A B] [--runs 3]`` (default: POP909 songs 002 and 003, 230 s
and 228 s). Wall times depend on the machine's load: the script prints the load average too.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POP909 = ROOT.parent / "shared" / "data" / "pop909"


def _run(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall, CPU user + system) seconds of one call; CPU time is less sensitive to a loaded machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"compare failed ({r.returncode}): {r.stderr.strip().splitlines()[-1:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _slowest_imports(cmd: list[str], env: dict, n: int) -> list[tuple[float, str]]:
    r = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], env=env, cwd=ROOT, capture_output=True, text=True)
    rows = []
    for line in r.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cum, name = line[len("import time:"):].split("|")
            if cum.strip().isdigit() and not name.startswith("   "):  # top-level imports only
                rows.append((int(cum) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", nargs="?", default=str(POP909 / "002" / "002.mid"))
    ap.add_argument("b", nargs="?", default=str(POP909 / "003" / "003.mid"))
    ap.add_argument("--runs", type=int, default=3, help="warm calls (median reported)")
    args = ap.parse_args()
    cmd = [sys.executable, "-m", "musim_spark.cli", "compare", args.a, args.b, "--json"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": f"{tmp}/numba", "PYTHONPYCACHEPREFIX": f"{tmp}/pyc"}
        # bytecode is written as on a user's machine (some CI shells set PYTHONDONTWRITEBYTECODE,
        # which makes every call compile every module from source)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cold = _run(cmd, env)
        warm = [_run(cmd, env) for _ in range(args.runs)]
        imports = _slowest_imports(cmd, env, 8)
    print(f"musim compare {args.a} {args.b}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"cold (empty numba and bytecode caches): {cold[0]:.2f} s wall, {cold[1]:.2f} s CPU")
    print(f"warm: median {statistics.median(w for w, _ in warm):.2f} s wall, "
          f"{statistics.median(c for _, c in warm):.2f} s CPU (runs {', '.join(f'{w:.2f}' for w, _ in warm)} s wall)")
    print("slowest top-level imports (warm, cumulative s): "
          + ", ".join(f"{name} {s:.2f}" for s, name in imports))


if __name__ == "__main__":
    main()
