"""Metrics of the sweep against a generated set's truth, mir_eval-like: ``validate_*`` then the metric.

Each metric takes plain Python collections (no tables, no Spark), checks them with its
``validate_*`` function (a :class:`~musim_spark.errors.ParameterError` naming what is wrong) and
returns floats; a figure that is undefined (no query, no positive) is ``nan``, as in mir_eval,
never a silent 0 or 1.

Retrieval (each cover against the originals, the truth: the one original it was made from):

* :func:`hit_rate`: the share of covers whose rank-1 original is their own (precision at 1, or
  recall at 1, the same with one relevant item per query);
* :func:`mean_reciprocal_rank`: the mean of 1 / (rank of the own original), 0 when it was not
  kept (E. M. Voorhees, "The TREC-8 Question Answering Track Report", TREC 1999).

Decisions (pairs decided similar against pairs that are):

* :func:`precision_recall_f1`: precision, recall and their harmonic mean F1 (C. J. van
  Rijsbergen, *Information Retrieval*, 2nd ed., 1979, ch. 7) over sets of pairs. Pairs the sweep
  did not keep are decided "not similar": with sets, true negatives are never needed.

Sections (where a cover is the same as its original):

* :func:`mean_section_iou`: the mean over pairs of the intersection over union (Jaccard index,
  P. Jaccard 1901) of the predicted and the true sections on the cover's timeline
  (:func:`musim_spark.similarity.sections.sections_iou`).

Examples
--------
>>> ranked = {"c1": ["o1", "o2"], "c2": ["o1", "o2"], "c3": []}
>>> truth = {"c1": "o1", "c2": "o2", "c3": "o3"}
>>> hit_rate(ranked, truth), mean_reciprocal_rank(ranked, truth)
(0.3333333333333333, 0.5)
>>> precision_recall_f1({("c1", "o1"), ("c2", "o1")}, {("c1", "o1"), ("c2", "o2"), ("c3", "o3")})
(0.5, 0.3333333333333333, 0.4)
>>> mean_section_iou([([(0, 10)], [(5, 15)]), ([], [])])
0.6666666666666666
"""

from __future__ import annotations

import math
from typing import Hashable, Mapping, Sequence

from ..errors import ParameterError
from ..similarity.sections import sections_iou

__all__ = [
    "validate_ranking",
    "hit_rate",
    "mean_reciprocal_rank",
    "validate_decisions",
    "precision_recall_f1",
    "validate_intervals",
    "mean_section_iou",
]


def validate_ranking(ranked: Mapping[str, Sequence[str]], truth: Mapping[str, str]) -> None:
    """Check a ranking and its truth.

    Parameters
    ----------
    ranked : mapping of str to sequence of str
        Query -> the candidates kept, best first (may be empty: nothing kept).
    truth : mapping of str to str
        Query -> its one relevant candidate. Every query of ``truth`` is scored; queries of
        ``ranked`` not in ``truth`` are ignored.

    Raises
    ------
    ParameterError
        A ranking that is not a sequence, or names a candidate twice.
    """
    for q in truth:
        items = ranked.get(q, ())
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
            raise ParameterError(f"ranking of {q!r} must be a sequence of candidates, got {type(items).__name__}")
        if len(set(items)) != len(items):
            raise ParameterError(f"ranking of {q!r} names a candidate twice: {list(items)}")


def _rank(ranked: Mapping[str, Sequence[str]], q: str, relevant: str) -> int | None:
    items = list(ranked.get(q, ()))
    return items.index(relevant) + 1 if relevant in items else None


def hit_rate(ranked: Mapping[str, Sequence[str]], truth: Mapping[str, str]) -> float:
    """Share of the queries of ``truth`` whose first candidate is the relevant one (nan: no query).

    See :func:`validate_ranking` for the arguments.
    """
    validate_ranking(ranked, truth)
    if not truth:
        return math.nan
    return sum(_rank(ranked, q, o) == 1 for q, o in truth.items()) / len(truth)


def mean_reciprocal_rank(ranked: Mapping[str, Sequence[str]], truth: Mapping[str, str]) -> float:
    """Mean over the queries of ``truth`` of 1 / rank of the relevant candidate (0 when not ranked;
    nan: no query). See :func:`validate_ranking` for the arguments."""
    validate_ranking(ranked, truth)
    if not truth:
        return math.nan
    total = 0.0
    for q, o in truth.items():
        r = _rank(ranked, q, o)
        total += 0.0 if r is None else 1.0 / r
    return total / len(truth)


def validate_decisions(predicted: set, reference: set) -> None:
    """Check two sets of decided items (e.g. ``(query, original)`` pairs).

    Raises
    ------
    ParameterError
        Either is not a set (a list could hold an item twice and count it twice), or holds an
        unhashable item.
    """
    for name, s in (("predicted", predicted), ("reference", reference)):
        if not isinstance(s, (set, frozenset)):
            raise ParameterError(f"{name} decisions must be a set, got {type(s).__name__}")
        for item in s:
            if not isinstance(item, Hashable):  # pragma: no cover - a set cannot hold one
                raise ParameterError(f"{name} decision {item!r} is not hashable")


def precision_recall_f1(predicted: set, reference: set) -> tuple[float, float, float]:
    """Precision, recall and F1 of the items decided positive against the true positives.

    Parameters
    ----------
    predicted : set
        Items decided positive (pairs decided similar).
    reference : set
        Items that are positive (pairs that are similar).

    Returns
    -------
    precision : float
        ``|predicted & reference| / |predicted|``; nan when nothing was predicted.
    recall : float
        ``|predicted & reference| / |reference|``; nan when there is no positive.
    f1 : float
        ``2 |predicted & reference| / (|predicted| + |reference|)``; nan when both are empty.
        (Equal to the harmonic mean of precision and recall where both are defined, 0 when one is 0.)
    """
    validate_decisions(predicted, reference)
    tp = len(predicted & reference)
    p = tp / len(predicted) if predicted else math.nan
    r = tp / len(reference) if reference else math.nan
    n = len(predicted) + len(reference)
    return p, r, (2 * tp / n if n else math.nan)


def validate_intervals(intervals: Sequence[tuple[float, float]], *, what: str = "intervals") -> None:
    """Check ``(start, end)`` intervals: finite numbers, ``end >= start``.

    Raises
    ------
    ParameterError
        Naming the first bad interval.
    """
    for iv in intervals:
        try:
            s, e = (float(v) for v in iv)
        except (TypeError, ValueError):
            raise ParameterError(f"{what}: {iv!r} is not a (start, end) pair of numbers") from None
        if not (math.isfinite(s) and math.isfinite(e)) or e < s:
            raise ParameterError(f"{what}: {iv!r} must be finite with end >= start")


def mean_section_iou(pairs: Sequence[tuple[Sequence[tuple[float, float]], Sequence[tuple[float, float]]]]) -> float:
    """Mean intersection over union of predicted and true sections over pairs (nan: no pair).

    Parameters
    ----------
    pairs : sequence of (predicted, truth)
        Per pair, the predicted and the true ``(start, end)`` intervals on one timeline. Both
        empty counts 1 (agreement that nothing is the same), one empty 0
        (:func:`~musim_spark.similarity.sections.sections_iou`).
    """
    for predicted, truth in pairs:
        validate_intervals(predicted, what="predicted sections")
        validate_intervals(truth, what="true sections")
    if not pairs:
        return math.nan
    return sum(sections_iou(list(p), list(t)) for p, t in pairs) / len(pairs)
