"""Scale and cost of the catalog sweep (issue 11): the real ``musim similarity`` on a synthetic catalog.

The catalog
-----------
``bench/retrieval.py``'s generator (see its docstring): originals recombined from POP909 melody
chunks under geometric and diatonic variation, with another song's rhythm and chords; half the
catalog is queries: covers (55 %: transposed, re-timed with local tempo changes, cropped,
syncopated), plagiarism-like 4-16 bar phrases inside another, uncatalogued song (30 %) and
unrelated songs (15 %). Every track is real length (180-420 melody notes) and goes through the
package's transcription noise (rate ``--noise``); chord events get estimation noise. Unlike
``bench/retrieval.py`` (features built directly, retrieval in numpy), each track here is
*rendered to notes*: a ``Melody`` track (role melody) and a ``Chord`` track (bass root plus the
triad, held to the next chord; role chord), written straight into a warehouse's ``tracks``,
``labels`` and ``notes`` tables with the project's table writers (:func:`musim_spark.io.write.write_arrow`,
the schemas of :mod:`musim_spark.io.tables`), so the sweep computes its own features from the
notes as it does after ``musim ingest``. Generating 20,000 MIDI files and ingesting them is a
separate stage, benchmarked in ``bench/results/ingest.md``; it is not part of these figures.

The catalog is cached (``<work>/catalog_<N>_s<seed>_n<noise>/``: Arrow IPC files of the three
tables' rows, the truth, and ``--extra`` further tracks delivered later), so a rerun does not build
it again.

Measured
--------
The sweep is :func:`musim_spark.sweep.stage.run_similarity` (what ``musim similarity`` calls) on a
local Spark session of the packaged configuration (``local[*]``): wall time per phase (the
stage's own ``phase_seconds``: plan, features, retrieval, exact scoring with the ``matches``
write, the ``features`` write), candidate pairs scored, and from the ``matches`` table per query
kind: the true original's presence among the kept matches, rank-1 and MRR; from the retrieval
stage's candidates (recorded by the benchmark through the stage's ``observe`` hook) the
recall of true pairs among the candidates. Then ``--extra`` tracks are added to the warehouse and
the sweep runs again (incremental): its wall time as a share of the full sweep's. CPU seconds of
the whole process tree (driver, JVM, Python workers) are read at each phase's first progress line.
``scoring`` compares exact scoring of every candidate with melody-first, per query, on a swept
warehouse (CPU time, rows compared field by field).

Usage::

    python bench/sweep_scale.py generate --tracks 20000          # build and cache the catalog only
    python bench/sweep_scale.py run --tracks 1000 --json /tmp/scale_work/r1000.json
    python bench/sweep_scale.py scoring /tmp/scale_work/wh_5000 --queries 20 --budget 100
    python bench/sweep_scale.py report /tmp/scale_work/r*.json          # the tables of bench/results/sweep_scale.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import retrieval as rb  # noqa: E402  (bench/retrieval.py: the catalog generator)
from host import describe_machine  # noqa: E402

from musim_spark.io.tables import TABLES, table_uri  # noqa: E402

KIND_OF_VERSION = {"cover": "Cover_Synth_A", "phrase": "Cover_Phrase_A", "unrelated": "Cover_None_A"}


# ----------------------------------------------------------------------------------- rendering
def render_notes(song, rng, noise: float) -> list[tuple]:
    """One track's ``notes`` rows (without ids): the noisy melody, then the chords as notes.

    Returns
    -------
    list of (track_index, track_name, role, program, pitch, start_s, end_s, velocity)
    """
    t = rb.noisy_melody(song, rng, noise)
    rows = [(0, "Melody", "melody", 0, n.pitch, n.start, n.end, n.velocity) for n in t.notes]
    root, qual, cst = rb.noisy_chords(song, rng, noise)
    end = float(song.offset[-1]) if song.offset.shape[0] else 1.0
    nxt = np.append(cst[1:], max(end, cst[-1] + 0.5 if cst.shape[0] else end))
    for r, q, a, b in zip(root, qual, cst, nxt):
        if a < 0 or b - a < 0.05:
            continue
        third = 3 if q == 1 else 4
        for p in (36 + int(r), 60 + int(r), 60 + int(r) + third, 60 + int(r) + 7):
            rows.append((1, "Chord", "chord", 0, p, round(float(a), 6), round(float(b), 6), 70))
    return rows


# ----------------------------------------------------------------------------------- catalog
def _songs(n_tracks: int, maker, rng, originals: list, n_new_orig: int | None = None):
    """(songs, kinds, truth index into ``originals``) of ``n_tracks`` tracks: half originals (appended to
    ``originals``), half queries of any original so far, as bench/retrieval.py's build_catalog."""
    n_orig = n_tracks // 2 if n_new_orig is None else n_new_orig
    n_q = n_tracks - n_orig
    kinds = ["cover"] * int(round(0.55 * n_q)) + ["phrase"] * int(round(0.30 * n_q))
    kinds += ["unrelated"] * (n_q - len(kinds))
    first = len(originals)
    for _ in range(n_orig):
        originals.append(maker.song())
    out = [(originals[i], "original", -1, 0) for i in range(first, len(originals))]
    for kind in kinds:
        if kind == "cover":
            k = int(rng.integers(len(originals)))
            crop = None
            if rng.random() < 0.3:
                share = rng.uniform(0.5, 0.9)
                a = rng.uniform(0, 1 - share)
                crop = (a, a + share)
            s = rb.transform(originals[k], rng, shift=int(rng.choice([-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6])),
                             tempo=float(np.exp(rng.uniform(np.log(0.75), np.log(1.33)))), warps=3, crop=crop,
                             syncopate=bool(rng.random() < 0.3))
        elif kind == "phrase":
            k = int(rng.integers(len(originals)))
            s = rb.phrase_query(originals[k], maker.song(), rng)
        else:
            k, s = -1, maker.song()
        out.append((s, kind, k, int(s.bars)))
    return out


