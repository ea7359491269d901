"""Fit the melody facet's chance statistics (musim_spark/similarity/significance.py).

Fits Karlin-Altschul ``lambda``, ``K`` and their finite-size terms on alignments of unrelated
POP909 melodies (random crops of one against another, alternately clean and with transcription
artefacts) and prints the ``melody_null_*`` lines for musim_spark/resources/defaults.yaml, with the
calibration per length bin (the share of unrelated pairs above -log10 P = 1, 2, 3 should be about
10 %, 1 %, 0.1 % for every length). scripts/fit_null_rhythm_chord.py does the same for the other
two facets.

Usage::

    .venv/bin/python scripts/fit_null_melody.py     # seed 909, 400 songs, 20000 pairs

Any change of a ``melody_*`` scoring value needs a refit; a refit changes every melody score:
re-run bench/similarity.py and update the thresholds after it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def melody_lines(*, songs: int, seed: int, pop909_dir: str, settings) -> list:
    """Primary melody lines (pitch, onset) of ``songs`` POP909 songs drawn with ``seed``; odd ones
    with transcription artefacts (10 % partials, split and dropped notes, 20 ms jitter)."""
    import numpy as np

    from musim_spark.midi import read_midi
    from musim_spark.sampledata.plagiarism import transcription_artefacts
    from musim_spark.sampledata.source import list_songs
    from musim_spark.similarity.melody_line import melody_candidates, monophonic_line

    ids = list_songs(pop909_dir)
    rng = np.random.default_rng(seed)
    chosen = [ids[i] for i in rng.permutation(len(ids))[:songs]]
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, sid in enumerate(chosen):
            piece = read_midi(Path(pop909_dir) / sid / f"{sid}.mid")
            cands = melody_candidates(piece, max_candidates=1)
            if not cands:
                continue
            t = cands[0]
            if k % 2:
                t, _ = transcription_artefacts(t, np.random.default_rng([seed, k]), partial_rate=0.1,
                                               split_rate=0.1, drop_rate=0.1, jitter_ms=20.0)
            p, on, _ = monophonic_line(t.pitches(), t.onsets(), t.offsets(), t.velocities(),
                                       onset_tolerance=settings.onset_tolerance_s,
                                       partial_intervals=settings.melody_partial_intervals,
                                       continuity_weight=settings.melody_continuity_weight)
            if p.shape[0] > settings.min_melody_notes:
                lines.append((p, on))
    return lines


def null_scores(lines: list, *, pairs: int, seed: int, settings):
    """Best melody alignment scores of ``pairs`` unrelated pairs: a random crop of one line (8 to
    64 transitions for half the pairs, any length for the others) against another line (whole
    for 70 %, else a random crop). Returns (scores, len_a, len_b) in transitions."""
    import numpy as np

    from musim_spark.similarity import melody as M

    R = int(settings.melody_interval_clip)
    rng = np.random.default_rng(seed)
    trans = [M.melody_transitions(p, on) for p, on in lines]
    out = np.zeros((pairs, 3))
    k = 0
    while k < pairs:
        i, j = rng.choice(len(trans), 2, replace=False)
        (iva, ra), (ivb, rb) = trans[i], trans[j]
        na, nb = iva.shape[0], ivb.shape[0]
        hi = min(na, 64) if rng.random() < 0.5 else na
        la = min(int(np.exp(rng.uniform(np.log(7), np.log(max(hi, 7))))), na)
        lb = nb if rng.random() < 0.7 else min(int(np.exp(rng.uniform(np.log(7), np.log(nb)))), nb)
        sa, sb = int(rng.integers(0, na - la + 1)), int(rng.integers(0, nb - lb + 1))
        a_iv, a_r, b_iv, b_r = iva[sa:sa + la], ra[sa:sa + la], ivb[sb:sb + lb], rb[sb:sb + lb]
        T = M.scoring_table(M.interval_histogram(a_iv, R), M.interval_histogram(b_iv, R), settings=settings)
        ag, dis = M.rhythm_scores(a_r, b_r, settings=settings)
        (al,) = M.align_lines_raw(a_iv, a_r, b_iv, b_r, T, ag, dis, settings=settings, want_path=False)
        out[k] = (al.score, la, lb)
        k += 1
    return out[:, 0], out[:, 1], out[:, 2]


def fit_melody_null(*, songs: int, pairs: int, seed: int, tail: float, pop909_dir: str, conf: str | None) -> str:
    """Fit the melody null model; returns the report (yaml lines and the calibration table)."""
    import numpy as np

    from musim_spark.config import load_config
    from musim_spark.sampledata.settings import SampleDataSettings
    from musim_spark.similarity.settings import SimilaritySettings
    from musim_spark.similarity.significance import fit_null, significance_array

    config = load_config(conf)
    s = SimilaritySettings.from_config(config)
    pop = pop909_dir or SampleDataSettings.from_config(config).pop909_dir
    lines = melody_lines(songs=songs, seed=seed, pop909_dir=pop, settings=s)
    sc, la, lb = null_scores(lines, pairs=pairs, seed=seed + 1, settings=s)
    fit = np.arange(sc.shape[0]) % 2 == 0          # fit on half, check the calibration on the other half
    null = fit_null(sc[fit], la[fit], lb[fit], power=s.melody_null_power, tail=tail)
    sig = significance_array(sc, la, lb, null)
    out = [f"# scripts/fit_null_melody.py: {len(lines)} POP909 melodies (seed {seed}), {pairs} unrelated "
           f"pairs, tail {tail}",
           f"  melody_null_lambda: {null.lam:.5g}", f"  melody_null_k: {null.k:.5g}",
           f"  melody_null_lambda_short: {null.lam_short:.5g}", f"  melody_null_k_short: {null.k_short:.5g}",
           f"  melody_null_power: {null.power:g}", "",
           "held-out pairs: share above -log10 P = 1 / 2 / 3 (calibrated: 0.1 / 0.01 / 0.001)"]
    short = np.minimum(la, lb)
    for lo, hi in ((7, 16), (16, 40), (40, 120), (120, 10 ** 6), (0, 10 ** 6)):
        k = ~fit & (short >= lo) & (short < hi)
        out.append(f"  shorter line {lo}-{hi if hi < 10 ** 6 else 'inf'} transitions: n={int(k.sum())}  "
                   + " / ".join(f"{np.mean(sig[k] > t):.4f}" for t in (1, 2, 3)))
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=400, help="POP909 songs")
    ap.add_argument("--pairs", type=int, default=20000, help="unrelated pairs")
    ap.add_argument("--seed", type=int, default=909)
    ap.add_argument("--tail", type=float, default=0.1)
    ap.add_argument("--pop909", default=None, help="POP909 songs (default: sample_data.pop909_dir of --conf)")
    ap.add_argument("--conf", default=None)
    args = ap.parse_args(argv)
    print(fit_melody_null(songs=args.songs, pairs=args.pairs, seed=args.seed, tail=args.tail,
                          pop909_dir=args.pop909, conf=args.conf))
    return 0


if __name__ == "__main__":
    sys.exit(main())
