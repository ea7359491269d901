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

import dataclasses
import functools

import numpy as np
from numba import njit

from ..errors import ParameterError
from . import align as _align
from .align import Alignment, StreamTable, _gather_row, _source, local_alignments_factored
from .facet import FacetResult
from .sections import path_sections
from .significance import NullModel, fit_null, significance

__all__ = ["context_probabilities", "logodds_tables", "logodds_matrix", "self_match_score", "best_score",
           "aligned_result", "fit_facet_null", "Contexts", "sequence_contexts", "joint_contexts", "pair_logodds",
           "TABLE_MAX_CELLS"]


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


@dataclasses.dataclass(frozen=True)
class Contexts:
    """The Markov contexts of one sequence's G parallel symbol streams: what
    :func:`context_probabilities` and :func:`logodds_tables` need of it that does not depend on
    the sequence it is compared with (:func:`sequence_contexts`; computed once per track).

    An item's background probability depends only on its context, ``(previous symbol, symbol)``
    (the first item: ``(-1, symbol)``), so its log-odds against any item of another sequence are
    those of its context: a stream of a full-length song has a few dozen distinct contexts.

    Attributes
    ----------
    codes : np.ndarray [shape=(G, n), int16 (int64 for over 180 symbols)]
        Each item's context, an index into that stream's ``prev``/``cur``.
    prev, cur : np.ndarray [shape=(G, U), int64]
        Per stream, its distinct contexts (``n_ctx[g]`` of the ``U`` columns used).
    n_ctx : np.ndarray [shape=(G,), int64]
    unigram : np.ndarray [shape=(G, V), float64]
        Symbol counts per stream.
    bigram : np.ndarray [shape=(G, V, V), float64]
        Counts of symbol x followed by symbol y per stream.
    """

    codes: np.ndarray
    prev: np.ndarray
    cur: np.ndarray
    n_ctx: np.ndarray
    unigram: np.ndarray
    bigram: np.ndarray


@njit(cache=True)
def _contexts_kernel(x, n_symbols):  # pragma: no cover - compiled
    """:func:`sequence_contexts` (contexts numbered in order of first appearance)."""
    G, n = x.shape
    V = n_symbols
    codes = np.empty((G, n), np.int64)
    prev = np.full((G, min(n, V * (V + 1)) + 1), -1, np.int64)
    cur = np.zeros((G, min(n, V * (V + 1)) + 1), np.int64)
    n_ctx = np.zeros(G, np.int64)
    uni = np.zeros((G, V))
    big = np.zeros((G, V, V))
    index = np.empty(V * (V + 1), np.int64)
    for g in range(G):
        index[:] = -1
        k = 0
        for i in range(n):
            y = x[g, i]
            uni[g, y] += 1.0
            q = -1
            if i > 0:
                q = x[g, i - 1]
                big[g, q, y] += 1.0
            c = (q + 1) * V + y
            u = index[c]
            if u < 0:
                u = k
                index[c] = u
                prev[g, u] = q
                cur[g, u] = y
                k += 1
            codes[g, i] = u
        n_ctx[g] = k
    return codes, prev, cur, n_ctx, uni, big


def sequence_contexts(x: np.ndarray, n_symbols: int) -> Contexts:
    """The :class:`Contexts` of a sequence's symbol streams.

    Parameters
    ----------
    x : np.ndarray [shape=(G, n), int]
        Values in ``[0, n_symbols)``.
    n_symbols : int
    """
    x = np.ascontiguousarray(x, dtype=np.int64)
    if x.ndim != 2:
        raise ParameterError(f"sequence_contexts needs symbols of shape (G, n), got {x.shape}")
    if x.size and (x.min() < 0 or x.max() >= n_symbols):
        raise ParameterError(f"symbols outside [0, {n_symbols})")
    codes, prev, cur, n_ctx, uni, big = _contexts_kernel(x, int(n_symbols))
    # kept per track for a whole sweep task: the smallest types that hold them
    used = max(int(n_ctx.max()) if n_ctx.size else 0, 1)
    if n_symbols * (n_symbols + 1) < np.iinfo(np.int16).max:
        codes = codes.astype(np.int16)
    return Contexts(codes, prev[:, :used].copy(), cur[:, :used].copy(), n_ctx, uni, big)


