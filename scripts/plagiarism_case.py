"""Write one plagiarism-like case for the demo: a phrase of one POP909 song inside another.

``musim_spark.sampledata.plagiarism.phrase_case``: 4-16 bars of song X's melody, transposed and
re-timed, replace part of song Y's melody; the query is that song (Y with X's phrase), the
original is X. Files: ``OUT/queries/<case>.mid``, ``OUT/candidates/<original>.mid`` and
``OUT/truth.csv`` (the true sections in both timelines), as :func:`write_cases` writes them. Songs
are cropped (``--seconds``) so the demo stays quick. No audio is written: the pair report then
plays excerpts synthesized from the MIDI.

Usage::

    python scripts/plagiarism_case.py OUT [--pop909 DIR] [--seed K] [--seconds S]

Prints the query's and the original's paths, one per line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    from musim_spark.config import load_config
    from musim_spark.sampledata import plagiarism as P
    from musim_spark.sampledata.settings import SampleDataSettings
    from musim_spark.sampledata.source import crop_song, list_songs, read_song

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--pop909", default=None, help="POP909 folder (default: sample_data.pop909_dir of the conf)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args(argv)
    pop909 = args.pop909 or SampleDataSettings.from_config(load_config()).pop909_dir
    ids = list_songs(pop909)
    rng = np.random.default_rng(args.seed)
    # draw pairs until one yields a case (a song may be too short for the drawn phrase)
    for _ in range(20):
        x, y = (ids[i] for i in rng.choice(len(ids), 2, replace=False))
        source = crop_song(read_song(pop909, x), args.seconds)
        host = crop_song(read_song(pop909, y), args.seconds)
        try:
            case = P.phrase_case(source, host, rng, bars=(6, 8))
        except Exception as exc:  # noqa: BLE001 - a ParameterError: try another pair
            print(f"skipped {x}/{y}: {exc}", file=sys.stderr)
            continue
        rows = P.write_cases([case], args.out)
        out = Path(args.out)
        print(out / rows[0]["query_file"])
        print(out / rows[0]["counterpart_file"])
        return 0
    print("no plagiarism case could be drawn", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