def _tables(items, rng, noise: float, *, first_orig: int, first_query: int, run_id: str, now):
    """Arrow tables (tracks, labels, notes) and truth rows of rendered tracks."""
    tr, lab, truth = [], [], []
    cols = {k: [] for k in ("track_id", "track_index", "track_name", "role", "program", "is_drum", "pitch",
                            "start_s", "end_s", "velocity", "run_id")}
    oi, qi = first_orig, first_query
    for song, kind, k, bars in items:
        if kind == "original":
            tid, version, orig = f"O{oi:06d}", "Org", f"O{oi:06d}"
            oi += 1
        else:
            tid, version = f"Q{qi:06d}", KIND_OF_VERSION[kind]
            orig = f"O{k:06d}" if k >= 0 else None
            qi += 1
        rows = render_notes(song, rng, noise)
        h = hashlib.sha256(repr(rows).encode()).hexdigest()
        n = len(rows)
        cols["track_id"] += [tid] * n
        for j, name in enumerate(("track_index", "track_name", "role", "program", "pitch", "start_s", "end_s",
                                  "velocity")):
            cols[name] += [r[j] for r in rows]
        cols["is_drum"] += [False] * n
        cols["run_id"] += [run_id] * n
        label = json.dumps({"melody_track": "Melody", "chord_track": "Chord", "synthetic": kind})
        tr.append({"track_id": tid, "kind": "Similar", "genre": "Synth", "song_no": tid[1:], "version": version,
                   "cover_type": None if version == "Org" else version.split("_")[1], "cover_range": None,
                   "original_track_id": orig, "mid_sha256": h,
                   "json_sha256": hashlib.sha256(label.encode()).hexdigest(), "midi_notes": n,
                   "midi_end_s": float(max(r[6] for r in rows)) if rows else 0.0, "melody_track": "Melody",
                   "chord_track": "Chord", "run_id": run_id, "ingested_at": now})
        lab.append({"track_id": tid, "melody_track": "Melody", "chord_track": "Chord", "raw_json": label,
                    "run_id": run_id})
        truth.append({"track_id": tid, "kind": kind, "original_track_id": orig if kind != "original" else None,
                      "bars": bars})
    tracks = pa.Table.from_pylist(tr, schema=_partial_schema(TABLES["tracks"].schema, tr[0].keys())) if tr else None
    tracks = _fill(tracks, TABLES["tracks"].schema)
    labels = _fill(pa.Table.from_pylist(lab, schema=_partial_schema(TABLES["labels"].schema, lab[0].keys())),
                   TABLES["labels"].schema)
    notes = pa.table(cols, schema=TABLES["notes"].schema)
    return tracks, labels, notes, truth


