"""Plagiarism-like benchmark (issue 10): today's engine and the interval 3-gram floor, in one run.

What it builds (musim_spark.sampledata.plagiarism, from POP909 songs, one seed):

* ``--pairs`` N source songs S_i and N host songs H_i. Queries with a true counterpart S_i:
  ``phrase``  H_i with a 4-16 bar phrase of S_i transposed and re-timed (multi-track, the melody
              track under a name drawn from ODD_MELODY_NAMES, often non-ASCII and mis-encoded);
  ``mel``     that query's melody alone as a single-line file with transcription artefacts
              (10 % octave/octave+fifth partials, 10 % split, 10 % dropped, 20 ms jitter);
  ``phr``     the inserted phrase alone as a single-line file (odd i: only its first 2 bars;
              i % 4 in {2, 3}: with the same artefacts).
* ``--hard`` hard negatives of each kind (queries whose counterpart is NOT similar):
  ``chord_groove`` S_j's piano (chords, groove) under H_j's melody re-fitted to S_j's chords, vs S_j;
  ``cliche``       H_j and a fresh song Y_j sharing one 1-2 bar scale run, vs Y_j-with-the-run.
* candidates of the all-vs-all: the N source songs, the ``--hard`` cliche partners and
  ``--distractors`` songs of the unrelated pool.
* excerpt test: 8/16/32-bar excerpts of ``--excerpt-songs`` source songs, exact and transposed
  (+-1..6) + re-timed (x0.8-1.25, 10 ms jitter), against the whole song and ``--unrelated`` songs.
* short melodies: every single-line query with <= 16 engine melody notes (phrase files and 1-4 bar
  melody snippets of host songs) against the ``--unrelated`` songs.

All files are written as MIDI (``--work``/set: queries/, candidates/, truth.csv) and read back,
so the engine sees what a user's ``musim compare`` would. Features are
computed once per file (cached by file hash and settings under ``--work``/features), pairs with
``compare_features``; ``--processes`` workers (at most 2 on the CI machine).

Scores: engine melody score (reported, 0-100; NaN = "cannot be computed" ranks lowest), engine
``similarityCoefficient``, engine ``isSimilar``; baseline = interval 3-gram Jaccard of the
engine's own melody lines (TrackFeatures.melody_pitch). Top-1: the true counterpart scores
strictly above every other candidate (a tie is a miss). Length bins by the query's engine melody
notes: <= 16, 17-64, > 64.

Usage::

    .venv/bin/python bench/plagiarism.py                         # the recorded run (~10-20 min on 2 shared cores)
    .venv/bin/python bench/plagiarism.py --quick --out /tmp/p.md  # smoke run (~1-2 min)
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import pickle
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from host import describe_machine  # noqa: E402  (bench/ is on sys.path when run as a script)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musim_spark.errors import ParameterError  # noqa: E402
from musim_spark.similarity import SimilaritySettings, compare_features  # noqa: E402
from musim_spark.similarity.baseline import interval_ngram_jaccard  # noqa: E402

BINS = (("<= 16", 0, 16), ("17-64", 17, 64), ("> 64", 65, 10 ** 9))
ARTEFACTS = dict(partial_rate=0.10, split_rate=0.10, drop_rate=0.10, jitter_ms=20.0)


# ------------------------------------------------------------------------------------------ build
def _read_job(args):
    from musim_spark.sampledata.source import read_song

    pop909, sid = args
    return sid, read_song(pop909, sid)


def build_set(pop909: str, out: Path, *, seed: int, n_pairs: int, n_hard: int, n_unrelated: int,
              n_distractors: int, n_excerpt_songs: int, n_snippets: int, processes: int) -> dict:
    """Generate every case and write it under ``out``; returns the groups of ids the run compares."""
    from musim_spark.sampledata import plagiarism as P
    from musim_spark.sampledata.source import list_songs

    ids = list_songs(pop909)
    rng = np.random.default_rng(seed)
    order = [ids[i] for i in rng.permutation(len(ids))]
    fixed = 2 * n_pairs + n_hard
    if len(order) < fixed + n_distractors:
        raise ParameterError(f"{len(order)} POP909 songs: too few for {n_pairs} pairs and {n_hard} hard negatives")
    if len(order) < fixed + n_unrelated:
        print(f"[bench] only {len(order) - fixed} unrelated songs available (asked {n_unrelated})", flush=True)
        n_unrelated = len(order) - fixed
    sources, hosts = order[:n_pairs], order[n_pairs:2 * n_pairs]
    partners = order[2 * n_pairs:fixed]
    unrelated = order[fixed:fixed + n_unrelated]
    with mp.get_context("fork").Pool(processes) as pool:
        songs = dict(pool.map(_read_job, [(pop909, s) for s in sources + hosts + partners + unrelated],
                              chunksize=8))

    def rng_for(kind: int, i: int) -> np.random.Generator:
        # one stream per case: a case does not change when the sizes of the others do
        return np.random.default_rng([seed, kind, i])

    names = P.ODD_MELODY_NAMES
    cases, plag_queries, excerpt_queries, snippet_queries = [], [], [], []
    for i, (s, h) in enumerate(zip(sources, hosts)):
        name, enc = names[i % len(names)]
        try:
            ph = P.phrase_case(songs[s], songs[h], rng_for(1, i), melody_name=P.file_track_name(name, enc))
        except ParameterError as exc:
            print(f"[bench] skipped pair {s}/{h}: {exc}", flush=True)
            continue
        mname, menc = names[(i + 5) % len(names)]
        mel = P.melody_file_case(ph, rng_for(2, i), name=mname, encoding=menc, **ARTEFACTS)
        short = i % 2 == 1
        bar_s = ph.truth["sections"][0]["durationMilliSec"] / 1000.0 / ph.truth["params"]["bars"]
        phr = P.melody_file_case(ph, rng_for(3, i), phrase_only=True, max_seconds=2 * bar_s if short else None,
                                 name=names[(i + 2) % len(names)][0], encoding=names[(i + 2) % len(names)][1],
                                 **(ARTEFACTS if i % 4 in (2, 3) else {}))
        cases += [ph, mel, phr]
        plag_queries += [ph.case_id, mel.case_id, phr.case_id]
    for j in range(n_hard):
        cg = P.chord_groove_case(songs[sources[j]], songs[hosts[-1 - j]], rng_for(4, j))
        cl = P.cliche_case(songs[hosts[j]], songs[partners[j]], rng_for(5, j),
                           melody_name=P.file_track_name(*names[(j + 1) % len(names)]))
        cases += [cg, cl]
        plag_queries += [cg.case_id, cl.case_id]
    for k, s in enumerate(sources[:n_excerpt_songs]):
        for bars in (8, 16, 32):
            r = rng_for(6, 100 * k + bars)
            try:
                ex = P.excerpt_case(songs[s], r, bars=bars)
                shifts = [t for t in range(-6, 7) if t]
                tr = P.excerpt_case(songs[s], r, bars=bars, transpose=int(shifts[int(r.integers(len(shifts)))]),
                                    tempo_ratio=float(r.uniform(0.8, 1.25)), jitter_ms=10.0)
            except ParameterError as exc:
                print(f"[bench] no {bars}-bar excerpt of {s}: {exc}", flush=True)
                continue
            cases += [ex, tr]
            excerpt_queries += [ex.case_id, tr.case_id]
    for k in range(n_snippets):
        h = hosts[k % len(hosts)]
        bars = 1 + k % 4
        r = rng_for(7, k)
        try:
            ex = P.excerpt_case(songs[h], r, bars=bars, case_id=f"snippet-{h}-{bars}bar-{k}")
        except ParameterError:
            continue
        if not ex.query.tracks or not any(t.name == "Melody" and t.notes for t in ex.query.tracks):
            continue
        sn = P.melody_file_case(ex, r, name=names[k % len(names)][0], encoding=names[k % len(names)][1],
                                **(ARTEFACTS if k % 2 else {}))
        # compared with unrelated songs only: its host is no candidate (hosts never are)
        cases.append(dataclasses.replace(sn, counterpart=None))
        snippet_queries.append(sn.case_id)
    extra = {f"pop909-{u}": P.song_piece(songs[u]) for u in unrelated}
    rows = P.write_cases(cases, out, extra_candidates=extra)
    queried = set(plag_queries)
    counterparts = sorted({r["counterpart_id"] for r in rows if r["case_id"] in queried})
    assert not counterparts or not {f"pop909-{h}" for h in hosts} & set(counterparts), "a host became a candidate"
    return dict(rows=rows, plag_queries=plag_queries, excerpt_queries=excerpt_queries,
                snippet_queries=snippet_queries,
                candidates=sorted(set(counterparts) - {f"pop909-{u}" for u in unrelated})
                + [f"pop909-{u}" for u in unrelated[:n_distractors]],
                unrelated=[f"pop909-{u}" for u in unrelated], sizes=dict(
                    pairs=sum(1 for c in cases if c.truth["kind"] == "phrase"), hard=n_hard, unrelated=len(unrelated), distractors=n_distractors,
                    excerpts=len(excerpt_queries), snippets=len(snippet_queries)))


# --------------------------------------------------------------------------------------- features
#: The settings features depend on (thresholds and scoring values do not change a track's features, so a
#: recalibration reuses the cached features and only rescores the pairs).
FEATURE_SETTINGS = ("onset_tolerance_s", "chord_min_fit", "chord_bass_weight", "melody_candidates",
                    "melody_partial_intervals", "melody_continuity_weight")


def _settings_key(settings: SimilaritySettings) -> str:
    """Feature settings and feature code: a cached feature is reused only by the same extraction."""
    h = hashlib.sha1(repr([(k, getattr(settings, k)) for k in FEATURE_SETTINGS]).encode())
    pkg = Path(sys.modules["musim_spark"].__file__).parent
    for f in sorted([pkg / "similarity" / "features.py", pkg / "similarity" / "melody_line.py", pkg / "model.py",
                     pkg / "midi.py"]):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _features_job(args):
    """Worker: one MIDI file -> features (cached by bytes + settings)."""
    fid, path, cache_dir, settings, engine_key = args
    try:
        return _features(fid, path, cache_dir, settings, engine_key)
    except Exception as exc:  # noqa: BLE001 -- a worker's exception must reach the report, not hang the pool
        return fid, None, 0.0, f"{type(exc).__name__}: {exc}"


def _features(fid, path, cache_dir, settings, engine_key):
    from musim_spark.midi import read_midi
    from musim_spark.similarity.compare import piece_features

    data = Path(path).read_bytes()
    key = hashlib.sha1(data).hexdigest() + "-" + engine_key
    cache = Path(cache_dir) / f"{key}.pkl"
    if cache.is_file():
        with open(cache, "rb") as fh:
            f, secs = pickle.load(fh)
        return fid, f, secs, True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        f = piece_features(read_midi(data, name=str(path)), settings=settings)
        secs = time.perf_counter() - t
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        pickle.dump((f, secs), fh)
    tmp.replace(cache)
    return fid, f, secs, False


_FEATS: dict = {}
_SETTINGS: SimilaritySettings | None = None


def _pairs_job(chunk):
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for q, c in chunk:
            fq, fc = _FEATS[q], _FEATS[c]
            jac = interval_ngram_jaccard(fq.melody_pitch, fc.melody_pitch, n=3)
            t = time.perf_counter()
            try:
                r = compare_features(fq, fc, settings=_SETTINGS)
            except Exception as exc:  # noqa: BLE001 -- counted and named in the report, never hangs the pool
                out.append((q, c, float("nan"), float("nan"), float("nan"), False, float(jac), 0.0,
                            f"{type(exc).__name__}: {exc}"))
                continue
            t_engine = time.perf_counter() - t
            out.append((q, c, float(r.melody.score), float(r.melody.raw_score), float(r.coefficient),
                        bool(r.similar), float(jac), t_engine, ""))
    return out


# ---------------------------------------------------------------------------------------- metrics
def roc_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties count half (Mann-Whitney). NaN scores
    (engine: "cannot be computed") are ranked below every number: undefined is not similar."""
    pos = np.where(np.isfinite(pos), pos, -np.inf)
    neg = np.sort(np.where(np.isfinite(neg), neg, -np.inf))
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * ties).sum() / (pos.size * neg.size))


