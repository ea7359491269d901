"""``musim evaluate --truth DIR [--json] [--source midi|audio]``: the warehouse's matches against a
generated set's truth (:func:`musim_spark.evaluate.score.evaluate_matches`).

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
    parser.add_argument("--source", choices=["midi", "audio"], default="midi",
                        help="whose matches: the data set's MIDI (default) or our transcription of the audio")


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

    truth = read_truth(args.truth)
    rows = read_matches(args.warehouse, args.source)
    ev = {"source": args.source, **evaluate_matches(rows, truth)}
    if args.json:
        print(json.dumps(json_safe(ev), ensure_ascii=False))
    else:
        print(format_evaluation(ev))
    return 0
