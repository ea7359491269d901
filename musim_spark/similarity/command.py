"""``musim compare QUERY CANDIDATE... [--json] [--html PATH]``: compare a query with one or many files.

QUERY is the query (e.g. a suspect melody), each CANDIDATE an original (a MIDI file, or a directory
standing for its own ``.mid``/``.midi`` files, sorted by name, the query itself left out).

**One pair** (exactly one CANDIDATE, a file): as before, the output is one JSON object (``--json``)
or a short text summary, and ``--html FILE`` writes one pair report. The JSON keys are a contract
(shared/spec/interface.md): melodySimilarity, rhythmSimilarity, chordSimilarity (0-100, null when a
facet cannot be computed), similarityCoefficient (-1..1, null when the pair is not decided: "not
enough material"), isSimilar, and melodySameSection/rhythmSameSection/chordSameSection (lists of
startMilliSec, durationMilliSec, otherStartMilliSec, otherDurationMilliSec; QUERY's timeline,
``other`` = the candidate's: :meth:`musim_spark.sections.Section.to_interface`); then ``reason``
(null, or why the pair is not decided / which facets decided it) and ``melodyReason``,
``rhythmReason``, ``chordReason`` (null, or why that facet cannot be computed).

**Many** (several CANDIDATEs, or a directory): features are computed once per
file; the text output is a table ranked by similarity (:func:`.compare.rank_key`); ``--json``
prints a list with one object per candidate file **in the order given**, each the pair object
above with ``rank`` (1 = most similar), ``path`` and ``error`` (null, or why the file could not be
compared); ``--html DIR`` writes one pair report per candidate and ``DIR/index.html`` ranking them.
A candidate that cannot be read is reported on stderr in one line naming the file; the others are
still compared, and the exit status is then 1 (0 when every candidate was compared).
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

from .settings import SimilaritySettings

__all__ = ["add_arguments", "run", "result_json", "candidate_json"]

_FACETS = ("melody", "rhythm", "chord")


def add_arguments(parser) -> None:
    parser.add_argument("query", metavar="QUERY",
                        help="query MIDI file, e.g. a suspect melody (a label JSON beside it names its tracks)")
    parser.add_argument("candidates", metavar="CANDIDATE", nargs="+",
                        help="original MIDI file(s), or directories of them (their .mid/.midi files)")
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON: one object for one pair, a list for several candidates")
    parser.add_argument("--html", metavar="PATH", default=None,
                        help="one pair: the HTML report FILE; several candidates: a DIR of pair reports and index.html")


def _num(x, digits: int = 2):
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def result_json(result) -> dict:
    """The interface's JSON object for a :class:`.compare.PairResult`."""
    return {
        "melodySimilarity": _num(result.melody.score),
        "rhythmSimilarity": _num(result.rhythm.score),
        "chordSimilarity": _num(result.chord.score),
        "similarityCoefficient": _num(result.coefficient, 4),
        "isSimilar": bool(result.similar),
        "melodySameSection": [s.to_interface() for s in result.melody.sections],
        "rhythmSameSection": [s.to_interface() for s in result.rhythm.sections],
        "chordSameSection": [s.to_interface() for s in result.chord.sections],
        "reason": result.reason or None,
        **{f"{k}Reason": getattr(result, k).reason or None for k in _FACETS},
    }


def candidate_json(c) -> dict:
    """One element of the ``--json`` list of a query against many files (a
    :class:`.compare.CandidateResult`): ``rank``, ``path``, the pair object, ``error``."""
    if c.result is not None:
        body = result_json(c.result)
    else:  # the same keys, nothing known
        body = {"melodySimilarity": None, "rhythmSimilarity": None, "chordSimilarity": None,
                "similarityCoefficient": None, "isSimilar": False, "melodySameSection": [],
                "rhythmSameSection": [], "chordSameSection": [], "reason": None,
                **{f"{k}Reason": None for k in _FACETS}}
    return {"rank": c.rank, "path": c.path, **body, "error": c.error or None}


def _fmt(x, spec: str = ".1f") -> str:
    return "n/a" if x is None else format(x, spec)


def _warn(where: str, messages) -> None:
    for m in messages:
        print(f"musim compare: warning: {where}{m}", file=sys.stderr)


def _user_warnings(caught) -> list[str]:
    # others (e.g. ResourceWarnings of the MIDI reader) are not the user's concern
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def _many(args) -> bool:
    return len(args.candidates) > 1 or Path(args.candidates[0]).is_dir()


def run(args, config) -> int:
    settings = SimilaritySettings.from_config(config)
    if _many(args):
        return _run_many(args, settings)
    from .compare import compare_files

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, fa, fb = compare_files(args.query, args.candidates[0], settings=settings)
    _warn("", _user_warnings(caught))
    out = result_json(result)
    if args.html:
        from ..report.page import write_report

        write_report(args.html, result, fa, fb, name_a=str(args.query), name_b=str(args.candidates[0]),
                     settings=settings, source_a=args.query, source_b=args.candidates[0], interface=out)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return 0
    coef = out["similarityCoefficient"]
    print(f"melody {_fmt(out['melodySimilarity'])}  rhythm {_fmt(out['rhythmSimilarity'])}  "
          f"chord {_fmt(out['chordSimilarity'])}  "
          f"coefficient {_fmt(coef, '+.3f')}  similar: {'yes' if out['isSimilar'] else 'no'}")
    if out["reason"]:
        print(f"reason: {out['reason']}")
    for key in ("melodySameSection", "rhythmSameSection", "chordSameSection"):
        secs = ", ".join(f"{s['startMilliSec'] / 1000:.1f}-{(s['startMilliSec'] + s['durationMilliSec']) / 1000:.1f}s"
                         f" ~ {s['otherStartMilliSec'] / 1000:.1f}s" for s in out[key])
        print(f"{key}: {secs or '-'}")
    return 0


def _run_many(args, settings: SimilaritySettings) -> int:
    from .compare import compare_query

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fq, results = compare_query(args.query, args.candidates, settings=settings)
    _warn(f"{args.query}: ", _user_warnings(caught))
    for c in results:
        _warn(f"{c.path}: ", c.warnings)
        if c.error:
            print(f"musim compare: error: {c.error}", file=sys.stderr)
    rows = [candidate_json(c) for c in results]
    if args.html:
        from ..report.index import write_index

        write_index(Path(args.html), args.query, fq, results, settings, interfaces=rows)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        print(f"query: {args.query}")
        print(f"{'rank':>4}  {'coef':>6}  {'similar':<7}  {'melody':>6}  {'rhythm':>6}  {'chord':>6}  path")
        for r in sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0)):
            if r["error"]:
                print(f"{'-':>4}  {'-':>6}  {'error':<7}  {'':>6}  {'':>6}  {'':>6}  {r['error']}")
                continue
            line = (f"{r['rank']:>4}  {_fmt(r['similarityCoefficient'], '+.3f'):>6}  "
                    f"{'yes' if r['isSimilar'] else 'no':<7}  {_fmt(r['melodySimilarity']):>6}  "
                    f"{_fmt(r['rhythmSimilarity']):>6}  {_fmt(r['chordSimilarity']):>6}  {r['path']}")
            print(line + (f"  ({r['reason']})" if r["reason"] else ""))
    return 1 if any(c.error for c in results) else 0
