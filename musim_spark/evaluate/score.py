"""The warehouse's ``matches`` scored against a generated set's truth: the figures of ``musim evaluate``.

The same definitions as bench/similarity.py where the two overlap, so the figures compare:

* positives: every cover with its own original (melody, chord, combined); for rhythm the facet
  truth: a cover whose true rhythm same-sections cover at least :data:`RHYTHM_POSITIVE_SHARE` of
  it (Rhythm, Arrangement and Genre covers give the cover another groove over most of it). The
  rhythm decision against every cover is kept as ``rhythm_every_cover``;
* decisions: a facet score >= :data:`FACET_DECISION` (50 is each facet's calibrated threshold),
  ``is_similar`` for the combined one. The sweep keeps only its top-k candidates per query; a
  pair it did not keep is decided "not similar" (it lost retrieval or ranking);
* section IoU: per cover whose own original was kept, the predicted sections against the true
  ones on the cover's timeline; pairs whose truth has no section of the facet are left out;
* retrieval: hit rate and mean reciprocal rank of the own original over covers (a cover the sweep
  could not score counts as a miss).

Queries that are not in the truth (another set ingested in the same warehouse) are left out;
truth tracks that are not in ``matches`` count as misses.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from .metrics import hit_rate, mean_reciprocal_rank, mean_section_iou, precision_recall_f1
from .truth import TruthTrack

__all__ = ["FACETS", "FACET_DECISION", "RHYTHM_POSITIVE_SHARE", "evaluate_matches", "format_evaluation"]

FACETS = ("melody", "rhythm", "chord")
#: A facet decides "similar" at this calibrated score (50 = its threshold, similarity/calibration.py).
FACET_DECISION = 50.0
#: A cover is a rhythm positive when its true rhythm sections cover this share of it (bench/similarity.py).
RHYTHM_POSITIVE_SHARE = 0.5
_DECISIONS = (*FACETS, "combined", "rhythm_every_cover")


def _decided(row: Mapping[str, Any], what: str) -> bool:
    if what == "combined":
        return bool(row.get("is_similar"))
    facet = "rhythm" if what == "rhythm_every_cover" else what
    x = row.get(f"{facet}_similarity")
    return x is not None and math.isfinite(x) and x >= FACET_DECISION


def _positives(truth: Mapping[str, TruthTrack], what: str) -> set[tuple[str, str]]:
    out = set()
    for t in truth.values():
        if not t.is_cover:
            continue
        if what == "rhythm":
            share = sum(s.duration_ms for s in t.rhythm_sections) / max(1000.0 * t.duration_s, 1e-9)
            if share < RHYTHM_POSITIVE_SHARE:
                continue
        out.add((t.track_id, t.original_track_id))
    return out


def _prf(predicted: set, reference: set) -> dict:
    p, r, f = precision_recall_f1(predicted, reference)
    return {"f1": f, "precision": p, "recall": r, "n_positive": len(reference), "n_predicted": len(predicted)}


def evaluate_matches(rows: Sequence[Mapping[str, Any]], truth: Mapping[str, TruthTrack]) -> dict:
    """Every figure of ``musim evaluate``.

    Parameters
    ----------
    rows : sequence of mapping
        ``matches`` rows of one source.
    truth : mapping of str to TruthTrack
        :func:`.truth.read_truth`.

    Returns
    -------
    dict
        ``tracks``, ``covers``, ``queries_scored``; ``retrieval`` (``hit_rate``, ``mrr``, ``n``);
        ``decisions`` (``overall`` and ``by_cover_type``, each decision -> ``f1``, ``precision``,
        ``recall``, ``n_positive``, ``n_predicted``); ``section_iou`` (facet -> ``mean``, ``n``).
        Undefined figures are nan.

    Examples
    --------
    >>> from musim_spark.sections import Section
    >>> t = {"o": TruthTrack("o", "", "Trot", "Org", 10.0),
    ...      "c": TruthTrack("c", "o", "Trot", "Rhythm_A", 10.0, melody_sections=(Section(0, 10000, 0, 10000),))}
    >>> rows = [{"query_track_id": "c", "original_track_id": "o", "rank": 1, "melody_similarity": 90.0,
    ...          "rhythm_similarity": 10.0, "chord_similarity": 70.0, "is_similar": True,
    ...          "melody_sections": [{"query_start_ms": 0, "query_duration_ms": 5000, "original_start_ms": 0,
    ...                               "original_duration_ms": 5000}], "rhythm_sections": [], "chord_sections": []}]
    >>> ev = evaluate_matches(rows, t)
    >>> ev["retrieval"]["hit_rate"], ev["decisions"]["overall"]["melody"]["f1"], ev["section_iou"]["melody"]
    (1.0, 1.0, {'mean': 0.5, 'n': 1})
    """
    rows = [r for r in rows if r["query_track_id"] in truth]
    by_query: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: r["rank"]):
        by_query.setdefault(r["query_track_id"], []).append(r)
    covers = {t.track_id: t.original_track_id for t in truth.values() if t.is_cover}
    ranked = {q: [r["original_track_id"] for r in rs] for q, rs in by_query.items()}

    def decisions(keep_query) -> dict:
        out = {}
        for what in _DECISIONS:
            predicted = {(r["query_track_id"], r["original_track_id"]) for r in rows
                         if keep_query(r["query_track_id"]) and _decided(r, what)}
            reference = {p for p in _positives(truth, "rhythm" if what == "rhythm" else "all") if keep_query(p[0])}
            out[what] = _prf(predicted, reference)
        return out

    cover_types = sorted({t.cover_type for t in truth.values()})
    iou = {}
    for facet in FACETS:
        pairs = []
        for q, own in covers.items():
            t = truth[q]
            true = [(s.start_ms, s.end_ms) for s in getattr(t, f"{facet}_sections")]
            row = next((r for r in by_query.get(q, []) if r["original_track_id"] == own), None)
            if not true or row is None:
                continue
            pred = [(s["query_start_ms"], s["query_start_ms"] + s["query_duration_ms"])
                    for s in row.get(f"{facet}_sections") or []]
            pairs.append((pred, true))
        iou[facet] = {"mean": mean_section_iou(pairs), "n": len(pairs)}
    return {
        "tracks": len(truth),
        "covers": len(covers),
        "queries_scored": len(by_query),
        "retrieval": {"hit_rate": hit_rate(ranked, covers), "mrr": mean_reciprocal_rank(ranked, covers),
                      "n": len(covers)},
        "decisions": {
            "overall": decisions(lambda q: True),
            "by_cover_type": {ct: decisions(lambda q, ct=ct: truth[q].cover_type == ct) for ct in cover_types},
        },
        "section_iou": iou,
    }


def _f(x, spec=".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def format_evaluation(ev: Mapping[str, Any]) -> str:
    """The text form of :func:`evaluate_matches`'s figures: a few lines and one small table."""
    rt = ev["retrieval"]
    lines = [f"tracks {ev['tracks']}, covers {ev['covers']}, queries scored {ev['queries_scored']}",
             f"retrieval over {rt['n']} covers: hit rate {_f(rt['hit_rate'])}, MRR {_f(rt['mrr'])}",
             "section IoU (cover's timeline): " + ", ".join(
                 f"{k} {_f(v['mean'])} (n={v['n']})" for k, v in ev["section_iou"].items()),
             "",
             f"{'cover type':<14} {'decision':<19} {'F1':>6} {'prec':>6} {'recall':>6} {'pos':>5} {'pred':>5}"]

    def block(name, d):
        for what, m in d.items():
            lines.append(f"{name:<14} {what:<19} {_f(m['f1']):>6} {_f(m['precision']):>6} {_f(m['recall']):>6} "
                         f"{m['n_positive']:>5} {m['n_predicted']:>5}")

    block("all", ev["decisions"]["overall"])
    for ct, d in ev["decisions"]["by_cover_type"].items():
        block(ct, {k: v for k, v in d.items() if k != "rhythm_every_cover"})
    return "\n".join(lines)
