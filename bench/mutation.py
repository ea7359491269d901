"""Mutation testing of ``musim_spark/similarity/`` and ``musim_spark/io/`` with mutmut, on a copy.

The score says how many deliberately broken versions of the code (mutants: ``<`` for ``<=``, ``+``
for ``-``, another constant, a dropped argument, ...) the fast test suite notices. A mutant that
survives is a change of behaviour no test looks at.

What it does:

1. Copies the working tree (tracked and untracked-not-ignored files, no ``.venv``) to ``--work``
   (default ``/tmp/musim-mutation``), with ``shared/`` linked beside it so the tests find POP909;
   mutmut never touches the checkout.
2. Writes the mutmut configuration (:data:`MUTMUT_CFG`) as the copy's ``setup.cfg``: mutate the
   modules of ``similarity/`` and ``io/``; run the fast, non-Spark tests (:data:`TEST_FILES`,
   ``-m "not spark and not slow and not browser"``).
3. Generates every mutant and runs the tests once under mutmut's trampolines to learn which tests
   reach which function (mutmut's "stats").
4. Draws a seeded sample of the mutants (``--fraction``; all by default) and runs them
   (``mutmut run NAMES``; each mutant only against the tests that reach its function, fastest
   first, stopping at the first failure), within ``--budget-s`` of wall time.
5. Writes ``--out`` (default ``bench/results/mutation.md``): date, machine, tool and version, per
   module mutants generated / run / killed / survived / timeout / no test, the score, and the
   surviving mutants (file:line, the line before and after).

Score = detected / checked, where detected = killed + timeout + crash (a test process that aborts
also notices the mutant) and checked = every sampled mutant whose run finished (a mutant no
selected test reaches counts as not detected).

Out of scope, and why (listed in the results with their mutant counts):

* ``io/spark_io.py``: reached only by the Spark tests (minutes each), not by the fast selection.
* ``report/``: the HTML pair report, checked by the browser tests.
* ``similarity/transforms.py``: cover transforms the tests themselves use to build inputs.

mutmut 3 does not mutate decorated functions (the ``@njit`` kernels of ``similarity/align.py``,
properties) or module-level constants; the kernel's path is pinned by hand-computed alignments in
``tests/test_similarity_engine.py``.

Usage::

    .venv/bin/python bench/mutation.py                      # every mutant (hours on 2 cores)
    .venv/bin/python bench/mutation.py --fraction 0.05 --budget-s 1200   # a sample, ~25 min
"""

from __future__ import annotations

import argparse
import ast
import collections
import datetime as dt
import glob
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from host import describe_machine  # noqa: E402  (bench/ is on sys.path when run as a script)
ROOT = Path(__file__).resolve().parents[1]

#: Test files of the mutation run (those that exist): fast, no Spark session.
TEST_FILES = (
    "tests/test_similarity_engine.py", "tests/test_similarity_calibration.py", "tests/test_similarity_properties.py",
    "tests/test_similarity_baseline.py", "tests/test_sections.py", "tests/test_compare_cli.py",
    "tests/test_delta_io.py", "tests/test_runs.py", "tests/test_io_*.py",
)
MARKERS = "not spark and not slow and not browser"
#: Packages whose modules are mutated.
PACKAGES = ("musim_spark/similarity", "musim_spark/io")
#: Modules left out, with the reason (see the module docstring).
EXCLUDED = {
    "musim_spark/io/spark_io.py": "reached only by the Spark tests",
    "musim_spark/similarity/transforms.py": "test-input transforms, the tests' own tools",
}

MUTMUT_CFG = """[mutmut]
source_paths = musim_spark/
only_mutate =
{only}
do_not_mutate =
{excluded}
pytest_add_cli_args =
    -p
    no:cacheprovider
    -m
    {markers}
pytest_add_cli_args_test_selection =
{tests}
use_git_change_detection = false
"""

#: mutmut's exit codes (mutmut.stats.status_by_exit_code) folded to our columns.
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 36: "timeout", 24: "timeout",
          -24: "timeout", 152: "timeout", 255: "timeout", -11: "crash", -9: "crash", -6: "crash", 134: "crash",
          None: "not checked", 34: "skipped", 37: "caught by type check"}
DETECTED = ("killed", "timeout", "crash")