def joint_contexts(ctx: Contexts, groups) -> tuple[np.ndarray, np.ndarray]:
    """Items' joint contexts over the streams ``groups``: (each item's joint id [shape=(n,)], the
    joint contexts [shape=(J, len(groups))] as per-stream context indices)."""
    groups = np.asarray(groups, dtype=np.int64)
    codes = ctx.codes[groups]
    sizes = np.maximum(ctx.n_ctx[groups], 1)
    key = np.zeros(codes.shape[1], dtype=np.int64)
    for g in range(groups.shape[0]):
        key = key * sizes[g] + codes[g]          # < 273 ** 7: no overflow
    uk, j = np.unique(key, return_inverse=True)
    combos = np.empty((uk.shape[0], groups.shape[0]), dtype=np.int64)
    rest = uk.copy()
    for g in range(groups.shape[0] - 1, -1, -1):
        combos[:, g] = rest % sizes[g]
        rest //= sizes[g]
    return j.reshape(-1).astype(np.int64), combos


@njit(cache=True)
def _context_probs(ua, ba, ub, bb, perm_b, context_weight, p, cond):  # pragma: no cover - compiled
    """:func:`context_probabilities`' ``p`` and ``cond`` of one stream from the two sequences'
    counts, b's symbols mapped by ``perm_b`` (the same operations in the same order: bit-identical)."""
    V = ua.shape[0]
    uni = np.ones(V)
    for x in range(V):
        uni[x] += ua[x]
    for x in range(V):
        uni[perm_b[x]] += ub[x]
    big = np.zeros((V, V))
    for x in range(V):
        for y in range(V):
            big[x, y] += ba[x, y]
    for x in range(V):
        for y in range(V):
            big[perm_b[x], perm_b[y]] += bb[x, y]
    total = 0.0
    for x in range(V):
        total += uni[x]          # integer counts: exact in any order
    for x in range(V):
        p[x] = uni[x] / total
    for x in range(V):
        row = 0.0
        for y in range(V):
            row += big[x, y]
        for y in range(V):
            if context_weight == 0.0 and not row > 0.0:
                cond[x, y] = p[y]
            else:
                cond[x, y] = (big[x, y] + context_weight * p[y]) / (row + context_weight)


@njit(cache=True, error_model="numpy")   # a division by 0 gives inf/nan, as numpy's
def _pair_args(groups, prev_a, cur_a, n_a, ua, ba, prev_b, cur_b, n_b, ub, bb, perm_b, channel, rho,
               context_weight):  # pragma: no cover - compiled
    """Arguments of every logarithm :func:`pair_logodds` needs, in one flat array: per stream k,
    the ``n_a[g] x n_b[g]`` substitution terms ``rho C(x, y) / sqrt(P_a P_b) + (1 - rho)`` of its
    contexts, then a's and b's self-match terms ``rho C(x, x) / P + 1 - rho``; and each block's
    offset. The logarithms are taken by numpy (``np.log``, as :func:`logodds_tables` does), so the
    scores stay bit-identical on every machine."""
    K = groups.shape[0]
    V = ua.shape[1]
    off = np.zeros(3 * K + 1, np.int64)
    for k in range(K):
        g = groups[k]
        off[3 * k + 1] = off[3 * k] + n_a[g] * n_b[g]
        off[3 * k + 2] = off[3 * k + 1] + n_a[g]
        off[3 * k + 3] = off[3 * k + 2] + n_b[g]
    args = np.empty(off[3 * K])
    p = np.empty(V)
    cond = np.empty((V, V))
    qa = np.empty(prev_a.shape[1])
    qb = np.empty(prev_b.shape[1])
    xb = np.empty(prev_b.shape[1], np.int64)
    one_minus = 1.0 - rho
    for k in range(K):
        g = groups[k]
        _context_probs(ua[g], ba[g], ub[g], bb[g], perm_b, context_weight, p, cond)
        for u in range(n_a[g]):
            qa[u] = p[cur_a[g, u]] if prev_a[g, u] < 0 else cond[prev_a[g, u], cur_a[g, u]]
        for u in range(n_b[g]):
            y = perm_b[cur_b[g, u]]
            xb[u] = y
            qb[u] = p[y] if prev_b[g, u] < 0 else cond[perm_b[prev_b[g, u]], y]
        o = off[3 * k]
        for u in range(n_a[g]):
            x = cur_a[g, u]
            for v in range(n_b[g]):
                args[o] = rho * channel[x, xb[v]] / np.sqrt(qa[u] * qb[v]) + one_minus
                o += 1
        for u in range(n_a[g]):
            x = cur_a[g, u]
            args[o] = rho * channel[x, x] / qa[u] + 1.0 - rho
            o += 1
        for v in range(n_b[g]):
            y = xb[v]
            args[o] = rho * channel[y, y] / qb[v] + 1.0 - rho
            o += 1
    return args, off


