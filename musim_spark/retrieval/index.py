r"""Inverted index over the originals' shingles, and the candidate score of a (track, original) pair.

The index maps a shingle hash to the originals that hold it (a posting list, CSR arrays). A track's
candidates are the originals sharing the most *weighted* shingles with it inside one stretch of
the track:

.. math::

    \mathrm{score}(t, o) = \Big(\frac{L_o}{\bar L}\Big)^{-\beta}
        \max_{\tau} \sum_{(s, u) \in O_t,\; s \in S_o,\; \tau \le u < \tau + W} w(s),
    \qquad w(s) = w_{\mathrm{kind}(s)} \ln\Big(1 + \frac{N - \mathrm{df}(s) + 0.5}{\mathrm{df}(s) + 0.5}\Big)

with ``O_t`` the track's shingle occurrences (shingle ``s`` at time ``u`` s), ``S_o`` the
original's shingle set, ``W`` = ``local_window_s`` (0: the whole track), ``N`` originals,
``df(s)`` the originals holding ``s``, ``L_o`` the original's weighted shingle count (the sum of
the weights of its indexed shingles), :math:`\bar L` its mean and :math:`\beta` =
``length_norm_power``. The idf is BM25's (Robertson & Zaragoza [1]_) with binary term
frequency. The window is what finds a copied 4-16 bar phrase inside an otherwise different song:
its shared shingles are dense in one stretch of the track, chance matches are spread over all of
it (bench/results/retrieval.md: phrase rank-1 0.84 with a 30 s window, 0.81 without). The length
normalisation keeps long originals, which hold more shingles by chance, from being favoured.
Shingles held by more than ``max_df_share`` of the originals are not indexed (stop words: a scale
run, a repeated note, I-V-vi-IV); they carry almost no weight and make the longest posting lists.

Spark
-----
The same computation is a join and an aggregation; the Spark job calls this module's pure
functions for the per-row arithmetic so both give the same numbers:

1. originals: ``explode(track_shingles(features, settings))`` -> rows ``(original_id, h)``
   (:func:`musim_spark.retrieval.shingles.track_shingles`, in a pandas UDF over stored features);
2. ``groupBy(h).count()`` -> ``df``; keep ``df <= df_limit(N, settings)``;
   ``w = shingle_weights(h, df, N, settings)`` -> table ``postings(h, original_id, w)``;
3. ``L_o = postings.groupBy(original_id).sum(w)``; ``norm_o = doc_norms(L_o, settings)``;
4. every track: ``explode(arrays_zip(track_shingles(features, settings, with_times=True)))`` ->
   rows ``(track_id, h, u)``; ``join`` postings on ``h`` (a shuffle join on the hash; drop
   ``track_id == original_id``) -> ``(track_id, original_id, u, w)``;
5. per ``(track_id, original_id)``: ``local_score(u, w, settings.local_window_s) * norm_o``
   (a grouped pandas UDF, or in SQL ``max(sum(w) OVER (PARTITION BY track_id, original_id ORDER BY
   u RANGE BETWEEN CURRENT ROW AND W - 1e-9 FOLLOWING))``); :func:`pair_score` is the
   whole-track case;
6. per ``track_id`` a window ordered by score, keep ``rank <= settings.budget(N)``.

Step 4 makes the most rows: per track, the postings its shingles hit (bench/results/retrieval.md:
11,400 at 500 originals, 26,800 at 2,500 with the 1 % df cut and two-note skip-grams).
:func:`build_index` and :func:`query` do steps 2-6 in memory (tests, benchmarks, a single
machine).

References
----------
.. [1] Robertson, S., Zaragoza, H. (2009). The probabilistic relevance framework: BM25 and beyond.
       Foundations and Trends in Information Retrieval 3(4), 333-389.

Examples
--------
>>> import numpy as np
>>> def pitch_shingles(*v):                   # toy hashes of kind 1 (pitch)
...     return np.array(v, np.uint64) | np.uint64(1 << 62)
>>> docs = [pitch_shingles(1, 2, 3, 4), pitch_shingles(3, 4, 5, 6), pitch_shingles(7, 8, 9)]
>>> ix = build_index(docs, RetrievalSettings())
>>> ids, scores = query(ix, pitch_shingles(2, 3, 4, 9), top_k=2)
>>> ids.tolist()         # 9 is held by one short original only: more evidence than 3 and 4
[0, 2]
>>> bool(scores[0] > scores[1] > 0)
True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from ..errors import ParameterError
from .settings import RetrievalSettings
from .shingles import shingle_kind

__all__ = ["ShingleIndex", "df_limit", "shingle_weights", "doc_norms", "pair_score", "local_score",
           "build_index", "query_scores", "query", "top_candidates"]

#: The document-frequency cut never drops a shingle held by this many originals or fewer: in a
#: small catalog (tests, a handful of originals) a share would cut shingles two songs share.
_MIN_DF_LIMIT = 10


@dataclasses.dataclass(frozen=True)
class ShingleIndex:
    """Posting lists of the originals' shingles (CSR).

    Attributes
    ----------
    hashes : np.ndarray [shape=(U,), uint64]
        Indexed shingles, sorted.
    indptr : np.ndarray [shape=(U + 1,), int64]
        Shingle ``i``'s originals are ``postings[indptr[i]:indptr[i + 1]]``.
    postings : np.ndarray [shape=(P,), int32]
        Original row numbers (0 .. n_docs - 1, the order given to :func:`build_index`).
    weights : np.ndarray [shape=(U,), float32]
        Per shingle: kind weight x idf (:func:`shingle_weights`).
    doc_norm : np.ndarray [shape=(n_docs,), float32]
        Per original: the length normalisation (:func:`doc_norms`).
    """

    hashes: np.ndarray
    indptr: np.ndarray
    postings: np.ndarray
    weights: np.ndarray
    doc_norm: np.ndarray

    @property
    def n_docs(self) -> int:
        return int(self.doc_norm.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory of the arrays (bytes)."""
        return sum(int(getattr(self, f.name).nbytes) for f in dataclasses.fields(self))