CUT_NOTE = (" (stopped at the --budget-s cap: the rest are `not checked`; mutmut runs the mutants whose tests "
            "are fastest first, so the unchecked ones are those only the slow POP909 tests reach, mostly in "
            "`features.py`, and the score of a cut sample leans towards the cheaply tested modules)")
LIMITS_NOTE = ("mutmut 3 does not mutate decorated functions (the `@njit` alignment kernels, properties) nor "
               "module-level constants; the kernel's path is pinned by hand-computed alignments in "
               "`tests/test_similarity_engine.py`. A function that runs while its module is imported (e.g. "
               "`features._templates`, which builds a constant table) runs once in mutmut's parent process, "
               "before any mutant is switched on: its mutants survive whatever the tests check.")

_GENERATE = r"""
import os, sys, time
import mutmut.__main__ as mm
t0 = time.time()
os.makedirs("mutants", exist_ok=True)
mm.set_mutant_under_test("mutant_generation")
mm.copy_src_dir(); mm.copy_also_copy_files(); mm.setup_source_paths(); mm.store_lines_covered_by_tests()
print("generated:", mm.create_mutants(int(sys.argv[1])), f"{time.time() - t0:.0f} s", flush=True)
mm.collect_or_load_stats(mm.get_mutant_runner(int(sys.argv[1])))
print(f"stats: {time.time() - t0:.0f} s", flush=True)
"""


def source_version() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "musim_spark", "tests"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return f"{head}{' + uncommitted changes' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("MUSIM_BENCH_COMMIT", "unknown")