@njit(cache=True, inline="always")
def _self_match(diag):  # pragma: no cover - compiled
    """:func:`self_match_score` (the same running sums: bit-identical)."""
    c = 0.0
    low = 0.0
    best = 0.0
    for i in range(diag.shape[0]):
        c = c + diag[i]
        if c < low:
            low = c
        d = c - low
        if d > best:
            best = d
    return best


@njit(cache=True)
def _pair_combine(logs, off, groups, weights, combos_a, combos_b, codes_a, codes_b, n_b,
                  build):  # pragma: no cover - compiled
    """The joint substitution table ``sum_k w_k L_k`` (streams in order, from 0: as
    :func:`logodds_tables` sums) and both self-match scores (items' ``sum_k w_k L_k``, streams in
    order: as ``np.sum(axis=0)`` of the weighted rows). Without ``build``, the table is left out
    (empty): :class:`.align.StreamTable` sums its cells where the kernels need them."""
    K = groups.shape[0]
    Ja = combos_a.shape[0]
    Jb = combos_b.shape[0]
    table = np.zeros((Ja, Jb) if build else (0, 0))
    for k in range(K if build else 0):
        w = weights[k]
        o = off[3 * k]
        nb = n_b[groups[k]]
        for ja in range(Ja):
            base = o + combos_a[ja, k] * nb
            for jb in range(Jb):
                table[ja, jb] += w * logs[base + combos_b[jb, k]]
    out = np.empty(2)
    for side in range(2):
        codes = codes_a if side == 0 else codes_b
        n = codes.shape[1]
        diag = np.empty(n)
        for k in range(K):
            w = weights[k]
            o = off[3 * k + 1 + side]
            g = groups[k]
            for i in range(n):
                v = w * logs[o + codes[g, i]]
                diag[i] = v if k == 0 else diag[i] + v
        out[side] = _self_match(diag) if n > 0 else 0.0
    return table, out[0], out[1]


#: Cells ``Ja x Jb`` up to which :func:`pair_logodds` sums its joint table once (128 MiB); above it
#: (multi-hour arrangements: thousands of distinct joint rhythm contexts per side) the table stays
#: unsummed (:class:`.align.StreamTable`) and the kernels sum a cell's streams where they need
#: it: the same values, memory linear in the lengths, but K loads per cell (two one-hour
#: six-part arrangements, 2,184 x 2,261 contexts: rhythm 8.9 s unsummed, 3.1 s summed), hence
#: the generous budget. An implementation detail (results do not depend on it), so a constant.
TABLE_MAX_CELLS = 1 << 24


@functools.lru_cache(maxsize=8)
def _identity(V: int) -> np.ndarray:
    out = np.arange(V, dtype=np.int64)
    out.setflags(write=False)
    return out


