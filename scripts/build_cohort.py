"""Build the similarity cohort shipped with the package (musim_spark/resources/cohort.npz).

The cohort is a fixed set of unrelated songs every track is also compared with, so that its raw
facet scores can be read against its own chance level (musim_spark/similarity/cohort.py). Members:
generated originals (``musim sample-data``'s arrangement of POP909 songs, its genre mix), cropped
to ``--seconds``, alternately clean and with transcription-like noise (the catalog holds both kinds
of MIDI), each written to MIDI bytes and read back like a delivered file.

With ``--fit-null`` it instead fits the melody facet's chance statistics (Karlin-Altschul
``lambda``, ``K`` and their finite-size terms, musim_spark/similarity/significance.py) on alignments
of unrelated POP909 melodies (random crops of one against another, alternately clean and with
transcription artefacts) and prints the ``melody_null_*`` lines for musim_spark/resources/defaults.yaml,
with the calibration per length bin (the share of unrelated pairs above -log10 P = 1, 2, 3 should be
about 10 %, 1 %, 0.1 % for every length).

Usage::

    .venv/bin/python scripts/build_cohort.py            # the shipped cohort (seed 909, 16 songs)
    .venv/bin/python scripts/build_cohort.py --out /tmp/cohort.npz --songs 8
    .venv/bin/python scripts/build_cohort.py --fit-null  # melody_null_* (seed 909, 400 songs, 20000 pairs)

Rebuilding changes every calibrated score: re-run bench/similarity.py and update the thresholds in
conf/local.yaml after it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build(*, songs: int, seed: int, seconds: float, midi_noise: float, pop909_dir: str | None, conf: str | None):
    from musim_spark.config import load_config
    from musim_spark.midi import read_midi
    from musim_spark.sampledata.generate import build_tracks
    from musim_spark.sampledata.plan import plan_originals
    from musim_spark.sampledata.settings import SampleDataSettings
    from musim_spark.sampledata.source import list_songs
    from musim_spark.sampledata.writer import midi_bytes
    from musim_spark.similarity.compare import piece_features
    from musim_spark.similarity.cohort import Cohort
    from musim_spark.similarity.settings import SimilaritySettings

    config = load_config(conf)
    s = SimilaritySettings.from_config(config)
    pop = pop909_dir or SampleDataSettings.from_config(config).pop909_dir
    song_ids = list_songs(pop)
    plans = plan_originals(song_ids, songs=songs, regular=0, seed=seed)
    feats, names, sources = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, plan in enumerate(plans):
            track, = build_tracks(plan, pop909_dir=pop, seconds=seconds, cover_types=[], seed=seed,
                                  midi_noise=midi_noise)
            noisy = i % 2 == 1
            piece = read_midi(midi_bytes(track.delivered if noisy else track.clean), name=track.track_id,
                              melody="Melody", rhythm="Rhythm", chord="Chord")
            feats.append(piece_features(piece, settings=s))
            names.append(track.track_id + ("@noisy" if noisy else "@clean"))
            sources.append(track.truth["source_song"])
    provenance = {"builder": "scripts/build_cohort.py", "generator_seed": seed, "songs": songs,
                  "seconds": seconds, "midi_noise_odd_members": midi_noise, "pop909_songs": sources}
    return Cohort(tuple(feats), tuple(names), provenance)


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
    out = [f"# scripts/build_cohort.py --fit-null: {len(lines)} POP909 melodies (seed {seed}), {pairs} unrelated "
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
    ap.add_argument("--out", type=Path, default=ROOT / "musim_spark" / "resources" / "cohort.npz")
    ap.add_argument("--songs", type=int, default=16)
    ap.add_argument("--seed", type=int, default=909)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--midi-noise", type=float, default=0.3)
    ap.add_argument("--pop909", default=None, help="POP909 songs (default: sample_data.pop909_dir of --conf)")
    ap.add_argument("--conf", default=None)
    ap.add_argument("--fit-null", action="store_true", help="fit the melody null model instead (prints settings)")
    ap.add_argument("--null-songs", type=int, default=400)
    ap.add_argument("--null-pairs", type=int, default=20000)
    ap.add_argument("--null-tail", type=float, default=0.1)
    args = ap.parse_args(argv)
    if args.fit_null:
        print(fit_melody_null(songs=args.null_songs, pairs=args.null_pairs, seed=args.seed, tail=args.null_tail,
                              pop909_dir=args.pop909, conf=args.conf))
        return 0
    from musim_spark.similarity.cohort import save_cohort

    cohort = build(songs=args.songs, seed=args.seed, seconds=args.seconds, midi_noise=args.midi_noise,
                   pop909_dir=args.pop909, conf=args.conf)
    save_cohort(cohort, args.out)
    print(f"{args.out}: {len(cohort)} members ({args.out.stat().st_size / 1024:.0f} KiB), "
          f"POP909 songs {', '.join(cohort.provenance['pop909_songs'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