def copy_tree(src: Path, dst: Path) -> None:
    """Tracked and untracked-not-ignored files of ``src`` (the tree as it is now) into ``dst``."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=src, capture_output=True,
                             check=True).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):  # an exported tree: take everything but the usual junk
        files = [str(p.relative_to(src)) for p in src.rglob("*") if p.is_file()
                 and not any(part in (".venv", ".git", "__pycache__", "mutants") for part in p.parts)]
    for f in files:
        s = src / f
        if s.is_file():
            (dst / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, dst / f)


def module_of(mutant: str) -> str:
    """``musim_spark.io.commit.x_f__mutmut_3`` -> ``musim_spark/io/commit.py``."""
    mod = mutant.rsplit(".", 1)[0]
    return mod.replace(".", "/") + ".py"


def survivor_lines(copy: Path, path: str, names: list[str]) -> dict[str, tuple[int, str, str]]:
    """For each mutant of ``path``: (line in the original file, original line, mutated line)."""
    src = (copy / path).read_text(encoding="utf-8")
    mutated = (copy / "mutants" / path).read_text(encoding="utf-8").splitlines()
    spans = json.loads((copy / "mutants" / (path + ".spans")).read_text(encoding="utf-8"))["spans"]
    # where each function starts in the original: "f" or "xǁClassǁmethod" -> def line
    starts = {}
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    starts[f"xǁ{node.name}ǁ{item.name}"] = item.lineno
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.col_offset == 0:
            starts[f"x_{node.name}"] = node.lineno
    out = {}
    for name in names:
        local = name.rsplit(".", 1)[1]                 # x_f__mutmut_3
        func = local.rsplit("__mutmut_", 1)[0]         # x_f
        a, b = spans.get(func + "__mutmut_orig"), spans.get(local)
        if not a or not b:
            continue
        orig, mut = mutated[a[0] - 1:a[1]], mutated[b[0] - 1:b[1]]
        # compare the bodies after each renamed "def" line; the original's def line is starts[func]
        d0 = next((i for i, l in enumerate(orig) if f"def {func}__mutmut_orig(" in l), 0)
        d1 = next((i for i, l in enumerate(mut) if f"def {local}(" in l), 0)
        body_o, body_m = orig[d0 + 1:], mut[d1 + 1:]
        i = next((i for i, (x, y) in enumerate(zip(body_o, body_m)) if x != y), min(len(body_o), len(body_m)))
        x = body_o[i].strip() if i < len(body_o) else ""
        y = body_m[i].strip() if i < len(body_m) else "(removed)"
        out[name] = (starts.get(func, 0) + 1 + i, x, y)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/musim-mutation"), help="scratch folder (recreated)")
    ap.add_argument("--fraction", type=float, default=1.0, help="share of each module's mutants to run (seeded)")
    ap.add_argument("--min-per-module", type=int, default=10, help="at least this many mutants per module")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--budget-s", type=float, default=0.0, help="wall-time cap of the mutant runs (0 = none)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "mutation.md")
    ap.add_argument("--json", type=Path, default=None, help="also write every sampled mutant's status here")
    ap.add_argument("--survivors", type=int, default=40, help="surviving mutants listed in the results")
    args = ap.parse_args(argv)

    t_start = time.time()
    started = dt.datetime.now(dt.timezone.utc)
    host = describe_machine(load=True)
    work = args.work.resolve()
    copy = work / "musim-spark"
    if work.exists():
        shutil.rmtree(work)
    copy.mkdir(parents=True)
    copy_tree(ROOT, copy)
    shared = (ROOT.parent / "shared").resolve()
    if shared.is_dir():   # tests look for <repo>/../shared; under mutants/ the repo is one level deeper
        (work / "shared").symlink_to(shared)
        (copy / "shared").symlink_to(shared)

    tests = [t for pattern in TEST_FILES for t in sorted(glob.glob(pattern, root_dir=copy))]
    modules = sorted(str(p.relative_to(copy)) for pkg in PACKAGES for p in (copy / pkg).glob("*.py"))
    (copy / "setup.cfg").write_text(MUTMUT_CFG.format(
        only="\n".join(f"    {pkg}/*" for pkg in PACKAGES), excluded="\n".join(f"    {m}" for m in EXCLUDED),
        markers=MARKERS, tests="\n".join(f"    {t}" for t in tests)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYPOTHESIS_PROFILE")}
    env["NUMBA_CACHE_DIR"] = str(work / "numba_cache")
    bin_dir = Path(sys.executable).parent
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    mutmut = [str(bin_dir / "mutmut")] if (bin_dir / "mutmut").exists() else [sys.executable, "-m", "mutmut"]

    # 1-3: generate, stats
    print(f"[mutation] copy in {copy}; generating mutants and collecting which tests reach which function",
          flush=True)
    t0 = time.time()
    r = subprocess.run([sys.executable, "-c", _GENERATE, str(args.max_children)], cwd=copy, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-3000:], file=sys.stderr)
        raise SystemExit("[mutation] mutant generation / stats failed")
    t_stats = time.time() - t0
    stats = json.loads((copy / "mutants" / "mutmut-stats.json").read_text(encoding="utf-8"))
    tests_by_function = stats["tests_by_mangled_function_name"]
    all_mutants: dict[str, list[str]] = collections.defaultdict(list)
    for meta in sorted((copy / "mutants").rglob("*.py.meta")):
        for name in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]:
            all_mutants[module_of(name)].append(name)

    # 4: sample and run
    rng = random.Random(args.seed)
    sample: list[str] = []
    for mod in sorted(all_mutants):
        names = sorted(all_mutants[mod])
        k = len(names) if args.fraction >= 1 else min(len(names), max(args.min_per_module,
                                                                       round(args.fraction * len(names))))
        sample += sorted(rng.sample(names, k))
    print(f"[mutation] {sum(map(len, all_mutants.values()))} mutants in {len(all_mutants)} modules "
          f"({t_stats:.0f} s); running {len(sample)}", flush=True)
    t0 = time.time()
    proc = subprocess.Popen([*mutmut, "run", "--max-children", str(args.max_children), *sample], cwd=copy, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    cut = False
    try:
        while proc.poll() is None:
            if args.budget_s and time.time() - t0 > args.budget_s:
                cut = True
                os.killpg(proc.pid, signal.SIGINT)     # mutmut stops its workers and keeps finished results
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                break
            time.sleep(2)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = proc.stderr.read() if proc.stderr else ""
    t_run = time.time() - t0
    if proc.returncode not in (0, None) and not cut:
        print(err[-3000:], file=sys.stderr)

    # 5: results
    status: dict[str, str] = {}
    for meta in (copy / "mutants").rglob("*.py.meta"):
        for name, code in json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"].items():
            status[name] = STATUS.get(code, "suspicious")
    chosen = set(sample)
    rows = []
    totals = collections.Counter()
    for mod in modules:
        names = all_mutants.get(mod, [])
        c = collections.Counter(status.get(n, "not checked") for n in names if n in chosen)
        detected = sum(c[s] for s in DETECTED)
        checked = sum(v for s, v in c.items() if s not in ("not checked", "skipped"))
        excluded = EXCLUDED.get(mod)
        rows.append((mod, len(names), sum(1 for n in names if n in chosen), c, detected, checked, excluded))
        if not excluded:
            totals.update(c)
            totals["_generated"] += len(names)
            totals["_sampled"] += sum(1 for n in names if n in chosen)
    det = sum(totals[s] for s in DETECTED)
    chk = sum(v for s, v in totals.items() if not s.startswith("_") and s not in ("not checked", "skipped"))
    score = det / chk if chk else float("nan")

    survivors = [n for n in sample if status.get(n) in ("survived", "no tests") and module_of(n) not in EXCLUDED]
    lines_by = {}
    for mod in sorted({module_of(n) for n in survivors}):
        lines_by.update(survivor_lines(copy, mod, [n for n in survivors if module_of(n) == mod]))

    def pct(a, b):
        return f"{100 * a / b:.1f} %" if b else "-"

    version = metadata.version("mutmut")
    out = [f"# Mutation testing of similarity/ and io/ ({started:%Y-%m-%d %H:%M} UTC)", "",
           f"Machine: {host}; shared with other jobs, so times are indicative.", "",
           f"Tool: mutmut {version} (Python {platform.python_version()}), on a copy of the working tree "
           f"({source_version()}); reproduce: `.venv/bin/python bench/mutation.py "
           f"--fraction {args.fraction:g} --seed {args.seed} --budget-s {args.budget_s:g}`.", "",
           f"Tests: {', '.join(f'`{t}`' for t in tests)} with `-m \"{MARKERS}\"` (no Spark session); per "
           "mutant only the tests that reach the mutated function (mutmut's stats), fastest first, stopping "
           "at the first failure.", "",
           f"Sample: {'every mutant' if args.fraction >= 1 else f'{args.fraction:.0%} of each module (at least {args.min_per_module}), seed {args.seed}'}"
           f"; {totals['_sampled']} of {totals['_generated']} mutants of the modules in scope. "
           f"Wall time: {t_stats:.0f} s generating mutants and stats, {t_run:.0f} s running mutants"
           f"{CUT_NOTE if cut else ''}, "
           f"{time.time() - t_start:.0f} s in all.", "",
           "Score = detected / checked; detected = killed + timeout + crash; a mutant no selected test reaches "
           "(`no test`) counts as not detected.", "",
           f"## Score: **{pct(det, chk)}** ({det} of {chk} checked mutants detected)", "",
           "| module | mutants | run | killed | timeout | crash | survived | no test | not checked | score |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mod, n, k, c, d, ch, excl in rows:
        if excl:
            continue
        out.append(f"| `{mod}` | {n} | {k} | {c['killed']} | {c['timeout']} | {c['crash']} | {c['survived']} | "
                   f"{c['no tests']} | {c['not checked']} | {pct(d, ch)} |")
    out.append(f"| **in scope** | {totals['_generated']} | {totals['_sampled']} | {totals['killed']} | "
               f"{totals['timeout']} | {totals['crash']} | {totals['survived']} | {totals['no tests']} | "
               f"{totals['not checked']} | **{pct(det, chk)}** |")
    out += ["", "Not mutated (out of scope): " + "; ".join(f"`{m}` ({why})" for m, why in EXCLUDED.items()) + ".",
            "",
        LIMITS_NOTE, "",
        f"## Surviving mutants (first {min(args.survivors, len(survivors))} of {len(survivors)}, by module)", "",
        "| mutant | where | original | mutated |", "|---|---|---|---|"]
    for n in sorted(survivors, key=lambda n: (module_of(n), lines_by.get(n, (0,))[0]))[:args.survivors]:
        line, a, b = lines_by.get(n, (0, "?", "?"))
        tag = " (no test)" if status.get(n) == "no tests" else ""
        out.append(f"| `{n.rsplit('.', 1)[1]}`{tag} | `{module_of(n)}:{line}` | `{a[:90]}` | `{b[:90]}` |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(out) + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({n: status.get(n, "not checked") for n in sample}, indent=1), encoding="utf-8")
    print(f"[mutation] score {pct(det, chk)} ({det}/{chk}); wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