def pair_logodds(ctx_a: Contexts, joint_a, ctx_b: Contexts, joint_b, groups, weights, channel: np.ndarray, rho: float,
                 *, context_weight: float, perm_b=None
                 ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], float, float]:
    """:func:`context_probabilities` + :func:`logodds_tables` + the self-match scores of both
    sequences, from each sequence's :class:`Contexts` (bit-identical to those functions).

    Parameters
    ----------
    ctx_a, ctx_b : Contexts
        Of the two sequences (:func:`sequence_contexts`).
    joint_a, joint_b : (np.ndarray, np.ndarray)
        :func:`joint_contexts` of each over ``groups``.
    groups : sequence of int
        The streams compared.
    weights : sequence of float
        One per stream of ``groups``.
    channel : np.ndarray [shape=(V, V)]
        ``C(x, y)``, shared by the streams.
    rho : float
    context_weight : float
        As :func:`context_probabilities`.
    perm_b : np.ndarray [shape=(V,), int], optional
        b's symbols are read as ``perm_b[y]`` (a chord sequence transposed); identity by default.

    Returns
    -------
    ((table, ia, ib), float, float)
        The factored substitution matrix (:func:`logodds_tables`' form, joint contexts as rows and
        columns; ``table`` a :class:`.align.StreamTable` when it would have more than
        :data:`TABLE_MAX_CELLS` cells: long sequences over many streams) and the self-match
        score (:func:`self_match_score`) of a's and of b's diagonal
        ``sum_g w_g ln(rho C(x, x) / P(x) + 1 - rho)``.
    """
    if not 0.0 < rho < 1.0:
        raise ParameterError(f"rho must be in (0, 1), got {rho}")
    if context_weight < 0:
        raise ParameterError(f"context_weight must be >= 0, got {context_weight}")
    V = ctx_a.unigram.shape[1]
    groups = np.asarray(groups, dtype=np.int64)
    perm_b = _identity(V) if perm_b is None else np.asarray(perm_b, dtype=np.int64)
    args, off = _pair_args(groups, ctx_a.prev, ctx_a.cur, ctx_a.n_ctx, ctx_a.unigram, ctx_a.bigram, ctx_b.prev,
                           ctx_b.cur, ctx_b.n_ctx, ctx_b.unigram, ctx_b.bigram, perm_b,
                           np.ascontiguousarray(channel, dtype=np.float64), float(rho), float(context_weight))
    logs = np.log(args)
    w = np.asarray(weights, dtype=np.float64)
    build = joint_a[1].shape[0] * joint_b[1].shape[0] <= TABLE_MAX_CELLS
    table, self_a, self_b = _pair_combine(logs, off, groups, w, joint_a[1], joint_b[1], ctx_a.codes, ctx_b.codes,
                                          ctx_b.n_ctx, build)
    if not build:
        table = StreamTable(logs, np.ascontiguousarray(off[0:3 * groups.shape[0]:3]), np.ascontiguousarray(w),
                            np.ascontiguousarray(joint_a[1], dtype=np.int64),
                            np.ascontiguousarray(joint_b[1], dtype=np.int64),
                            np.ascontiguousarray(ctx_b.n_ctx[groups], dtype=np.int64))
    return (table, joint_a[0], joint_b[0]), float(self_a), float(self_b)


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


@njit(cache=True, inline="always")
def _gotoh_cell(e, hl, fu, hu, d, s, go, ge):  # pragma: no cover - compiled
    """One cell of the Gotoh recurrence: (H, E, F) from E and H to the left, F and H above, H on
    the diagonal and the substitution score."""
    e = max(e - ge, hl - go)
    f = max(fu - ge, hu - go)
    h = max(max(d + s, 0.0), max(e, f))
    return h, e, f


@njit(cache=True, inline="always")
def _best_row(row, H, F, m, go, ge, best):  # pragma: no cover - compiled
    """One row of the score-only recurrence (``row[j - 1]`` its substitution scores; ``H``/``F``
    the row above, updated in place); returns the running best. Shared by the last rows of
    :func:`_sw_best_table` and by :func:`_sw_best_rows`, so both compute a cell the same way."""
    hl0 = 0.0
    e0 = -1e18
    d0 = 0.0
    b = best
    for j in range(1, m + 1):
        up = H[j]
        h, e0, f = _gotoh_cell(e0, hl0, F[j], up, d0, row[j - 1], go, ge)
        d0 = up
        hl0 = h
        H[j] = h
        F[j] = f
        b = max(b, h)
    return b


