"""Exact scoring of one query against its retrieved candidates: ``matches`` rows. Pure: no Spark.

The sweep groups the retrieved (query, candidate original) pairs by query; each group is scored
here with the same engine as ``musim compare`` (:func:`musim_spark.similarity.compare_features`),
ranked as ``musim compare`` ranks (:func:`musim_spark.similarity.compare.rank_order`), and its best
``top_k`` become rows of the ``matches`` table (shared/spec/interface.md). A pair's result depends
on its two tracks only, so a rerun, or ``musim compare`` on the two files, gives the same numbers.

Examples
--------
>>> [f.name for f in MATCH_SCHEMA][:4]
['query_track_id', 'original_track_id', 'rank', 'melody_similarity']
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from typing import Iterable, Sequence

import pyarrow as pa

from ..errors import ParameterError
from ..io.tables import TABLES
from .features import decode_features

__all__ = ["MATCH_SCHEMA", "BoundedCache", "worker_cache", "score_query", "match_row", "row_rank_key", "merge_ranked", "could_be_similar",
           "melody_first_selection"]

#: The ``matches`` table's schema (rows this module returns).
MATCH_SCHEMA = TABLES["matches"].schema


#: Decoded candidate features kept by a Python worker across its tasks (:func:`worker_cache`).
_WORKER_CACHE: dict = {"key": None, "cache": None}


class BoundedCache(OrderedDict):
    """A dict that keeps its ``max_items`` most recently used entries (least recently used out first).

    Examples
    --------
    >>> c = BoundedCache(2)
    >>> c["a"], c["b"] = 1, 2
    >>> c.get("a")
    1
    >>> c["c"] = 3            # "b" was used least recently
    >>> sorted(c)
    ['a', 'c']
    """

    def __init__(self, max_items: int):
        super().__init__()
        if int(max_items) < 0:
            raise ParameterError(f"a cache holds >= 0 entries, got {max_items!r}")
        self.max_items = int(max_items)

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def __setitem__(self, key, value):
        if self.max_items == 0:
            return
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.max_items:
            self.popitem(last=False)


def worker_cache(key, max_items: int) -> BoundedCache:
    """A cache that lives as long as this Python process, for one ``key`` at a time.

    The sweep decodes each candidate original's stored features (about 4 ms for a full-length
    track, bench/results/sweep_scale.md) once per Python worker instead of once per task: a
    scoring task of 100 queries x 100 candidates meets most originals of a 20,000-track catalog.
    A decoded track takes about 171 KB (65 KB stored), so the cache keeps at most ``max_items``
    of them (``sweep.decoded_cache_tracks``): a worker's memory does not grow with the catalog.
    The key (the run's broadcast id) drops the previous run's entries.
    """
    if _WORKER_CACHE["key"] != key or _WORKER_CACHE["cache"] is None:
        _WORKER_CACHE["key"], _WORKER_CACHE["cache"] = key, BoundedCache(max_items)
    return _WORKER_CACHE["cache"]


def _score(x: float):
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def match_row(query_id: str, original_id: str, rank: int, result, *, source: str, run_id: str) -> dict:
    """One ``matches`` row from a :class:`~musim_spark.similarity.compare.PairResult`.

    Undefined scores ("not enough material") are null; ``is_similar`` is then false.
    """
    return {
        "query_track_id": query_id, "original_track_id": original_id, "rank": int(rank),
        "melody_similarity": _score(result.melody.score), "rhythm_similarity": _score(result.rhythm.score),
        "chord_similarity": _score(result.chord.score), "similarity_coefficient": _score(result.coefficient),
        "is_similar": bool(result.similar), "melody_significance": _score(result.melody.raw_score), "source": source,
        "melody_sections": [s.to_row() for s in result.melody.sections],
        "rhythm_sections": [s.to_row() for s in result.rhythm.sections],
        "chord_sections": [s.to_row() for s in result.chord.sections],
        "run_id": run_id,
    }


def could_be_similar(melody_score: float, *, settings) -> bool:
    """Whether a pair with this calibrated melody score can be judged similar, whatever its rhythm
    and chord scores turn out to be.

    The coefficient (:func:`musim_spark.similarity.combine.similarity_coefficient`) is a logistic
    function of a weighted sum of the defined facets' scores (0-100), so over the unknown rhythm
    and chord scores its largest value is at an end of their range or with the facet undefined:
    the bound tries those 9 cases. Undefined melody: never similar.

    Examples
    --------
    >>> from musim_spark.similarity.settings import SimilaritySettings
    >>> s = SimilaritySettings()
    >>> could_be_similar(99.0, settings=s), could_be_similar(5.0, settings=s), could_be_similar(float("nan"), settings=s)
    (True, False, False)
    """
    from ..similarity.combine import similarity_coefficient

    if melody_score is None or not math.isfinite(melody_score):
        return False
    nan = float("nan")
    best = max(similarity_coefficient(melody_score, r, c, settings=settings)
               for r in (0.0, 100.0, nan) for c in (0.0, 100.0, nan))
    return bool(best >= settings.coefficient_threshold)


def melody_first_selection(melody_results: Sequence, *, settings, top_k: int) -> list[int]:
    """Which candidates need the full three-facet score for the query's best ``top_k`` to be exact.

    The rank (:func:`musim_spark.similarity.compare.rank_key`) puts decided pairs first (decided =
    the melody score is defined), similar before not similar, then orders by the melody
    significance (the coefficient only breaks exact ties); so from the melody facet alone: every
    candidate that :func:`could_be_similar` is scored, and of the others the ``top_k`` decided ones
    of highest melody significance (with every candidate tied with the last), and, when fewer than
    ``top_k`` candidates are decided, the first undecided ones in the order given. No other
    candidate can be among the best ``top_k``, so scoring the selection only gives the same rows
    as scoring all (the result of a pair depends on the pair alone).

    Parameters
    ----------
    melody_results : sequence of FacetResult
        Each candidate's calibrated melody facet (``score`` 0-100, ``raw_score`` its significance).
    settings : SimilaritySettings
    top_k : int

    Returns
    -------
    list of int
        Candidate positions, ascending (the order given).

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> from musim_spark.similarity.settings import SimilaritySettings
    >>> m = [R(score=99.0, raw_score=9.0), R(score=1.0, raw_score=0.5), R(score=2.0, raw_score=1.5),
    ...      R(score=float("nan"), raw_score=float("nan")), R(score=1.0, raw_score=0.2)]
    >>> melody_first_selection(m, settings=SimilaritySettings(), top_k=2)
    [0, 1, 2]
    >>> melody_first_selection(m, settings=SimilaritySettings(), top_k=6)
    [0, 1, 2, 3, 4]
    """
    k = max(0, int(top_k))
    full, rest, undecided = [], [], []
    for i, m in enumerate(melody_results):
        if m.raw_score is None or not math.isfinite(m.raw_score) or not math.isfinite(m.score):
            undecided.append(i)
        elif could_be_similar(m.score, settings=settings):
            full.append(i)
        else:
            rest.append(i)
    sig = {i: float(melody_results[i].raw_score) for i in rest}
    ordered = sorted(rest, key=lambda i: -sig[i])
    if len(ordered) > k:
        cut = sig[ordered[k - 1]] if k > 0 else math.inf
        ordered = [i for i in ordered if sig[i] >= cut]
    picked = full + ordered
    n_decided = len(full) + len(rest)
    if n_decided < k:
        picked += undecided[:k - n_decided]
    return sorted(picked)


def score_query(query_id: str, query_blob: bytes, candidates: Iterable[tuple[str, bytes]], *, settings,
                top_k: int, source: str, run_id: str, cache: dict | None = None,
                melody_first: bool = False) -> pa.Table:
    """Score one query against its candidates and keep the best ``top_k``.

    Parameters
    ----------
    query_id : str
    query_blob : bytes
        The query's stored features (:func:`.features.encode_features`).
    candidates : iterable of (str, bytes)
        Candidate originals' ids and stored features. The query itself is skipped (a track never
        matches itself); a repeated id is scored once.
    settings : SimilaritySettings
    top_k : int
        Rows kept (ranks 1..top_k).
    source : {'midi', 'audio'}
    run_id : str
    cache : dict, optional
        Decoded features by original id, shared across the queries a task scores (decoding a
        full-length track costs about as much as scoring one pair).
    melody_first : bool
        Score every candidate's melody facet first and the three facets only of the candidates
        :func:`melody_first_selection` picks: the same rows, at about the cost of the melody facet
        per candidate (bench/results/sweep_scale.md).

    Returns
    -------
    pyarrow.Table
        :data:`MATCH_SCHEMA` rows, best first.
    """
    from ..similarity.compare import compare_features, rank_order

    fq = decode_features(query_blob)
    cache = {} if cache is None else cache
    ids: list[str] = []
    fos = []
    seen = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for oid, blob in candidates:
            if oid == query_id or oid in seen:
                continue
            seen.add(oid)
            fo = cache.get(oid)
            if fo is None:
                fo = cache[oid] = decode_features(blob)
            ids.append(oid)
            fos.append(fo)
        if melody_first and len(ids) > max(0, int(top_k)):
            pick = melody_first_selection([_melody_facet(fq, fo, settings) for fo in fos], settings=settings,
                                          top_k=top_k)
            ids, fos = [ids[i] for i in pick], [fos[i] for i in pick]
        results = [compare_features(fq, fo, settings=settings) for fo in fos]
    ranks = rank_order(results)
    order = sorted(range(len(ids)), key=lambda i: ranks[i])[:max(0, int(top_k))]
    rows = [match_row(query_id, ids[i], ranks[i], results[i], source=source, run_id=run_id) for i in order]
    return pa.Table.from_pylist(rows, schema=MATCH_SCHEMA)


def _melody_facet(fq, fo, settings):
    """The calibrated melody facet of a pair, as :func:`~musim_spark.similarity.compare.compare_features`
    computes it (its first step)."""
    import dataclasses

    from ..similarity.calibration import calibrated_score
    from ..similarity.melody import melody_similarity

    f = melody_similarity(fq, fo, settings=settings)
    return dataclasses.replace(f, score=calibrated_score(f.raw_score, settings.melody_threshold, settings.score_slope))


def row_rank_key(row: dict) -> tuple:
    """:func:`musim_spark.similarity.compare.rank_key` of a stored ``matches`` row (ascending =
    more similar): decided first, similar before not, then melody significance, then coefficient."""
    coef, sig = row.get("similarity_coefficient"), row.get("melody_significance")
    if coef is None:
        return (1, 0, 0.0, 0.0)
    return (0, 0 if row.get("is_similar") else 1, -(sig if sig is not None else -math.inf), -coef)


def merge_ranked(new: pa.Table, stored: Sequence[dict], *, top_k: int) -> pa.Table:
    """A query's new rows merged with its stored ones, re-ranked, best ``top_k`` kept.

    A stored row for an original that was scored again is replaced by the new one. Ties keep the
    stored rows' order, then the new rows' (a stable sort, as :func:`score_query`'s ranking).

    Examples
    --------
    >>> old = [dict(query_track_id="q", original_track_id="a", rank=1, similarity_coefficient=0.5,
    ...             is_similar=True, melody_significance=9.0, source="midi", run_id="r0")]
    >>> new = [dict(query_track_id="q", original_track_id="b", rank=1, similarity_coefficient=0.9,
    ...             is_similar=True, melody_significance=20.0, source="midi", run_id="r1")]
    >>> t = merge_ranked(pa.Table.from_pylist(new, schema=MATCH_SCHEMA), old, top_k=5)
    >>> list(zip(t["original_track_id"].to_pylist(), t["rank"].to_pylist()))
    [('b', 1), ('a', 2)]
    """
    fresh = new.to_pylist()
    again = {r["original_track_id"] for r in fresh}
    rows = [dict(r) for r in stored if r["original_track_id"] not in again] + fresh
    rows.sort(key=row_rank_key)
    rows = rows[:max(0, int(top_k))]
    for i, r in enumerate(rows, start=1):
        r["rank"] = i
    return pa.Table.from_pylist(rows, schema=MATCH_SCHEMA)


def ranked_ids(table: pa.Table) -> Sequence[str]:
    """The original ids of a :func:`score_query` result, best first (for tests and reports)."""
    return table.column("original_track_id").to_pylist()
