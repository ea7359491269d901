"""CPU time of exact scoring of one pair of full-length songs (``compare_features``), and a check that
a change to the engine leaves every result identical.

The catalog sweep scores about 400,000 pairs a night on stored features, so what counts is
:func:`musim_spark.similarity.compare_features` per pair (issue 10: <= 3 ms on one core). The set:
``--songs`` POP909 songs (melody track ``MELODY``) and, of the first few, a transcription-noisy copy
(:func:`.transforms.transcription_noise`), a faster copy (:func:`.transforms.tempo_change`, 1.25) and a
half-tempo copy (0.6: pulse tracking then locks on another metrical level, the rhythm facet's
regrid variants), so related pairs (sections traced) and unrelated ones are both scored. Every
ordered pair, self-pairs included, is scored.

Modes (combinable):

``--save REF``
    Write every result field of every pair (facet raw_score, score, share, transposition,
    candidates, reason, sections, alignments; coefficient, similar, reason) to a pickle.
``--check REF``
    Compare this code's results with a saved pickle: floats bit-identical, else equal to
    ``--rtol`` (relative), else the script fails.
``--against REV``
    Load the similarity package of git revision ``REV`` beside this one (as
    ``musim_spark._pair_speed_base``, features converted with ``TrackFeatures.from_dict``) and time
    both in the same process, pair by pair, in alternating order (a loaded shared machine slows
    both alike); results are compared too.

Times are CPU seconds of this process (``time.process_time``), per facet and for the whole pair,
each pair scored ``--reps`` times (the minimum kept). "warm" = the tracks' pair-independent derived
data already cached on the features (the sweep reuses decoded features across a task's pairs);
"cold" = the caches dropped before every pair (the first pair a track is in).

Run: ``python bench/pair_speed.py --save /tmp/pair_ref.pkl`` once on the unchanged code, then
``python bench/pair_speed.py --check /tmp/pair_ref.pkl --against 74cf9a7`` (74cf9a7: the engine before
the issue-10 per-pair speed work). Results: bench/results/pair_speed.md.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import datetime
import importlib
import importlib.util
import math
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
POP909 = Path("/work/shared/data/pop909") if Path("/work/shared/data/pop909").is_dir() \
    else ROOT.parent / "shared" / "data" / "pop909"

from musim_spark.midi import read_midi  # noqa: E402
from musim_spark.similarity import SimilaritySettings, compare_features  # noqa: E402
from musim_spark.similarity import chord as chord_mod, melody as melody_mod, rhythm as rhythm_mod  # noqa: E402
from musim_spark.similarity import transforms  # noqa: E402
from musim_spark.similarity.compare import piece_features  # noqa: E402
from musim_spark.similarity.features import TrackFeatures  # noqa: E402

DEFAULT_SONGS = ("002", "003", "010", "024", "045", "097", "157", "201", "256", "312", "389", "400")


def build_tracks(songs, n_variants: int, settings) -> list[tuple[str, TrackFeatures]]:
    """(name, features) of the songs and, for the first ``n_variants`` songs, three copies each."""
    out = []
    for k, song in enumerate(songs):
        piece = read_midi(POP909 / song / f"{song}.mid", melody="MELODY")
        out.append((song, piece_features(piece, settings=settings)))
        if k < n_variants:
            for name, p in ((f"{song}-noisy", transforms.transcription_noise(piece, seed=k)),
                            (f"{song}-x1.25", transforms.tempo_change(piece, 1.25)),
                            (f"{song}-x0.6", transforms.tempo_change(transforms.transcription_noise(
                                piece, seed=100 + k), 0.6))):
                out.append((name, piece_features(p, settings=settings)))
    return out


def _facet_record(f) -> dict:
    return dict(score=f.score, raw_score=f.raw_score, share=f.share, transposition=f.transposition,
                candidates=tuple(f.candidates), reason=f.reason,
                sections=[dataclasses.astuple(s) for s in f.sections],
                alignments=[(a.score, np.asarray(a.rows).tolist(), np.asarray(a.cols).tolist())
                            for a in f.alignments])


def record(result) -> dict:
    """Every field of a PairResult as plain Python values."""
    return dict(melody=_facet_record(result.melody), rhythm=_facet_record(result.rhythm),
                chord=_facet_record(result.chord), coefficient=result.coefficient, similar=result.similar,
                reason=result.reason)


def differences(ref, got, rtol: float, path: str = "") -> tuple[list[str], int]:
    """(fields that differ beyond ``rtol``, number of floats equal within rtol but not bit-identical)."""
    if isinstance(ref, dict):
        out, n = [], 0
        for k in ref:
            d, m = differences(ref[k], got[k], rtol, f"{path}.{k}")
            out += d
            n += m
        return out, n
    if isinstance(ref, (list, tuple)):
        if len(ref) != len(got):
            return [f"{path}: length {len(ref)} != {len(got)}"], 0
        out, n = [], 0
        for i, (a, b) in enumerate(zip(ref, got)):
            d, m = differences(a, b, rtol, f"{path}[{i}]")
            out += d
            n += m
        return out, n
    if isinstance(ref, float) or isinstance(got, float):
        a, b = float(ref), float(got)
        if a == b or (math.isnan(a) and math.isnan(b)):
            return [], 0
        if abs(a - b) <= rtol * max(abs(a), abs(b)):
            return [], 1
        return [f"{path}: {a!r} != {b!r}"], 0
    return ([] if ref == got else [f"{path}: {ref!r} != {got!r}"]), 0


def load_revision(rev: str):
    """The similarity package of git revision ``rev``, imported as ``musim_spark._pair_speed_base``."""
    root = tempfile.mkdtemp(prefix="pair_speed_base_")
    atexit.register(shutil.rmtree, root, ignore_errors=True)   # imported (and numba-cached) until exit
    tmp = Path(root) / "_pair_speed_base"
    tmp.mkdir()
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{rev}:musim_spark/similarity"],
                           check=True, capture_output=True, text=True).stdout.split()
    for name in names:
        if name.endswith(".py"):
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:musim_spark/similarity/{name}"],
                                  check=True, capture_output=True, text=True).stdout
            (tmp / name).write_text(text)
    spec = importlib.util.spec_from_file_location("musim_spark._pair_speed_base", tmp / "__init__.py",
                                                  submodule_search_locations=[str(tmp)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return {k: importlib.import_module(f"{spec.name}.{k}") for k in ("compare", "melody", "rhythm", "chord",
                                                                     "features", "settings")}


class Engine:
    """One version of the engine: its compare_features, facet functions and features class."""

    def __init__(self, name, compare, melody, rhythm, chord, features_cls, settings):
        self.name, self.compare, self.features_cls, self.settings = name, compare, features_cls, settings
        self.facets = {"melody": melody, "rhythm": rhythm, "chord": chord}

    def convert(self, f: TrackFeatures):
        return f if isinstance(f, self.features_cls) else self.features_cls.from_dict(f.to_dict())

    def drop_caches(self, f) -> None:
        """Forget the pair-independent data cached on a track (what :meth:`TrackFeatures.clear_derived`
        does, where this version has it)."""
        clear = getattr(f, "clear_derived", None)
        if clear is not None:
            clear()


def time_engine(engine: Engine, fa, fb, reps: int, cold: bool) -> dict:
    """Minimum CPU seconds over ``reps`` of each facet and of the whole pair."""
    s = engine.settings
    best = {}
    for _ in range(reps):
        for key, fn in (*engine.facets.items(), ("pair", engine.compare)):
            if cold:
                engine.drop_caches(fa)
                engine.drop_caches(fb)
            t0 = time.process_time()
            fn(fa, fb, settings=s)
            dt = time.process_time() - t0
            best[key] = min(best.get(key, math.inf), dt)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", nargs="*", default=list(DEFAULT_SONGS))
    ap.add_argument("--variants", type=int, default=4, help="songs that get noisy/tempo-changed copies")
    ap.add_argument("--save", help="write this code's results to this pickle")
    ap.add_argument("--check", help="compare this code's results with this pickle")
    ap.add_argument("--against", help="git revision whose similarity package is timed beside this one")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--rtol", type=float, default=1e-9)
    ap.add_argument("--max-pairs", type=int, default=0, help="time only this many pairs (0 = all); check all")
    args = ap.parse_args()

    settings = SimilaritySettings()
    load = os.getloadavg()
    t0 = time.process_time()
    tracks = build_tracks(args.songs, args.variants, settings)
    print(f"{len(tracks)} tracks, features in {time.process_time() - t0:.1f} s CPU; load average "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    pairs = [(i, j) for i in range(len(tracks)) for j in range(len(tracks))]
    keys = [(tracks[i][0], tracks[j][0]) for i, j in pairs]

    new = Engine("this", compare_features, melody_mod.melody_similarity, rhythm_mod.rhythm_similarity,
                 chord_mod.chord_similarity, TrackFeatures, settings)
    engines = [new]
    if args.against:
        base = load_revision(args.against)
        engines.insert(0, Engine(args.against, base["compare"].compare_features, base["melody"].melody_similarity,
                                 base["rhythm"].rhythm_similarity, base["chord"].chord_similarity,
                                 base["features"].TrackFeatures, base["settings"].SimilaritySettings()))
    feats = {e.name: [e.convert(f) for _, f in tracks] for e in engines}

    # results (also compiles/loads every kernel before timing)
    results = {e.name: {k: record(e.compare(feats[e.name][i], feats[e.name][j], settings=e.settings))
                        for k, (i, j) in zip(keys, pairs)} for e in engines}
    failed = False
    if args.save:
        with open(args.save, "wb") as fh:
            pickle.dump({"tracks": [n for n, _ in tracks], "results": results[new.name]}, fh)
        print(f"saved {len(keys)} pair results to {args.save}")
    refs = []
    if args.check:
        with open(args.check, "rb") as fh:
            refs.append((args.check, pickle.load(fh)["results"]))
    if args.against:
        refs.append((f"revision {args.against} (same run)", results[args.against]))
    for label, ref in refs:
        bad, near = [], 0
        for k in keys:
            d, n = differences(ref[k], results[new.name][k], args.rtol, f"{k[0]} vs {k[1]}")
            bad += d
            near += n
        print(f"check against {label}: {len(keys)} pairs, {len(bad)} differences, "
              f"{near} floats equal to rtol {args.rtol:g} but not bit-identical")
        for line in bad[:20]:
            print("   ", line)
        failed = failed or bool(bad)

    timed = pairs if not args.max_pairs else pairs[:: max(1, len(pairs) // args.max_pairs)][: args.max_pairs]
    # unrelated: different source songs (what nearly every pair of a catalog sweep is); related:
    # a song with itself or its copies (sections are traced)
    song = [n.split("-")[0] for n, _ in tracks]
    groups = {"all": list(range(len(timed))),
              "unrelated": [k for k, (i, j) in enumerate(timed) if song[i] != song[j]],
              "related": [k for k, (i, j) in enumerate(timed) if song[i] == song[j]]}
    facet_keys = ("melody", "rhythm", "chord", "pair")
    for cold in (False, True):
        per = {e.name: {key: np.zeros(len(timed)) for key in facet_keys} for e in engines}
        for n, (i, j) in enumerate(timed):
            order = engines if n % 2 == 0 else engines[::-1]   # alternate who goes first
            for e in order:
                for key, dt in time_engine(e, feats[e.name][i], feats[e.name][j], args.reps, cold).items():
                    per[e.name][key][n] = dt
        print(f"\n{'cold' if cold else 'warm'} track caches: CPU ms per pair (mean over pairs of the minimum of "
              f"{args.reps} runs)")
        print(f"{'pairs':<16}{'engine':<14}" + "".join(f"{k:>10}" for k in facet_keys))
        for gname, idx in groups.items():
            if not idx:
                continue
            for e in engines:
                print(f"{gname + f' ({len(idx)})':<16}{e.name:<14}"
                      + "".join(f"{1e3 * per[e.name][k][idx].mean():>10.2f}" for k in facet_keys))
            if args.against:
                print(f"{'':<16}{'speed-up':<14}" + "".join(
                    f"{per[args.against][k][idx].sum() / per[new.name][k][idx].sum():>9.2f}x" for k in facet_keys))
    now = datetime.datetime.now(datetime.timezone.utc)
    print(f"\nload average at end {os.getloadavg()[0]:.1f}; {now:%Y-%m-%d %H:%M} UTC")
    if failed:
        sys.exit("results differ")


if __name__ == "__main__":
    main()