def _fmt(x, nd=3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def _bin(n: int) -> str:
    for name, lo, hi in BINS:
        if lo <= n <= hi:
            return name
    return BINS[-1][0]


SCORES = (("engine melody", 2), ("engine coefficient", 4), ("3-gram Jaccard", 6))


def allvsall_metrics(res: dict, queries: list[str], candidates: list[str], truth: dict, n_mel: dict) -> dict:
    by_q: dict[str, list] = {}
    for q in queries:
        by_q[q] = [res[(q, c)] for c in candidates]
    out = {"bins": {}, "kinds": {}}

    def block(qs: list[str]) -> dict:
        d = {"queries": len(qs), "with_counterpart": 0}
        pos_idx = {q: (candidates.index(truth[q]["counterpart_id"]) if truth[q]["positive"] else -1) for q in qs}
        with_pos = [q for q in qs if pos_idx[q] >= 0]
        d["with_counterpart"] = len(with_pos)
        for name, k in SCORES:
            pos, neg, top = [], [], 0
            for q in qs:
                s = np.array([r[k] for r in by_q[q]], dtype=np.float64)
                s = np.where(np.isfinite(s), s, -np.inf)
                i = pos_idx[q]
                if i >= 0:
                    pos.append(s[i])
                    others = np.delete(s, i)
                    top += int(s[i] > others.max()) if others.size else 1
                neg.extend(np.delete(s, i) if i >= 0 else s)
            d[name] = {"auc": roc_auc(np.array(pos), np.array(neg)),
                       "top1": top, "top1_share": top / len(with_pos) if with_pos else float("nan")}
        sim = np.array([r[5] for q in qs for r in by_q[q]], dtype=bool)
        y = np.array([candidates[j] == truth[q]["counterpart_id"] and truth[q]["positive"]
                      for q in qs for j in range(len(candidates))], dtype=bool)
        tp, fp = int(np.sum(sim & y)), int(np.sum(sim & ~y))
        d["isSimilar"] = {"tp": tp, "fp": fp, "fn": int(np.sum(~sim & y)),
                          "precision": tp / (tp + fp) if tp + fp else float("nan"),
                          "recall": tp / int(y.sum()) if y.any() else float("nan")}
        return d

    out["overall"] = block(queries)
    for name, lo, hi in BINS:
        qs = [q for q in queries if lo <= n_mel[q] <= hi]
        out["bins"][name] = block(qs) if qs else None
    kinds: dict[str, list[str]] = {}
    for q in queries:
        kinds.setdefault(query_kind(truth[q]), []).append(q)
    for k, qs in kinds.items():
        out["kinds"][k] = block(qs)
    # hubs: which candidate the engine ranks first most often, and short queries' wins
    first = {}
    for q in queries:
        s = np.array([r[2] for r in by_q[q]], dtype=np.float64)
        if np.isfinite(s).any():
            first[q] = candidates[int(np.nanargmax(s))]
    out["false_similar_pairs_with_short_query"] = int(sum(
        1 for q in queries for j, r in enumerate(by_q[q]) if r[5] and n_mel[q] <= 20
        and not (truth[q]["positive"] and candidates[j] == truth[q]["counterpart_id"])))
    # hard negatives: the counterpart of a negative query
    hard = {}
    for q in queries:
        t = truth[q]
        if t["positive"]:
            continue
        j = candidates.index(t["counterpart_id"])
        rec = hard.setdefault(t["kind"], {"n": 0, "similar": 0, "engine_rank1": 0, "baseline_rank1": 0,
                                          "melody": [], "jaccard": []})
        r = by_q[q][j]
        rec["n"] += 1
        rec["similar"] += int(r[5])
        rec["melody"].append(r[2])
        rec["jaccard"].append(r[6])
        for key, k in (("engine_rank1", 2), ("baseline_rank1", 6)):
            s = np.array([x[k] for x in by_q[q]], dtype=np.float64)
            s = np.where(np.isfinite(s), s, -np.inf)
            rec[key] += int(s[j] >= np.delete(s, j).max())
    out["hard"] = hard
    return out


def query_kind(t: dict) -> str:
    if t["kind"] == "melody_file":
        p = t["params"]
        if not p.get("phrase_only"):
            return "single-line whole melody, artefacts"
        art = "artefacts" if p.get("partial_rate") else "clean"
        return f"single-line phrase{' (2 bars)' if p.get('max_seconds') else ''}, {art}"
    return {"phrase": "multi-track phrase inside a host", "chord_groove": "hard neg.: same chords+groove",
            "cliche": "hard neg.: shared cliche"}.get(t["kind"], t["kind"])


# ------------------------------------------------------------------------------------------ report
def commit() -> str:
    if os.environ.get("MUSIM_BENCH_COMMIT"):  # run from an exported tree (git archive), no .git there
        return os.environ["MUSIM_BENCH_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
        return head + (" + uncommitted changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(meta: dict, avs: dict, exc: dict, short: dict) -> str:
    L = ["# Plagiarism-like benchmark (issue 10): today's engine vs the interval 3-gram floor", ""]
    L.append(f"Run: {meta['date']} · machine: {meta['machine']} · load avg {meta['load_start']:.1f} at start, "
             f"{meta['load_end']:.1f} at end (shared machine) · commit {meta['commit']} · "
             f"engine `{meta['engine']}` · `{meta['command']}` · wall {meta['wall_s']:.0f} s (features {meta['features_s']:.0f} s for "
             f"{meta['n_files']} files, {meta['cached']} cached; {meta['n_pairs']} pairs {meta['pairs_s']:.0f} s) · "
             f"processes {meta['processes']} · engine {meta['engine_ms_allvsall']:.0f} ms per all-vs-all pair, "
             f"{meta['feature_s_mean']:.1f} s features per file (when computed) · "
             f"engine errors {meta['engine_errors']}"
             + (f" (first: {meta['first_error']})" if meta["engine_errors"] else "") + ".")
    L.append("")
    sz = meta["sizes"]
    L.append(f"Set (seed {meta['seed']}, POP909, `musim_spark.sampledata.plagiarism`): {sz['pairs']} source/host "
             f"pairs -> {avs['overall']['with_counterpart']} queries with a true counterpart (multi-track phrase, "
             f"single-line whole melody with artefacts, single-line phrase), {2 * sz['hard']} hard-negative "
             f"queries; {meta['n_candidates']} candidates (sources, cliche partners, {sz['distractors']} unrelated "
             f"songs); all-vs-all {avs['overall']['queries']} x {meta['n_candidates']} pairs. Excerpts: "
             f"{sz['excerpts']}; unrelated songs: {sz['unrelated']}; melody snippets: {sz['snippets']}. "
             "Engine = `SimilaritySettings()` defaults, features from the written MIDI files "
             "(no label: the engine finds the melody track itself). Baseline = interval 3-gram Jaccard "
             "(`musim_spark.similarity.baseline`) of the engine's own melody lines.")
    L.append("")
    L.append("## All-vs-all: ROC AUC and top-1 (true counterpart ranked first, ties = miss)")
    L.append("")
    L.append("| query melody notes | queries (with counterpart) | AUC engine melody | AUC engine coefficient | "
             "AUC 3-gram | top-1 engine melody | top-1 engine coefficient | top-1 3-gram |")
    L.append("|---|---|---|---|---|---|---|---|")
    for name, d in [("overall", avs["overall"])] + [(k, v) for k, v in avs["bins"].items()]:
        if d is None:
            L.append(f"| {name} | 0 | | | | | | |")
            continue
        n = d["with_counterpart"]
        cells = [_fmt(d[s]["auc"]) for s, _ in SCORES] + [f"{d[s]['top1']}/{n}" for s, _ in SCORES]
        L.append(f"| {name} | {d['queries']} ({n}) | " + " | ".join(cells) + " |")
    L.append("")
    L.append("By query kind:")
    L.append("")
    L.append("| kind | queries | AUC engine melody | AUC 3-gram | top-1 engine melody | top-1 3-gram | "
             "isSimilar TP / FP |")
    L.append("|---|---|---|---|---|---|---|")
    for k, d in sorted(avs["kinds"].items()):
        n = d["with_counterpart"]
        L.append(f"| {k} | {d['queries']} | {_fmt(d['engine melody']['auc'])} | {_fmt(d['3-gram Jaccard']['auc'])} | "
                 f"{d['engine melody']['top1']}/{n} | {d['3-gram Jaccard']['top1']}/{n} | "
                 f"{d['isSimilar']['tp']} / {d['isSimilar']['fp']} |")
    s = avs["overall"]["isSimilar"]
    L.append("")
    L.append(f"`isSimilar` over all {avs['overall']['queries'] * meta['n_candidates']} pairs: precision "
             f"{_fmt(s['precision'])}, recall {_fmt(s['recall'])} ({s['tp']} TP, {s['fp']} FP, {s['fn']} FN); "
             f"false positives with a query of <= 20 melody notes: {avs['false_similar_pairs_with_short_query']}.")
    L.append("")
    L.append("Hard negatives (the query vs the song it resembles but does not copy):")
    L.append("")
    L.append("| kind | n | judged similar | engine ranks it 1st | 3-gram ranks it 1st (ties count) | "
             "median melody score | median 3-gram |")
    L.append("|---|---|---|---|---|---|---|")
    for k, h in sorted(avs["hard"].items()):
        L.append(f"| {k} | {h['n']} | {h['similar']} | {h['engine_rank1']} | {h['baseline_rank1']} | "
                 f"{_fmt(float(np.nanmedian(h['melody'])) if h['melody'] else float('nan'), 1)} | "
                 f"{_fmt(float(np.median(h['jaccard'])) if h['jaccard'] else float('nan'))} |")
    L.append("")
    L.append(f"## Excerpts vs the whole song and vs {meta['sizes']['unrelated']} unrelated songs")
    L.append("")
    L.append("| excerpt | n | melody notes (median) | similar to own song | median melody score vs own | "
             "own song 1st of all (engine melody / 3-gram) | unrelated judged similar | unrelated melody >= 50 |")
    L.append("|---|---|---|---|---|---|---|---|")
    for key, e in exc.items():
        L.append(f"| {key} | {e['n']} | {e['notes']:.0f} | {e['own_similar']}/{e['n']} | {_fmt(e['own_melody'], 1)} | "
                 f"{e['own_first_engine']}/{e['n']} / {e['own_first_base']}/{e['n']} | "
                 f"{e['unrel_similar']}/{e['unrel_pairs']} ({_fmt(e['unrel_similar_rate'] * 100, 2)} %) | "
                 f"{e['unrel_mel50']}/{e['unrel_pairs']} |")
    L.append("")
    L.append(f"## Short melodies (<= 16 engine melody notes) vs {meta['sizes']['unrelated']} unrelated songs")
    L.append("")
    L.append("| melody notes | queries | pairs | judged similar (isSimilar) | melody score >= 50 | melody NaN | "
             "queries similar to > 1 % |")
    L.append("|---|---|---|---|---|---|---|")
    for key, e in short.items():
        L.append(f"| {key} | {e['queries']} | {e['pairs']} | {e['similar']} ({_fmt(e['rate'] * 100, 2)} %) | "
                 f"{e['mel50']} | {e['nan']} | {e['hubs']} |")
    L.append("")
    L.append("## Reading")
    L.append("")
    L.append("- The engine of the commit named above, `SimilaritySettings()` defaults. "
             "Targets of issue 10: AUC >= 0.97 and top-1 >= 0.95 on plagiarism-like pairs, clearly above the "
             "3-gram floor; excerpts >= 8 bars 100 % similar; short melodies similar to <= 1 % of unrelated songs.")
    L.append("- Rankings treat an engine NaN (\"cannot be computed\", < 8 melody notes) as the lowest score; "
             "the coefficient and `isSimilar` are taken as the engine returns them.")
    L.append("- Timing figures are wall times on a machine shared with other jobs; compare them only within this run.")
    return "\n".join(L) + "\n"


# -------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pop909", default=str(ROOT.parent / "shared" / "data" / "pop909"))
    ap.add_argument("--work", default=str(ROOT / "bench" / "_work" / "plagiarism"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "plagiarism.md"))
    ap.add_argument("--json", default=None, help="also write the per-pair scores here")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=30)
    ap.add_argument("--hard", type=int, default=6)
    ap.add_argument("--unrelated", type=int, default=300)
    ap.add_argument("--distractors", type=int, default=12)
    ap.add_argument("--excerpt-songs", type=int, default=3)
    ap.add_argument("--snippets", type=int, default=24)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    a = ap.parse_args(argv)
    if a.quick:
        a.pairs, a.hard, a.unrelated, a.distractors, a.excerpt_songs, a.snippets = 6, 2, 12, 4, 1, 6
    if not 1 <= a.processes <= 2:
        ap.error("--processes must be 1 or 2 (the benchmark machine is shared)")
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    settings = SimilaritySettings()
    work = Path(a.work)
    setdir = work / f"set-seed{a.seed}-p{a.pairs}-h{a.hard}-u{a.unrelated}-d{a.distractors}-e{a.excerpt_songs}-s{a.snippets}"
    cache = work / "features"
    cache.mkdir(parents=True, exist_ok=True)
    print(f"[bench] building the set in {setdir}", flush=True)
    g = build_set(a.pop909, setdir, seed=a.seed, n_pairs=a.pairs, n_hard=a.hard, n_unrelated=a.unrelated,
                  n_distractors=a.distractors, n_excerpt_songs=a.excerpt_songs, n_snippets=a.snippets,
                  processes=a.processes)
    truth = {}
    for r in g["rows"]:
        truth[r["case_id"]] = {**r, "positive": bool(int(r["positive"])), "params": json.loads(r["params"]),
                               "sections": json.loads(r["sections"])}
    files = {r["case_id"]: setdir / r["query_file"] for r in g["rows"]}
    files.update({p.stem: p for p in (setdir / "candidates").glob("*.mid")})
    needed = set(g["plag_queries"] + g["excerpt_queries"] + g["snippet_queries"] + g["candidates"] + g["unrelated"])
    needed |= {truth[q]["counterpart_id"] for q in g["excerpt_queries"]}
    files = {k: v for k, v in files.items() if k in needed}
    t0 = time.perf_counter()
    global _FEATS, _SETTINGS
    feats, n_cached, feat_secs = {}, 0, []
    engine_key = _settings_key(settings)
    jobs = [(fid, str(p), str(cache), settings, engine_key) for fid, p in sorted(files.items())]
    print(f"[bench] features of {len(jobs)} files", flush=True)
    with mp.get_context("fork").Pool(a.processes) as pool:
        for fid, f, secs, hit in pool.imap_unordered(_features_job, jobs, chunksize=4):
            if f is None:
                raise SystemExit(f"[bench] features of {fid} failed: {hit}")
            feats[fid] = f
            if len(feats) % 50 == 0:
                print(f"[bench] features {len(feats)}/{len(jobs)} after {time.perf_counter() - t0:.0f} s", flush=True)
            n_cached += int(hit)
            feat_secs.append(secs)
    t_feat = time.perf_counter() - t0
    n_mel = {fid: int(f.melody_pitch.shape[0]) for fid, f in feats.items()}

    # which pairs: all-vs-all, excerpts vs own + unrelated, short single-line melodies vs unrelated
    queries, cands, unrel = g["plag_queries"], g["candidates"], g["unrelated"]
    pairs = {(q, c) for q in queries for c in cands}
    for q in g["excerpt_queries"]:
        pairs.add((q, truth[q]["counterpart_id"]))
        pairs.update((q, u) for u in unrel)
    single = [q for q in g["snippet_queries"] + queries
              if truth[q]["kind"] == "melody_file" and n_mel[q] <= 16]
    pairs.update((q, u) for q in single for u in unrel)
    pairs = sorted(pairs)
    print(f"[bench] {len(pairs)} pairs", flush=True)
    _FEATS, _SETTINGS = feats, settings
    t0 = time.perf_counter()
    res = {}
    chunks = [pairs[i:i + 100] for i in range(0, len(pairs), 100)]
    with mp.get_context("fork").Pool(a.processes) as pool:
        for k, part in enumerate(pool.imap_unordered(_pairs_job, chunks), 1):
            for r in part:
                res[(r[0], r[1])] = r
            if k % max(len(chunks) // 10, 1) == 0:
                print(f"[bench] pairs {len(res)}/{len(pairs)} after {time.perf_counter() - t0:.0f} s", flush=True)
    t_pairs = time.perf_counter() - t0

    avs = allvsall_metrics(res, queries, cands, truth, n_mel)
    exc = {}
    for q in g["excerpt_queries"]:
        t = truth[q]
        key = f"{t['params']['bars']} bars, {'exact' if t['params']['exact'] else 'transposed + re-timed'}"
        e = exc.setdefault(key, {"n": 0, "own_similar": 0, "own_mel": [], "own_first_engine": 0,
                                 "own_first_base": 0, "unrel_similar": 0, "unrel_mel50": 0, "unrel_pairs": 0,
                                 "notes_l": []})
        own = res[(q, t["counterpart_id"])]
        e["n"] += 1
        e["notes_l"].append(n_mel[q])
        e["own_similar"] += int(own[5])
        e["own_mel"].append(own[2])
        un = [res[(q, u)] for u in unrel]
        for key2, k in (("own_first_engine", 2), ("own_first_base", 6)):
            o = own[k] if np.isfinite(own[k]) else -np.inf
            e[key2] += int(all(o > (x[k] if np.isfinite(x[k]) else -np.inf) for x in un))
        e["unrel_similar"] += sum(int(x[5]) for x in un)
        e["unrel_mel50"] += sum(int(np.isfinite(x[2]) and x[2] >= 50) for x in un)
        e["unrel_pairs"] += len(un)
    for e in exc.values():
        e["own_melody"] = float(np.nanmedian(e.pop("own_mel")))
        e["notes"] = float(np.median(e.pop("notes_l")))
        e["unrel_similar_rate"] = e["unrel_similar"] / max(e["unrel_pairs"], 1)
    exc = dict(sorted(exc.items(), key=lambda kv: (int(kv[0].split()[0]), kv[0])))
    short = {}
    for key, lo, hi in (("< 8", 0, 7), ("8-16", 8, 16), ("all <= 16", 0, 16)):
        qs = [q for q in single if lo <= n_mel[q] <= hi]
        rs = [[res[(q, u)] for u in unrel] for q in qs]
        sim = sum(int(x[5]) for r in rs for x in r)
        npairs = sum(len(r) for r in rs)
        short[key] = {"queries": len(qs), "pairs": npairs, "similar": sim, "rate": sim / max(npairs, 1),
                      "mel50": sum(int(np.isfinite(x[2]) and x[2] >= 50) for r in rs for x in r),
                      "nan": sum(int(not np.isfinite(x[2])) for r in rs for x in r),
                      "hubs": sum(int(sum(x[5] for x in r) > 0.01 * len(r)) for r in rs)}
    meta = dict(date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), machine=describe_machine(load=False),
                load_start=load_start, load_end=os.getloadavg()[0], commit=commit(),
                engine=str(Path(sys.modules["musim_spark"].__file__).parent),
                command="python bench/plagiarism.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                wall_s=time.perf_counter() - t_start, features_s=t_feat, n_files=len(jobs), cached=n_cached,
                n_pairs=len(pairs), pairs_s=t_pairs, processes=a.processes, seed=a.seed, sizes=g["sizes"],
                n_candidates=len(cands),
                engine_ms_allvsall=1000 * float(np.mean([res[(q, c)][7] for q in queries for c in cands])),
                feature_s_mean=float(np.mean(feat_secs)) if feat_secs else float("nan"),
                engine_errors=sum(1 for r in res.values() if r[8]),
                first_error=next((f"{r[0]} vs {r[1]}: {r[8]}" for r in res.values() if r[8]), ""))
    text = report(meta, avs, exc, short)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text, encoding="utf-8")
    print(text)
    if a.json:
        Path(a.json).write_text(json.dumps({
            "meta": meta, "pairs": [dict(query=r[0], candidate=r[1], melody=r[2], melody_raw=r[3],
                                         coefficient=r[4], similar=r[5], jaccard=r[6]) for r in res.values()],
            "melody_notes": n_mel}, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
