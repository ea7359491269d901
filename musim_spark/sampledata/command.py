"""``musim sample-data OUT``: write a generated data set (options as shared/spec/interface.md).

Defaults of the options come from the ``sample_data`` section of the configuration
(:class:`~musim_spark.sampledata.settings.SampleDataSettings`); relative paths, in options or
in the configuration, are relative to the current working directory.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..errors import ParameterError
from .generate import generate
from .settings import SampleDataSettings

__all__ = ["add_arguments", "run", "parse_size"]

_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024 ** 2, "MB": 1024 ** 2, "G": 1024 ** 3, "GB": 1024 ** 3}


def parse_size(text: str) -> int:
    """Bytes from a size such as ``5M``, ``500K``, ``1G`` or ``123456`` (binary units).

    Examples
    --------
    >>> parse_size("5M"), parse_size("64k"), parse_size("1000")
    (5242880, 65536, 1000)
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).upper() not in _UNITS:
        raise ParameterError(f"size {text!r}: expected a number with an optional K, M or G suffix")
    size = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if size <= 0:
        raise ParameterError(f"size {text!r} must be positive")
    return size


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="OUT", help="data-set root to create (empty, absent, or a previous set)")
    parser.add_argument("--songs", type=int, default=None, help="Similar originals, each with its covers")
    parser.add_argument("--regular", type=int, default=None, help="Regular originals (no covers)")
    parser.add_argument("--seconds", type=float, default=None, help="crop every song to S seconds (fast tests)")
    parser.add_argument("--seed", type=int, default=None, help="same seed and options, same bytes")
    parser.add_argument("--cover-types", default="dataset",
                        help="dataset (the data set's 9 cover types, default), all (all 20), or a comma list")
    parser.add_argument("--faults", action="store_true", help="add bad inputs listed in _truth/faults.csv")
    parser.add_argument("--no-audio", action="store_true", help="skip WAV rendering (MIDI, MusicXML, labels only)")
    parser.add_argument("--zip-parts", default=None, metavar="SIZE",
                        help="also deliver split zip parts of SIZE (e.g. 5M) under OUT/_zip/")
    parser.add_argument("--midi-noise", type=float, default=None, metavar="P",
                        help="per-note transcription-error rate of the delivered MIDI (0 = clean)")
    parser.add_argument("--processes", type=int, default=None, help="worker processes (default from conf)")
    parser.add_argument("--pop909", default=None, metavar="DIR", help="POP909 song folders (default from conf)")


def run(args: argparse.Namespace, config) -> int:
    s = SampleDataSettings.from_config(config)
    pop909 = args.pop909 or s.pop909_dir
    if not Path(pop909).is_dir():
        where = "--pop909" if args.pop909 else f"sample_data.pop909_dir of {config.path}"
        raise ParameterError(f"POP909 directory not found: {pop909} (from {where}; relative paths are "
                             "relative to the working directory)")
    summary = generate(
        args.out,
        songs=s.songs if args.songs is None else args.songs,
        regular=s.regular if args.regular is None else args.regular,
        seconds=args.seconds,
        seed=s.seed if args.seed is None else args.seed,
        cover_types=args.cover_types,
        faults=args.faults,
        audio=not args.no_audio,
        zip_parts=parse_size(args.zip_parts) if args.zip_parts else None,
        midi_noise=s.midi_noise if args.midi_noise is None else args.midi_noise,
        pop909_dir=pop909,
        processes=s.processes if args.processes is None else args.processes,
        soundfont=s.soundfont,
        genre_mix=s.genre_mix,
        min_melody_notes=s.min_melody_notes,
        fault_seconds=s.fault_seconds,
    )
    print(f"sample-data: {summary['tracks']} tracks ({summary['originals']} originals, {summary['covers']} covers), "
          f"{summary['faults']} fault files, {summary['audio_seconds']:.0f} s of audio, "
          f"in {summary['elapsed_s']:.1f} s")
    print(f"  data set: {summary['out']}   truth: {summary['truth']}")
    if summary["zip_parts"]:
        print(f"  zip parts: {len(summary['zip_parts'])} under {Path(summary['zip_parts'][0]).parent}")
    return 0
