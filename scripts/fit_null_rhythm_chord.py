"""Fit the rhythm and chord facets' chance statistics (Karlin-Altschul lambda, K and finite-size terms).

Both facets score a pair by the significance of its best local alignment given both lengths
(musim_spark/similarity/logodds.py, significance.py). The null model is fitted here on unrelated
material of every length: random crops of one track against another (whole for 70 % of the
pairs), drawn from POP909 songs (whole arrangements and single-line melody files, each clean and
with transcription-like noise) and from generated originals (``musim sample-data``'s arrangements,
with drums), pairs always from different source songs. Half the pairs fit, the other half check
the calibration per length bin (the share of unrelated pairs above -log10 P = 1, 2, 3 should be
about 10 %, 1 %, 0.1 % for every length). Prints the ``rhythm_null_*`` and ``chord_null_*`` lines
for musim_spark/resources/defaults.yaml.

Usage::

    .venv/bin/python scripts/fit_null_rhythm_chord.py               # seed 909, 240 POP909 + 40 generated songs
    .venv/bin/python scripts/fit_null_rhythm_chord.py --songs 60 --pairs 2000   # quick

Refit after changing any rhythm_* / chord_* scoring value or the beat/chord features.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def material(*, songs: int, generated: int, seed: int, pop909_dir: str, settings) -> list:
    """(group, source song, TrackFeatures) of the null material; group = kind of file (arrangement,
    single-line, generated), pairs are drawn within a group."""
    from musim_spark.midi import read_midi
    from musim_spark.model import Piece
    from musim_spark.sampledata.generate import build_tracks
    from musim_spark.sampledata.plan import plan_originals
    from musim_spark.sampledata.source import list_songs
    from musim_spark.sampledata.writer import midi_bytes
    from musim_spark.similarity import transforms as T
    from musim_spark.similarity.compare import piece_features

    ids = list_songs(pop909_dir)
    rng = np.random.default_rng(seed)
    out = []
    for k, sid in enumerate(ids[i] for i in rng.permutation(len(ids))[:songs]):
        piece = read_midi(Path(pop909_dir) / sid / f"{sid}.mid")
        mel = [t for t in piece.tracks if t.name.upper() == "MELODY" and t.notes]
        if k % 2:
            piece = T.transcription_noise(piece, seed=seed + k)
        piece = dataclasses.replace(piece, tempo_bpm=120.0, beats=None) if k % 4 == 1 else piece
        out.append(("arrangement", sid, piece_features(piece, settings=settings)))
        if mel:
            line = Piece((mel[0],), piece.tempo_bpm, piece.beats)
            if k % 2:
                line = T.transcription_noise(line, seed=seed + 7 * k)
            out.append(("single-line", sid, piece_features(line, settings=settings)))
    for plan in plan_originals(ids, songs=generated, regular=0, seed=seed):
        (track,) = build_tracks(plan, pop909_dir=pop909_dir, seconds=None, cover_types=[], seed=seed,
                                midi_noise=0.3 if plan.song_no % 2 else 0.0)
        p = read_midi(midi_bytes(track.delivered), melody="Melody", rhythm="Rhythm", chord="Chord")
        out.append(("generated", track.truth["source_song"], piece_features(p, settings=settings)))
    return out


def _crop_len(rng, n: int, lo: int) -> int:
    return n if n <= lo else min(int(np.exp(rng.uniform(np.log(lo), np.log(n)))), n)


def null_scores(items: list, *, facet: str, pairs: int, seed: int, settings):
    """Best alignment scores (one candidate: no metrical-level variant, the best-correlated key
    shift) of ``pairs`` unrelated pairs; returns (scores, len_a, len_b, group name)."""
    from musim_spark.similarity.chord import chord_matrices
    from musim_spark.similarity.logodds import best_score
    from musim_spark.similarity.rhythm import active_groups, pulse_symbols, rhythm_substitution

    s = settings
    rng = np.random.default_rng(seed)
    def usable(f):
        return f.n_pulses >= s.min_rhythm_pulses if facet == "rhythm" else f.chord_root.size >= s.min_chord_events

    # groups with material for this facet (single-line files have no chords)
    by_group = {}
    for g, src, f in items:
        if usable(f):
            by_group.setdefault(g, []).append((g, src, f))
    groups = sorted(g for g, v in by_group.items() if len({x[1] for x in v}) >= 2)
    sym = {id(f): pulse_symbols(f.rhythm_matrix()) for _, _, f in items} if facet == "rhythm" else {}
    w = np.asarray(s.rhythm_group_weights, dtype=np.float64)
    out = []
    attempts = 0
    while len(out) < pairs and attempts < 50 * pairs:
        attempts += 1
        g = groups[int(rng.integers(len(groups)))]
        pool = by_group[g]
        i, j = rng.choice(len(pool), 2, replace=False)
        (_, sa, fa), (_, sb, fb) = pool[i], pool[j]
        if sa == sb:
            continue
        if facet == "rhythm":
            xa, xb = sym[id(fa)], sym[id(fb)]
            lo = s.min_rhythm_pulses
        else:
            xa = np.stack([fa.chord_root, fa.chord_quality, fa.chord_start, fa.chord_end]) if fa.chord_root.size else None
            xb = np.stack([fb.chord_root, fb.chord_quality, fb.chord_start, fb.chord_end]) if fb.chord_root.size else None
            if xa is None or xb is None:
                continue
            lo = s.min_chord_events
        na, nb = xa.shape[1], xb.shape[1]
        if min(na, nb) < lo:
            continue
        la = _crop_len(rng, na, lo)
        lb = nb if rng.random() < 0.7 else _crop_len(rng, nb, lo)
        a0, b0 = int(rng.integers(0, na - la + 1)), int(rng.integers(0, nb - lb + 1))
        ca, cb = xa[:, a0:a0 + la], xb[:, b0:b0 + lb]
        if facet == "rhythm":
            use = active_groups(ca, cb, settings=s)
            if not use.any() or min(int(ca[use].any(0).sum()), int(cb[use].any(0).sum())) < lo:
                continue
            factored, _ = rhythm_substitution(ca[use], cb[use], w[use], settings=s)
            gap = (s.rhythm_gap_open, s.rhythm_gap_extend)
        else:
            ints = lambda x: (x[0].astype(np.int8), x[1].astype(np.int8), x[2], x[3])  # noqa: E731
            mats, _ = chord_matrices(*ints(ca), *ints(cb), settings=s, n_transpositions=1)
            factored = mats[0][1]
            gap = (s.chord_gap_open, s.chord_gap_extend)
        out.append((best_score(factored, gap_open=gap[0], gap_extend=gap[1]), la, lb, g))
    a = np.array([o[:3] for o in out], dtype=np.float64)
    return a[:, 0], a[:, 1], a[:, 2], np.array([o[3] for o in out])


def fit(facet: str, items: list, *, pairs: int, seed: int, tail: float, settings) -> list[str]:
    from musim_spark.similarity.significance import fit_null, significance_array

    t = time.perf_counter()
    sc, la, lb, grp = null_scores(items, facet=facet, pairs=pairs, seed=seed, settings=settings)
    took = time.perf_counter() - t
    half = np.arange(sc.shape[0]) % 2 == 0
    null = fit_null(sc[half], la[half], lb[half], power=getattr(settings, f"{facet}_null_power"), tail=tail)
    sig = significance_array(sc, la, lb, null)
    unit = "beats" if facet == "rhythm" else "chord events"
    out = [f"  # scripts/fit_null_rhythm_chord.py: {pairs} unrelated pairs ({took:.0f} s), tail {tail}",
           f"  {facet}_null_lambda: {null.lam:.5g}", f"  {facet}_null_k: {null.k:.5g}",
           f"  {facet}_null_lambda_short: {null.lam_short:.5g}", f"  {facet}_null_k_short: {null.k_short:.5g}",
           f"  {facet}_null_power: {null.power:g}",
           f"  held-out pairs, share above -log10 P = 1 / 2 / 3 (calibrated: 0.1 / 0.01 / 0.001):"]
    short = np.minimum(la, lb)
    bins = ((8, 32), (32, 128), (128, 512), (512, 10 ** 6)) if facet == "rhythm" else ((4, 16), (16, 64), (64, 10 ** 6))
    for lo, hi in bins + ((0, 10 ** 6),):
        k = ~half & (short >= lo) & (short < hi)
        out.append(f"    shorter {lo}-{hi if hi < 10 ** 6 else 'inf'} {unit}: n={int(k.sum())}  "
                   + " / ".join(f"{np.mean(sig[k] > x):.4f}" for x in (1, 2, 3)))
    for g in sorted(set(grp.tolist())):
        k = ~half & (grp == g)
        out.append(f"    {g}: n={int(k.sum())}  " + " / ".join(f"{np.mean(sig[k] > x):.4f}" for x in (1, 2, 3)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=240, help="POP909 songs")
    ap.add_argument("--generated", type=int, default=40, help="generated originals (whole songs)")
    ap.add_argument("--pairs", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=909)
    ap.add_argument("--tail", type=float, default=0.1)
    ap.add_argument("--facets", default="rhythm,chord")
    ap.add_argument("--pop909", default=None)
    ap.add_argument("--conf", default=None)
    args = ap.parse_args(argv)
    from musim_spark.config import load_config
    from musim_spark.sampledata.settings import SampleDataSettings
    from musim_spark.similarity.settings import SimilaritySettings

    config = load_config(args.conf)
    s = SimilaritySettings.from_config(config)
    pop = args.pop909 or SampleDataSettings.from_config(config).pop909_dir
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        items = material(songs=args.songs, generated=args.generated, seed=args.seed, pop909_dir=pop, settings=s)
        print(f"# {len(items)} tracks of null material in {time.perf_counter() - t:.0f} s", flush=True)
        for facet in args.facets.split(","):
            print("\n".join(fit(facet, items, pairs=args.pairs, seed=args.seed + 1, tail=args.tail, settings=s)),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