def df_limit(n_docs: int, settings: RetrievalSettings) -> int:
    """Largest document frequency kept in the index: ``max_df_share`` of the originals (at least 10)."""
    return max(_MIN_DF_LIMIT, int(math.floor(settings.max_df_share * n_docs)))


def shingle_weights(hashes: np.ndarray, df: np.ndarray, n_docs: int, settings: RetrievalSettings) -> np.ndarray:
    """Weight of each shingle: its kind's weight x BM25 idf.

    Parameters
    ----------
    hashes : np.ndarray [shape=(m,), uint64]
        Shingle hashes (the kind is in their top bits).
    df : np.ndarray [shape=(m,)]
        Originals holding each shingle.
    n_docs : int
        Originals in the catalog.
    settings : RetrievalSettings

    Returns
    -------
    np.ndarray [shape=(m,), float64]

    Examples
    --------
    >>> from musim_spark.retrieval.shingles import KIND_PITCH, KIND_CHORD
    >>> h = np.array([KIND_PITCH << 62, KIND_CHORD << 62], dtype=np.uint64)
    >>> shingle_weights(h, np.array([1, 1]), 1000, RetrievalSettings()).round(3).tolist()
    [3.252, 1.626]
    """
    df = np.asarray(df, dtype=np.float64)
    kw = np.asarray((0.0,) + tuple(settings.kind_weights), dtype=np.float64)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    return kw[shingle_kind(hashes)] * idf


def doc_norms(doc_lengths: np.ndarray, settings: RetrievalSettings) -> np.ndarray:
    """Length normalisation per original: ``(L / mean L) ** -length_norm_power`` (1 for empty ones).

    Examples
    --------
    >>> doc_norms(np.array([1.0, 4.0, 0.0]), RetrievalSettings(length_norm_power=0.5)).round(3).tolist()
    [1.581, 0.791, 1.0]
    """
    L = np.asarray(doc_lengths, dtype=np.float64)
    mean = L[L > 0].mean() if np.any(L > 0) else 1.0
    out = np.ones_like(L)
    pos = L > 0
    out[pos] = (L[pos] / mean) ** (-settings.length_norm_power)
    return out


def pair_score(shared_weights: np.ndarray, doc_norm: float) -> float:
    """Candidate score of one (track, original) pair: the weights of the shingles they share, summed,
    times the original's length normalisation (the Spark job's ``sum(w) * norm_o``).

    Examples
    --------
    >>> pair_score(np.array([2.0, 3.0]), 0.5)
    2.5
    """
    return float(np.sum(shared_weights, dtype=np.float64) * doc_norm)