def _partial_schema(schema: pa.Schema, names) -> pa.Schema:
    return pa.schema([schema.field(n) for n in names])


def _fill(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The table with every column of ``schema`` (nulls where not given), in its order."""
    arrays = [table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
              for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def catalog_dir(work: Path, n: int, seed: int, noise: float, extra: int) -> Path:
    return work / f"catalog_{n}_s{seed}_n{noise}_x{extra}"


def build_catalog(n: int, *, work: Path, seed: int = 11, noise: float = 0.28, extra: int = 100,
                  songs: int | None = None) -> Path:
    """Build (or find) the cached catalog of ``n`` tracks plus ``extra`` later ones."""
    out = catalog_dir(work, n, seed, noise, extra)
    if (out / "done.json").is_file():
        return out
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    srcs = rb.load_sources(songs)
    t_src = time.perf_counter() - t0
    print(f"{len(srcs)} source songs in {t_src:.0f} s", flush=True)
    rng = np.random.default_rng(seed)
    maker = rb.Maker(srcs, rng)
    originals: list = []
    now = dt.datetime.now(dt.timezone.utc)
    t1 = time.perf_counter()
    for part, (size, name) in enumerate(((n, "base"), (extra, "extra"))):
        if size <= 0:
            continue
        items = _songs(size, maker, rng, originals)
        first_orig = 0 if name == "base" else n // 2
        first_query = 0 if name == "base" else n - n // 2
        chunk = 2000
        for c in range(0, len(items), chunk):
            tracks, labels, notes, truth = _tables(items[c:c + chunk], rng, noise,
                                                   first_orig=first_orig + sum(1 for x in items[:c] if x[1] == "original"),
                                                   first_query=first_query + sum(1 for x in items[:c] if x[1] != "original"),
                                                   run_id=f"synthetic-{name}", now=now)
            for tname, t in (("tracks", tracks), ("labels", labels), ("notes", notes)):
                with pa.OSFile(str(tmp / f"{name}_{tname}_{c // chunk:03d}.arrow"), "wb") as f:
                    with pa.ipc.new_file(f, t.schema) as w:
                        w.write_table(t)
            (tmp / f"{name}_truth_{c // chunk:03d}.json").write_text(json.dumps(truth))
            print(f"{name}: {min(c + chunk, len(items))}/{len(items)} tracks, {time.perf_counter() - t1:.0f} s",
                  flush=True)
    info = {"tracks": n, "extra": extra, "seed": seed, "noise": noise, "sources": len(srcs), "source_s": t_src,
            "generate_s": time.perf_counter() - t1, "chunks_used": maker.next, "chunks": len(maker.pool)}
    (tmp / "done.json").write_text(json.dumps(info))
    tmp.rename(out)
    return out


def _read_parts(cat: Path, name: str, table: str) -> pa.Table:
    parts = sorted(cat.glob(f"{name}_{table}_*.arrow"))
    return pa.concat_tables([pa.ipc.open_file(str(p)).read_all() for p in parts])


def read_truth(cat: Path, name: str) -> list[dict]:
    out = []
    for p in sorted(cat.glob(f"{name}_truth_*.json")):
        out += json.loads(p.read_text())
    return out


def load_into_warehouse(cat: Path, warehouse: Path, name: str) -> float:
    """Append a cached part (``base`` or ``extra``) to the warehouse's tracks/labels/notes; seconds."""
    from musim_spark.io.plan import WritePlan
    from musim_spark.io.write import write_arrow
    from musim_spark.runs import new_run_id

    t = time.perf_counter()
    for table in ("tracks", "labels", "notes"):
        for i, p in enumerate(sorted(cat.glob(f"{name}_{table}_*.arrow"))):
            rows = pa.ipc.open_file(str(p)).read_all()
            write_arrow(rows, WritePlan(table_uri(str(warehouse), table), schema=TABLES[table].schema,
                                        mode="append", run_id=new_run_id(),
                                        app_id=f"bench:sweep_scale:{table}:{name}:{i}", metadata={"bench": "sweep_scale"}))
    return time.perf_counter() - t


# ----------------------------------------------------------------------------------- sweep and evaluation
STEP_NAMES = ("features", "index", "retrieval", "exact scoring", "writes", "other")


def step_of(phase: str) -> str | None:
    """The issue's step a phase of ``SimilaritySummary.phase_seconds`` belongs to (None: not counted)."""
    if phase == "observe":
        return None
    for prefix, step in (("features of", "features"), ("index", "index"), ("retrieval", "retrieval"),
                         ("exact scoring", "exact scoring"), ("write", "writes")):
        if phase.startswith(prefix):
            return step
    return "other"


def steps(phase_seconds, total_s: float) -> dict:
    """Seconds per step; ``other`` = the sweep's wall time not in any phase (plan, session, commits' reads)."""
    out = {k: 0.0 for k in STEP_NAMES}
    observed = 0.0
    for name, secs in phase_seconds:
        st = step_of(name)
        if st is None:
            observed += secs
        else:
            out[st] += secs
    out["other"] += max(0.0, total_s - observed - sum(out.values()))
    return out


def cpu_steps(marks) -> dict:
    """CPU seconds per step from the (line, s, cpu s) marks taken at each phase's first line: the
    CPU spent until the next mark is the phase's (the observe hook's share of retrieval is small)."""
    out = {k: 0.0 for k in STEP_NAMES}
    for (line, _, c0), (_, _, c1) in zip(marks, marks[1:]):
        body = line.replace("similarity: ", "")
        if body.startswith("features of"):
            st = "features"
        elif body.startswith("retrieval with") or body.startswith("retrieval as"):
            st = "index"
        elif body.startswith("retrieval for"):
            st = "retrieval"
        elif body.startswith("exact scoring") or body.startswith("scoring with"):
            st = "exact scoring"
        elif body.startswith("writing"):
            st = "writes"
        else:
            st = "other"
        out[st] += c1 - c0
    return out


def evaluate(truth: list[dict], matches: list[dict], cands: "pd.DataFrame | None") -> dict:
    """Per query kind: recall among candidates, presence in the matches, rank-1, MRR, is_similar."""
    import pandas as pd

    best = {}
    for r in matches:
        best.setdefault(r["query_track_id"], {})[r["original_track_id"]] = r
    cand_rank = {}
    if cands is not None and len(cands):
        c = cands.sort_values(["query_track_id", "retrieval_score", "original_track_id"],
                              ascending=[True, False, True])
        c["r"] = c.groupby("query_track_id").cumcount() + 1
        cand_rank = {(q, o): int(r) for q, o, r in zip(c["query_track_id"], c["original_track_id"], c["r"])}
    rows = []
    for t in truth:
        if t["kind"] == "original":
            continue
        q, o = t["track_id"], t["original_track_id"]
        m = best.get(q, {})
        top = min(m.values(), key=lambda r: r["rank"]) if m else None
        rows.append({"kind": t["kind"], "bars": t["bars"],
                     "cand": (q, o) in cand_rank, "cand_rank": cand_rank.get((q, o)),
                     "rank": m[o]["rank"] if o in m else None,
                     "similar": bool(m[o]["is_similar"]) if o in m else False,
                     "top_similar": bool(top["is_similar"]) if top else False})
    df = pd.DataFrame(rows)
    out = {}
    groups = {"cover": df.kind == "cover", "phrase": df.kind == "phrase",
              "phrase 4-7 bars": (df.kind == "phrase") & (df.bars < 8),
              "phrase 8-11 bars": (df.kind == "phrase") & (df.bars >= 8) & (df.bars < 12),
              "phrase 12-16 bars": (df.kind == "phrase") & (df.bars >= 12),
              "all true": df.kind != "unrelated", "unrelated": df.kind == "unrelated"}
    for name, m in groups.items():
        d = df[m]
        if not len(d):
            continue
        rank = d["rank"].astype("float")
        x = {"n": int(len(d))}
        if name != "unrelated":
            x.update(recall_candidates=float(d["cand"].mean()), recall_matches=float(rank.notna().mean()),
                     rank1=float((rank == 1).mean()), mrr=float((1.0 / rank).fillna(0.0).mean()),
                     similar=float(d["similar"].mean()),
                     retrieval_rank1=float((d["cand_rank"].astype("float") == 1).mean()))
        x["top_similar"] = float(d["top_similar"].mean())   # unrelated: a false alarm
        out[name] = x
    # recall among candidates at smaller budgets (the candidates' retrieval order)
    cr = df.loc[df.kind != "unrelated", "cand_rank"].astype("float")
    out["_recall_at"] = {str(k): float((cr <= k).mean()) for k in (1, 2, 5, 10, 20, 25, 50, 100, 200) }
    return out


def tree_cpu_s(root: int | None = None) -> float:
    """CPU seconds (user + system, with reaped children) of this process and all its descendants
    (the driver, the JVM, the Python workers): a figure the machine's other load inflates far less
    than wall time."""
    tick = os.sysconf("SC_CLK_TCK")
    stats, children = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(d), int(parts[1])
        stats[pid] = sum(int(x) for x in parts[11:15]) / tick
        children.setdefault(ppid, []).append(pid)
    todo, total = [root or os.getpid()], 0.0
    while todo:
        p = todo.pop()
        total += stats.get(p, 0.0)
        todo += children.get(p, [])
    return total


def run_scale(n: int, a) -> dict:
    """Load the cached catalog into a fresh warehouse, sweep, evaluate, add ``extra`` tracks, sweep again."""
    from musim_spark.config import load_config
    from musim_spark.io.read import read_arrow
    from musim_spark.runs import new_run_id
    from musim_spark.spark import LazySession
    from musim_spark.sweep.stage import run_similarity

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    cat = build_catalog(n, work=a.work, seed=a.seed, noise=a.noise, extra=a.extra, songs=a.songs)
    info = json.loads((cat / "done.json").read_text())
    wh = a.work / f"wh_{n}{a.tag}"
    load_s = 0.0
    if not a.rerun_only:
        shutil.rmtree(wh, ignore_errors=True)
        load_s = load_into_warehouse(cat, wh, "base")
    truth = read_truth(cat, "base")
    config = load_config(str(a.conf) if a.conf else None)
    res = {"tracks": n, "originals": sum(t["kind"] == "original" for t in truth), "catalog": info,
           "load_tables_s": load_s, "machine": describe_machine(), "date": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
           "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True).stdout.strip(),
           "dirty": bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "musim_spark"],
                                        capture_output=True, text=True).stdout.strip()),
           "conf": str(a.conf) if a.conf else "defaults", "spark_master": config.spark.master}
    session = LazySession(config.spark, app_suffix=":bench")
    t = time.perf_counter()
    session()
    res["session_start_s"] = time.perf_counter() - t
    captured = {}

    def observe(name, df):
        captured[name] = df.toPandas()

    marks: list = []

    def progress(line):
        if line.endswith(" ...") or line.startswith("similarity: retrieval with") or line.startswith("similarity: retrieval as"):
            marks.append((line, time.perf_counter(), tree_cpu_s()))
        print(f"[{dt.datetime.now():%H:%M:%S}] {line}", flush=True)

    try:
        for label, part in (("full", None), ("rerun", "extra")):
            if part is None and a.rerun_only:
                continue
            if part is not None:
                if a.no_rerun or a.extra <= 0:
                    break
                res["load_extra_s"] = load_into_warehouse(cat, wh, part)
                truth = read_truth(cat, part)   # the rerun's new queries (the others' candidates are new originals only)
            captured.clear()
            marks.clear()
            load0 = os.getloadavg()
            cpu0 = tree_cpu_s()
            t = time.perf_counter()
            marks.append(("start", t, cpu0))
            summary = run_similarity(session(), config, warehouse=wh, run_id=new_run_id(), observe=observe,
                                     progress=progress)
            wall = time.perf_counter() - t
            marks.append(("end", time.perf_counter(), tree_cpu_s()))
            load1 = os.getloadavg()
            observed = sum(s for name, s in summary.phase_seconds if name == "observe")
            sweep_s = wall - observed
            matches = read_arrow(table_uri(str(wh), "matches"),
                                 columns=["query_track_id", "original_track_id", "rank", "is_similar"]).to_pylist()
            r = {"wall_s": sweep_s, "observe_s": observed, "load_start": load0, "load_end": load1,
                 "plan": summary.plan, "pairs_scored": summary.pairs_scored, "phases": list(summary.phase_seconds),
                 "steps": steps(summary.phase_seconds, wall), "features_failed": summary.features_failed,
                 "cpu_s": marks[-1][2] - marks[0][2],
                 "cpu_marks": [(m[0], m[1] - marks[0][1], m[2] - marks[0][2]) for m in marks],
                 "eval": evaluate(truth, matches, captured.get("candidates"))}
            res[label] = r
            print(json.dumps({label: r}, indent=1, default=str), flush=True)
    finally:
        session.stop()
    if "rerun" in res and "full" in res:
        res["rerun_share"] = res["rerun"]["wall_s"] / res["full"]["wall_s"]
    if a.json:
        path = Path(str(a.json).replace("{n}", str(n)))
        path.write_text(json.dumps(res, indent=1, default=str))
    return res


