"""Build the similarity cohort shipped with the package (musim_spark/resources/cohort.npz).

The cohort is a fixed set of unrelated songs every track is also compared with, so that its raw
facet scores can be read against its own chance level (musim_spark/similarity/cohort.py). Members:
generated originals (``musim sample-data``'s arrangement of POP909 songs, its genre mix), cropped
to ``--seconds``, alternately clean and with transcription-like noise (the catalog holds both kinds
of MIDI), each written to MIDI bytes and read back like a delivered file.

Usage::

    .venv/bin/python scripts/build_cohort.py            # the shipped cohort (seed 909, 16 songs)
    .venv/bin/python scripts/build_cohort.py --out /tmp/cohort.npz --songs 8

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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "musim_spark" / "resources" / "cohort.npz")
    ap.add_argument("--songs", type=int, default=16)
    ap.add_argument("--seed", type=int, default=909)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--midi-noise", type=float, default=0.3)
    ap.add_argument("--pop909", default=None, help="POP909 songs (default: sample_data.pop909_dir of --conf)")
    ap.add_argument("--conf", default=None)
    args = ap.parse_args(argv)
    from musim_spark.similarity.cohort import save_cohort

    cohort = build(songs=args.songs, seed=args.seed, seconds=args.seconds, midi_noise=args.midi_noise,
                   pop909_dir=args.pop909, conf=args.conf)
    save_cohort(cohort, args.out)
    print(f"{args.out}: {len(cohort)} members ({args.out.stat().st_size / 1024:.0f} KiB), "
          f"POP909 songs {', '.join(cohort.provenance['pop909_songs'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
