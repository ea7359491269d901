"""``musim evaluate --truth DIR [--json] [--source midi|audio|both] [--stems DIR]``: the warehouse's
matches against a generated set's truth (:func:`musim_spark.evaluate.score.evaluate_matches`).

``--source both`` scores the MIDI sweep and the audio sweep and reports the audio path's decision
F1 minus the MIDI path's per decision (issue 12's audio-path target: within 0.03). When
``musim separate`` wrote stems (``<warehouse>/stems``, or ``--stems DIR``) and the set has
rendered stems (``_truth/stems``), the SDR of each of our stems is reported too
(:mod:`musim_spark.evaluate.separation`).

Prints a few lines and a small table, or with ``--json`` one JSON object (undefined figures are
``null``). Reads the warehouse only; exit 1 with one line when there is no ``matches`` table
(run ``musim similarity`` first) or no truth at ``DIR``.
"""

from __future__ import annotations

import argparse
import json
import math

__all__ = ["add_arguments", "run", "json_safe"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``musim evaluate``."""
    parser.add_argument("--truth", required=True,
                        help="a generated set's _truth directory (or the set's root, or truth.csv)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--source", choices=["midi", "audio", "both"], default="midi",
                        help="whose matches: the data set's MIDI (default), our transcription of the audio, or both "
                             "(with the audio path's F1 minus the MIDI path's)")
    parser.add_argument("--stems", default=None, metavar="DIR",
                        help="our stems to score against the set's _truth/stems (default: <warehouse>/stems if there)")


def json_safe(obj):
    """``obj`` with every nan/inf float as None (JSON has no NaN).

    Examples
    --------
    >>> json_safe({"a": [1.0, float("nan")]})
    {'a': [1.0, None]}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def run(args: argparse.Namespace, config) -> int:
    """Evaluate; returns 0."""
    from ..sweep.results import read_matches
    from .score import evaluate_matches, format_evaluation
    from .truth import read_truth

    import os

    from .separation import evaluate_stem_dirs
    from .truth import truth_csv_path

    truth = read_truth(args.truth)
    if args.source == "both":
        ev = {"source": "both", **{src: evaluate_matches(read_matches(args.warehouse, src), truth)
                                   for src in ("midi", "audio")}}
        ev["audio_minus_midi_f1"] = {k: ev["audio"]["decisions"]["overall"][k]["f1"] - m["f1"]
                                     for k, m in ev["midi"]["decisions"]["overall"].items()}
    else:
        ev = {"source": args.source, **evaluate_matches(read_matches(args.warehouse, args.source), truth)}
    stems = args.stems or os.path.join(args.warehouse, "stems")
    truth_stems = truth_csv_path(args.truth).parent / "stems"
    if os.path.isdir(stems) and truth_stems.is_dir():
        ev["separation"] = evaluate_stem_dirs(stems, truth_stems)
    if args.json:
        print(json.dumps(json_safe(ev), ensure_ascii=False))
        return 0
    if args.source == "both":
        print("== midi\n" + format_evaluation(ev["midi"]) + "\n\n== audio\n" + format_evaluation(ev["audio"]))
        print("\naudio minus midi, decision F1: " + ", ".join(
            f"{k} {v:+.3f}" if math.isfinite(v) else f"{k} -" for k, v in ev["audio_minus_midi_f1"].items()))
    else:
        print(format_evaluation(ev))
    if "separation" in ev:
        sep = ev["separation"]
        print(f"\nseparation, {sep['metric']}, {sep['tracks']} tracks: " + ", ".join(
            f"{k} median {v['median']:.2f} (mean {v['mean']:.2f}, n={v['n']})" for k, v in sep["per_stem"].items()))
    return 0