# ----------------------------------------------------------------------------------- scoring cost
def scoring_cost(a) -> dict:
    """CPU time per query of exact scoring, every candidate vs melody-first, on a swept warehouse's
    stored features: ``--queries`` sampled queries, their candidates from the numpy index (the
    sweep's retrieval), ``--budget`` of them each (default: the sweep's budget); the rows of both
    are compared field by field."""
    from musim_spark.config import load_config
    from musim_spark.io.read import read_arrow
    from musim_spark.retrieval import RetrievalSettings, build_index, query_scores, top_candidates
    from musim_spark.similarity.settings import SimilaritySettings
    from musim_spark.sweep.scoring import score_query

    config = load_config(None)
    sim, ret = SimilaritySettings.from_config(config), RetrievalSettings.from_config(config)
    f = read_arrow(table_uri(str(a.warehouse), "features")).to_pylist()
    f = [r for r in f if r["features"] is not None]
    orig = sorted((r for r in f if r["is_original"]), key=lambda r: r["track_id"])
    ids = np.array([r["track_id"] for r in orig], dtype=object)
    t = time.process_time()
    ix = build_index([np.unique(np.asarray(r["retrieval_keys"], np.int64).view(np.uint64)) for r in orig], ret)
    t_index = time.process_time() - t
    budget = a.budget or ret.budget(len(orig))
    rng = np.random.default_rng(1)
    qs = [f[i] for i in rng.choice(len(f), size=min(a.queries, len(f)), replace=False)]
    blobs = {r["track_id"]: r["features"] for r in orig}
    out = {"warehouse": str(a.warehouse), "originals": len(orig), "budget": budget, "queries": len(qs),
           "index_cpu_s": t_index, "index_mib": ix.nbytes / 2 ** 20, "retrieval_cpu_ms": [], "full_cpu_ms": [],
           "first_cpu_ms": [], "same_rows": 0, "top_k": a.top_k}
    pos = {t: i for i, t in enumerate(ids)}
    # warm up (numba kernels loaded, caches)
    score_query("w", qs[0]["features"], [(ids[0], blobs[ids[0]])], settings=sim, top_k=1, source="midi", run_id="r")
    for q in qs:
        t = time.process_time()
        sc = query_scores(ix, np.asarray(q["retrieval_keys"], np.int64).view(np.uint64),
                          np.asarray(q["retrieval_times"], np.float64), window_s=ret.local_window_s)
        best = top_candidates(sc, budget, exclude=pos.get(q["track_id"]))
        out["retrieval_cpu_ms"].append(1e3 * (time.process_time() - t))
        cands = [(ids[i], blobs[ids[i]]) for i in best]
        cache: dict = {}
        score_query("w", q["features"], cands[:1], settings=sim, top_k=1, source="midi", run_id="r", cache=cache)
        score_query("w", q["features"], cands, settings=sim, top_k=1, source="midi", run_id="r", cache=cache,
                    melody_first=True)  # decode every candidate once (the sweep's per-task cache)
        t = time.process_time()
        full = score_query(q["track_id"], q["features"], cands, settings=sim, top_k=a.top_k, source="midi",
                           run_id="r", cache=cache).to_pylist()
        out["full_cpu_ms"].append(1e3 * (time.process_time() - t))
        t = time.process_time()
        first = score_query(q["track_id"], q["features"], cands, settings=sim, top_k=a.top_k, source="midi",
                            run_id="r", cache=cache, melody_first=True).to_pylist()
        out["first_cpu_ms"].append(1e3 * (time.process_time() - t))
        out["same_rows"] += int(first == full)
    for k in ("retrieval_cpu_ms", "full_cpu_ms", "first_cpu_ms"):
        v = np.array(out[k])
        out[k] = {"mean": float(v.mean()), "median": float(np.median(v))}
    out["speedup"] = out["full_cpu_ms"]["mean"] / out["first_cpu_ms"]["mean"]
    print(json.dumps(out, indent=1), flush=True)
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    return out


