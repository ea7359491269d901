"""Log-odds substitution scores against a per-pair background, and their length-fair significance.

The rhythm and chord facets compare sequences of symbols (a beat's onset pattern, a chord) whose
agreement means little when the symbol is common: every pop song has beats of steady eighths and
its tonic chord, and two unrelated songs agree on them for long stretches. Scoring an agreement by
a fixed bonus made such pairs align from end to end (rhythm scored 100 for unrelated single-line
melodies, and for two random files). Here an aligned pair of items scores the log-likelihood ratio
of "the query copies the original here" against "the two are independent" [1]_ [2]_::

    s(x, y) = w ln( rho C(x, y) / sqrt(P_a(x) P_b(y)) + (1 - rho) )

``P_a(x)``, ``P_b(y)``: the probability of the symbol in its own sequence at that place under the
pair's background model (:func:`context_probabilities`: a first-order Markov chain estimated from
both sequences, smoothed towards their symbol frequencies), so a symbol that its context makes
predictable (the tenth bar of steady eighths, the chord a four-chord loop brings next) earns
almost nothing and rare agreements earn much. ``C(x, y)``: how likely a copy of ``x`` is observed
as ``y`` (a noise channel: transcription shifts an onset by a step, a chord loses its third);
``rho``: the share of a copied stretch that is copied faithfully. Under the null hypothesis the
expected score of a cell is negative (minus a Kullback-Leibler divergence), so a local alignment of
unrelated sequences stays short and its best score grows only with ``ln(m n)``: Karlin-Altschul
statistics (:mod:`.significance`) then turn the best score into ``-log10 P`` given both lengths,
with ``lambda`` and ``K`` fitted on unrelated pairs (:func:`fit_facet_null`).

References
----------
.. [1] Karlin, S., Altschul, S. F. (1990). Methods for assessing the statistical significance of
       molecular sequence features by using general scoring schemes. PNAS 87(6), 2264-2268.
.. [2] Henikoff, S., Henikoff, J. G. (1992). Amino acid substitution matrices from protein blocks.
       PNAS 89(22), 10915-10919 (log-odds substitution scores).
.. [3] Altschul, S. F., Gish, W. (1996). Local alignment statistics. Methods in Enzymology 266,
       460-480.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import ParameterError
from .align import Alignment, local_alignments
from .facet import FacetResult
from .sections import path_sections
from .significance import NullModel, fit_null, significance

__all__ = ["context_probabilities", "logodds_tables", "logodds_matrix", "self_match_score", "best_score", "aligned_result",
           "fit_facet_null"]


def context_probabilities(seqs, n_symbols: int, *, context_weight: float) -> list[np.ndarray]:
    """Probability of every symbol given the previous one, under the pooled background of ``seqs``.

    ``P(x_i | x_{i-1}) = (N(x_{i-1}, x_i) + c p(x_i)) / (N(x_{i-1}) + c)`` with bigram counts ``N``
    pooled over all sequences, ``p`` their symbol frequencies (add-one smoothed) and
    ``c = context_weight`` (0 = pure Markov chain, large = symbol frequencies only). The first
    item of a sequence gets ``p(x_0)``.

    Parameters
    ----------
    seqs : sequence of np.ndarray [shape=(n_k,), int]
        Symbol sequences, values in ``[0, n_symbols)``.
    n_symbols : int
    context_weight : float
        >= 0.

    Returns
    -------
    list of np.ndarray [shape=(n_k,), float64]

    Examples
    --------
    >>> a = np.array([1, 1, 1, 1, 2]); b = np.array([1, 1, 1])
    >>> pa, pb = context_probabilities([a, b], 4, context_weight=1.0)
    >>> bool(pa[2] > pa[4])          # 1 after 1 is predictable, 2 after 1 is not
    True
    """
    if context_weight < 0:
        raise ParameterError(f"context_weight must be >= 0, got {context_weight}")
    uni = np.ones(n_symbols)
    big = np.zeros((n_symbols, n_symbols))
    for s in seqs:
        s = np.asarray(s, dtype=np.int64)
        if s.size:
            uni += np.bincount(s, minlength=n_symbols)
            np.add.at(big, (s[:-1], s[1:]), 1.0)
    p = uni / uni.sum()
    cond = (big + context_weight * p[None, :]) / (big.sum(axis=1, keepdims=True) + context_weight)
    if context_weight == 0:
        cond = np.where(big.sum(axis=1, keepdims=True) > 0, cond, p[None, :])
    out = []
    for s in seqs:
        s = np.asarray(s, dtype=np.int64)
        q = np.empty(s.shape[0])
        if s.size:
            q[0] = p[s[0]]
            q[1:] = cond[s[:-1], s[1:]]
        out.append(q)
    return out


def _distinct(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (symbol, probability) pairs [shape=(U, 2)] and each item's index among them."""
    pv, prank = np.unique(p, return_inverse=True)
    width = int(x.max()) + 1
    uk, inv = np.unique(prank.reshape(-1).astype(np.int64) * width + x, return_inverse=True)
    return np.stack([uk % width, pv[uk // width]], axis=1), inv.reshape(-1)


def logodds_tables(xa: np.ndarray, pa: np.ndarray, xb: np.ndarray, pb: np.ndarray, channel: np.ndarray,
                   weights, rho: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The substitution matrix of summed log-odds scores (module docstring) in factored form.

    A cell depends only on the two items' (symbol, background probability) pairs over all streams,
    of which a sequence has few distinct ones (one per context of the Markov background): the
    log-odds are computed once per distinct pair of items, ``S[i, j] = table[ia[i], ib[j]]`` (a
    full-length pair: a few thousand logarithms instead of one per cell and stream, and no matrix
    at all where only the alignment score is needed).

    Parameters
    ----------
    xa, xb : np.ndarray [shape=(G, n)], [shape=(G, m)], int
        Symbols of each of G parallel streams (e.g. instrument groups) per item.
    pa, pb : np.ndarray, same shapes, float
        Their background probabilities (:func:`context_probabilities`), > 0.
    channel : np.ndarray [shape=(G, V, V)]
        ``C(x, y)`` per stream: how likely a copied ``x`` is observed as ``y``.
    weights : sequence of float [G]
        Weight of each stream's log-odds.
    rho : float
        In (0, 1): share of a copied stretch copied faithfully.

    Returns
    -------
    table : np.ndarray [shape=(Ua, Ub), float64]
    ia : np.ndarray [shape=(n,), int64]
    ib : np.ndarray [shape=(m,), int64]
    """
    if not 0.0 < rho < 1.0:
        raise ParameterError(f"rho must be in (0, 1), got {rho}")
    xa, xb = np.asarray(xa, dtype=np.int64), np.asarray(xb, dtype=np.int64)
    pa, pb = np.asarray(pa, dtype=np.float64), np.asarray(pb, dtype=np.float64)
    G, n, m = xa.shape[0], xa.shape[1], xb.shape[1]
    if n == 0 or m == 0:
        return np.zeros((1, 1)), np.zeros(n, np.int64), np.zeros(m, np.int64)
    per_a = [_distinct(xa[g], pa[g]) for g in range(G)]
    per_b = [_distinct(xb[g], pb[g]) for g in range(G)]
    ja, ida = _joint([inv for _, inv in per_a], [k.shape[0] for k, _ in per_a])
    jb, idb = _joint([inv for _, inv in per_b], [k.shape[0] for k, _ in per_b])
    table = np.zeros((ida.shape[0], idb.shape[0]))
    for g in range(G):
        ka, kb = per_a[g][0][ida[:, g]], per_b[g][0][idb[:, g]]
        c = channel[g][ka[:, 0].astype(np.int64)[:, None], kb[:, 0].astype(np.int64)[None, :]]
        table += float(weights[g]) * np.log(rho * c / np.sqrt(ka[:, 1][:, None] * kb[:, 1][None, :]) + (1.0 - rho))
    return table, ja, jb


def _joint(invs: list, sizes: list) -> tuple[np.ndarray, np.ndarray]:
    """Items' joint ids over streams: (index of each item's distinct combination, the combinations
    [shape=(U, G)] as per-stream ids)."""
    key = np.zeros(invs[0].shape[0], dtype=np.int64)
    for inv, size in zip(invs, sizes):
        key = key * size + inv
    uk, j = np.unique(key, return_inverse=True)
    ids = np.empty((uk.shape[0], len(invs)), dtype=np.int64)
    rest = uk.copy()
    for g in range(len(invs) - 1, -1, -1):
        ids[:, g] = rest % sizes[g]
        rest //= sizes[g]
    return j.reshape(-1), ids


def logodds_matrix(xa: np.ndarray, pa: np.ndarray, xb: np.ndarray, pb: np.ndarray, channel: np.ndarray,
                   weights, rho: float) -> np.ndarray:
    """The substitution matrix [shape=(n, m)] of :func:`logodds_tables` (same parameters), expanded.

    Examples
    --------
    >>> C = np.array([[[0.9, 0.1], [0.1, 0.9]]])
    >>> S = logodds_matrix(np.array([[0, 1]]), np.array([[0.5, 0.5]]), np.array([[0, 1]]),
    ...                    np.array([[0.5, 0.5]]), C, [1.0], 0.8)
    >>> np.round(S, 3).tolist()                     # ln(0.8 x 0.9 / 0.5 + 0.2), ln(0.8 x 0.1 / 0.5 + 0.2)
    [[0.495, -1.022], [-1.022, 0.495]]
    """
    table, ia, ib = logodds_tables(xa, pa, xb, pb, channel, weights, rho)
    return table[ia[:, None], ib[None, :]]


@njit(cache=True)
def _sw_best_table(table, ia, ib, gap_open, gap_extend):  # pragma: no cover - compiled
    """Best Smith-Waterman-Gotoh local alignment score of S[i, j] = table[ia[i], ib[j]] (score
    only: two rows, no traceback, S never built)."""
    n = ia.shape[0]
    m = ib.shape[0]
    H_prev = np.zeros(m + 1)
    H_cur = np.zeros(m + 1)
    F = np.full(m + 1, -1e18)
    best = 0.0
    for i in range(1, n + 1):
        E = -1e18
        H_cur[0] = 0.0
        row = table[ia[i - 1]]
        for j in range(1, m + 1):
            E = max(E - gap_extend, H_cur[j - 1] - gap_open)
            F[j] = max(F[j] - gap_extend, H_prev[j] - gap_open)
            h = max(H_prev[j - 1] + row[ib[j - 1]], E, F[j], 0.0)
            H_cur[j] = h
            if h > best:
                best = h
        for j in range(m + 1):
            H_prev[j] = H_cur[j]
    return best


def self_match_score(diagonal: np.ndarray) -> float:
    """Score of a sequence's best local alignment with itself along the diagonal: the largest sum
    of a stretch of its items' self-scores (predictable items score slightly below 0, so the whole
    sequence is not always the best stretch). The denominator of ``FacetResult.share``.

    Examples
    --------
    >>> self_match_score(np.array([-0.1, 2.0, -0.5, 1.0, -3.0]))
    2.5
    """
    d = np.asarray(diagonal, dtype=np.float64)
    if d.size == 0:
        return 0.0
    c = np.concatenate([[0.0], np.cumsum(d)])
    return float(max(np.max(c - np.minimum.accumulate(c)), 0.0))


def best_score(factored, *, gap_open: float, gap_extend: float) -> float:
    """Best local alignment score (affine gaps) of a factored substitution matrix
    ``(table, ia, ib)`` (:func:`logodds_tables`), without building the matrix or a path."""
    table, ia, ib = factored
    if gap_open < gap_extend or gap_extend < 0:
        raise ParameterError(f"need gap_open >= gap_extend >= 0, got gap_open={gap_open}, gap_extend={gap_extend}")
    if ia.size == 0 or ib.size == 0:
        return 0.0
    return float(_sw_best_table(np.ascontiguousarray(table, dtype=np.float64), np.asarray(ia, np.int64),
                                np.asarray(ib, np.int64), float(gap_open), float(gap_extend)))


def aligned_result(matrices, *, self_score: float, len_a: int, len_b: int, null: NullModel, gap_open: float,
                   gap_extend: float, max_alignments: int, extra_min_fraction: float, sections_min_significance: float,
                   a_start, b_start, a_end: float, b_end: float, merge_gap_ms: float, min_section_ms: float,
                   a_stop=None, b_stop=None) -> FacetResult:
    """Best of several (label, substitution matrix, b's times) candidates -> significance, share, sections.

    Every candidate is aligned for its score only; the path (and up to ``max_alignments``
    non-overlapping alignments, the sections) is traced for the best candidate when the pair is at
    least ``sections_min_significance`` significant: the stretches where unrelated tracks align
    by chance are not sections, and most pairs of a catalog sweep are unrelated (speed).

    Parameters
    ----------
    matrices : list of (int, (table, ia, ib), dict)
        Per candidate (a transposition, a metrical-level variant of b): its label (reported as
        ``FacetResult.transposition``), its substitution matrix in the factored form of
        :func:`logodds_tables` and b's item times for it (``b_start``, ``b_stop``: override the
        arguments of the same name; may be empty).
    self_score : float
        What a self-match of the shorter sequence scores (for the aligned share).
    len_a, len_b : int
        Sequence lengths for the significance.
    null : NullModel
        The facet's fitted chance statistics; every candidate counts as a try (Bonferroni).
    sections_min_significance : float
        Paths and sections only for pairs at least this significant (-log10 P).

    Returns
    -------
    FacetResult
        ``score`` = ``raw_score`` = ``-log10 P``; ``share`` = best alignment / ``self_score`` (0-100);
        no sections (and an ``Alignment`` without a path) below ``sections_min_significance``.
    """
    scores = [best_score(f, gap_open=gap_open, gap_extend=gap_extend) for _, f, _ in matrices]
    k = int(np.argmax(scores))
    label, (table, ia, ib), times = matrices[k]
    best = scores[k]
    sig = significance(best, len_a, len_b, null, tries=len(matrices))
    share = 100.0 * float(np.clip(best / self_score, 0.0, 1.0)) if self_score > 0 else float("nan")
    if sig < sections_min_significance:
        empty = np.zeros(0, np.int64)
        return FacetResult(float(sig), [], int(label), (Alignment(best, empty, empty),), raw_score=float(sig),
                           share=share)
    als = local_alignments(table[ia[:, None], ib[None, :]], gap_open=gap_open, gap_extend=gap_extend,
                           max_alignments=max_alignments,
                           min_score=extra_min_fraction * best)
    bs = times.get("b_start", b_start)
    bt = times.get("b_stop", b_stop)
    sections = []
    for al in als:
        sections += path_sections(al.rows, al.cols, a_start, bs, a_end=a_end, b_end=b_end, merge_gap_ms=merge_gap_ms,
                                  min_section_ms=min_section_ms, a_stop=a_stop, b_stop=bt)
    sections.sort(key=lambda x: x.start_ms)
    return FacetResult(float(sig), sections, int(label), tuple(als), raw_score=float(sig), share=share)


def fit_facet_null(scores, len_a, len_b, **kwargs) -> NullModel:
    """:func:`.significance.fit_null` on a facet's best alignment scores of unrelated pairs (one
    candidate each: the Bonferroni factor for several candidates is applied at scoring time);
    ``kwargs`` go to :func:`.significance.fit_null`."""
    return fit_null(np.asarray(scores, np.float64), np.asarray(len_a, np.float64), np.asarray(len_b, np.float64),
                    **kwargs)