@njit(cache=True)
def _sw_best_table(table, ia, ib, gap_open, gap_extend):  # pragma: no cover - compiled
    """Best Smith-Waterman-Gotoh local alignment score of S[i, j] = table[ia[i], ib[j]] (score
    only: no traceback, S never built).

    A cell depends on the cell before it in its row (E, H), so one row at a time runs at the
    latency of that chain. Four rows are swept together, each one column behind the row above it
    (cells (i + r, t - r) at step t): their four chains are independent and overlap (1.6x on the
    benchmark machine). Every cell is computed by the same operations as one row at a time, so the
    score is the same to the bit. The rows of ``table`` are first gathered on b's items
    (``table[:, ib]``): a cell reads its substitution score with one load.
    """
    n = ia.shape[0]
    m = ib.shape[0]
    neg = -1e18
    go = gap_open
    ge = gap_extend
    prof = np.empty((table.shape[0], m))
    for u in range(table.shape[0]):
        for j in range(m):
            prof[u, j] = table[u, ib[j]]
    H = np.zeros(m + 1)        # H and F of the last row done
    F = np.full(m + 1, neg)
    best = 0.0
    i = 0
    while i + 4 <= n and m >= 4:
        r0 = prof[ia[i]]
        r1 = prof[ia[i + 1]]
        r2 = prof[ia[i + 2]]
        r3 = prof[ia[i + 3]]
        # per row r: H and E to the left (hl, e), H on the diagonal (d); oh, of: H and F row r
        # produced at the previous step, i.e. above the cell row r + 1 computes now
        hl0 = hl1 = hl2 = hl3 = 0.0
        e0 = e1 = e2 = e3 = neg
        d0 = d1 = d2 = d3 = 0.0
        oh0 = oh1 = oh2 = 0.0
        of0 = of1 = of2 = neg
        b = best
        # steps 1-3: the rows start one after the other
        up = H[1]
        h, e0, f = _gotoh_cell(e0, hl0, F[1], up, d0, r0[0], go, ge)
        d0, hl0, oh0, of0, b = up, h, h, f, max(b, h)
        h, e1, f = _gotoh_cell(e1, hl1, of0, oh0, d1, r1[0], go, ge)
        d1, hl1, oh1, of1, b = oh0, h, h, f, max(b, h)
        up = H[2]
        h, e0, f = _gotoh_cell(e0, hl0, F[2], up, d0, r0[1], go, ge)
        d0, hl0, oh0, of0, b = up, h, h, f, max(b, h)
        h, e2, f = _gotoh_cell(e2, hl2, of1, oh1, d2, r2[0], go, ge)
        d2, hl2, oh2, of2, b = oh1, h, h, f, max(b, h)
        h, e1, f = _gotoh_cell(e1, hl1, of0, oh0, d1, r1[1], go, ge)
        d1, hl1, oh1, of1, b = oh0, h, h, f, max(b, h)
        up = H[3]
        h, e0, f = _gotoh_cell(e0, hl0, F[3], up, d0, r0[2], go, ge)
        d0, hl0, oh0, of0, b = up, h, h, f, max(b, h)
        for t in range(4, m + 1):          # all four rows
            h3, e3, f3 = _gotoh_cell(e3, hl3, of2, oh2, d3, r3[t - 4], go, ge)
            d3 = oh2
            hl3 = h3
            h2, e2, f2 = _gotoh_cell(e2, hl2, of1, oh1, d2, r2[t - 3], go, ge)
            d2 = oh1
            hl2 = h2
            h1, e1, f1 = _gotoh_cell(e1, hl1, of0, oh0, d1, r1[t - 2], go, ge)
            d1 = oh0
            hl1 = h1
            up = H[t]
            h0, e0, f0 = _gotoh_cell(e0, hl0, F[t], up, d0, r0[t - 1], go, ge)
            d0 = up
            hl0 = h0
            H[t - 3] = h3
            F[t - 3] = f3
            oh2, of2, oh1, of1, oh0, of0 = h2, f2, h1, f1, h0, f0
            b = max(b, max(max(h0, h1), max(h2, h3)))
        # steps m + 1 to m + 3: the rows end one after the other
        h3, e3, f3 = _gotoh_cell(e3, hl3, of2, oh2, d3, r3[m - 3], go, ge)
        d3, hl3, H[m - 2], F[m - 2] = oh2, h3, h3, f3
        h2, e2, f2 = _gotoh_cell(e2, hl2, of1, oh1, d2, r2[m - 2], go, ge)
        d2, hl2 = oh1, h2
        h1, e1, f1 = _gotoh_cell(e1, hl1, of0, oh0, d1, r1[m - 1], go, ge)
        oh2, of2, oh1, of1 = h2, f2, h1, f1
        b = max(b, max(h1, max(h2, h3)))
        h3, e3, f3 = _gotoh_cell(e3, hl3, of2, oh2, d3, r3[m - 2], go, ge)
        d3, hl3, H[m - 1], F[m - 1] = oh2, h3, h3, f3
        h2, e2, f2 = _gotoh_cell(e2, hl2, of1, oh1, d2, r2[m - 1], go, ge)
        oh2, of2 = h2, f2
        b = max(b, max(h2, h3))
        h3, e3, f3 = _gotoh_cell(e3, hl3, of2, oh2, d3, r3[m - 1], go, ge)
        H[m] = h3
        F[m] = f3
        best = max(b, h3)
        i += 4
    while i < n:                          # the last rows (or a short b), one at a time
        best = _best_row(prof[ia[i]], H, F, m, go, ge, best)
        i += 1
    return best


