"""``musim compare A B [--json] [--html FILE]``: compare one pair of MIDI files.

A is the query, B the original. Without ``--json`` a short text summary is printed. The JSON keys
are a contract (shared/spec/interface.md): melodySimilarity, rhythmSimilarity, chordSimilarity
(0-100, null when a facet cannot be computed), similarityCoefficient (-1..1), isSimilar, and
melodySameSection/rhythmSameSection/chordSameSection (lists of startMilliSec, durationMilliSec,
otherStartMilliSec, otherDurationMilliSec; A's timeline, ``other`` = B's:
:meth:`musim_spark.sections.Section.to_interface`).
"""

from __future__ import annotations

import json
import math
import sys
import warnings

from .compare import compare_files
from .settings import SimilaritySettings

__all__ = ["add_arguments", "run", "result_json"]


def add_arguments(parser) -> None:
    parser.add_argument("a", metavar="A", help="query MIDI file (a label JSON beside it names its tracks)")
    parser.add_argument("b", metavar="B", help="original MIDI file")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--html", metavar="FILE", default=None, help="write a self-contained HTML pair report")


def _num(x: float):
    return None if x is None or not math.isfinite(x) else round(float(x), 2)


def result_json(result) -> dict:
    """The interface's JSON object for a :class:`.compare.PairResult`."""
    return {
        "melodySimilarity": _num(result.melody.score),
        "rhythmSimilarity": _num(result.rhythm.score),
        "chordSimilarity": _num(result.chord.score),
        "similarityCoefficient": round(float(result.coefficient), 4),
        "isSimilar": bool(result.similar),
        "melodySameSection": [s.to_interface() for s in result.melody.sections],
        "rhythmSameSection": [s.to_interface() for s in result.rhythm.sections],
        "chordSameSection": [s.to_interface() for s in result.chord.sections],
    }


def run(args, config) -> int:
    settings = SimilaritySettings.from_config(config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, fa, fb = compare_files(args.a, args.b, settings=settings)
    for w in caught:
        if not issubclass(w.category, UserWarning):
            continue  # e.g. ResourceWarnings of the MIDI reader: not the user's concern
        print(f"musim compare: warning: {w.message}", file=sys.stderr)
    out = result_json(result)
    if args.html:
        from .report import write_report

        write_report(args.html, result, fa, fb, name_a=str(args.a), name_b=str(args.b), settings=settings)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"melody {out['melodySimilarity']}  rhythm {out['rhythmSimilarity']}  chord {out['chordSimilarity']}  "
              f"coefficient {out['similarityCoefficient']:+.3f}  similar: {'yes' if out['isSimilar'] else 'no'}")
        for key in ("melodySameSection", "rhythmSameSection", "chordSameSection"):
            secs = ", ".join(f"{s['startMilliSec'] / 1000:.1f}-{(s['startMilliSec'] + s['durationMilliSec']) / 1000:.1f}s"
                             f" ~ {s['otherStartMilliSec'] / 1000:.1f}s" for s in out[key])
            print(f"{key}: {secs or '-'}")
    return 0
