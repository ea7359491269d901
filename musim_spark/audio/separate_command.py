"""``musim separate [--method stereo|hpss|foreground] [--out DIR] [--track ID ...]``: DSP stems of the
audio in ``tracks``, written as WAV files ``<out>/<track_id>/<stem>.wav`` (stereo files stay stereo).

``stereo`` (the default, ``separate.method``) gives ``drums``, ``melody`` and ``accompaniment``;
``musim evaluate --truth SET`` scores them against a generated set's rendered stems when
``<warehouse>/stems`` holds them.

The default transcription backend (basic-pitch) reads the mix and wants no stems, so
``musim transcribe`` does not need this step; it is for listening, for backends that take stems,
and for scoring separation against a generated set's true stems (``_truth/stems``). It runs on the
driver, one track after the other (DSP, no model): use ``--track`` to pick a few.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``musim separate``."""
    from .separate import METHODS

    parser.add_argument("--method", choices=sorted(METHODS), default=None,
                        help="stereo: drums + melody (stereo centre) + accompaniment (default: separate.method); "
                             "hpss: harmonic + percussive; foreground: lead + accompaniment (REPET-SIM)")
    parser.add_argument("--out", default=None, help="stem directory (default: <warehouse>/stems)")
    parser.add_argument("--track", action="append", default=None, metavar="ID",
                        help="only this track (repeatable; default: every track with audio)")


def run(args: argparse.Namespace, config) -> int:
    """Write the stems; returns 0, or 1 when some track's audio could not be read (listed)."""
    import time

    import numpy as np
    import soundfile as sf

    from ..errors import InputError, ParameterError
    from ..io.read import read_arrow, table_exists
    from ..io.tables import table_uri
    from .decode import load_audio
    import dataclasses

    from .separate import SeparateSettings, separate
    from .settings import TranscribeSettings

    tracks_uri = table_uri(args.warehouse, "tracks")
    if not table_exists(tracks_uri):
        raise ParameterError(f"{tracks_uri}: no tracks table; run 'musim ingest --root DATA' first")
    rows = [r for r in read_arrow(tracks_uri, columns=["track_id", "wav_path", "root", "sample_rate"]).to_pylist()
            if r["wav_path"]]
    if args.track:
        known = {r["track_id"] for r in rows}
        unknown = sorted(set(args.track) - known)
        if unknown:
            raise ParameterError(f"no track with audio called {', '.join(unknown)}")
        rows = [r for r in rows if r["track_id"] in set(args.track)]
    out = args.out or os.path.join(args.warehouse, "stems")
    settings = TranscribeSettings.from_config(config)
    sep = SeparateSettings.from_config(config)
    if args.method:
        sep = dataclasses.replace(sep, method=args.method)
    started, failed = time.monotonic(), []
    for r in sorted(rows, key=lambda r: r["track_id"]):
        sr = int(r["sample_rate"] or 44100)
        try:
            y = load_audio(os.path.join(r["root"] or "", r["wav_path"]), settings, sample_rate=sr, name=r["wav_path"],
                           mono=False)
        except InputError as exc:
            failed.append(str(exc))
            continue
        folder = os.path.join(out, r["track_id"])
        os.makedirs(folder, exist_ok=True)
        for name, stem in separate(y, sr, settings=sep).items():
            sf.write(os.path.join(folder, f"{name}.wav"), np.clip(stem, -1.0, 1.0), sr, subtype="PCM_16")
    print(f"separate: {len(rows) - len(failed)} tracks, {sep.method} stems in {out}, "
          f"{time.monotonic() - started:.1f} s")
    for line in failed:
        print(f"separate: skipped {line}")
    return 1 if failed else 0