def build_index(shingle_sets: Sequence[np.ndarray], settings: RetrievalSettings | None = None) -> ShingleIndex:
    """Index the originals' shingle sets (:func:`~musim_spark.retrieval.shingles.track_shingles`).

    Parameters
    ----------
    shingle_sets : sequence of np.ndarray [uint64]
        One unique set per original; original ``i`` is posting id ``i``.
    settings : RetrievalSettings, optional

    Returns
    -------
    ShingleIndex
    """
    s = settings or RetrievalSettings()
    n_docs = len(shingle_sets)
    if n_docs == 0:
        raise ParameterError("build_index: no originals")
    if n_docs >= 2 ** 31:
        raise ParameterError("build_index: more than 2**31 originals")
    sizes = np.array([x.shape[0] for x in shingle_sets], dtype=np.int64)
    h = np.concatenate([np.asarray(x, dtype=np.uint64) for x in shingle_sets]) if sizes.sum() else np.zeros(0, np.uint64)
    doc = np.repeat(np.arange(n_docs, dtype=np.int32), sizes)
    order = np.argsort(h, kind="stable")
    h, doc = h[order], doc[order]
    uniq, first, df = np.unique(h, return_index=True, return_counts=True)
    keep = df <= df_limit(n_docs, s)
    w = shingle_weights(uniq, df, n_docs, s)
    # postings of the kept shingles, still grouped by shingle
    keep_rows = np.repeat(keep, df)
    postings = doc[keep_rows]
    df_k = df[keep]
    indptr = np.zeros(df_k.shape[0] + 1, dtype=np.int64)
    np.cumsum(df_k, out=indptr[1:])
    wk = w[keep]
    lengths = np.bincount(postings, weights=np.repeat(wk, df_k), minlength=n_docs)
    return ShingleIndex(hashes=uniq[keep], indptr=indptr, postings=postings.astype(np.int32),
                        weights=wk.astype(np.float32), doc_norm=doc_norms(lengths, s).astype(np.float32))


def local_score(times: np.ndarray, weights: np.ndarray, window_s: float) -> float:
    """Largest sum of ``weights`` whose ``times`` lie in one window ``[t, t + window_s)``.

    The per-pair aggregate of the candidate score (before the original's length normalisation):
    ``times`` are the track's occurrences (s) of the shingles it shares with one original,
    ``weights`` their weights; ``window_s = 0`` sums them all. In Spark SQL the same is
    ``max(sum(w) OVER (PARTITION BY track_id, original_id ORDER BY t RANGE BETWEEN CURRENT ROW
    AND window_s - epsilon FOLLOWING))``.

    Examples
    --------
    >>> local_score(np.array([0.0, 5.0, 40.0, 41.0, 42.0]), np.array([1.0, 1.0, 1.0, 1.0, 1.0]), 30.0)
    3.0
    >>> local_score(np.array([0.0, 5.0, 40.0]), np.array([1.0, 1.0, 1.0]), 0.0)
    3.0
    """
    t = np.asarray(times, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if t.shape[0] == 0:
        return 0.0
    if window_s <= 0:
        return float(w.sum())
    o = np.argsort(t, kind="stable")
    t, w = t[o], w[o]
    cw = np.concatenate([[0.0], np.cumsum(w)])
    j = np.searchsorted(t, t + window_s, side="left")
    return float(np.max(cw[j] - cw[:-1]))


def query_scores(index: ShingleIndex, shingles: np.ndarray, times: np.ndarray | None = None, *,
                 window_s: float = 0.0) -> np.ndarray:
    """Scores of one track against every original.

    Parameters
    ----------
    index : ShingleIndex
    shingles : np.ndarray [uint64]
        The track's shingles: unique (``times`` None), or occurrences with their ``times``
        (:func:`~musim_spark.retrieval.shingles.track_shingles` with ``with_times=True``).
    times : np.ndarray [float64], optional
        Each occurrence's time in the track (s).
    window_s : float
        With ``times``: the score is :func:`local_score` over this window (0 = all).

    Returns
    -------
    np.ndarray [shape=(n_docs,), float64]
        ``local_score(...) x doc_norm`` per original (:func:`pair_score` when the window is the
        whole track); 0 for originals sharing no indexed shingle.
    """
    q = np.asarray(shingles, dtype=np.uint64)
    if q.shape[0] == 0 or index.hashes.shape[0] == 0:
        return np.zeros(index.n_docs)
    pos = np.minimum(np.searchsorted(index.hashes, q), index.hashes.shape[0] - 1)
    hit = index.hashes[pos] == q
    pos = pos[hit]
    starts = index.indptr[pos]
    lens = index.indptr[pos + 1] - starts
    total = int(lens.sum())
    # flat posting offsets of all hit lists: start of each list + 0..len-1
    offs = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)
    docs = index.postings[offs]
    w = np.repeat(index.weights[pos].astype(np.float64), lens)
    if times is None or window_s <= 0 or total == 0:
        return np.bincount(docs, weights=w, minlength=index.n_docs) * index.doc_norm
    # local score of every original at once: sort the (original, time) matches, sliding-window
    # sums by cumulative sums, the largest per original (local_score, vectorised)
    t = np.repeat(np.asarray(times, dtype=np.float64)[hit], lens)
    span = float(t.max() - min(t.min(), 0.0)) + window_s + 1.0
    key = docs.astype(np.float64) * span + (t - min(t.min(), 0.0))
    o = np.argsort(key)   # not stable: equal keys are one (original, time); the largest window sum is the same
    key, w, docs = key[o], w[o], docs[o]
    cw = np.concatenate([[0.0], np.cumsum(w)])
    j = np.searchsorted(key, key + window_s, side="left")
    # the largest window sum per original: the matches are grouped by original after the sort, so
    # one maximum per run of equal ``docs`` (``np.maximum.reduceat``; ``np.maximum.at`` is ~10x slower)
    starts = np.flatnonzero(np.concatenate([[True], docs[1:] != docs[:-1]]))
    out = np.zeros(index.n_docs)
    out[docs[starts]] = np.maximum.reduceat(cw[j] - cw[:-1], starts)
    return out * index.doc_norm