# ----------------------------------------------------------------------------------- report
def report(paths, out):
    results = sorted((json.loads(Path(p).read_text()) for p in paths), key=lambda r: r["tracks"])
    lines = ["| tracks (originals) | full sweep wall s | pairs scored (share of all pairs) | "
             + " | ".join(STEP_NAMES) + " | load avg start / end |", "|---" * (4 + len(STEP_NAMES)) + "|"]
    for r in results:
        f = r["full"]
        tot = sum(f["steps"].values())
        share = f["pairs_scored"] / (r["tracks"] * r["originals"])
        lines.append(f"| {r['tracks']} ({r['originals']}) | {f['wall_s']:.0f} | {f['pairs_scored']:,} ({share:.2%}) | "
                     + " | ".join(f"{f['steps'][k]:.0f} s ({f['steps'][k] / tot:.0%})" for k in STEP_NAMES)
                     + f" | {f['load_start'][0]:.1f} / {f['load_end'][0]:.1f} |")
    lines += ["", "CPU seconds (driver, JVM and Python workers together; less inflated by the machine's other load than wall time):", "",
              "| tracks | run | CPU s | " + " | ".join(STEP_NAMES) + " |", "|---" * (3 + len(STEP_NAMES)) + "|"]
    for r in results:
        for label in ("full", "rerun"):
            if label in r and "cpu_marks" in r[label]:
                c = cpu_steps(r[label]["cpu_marks"])
                tot = sum(c.values())
                lines.append(f"| {r['tracks']} | {label} | {r[label]['cpu_s']:.0f} | "
                             + " | ".join(f"{c[k]:.0f} ({c[k] / tot:.0%})" for k in STEP_NAMES) + " |")
    lines += ["", "| tracks | rerun after +extra tracks: wall s | share of the full sweep | plan | pairs scored | load avg start / end |",
              "|---|---|---|---|---|---|"]
    for r in results:
        if "rerun" in r:
            x = r["rerun"]
            lines.append(f"| {r['tracks']} | {x['wall_s']:.1f} | {r['rerun_share']:.1%} | {x['plan']} | {x['pairs_scored']:,} | "
                         f"{x['load_start'][0]:.1f} / {x['load_end'][0]:.1f} |")
    lines += ["", "| tracks | query kind | n | recall among candidates | retrieval rank-1 | true original in matches (top k) | rank-1 | MRR | judged similar | best match similar |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for kind, x in r["full"]["eval"].items():
            if kind.startswith("_"):
                continue
            if kind == "unrelated":
                lines.append(f"| {r['tracks']} | unrelated (false alarms) | {x['n']} | | | | | | | {x['top_similar']:.4f} |")
                continue
            lines.append(f"| {r['tracks']} | {kind} | {x['n']} | {x['recall_candidates']:.4f} | {x['retrieval_rank1']:.4f} | "
                         f"{x['recall_matches']:.4f} | {x['rank1']:.4f} | {x['mrr']:.4f} | {x['similar']:.4f} | {x['top_similar']:.4f} |")
    lines += ["", "| tracks | " + " | ".join(f"recall@{k}" for k in results[0]["full"]["eval"]["_recall_at"]) + " |",
              "|---" * (1 + len(results[0]["full"]["eval"]["_recall_at"])) + "|"]
    for r in results:
        lines.append(f"| {r['tracks']} | " + " | ".join(f"{v:.4f}" for v in r["full"]["eval"]["_recall_at"].values()) + " |")
    text = "\n".join(lines)
    print(text)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("generate", "run"):
        p = sub.add_parser(name)
        p.add_argument("--tracks", type=int, nargs="+", required=True)
        p.add_argument("--extra", type=int, default=100, help="tracks delivered after the full sweep")
        p.add_argument("--seed", type=int, default=11)
        p.add_argument("--noise", type=float, default=0.28)
        p.add_argument("--songs", type=int, default=None, help="POP909 songs used (default: all)")
        p.add_argument("--work", type=Path, default=Path("/tmp/scale_work"))
        if name == "run":
            p.add_argument("--json", type=Path, default=None)
            p.add_argument("--conf", type=Path, default=None)
            p.add_argument("--no-rerun", action="store_true")
            p.add_argument("--tag", default="", help="suffix of the warehouse folder (runs side by side)")
            p.add_argument("--rerun-only", action="store_true",
                           help="the warehouse holds the swept base catalog: add the extra tracks and sweep again")
    p = sub.add_parser("scoring")
    p.add_argument("warehouse", type=Path)
    p.add_argument("--queries", type=int, default=40)
    p.add_argument("--budget", type=int, default=None, help="candidates per query (default: the sweep's)")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--json", type=Path, default=None)
    p = sub.add_parser("report")
    p.add_argument("results", type=Path, nargs="+")
    p.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.cmd == "generate":
        for n in a.tracks:
            print(build_catalog(n, work=a.work, seed=a.seed, noise=a.noise, extra=a.extra, songs=a.songs), flush=True)
    elif a.cmd == "run":
        for n in a.tracks:
            run_scale(n, a)
    elif a.cmd == "scoring":
        scoring_cost(a)
    else:
        report(a.results, a.out)


if __name__ == "__main__":
    main()