@njit(cache=True)
def _sw_best_rows(src, ia, ib, gap_open, gap_extend):  # pragma: no cover - compiled
    """:func:`_sw_best_table` one row at a time, each row's scores gathered as it is computed
    (:func:`.align._gather_row`: a dense table or a :class:`.align.StreamTable`): no ``[Ua, m]``
    profile. The same cells by the same operations (as :func:`_sw_best_table`'s last rows), so the
    same score to the bit; for long sequences with many distinct contexts only."""
    n = ia.shape[0]
    m = ib.shape[0]
    neg = -1e18
    H = np.zeros(m + 1)
    F = np.full(m + 1, neg)
    row = np.empty(m)
    open_b = np.zeros(m, np.bool_)
    best = 0.0
    for i in range(n):
        _gather_row(row, src, ia[i], ib, False, open_b)
        best = _best_row(row, H, F, m, gap_open, gap_extend, best)
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
    ``(table, ia, ib)`` (:func:`logodds_tables`; ``table`` a dense array or a
    :class:`.align.StreamTable`), without building the matrix or a path."""
    table, ia, ib = factored
    if gap_open < gap_extend or gap_extend < 0:
        raise ParameterError(f"need gap_open >= gap_extend >= 0, got gap_open={gap_open}, gap_extend={gap_extend}")
    if ia.size == 0 or ib.size == 0:
        return 0.0
    ia, ib = np.asarray(ia, np.int64), np.asarray(ib, np.int64)
    if isinstance(table, StreamTable) or table.shape[0] * ib.shape[0] > _align.PROFILE_MAX_CELLS:
        return float(_sw_best_rows(_source(table), ia, ib, float(gap_open), float(gap_extend)))
    return float(_sw_best_table(np.ascontiguousarray(table, dtype=np.float64), ia, ib, float(gap_open),
                                float(gap_extend)))


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
    share = 100.0 * min(max(best / self_score, 0.0), 1.0) if self_score > 0 else float("nan")
    if sig < sections_min_significance:
        empty = np.zeros(0, np.int64)
        return FacetResult(float(sig), [], int(label), (Alignment(best, empty, empty),), raw_score=float(sig),
                           share=share)
    als = local_alignments_factored(table, ia, ib, gap_open=gap_open, gap_extend=gap_extend,
                                    max_alignments=max_alignments, min_score=extra_min_fraction * best)
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