def query(index: ShingleIndex, shingles: np.ndarray, top_k: int, times: np.ndarray | None = None, *,
          window_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The ``top_k`` candidate originals of one track, best first.

    Parameters
    ----------
    index : ShingleIndex
    shingles : np.ndarray [uint64]
        The track's shingles (:func:`~musim_spark.retrieval.shingles.track_shingles`).
    top_k : int
        Candidates wanted (``settings.budget(index.n_docs)`` for the sweep's budget).
    times : np.ndarray [float64], optional
        The shingles' times in the track, for the local score (see :func:`query_scores`).
    window_s : float
        ``settings.local_window_s`` for the sweep.

    Returns
    -------
    ids : np.ndarray [shape=(k,), int64]
        Original row numbers, ``k <= top_k`` (originals sharing nothing are never candidates).
    scores : np.ndarray [shape=(k,), float64]
        Their scores, decreasing (ties by row number).
    """
    if top_k <= 0:
        raise ParameterError(f"query: top_k must be positive, got {top_k}")
    sc = query_scores(index, shingles, times, window_s=window_s)
    cand = top_candidates(sc, top_k)
    return cand, sc[cand]


def top_candidates(scores: np.ndarray, top_k: int, *, exclude: int | None = None) -> np.ndarray:
    """Rows of the ``top_k`` best positive ``scores``, best first, ties by row number.

    The Spark join's order (score descending, then original id ascending, when the rows are the
    originals sorted by id). ``exclude`` is a row that is never a candidate (the query itself,
    when it is an original): it is dropped before the ``top_k`` are taken, as the join drops
    ``query == original`` before its window.

    Examples
    --------
    >>> top_candidates(np.array([0.5, 2.0, 0.0, 2.0, 1.0]), 3).tolist()
    [1, 3, 4]
    >>> top_candidates(np.array([0.5, 2.0, 0.0, 2.0, 1.0]), 3, exclude=1).tolist()
    [3, 4, 0]
    """
    sc = np.asarray(scores, dtype=np.float64)
    if exclude is not None and 0 <= exclude < sc.shape[0]:
        sc = sc.copy()
        sc[exclude] = 0.0
    k = min(int(top_k), sc.shape[0])
    if k <= 0:
        return np.zeros(0, np.int64)
    cand = np.argpartition(-sc, k - 1)[:k] if k < sc.shape[0] else np.arange(sc.shape[0])
    # ties at the k-th score: argpartition picks any of them; take the lowest rows, as the join does
    kth = sc[cand].min()
    if np.count_nonzero(sc == kth) > np.count_nonzero(sc[cand] == kth):
        above = np.flatnonzero(sc > kth)
        tied = np.flatnonzero(sc == kth)[:k - above.shape[0]]
        cand = np.concatenate([above, tied])
    cand = cand[np.lexsort((cand, -sc[cand]))]
    return cand[sc[cand] > 0].astype(np.int64)
