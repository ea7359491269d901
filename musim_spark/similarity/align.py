"""Local alignment (Smith-Waterman with affine gaps) that returns the score AND the path.

Every facet (melody, rhythm, chord) turns its two feature sequences into a substitution matrix
``S`` [shape=(n, m)] (positive = the two items agree, negative = they do not) with numpy
broadcasting, then calls :func:`local_alignments` here. The dynamic programme itself is a private
numba kernel (``@njit(cache=True)``, array and scalar arguments only); this module's public
functions coerce and validate.

:func:`local_alignments` finds up to ``max_alignments`` non-overlapping local alignments
(Waterman-Eggert style: after each one, the rows and columns it used are blocked), so a cover that
keeps two separate parts of a song yields two sections.

:func:`sw_score_numpy` is the straightforward numpy baseline the benchmark compares the kernel
against: the same recurrence, one row at a time, vectorised over the row.

**Memory.** A path up to :data:`TRACEBACK_MAX_CELLS` cells is traced from a full traceback matrix
(one byte per cell); a longer one with checkpoints (DP rows kept before every
:func:`checkpoint_block`-th row, one block of rows recomputed at a time while tracing back [4]_),
so :func:`local_alignments_factored` (and melody's ``align_lines``) need about ``8 sqrt(n) m``
bytes instead of ``n m``, for the same alignments. A factored table whose rows gathered on b's
items would exceed :data:`PROFILE_MAX_CELLS` floats, or a :class:`StreamTable` (the rhythm facet's
joint contexts of two long many-instrument tracks), is read one row at a time. :func:`local_alignments`
takes a dense ``S`` (tests and benchmarks): it keeps three traceback matrices beside it.

References
----------
.. [1] Smith, T. F., Waterman, M. S. (1981). Identification of common molecular subsequences.
       J. Mol. Biol. 147, 195-197.
.. [2] Gotoh, O. (1982). An improved algorithm for matching biological sequences.
       J. Mol. Biol. 162, 705-708.
.. [3] Waterman, M. S., Eggert, M. (1987). A new algorithm for best subsequence alignments with
       application to tRNA-rRNA comparisons. J. Mol. Biol. 197, 723-728.
.. [4] Grice, J. A., Hughey, R., Speck, D. (1997). Reduced space sequence alignment. Computer
       Applications in the Biosciences 13(1), 45-53 (checkpointed dynamic programming: rows kept
       every k-th row, blocks recomputed during traceback).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numba import njit

from ..errors import ParameterError

__all__ = ["Alignment", "local_alignments", "local_alignments_factored", "sw_score", "sw_score_numpy",
           "TRACEBACK_MAX_CELLS", "PROFILE_MAX_CELLS", "StreamTable", "checkpoint_block", "traceback_bytes"]

#: Substitution value that forbids a cell (a blocked row/column); far below any real score.
_BLOCKED = -1.0e6

#: Cells ``(n + 1) (m + 1)`` of an alignment up to which its path is traced from a full traceback
#: matrix (one byte per cell: 32 MiB at most, the fast path of every song-length pair); above it
#: the kernels keep DP rows at checkpoints and recompute one block of rows at a time while
#: tracing back (:func:`checkpoint_block`): the same path, to the bit, in memory that grows with
#: ``sqrt(n) m`` instead of ``n m``, for about one more forward pass over the rows the path spans.
#: An implementation detail (results do not depend on it), so a constant and not a setting.
TRACEBACK_MAX_CELLS = 1 << 25

#: Floats up to which the rhythm/chord kernels gather the factored table's rows on b's items once
#: (a profile ``[Ua, m]``: a cell then reads its score with one load); above it (a sequence with
#: thousands of distinct contexts against a long one) the row-at-a-time kernels run
#: (:func:`_sw_affine_table_ckpt`, :func:`.logodds._sw_best_rows`), which gather each row as they
#: compute it. 32 MiB at most; the scores are the same either way.
PROFILE_MAX_CELLS = 1 << 22


def checkpoint_block(n: int) -> int:
    """Rows per block of the checkpointed traceback of an ``n``-row alignment: ``ceil(4 sqrt(n))``.

    Memory is ``c (n / B + 1)`` checkpoint rows of 8-byte floats (``c`` = 2 for the rhythm/chord
    kernel, 3 for melody's) plus ``B + 1`` traceback rows of bytes, each ``m + 1`` long; ``B = 4
    sqrt(n)`` makes the two about equal (for ``c = 2``), ``8 sqrt(n) (m + 1)`` bytes in all.

    Examples
    --------
    >>> checkpoint_block(20_000), checkpoint_block(1)
    (566, 4)
    """
    return max(1, int(math.ceil(4.0 * math.sqrt(max(int(n), 0)))))


def traceback_bytes(n: int, m: int, *, rows_kept: int = 2, max_cells: int | None = None,
                    block: int | None = None) -> int:
    """Bytes a path-tracing kernel allocates for an ``n x m`` alignment beyond its O(n + m) vectors:
    the full traceback matrix up to ``max_cells`` cells (default :data:`TRACEBACK_MAX_CELLS`), else
    the checkpoints (``rows_kept`` float rows each) and one block's traceback bytes.

    Examples
    --------
    >>> traceback_bytes(1000, 1000)                      # full matrix: one byte per cell
    1002001
    >>> traceback_bytes(50_000, 50_000) < 50_000 ** 2 // 25          # 90 MB instead of 2.5 GB
    True
    """
    cells = (n + 1) * (m + 1)
    if cells <= (TRACEBACK_MAX_CELLS if max_cells is None else max_cells):
        return cells
    b = checkpoint_block(n) if block is None else int(block)
    return rows_kept * 8 * ((n - 1) // b + 1) * (m + 1) + (b + 1) * (m + 1)


@dataclasses.dataclass(frozen=True)
class StreamTable:
    """A factored substitution table ``S[i, j] = T[ia[i], ib[j]]`` kept unsummed over its K streams
    (what :func:`.logodds.pair_logodds` returns instead of ``T`` [shape=(Ja, Jb)] when that would
    exceed :data:`.logodds.TABLE_MAX_CELLS`): ``T[u, v] = sum_k weights[k] logs[base[k] +
    combos_a[u, k] nb[k] + combos_b[v, k]]``, summed from 0.0 in stream order, as the table is. The
    kernels compute a row's cells as they need them: the same values, K lookups per cell, no
    ``Ja x Jb`` array.

    Attributes
    ----------
    logs : np.ndarray [shape=(L,), float64]
        Every stream's ``n_a x n_b`` block of log-odds (and more), flat.
    base : np.ndarray [shape=(K,), int64]
        Offset of stream k's block in ``logs``.
    weights : np.ndarray [shape=(K,), float64]
    combos_a, combos_b : np.ndarray [shape=(Ja, K)], [shape=(Jb, K)], int64
        Per joint context, its context in each stream.
    nb : np.ndarray [shape=(K,), int64]
        Row length of stream k's block (b's contexts in that stream).
    """

    logs: np.ndarray
    base: np.ndarray
    weights: np.ndarray
    combos_a: np.ndarray
    combos_b: np.ndarray
    nb: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.combos_a.shape[0], self.combos_b.shape[0])

    def dense(self) -> np.ndarray:
        """The table ``T`` [shape=(Ja, Jb)] (the same values; for tests and small tables)."""
        t = np.zeros(self.shape)
        for k in range(self.weights.shape[0]):
            idx = self.base[k] + self.combos_a[:, k][:, None] * self.nb[k] + self.combos_b[:, k][None, :]
            t += self.weights[k] * self.logs[idx]
        return t


_NO_F = np.zeros(0)
_NO_I = np.zeros(0, np.int64)
_NO_I2 = np.zeros((0, 0), np.int64)
_NO_TABLE = np.zeros((0, 0))


def _source(table):
    """The kernels' view of a factored table (:func:`_gather_row`): a dense ``[Ua, Ub]`` table or a
    :class:`StreamTable`, as one tuple of arrays."""
    if isinstance(table, StreamTable):
        return (_NO_TABLE, table.logs, table.base, table.weights, table.combos_a, table.combos_b, table.nb)
    return (np.ascontiguousarray(table, dtype=np.float64), _NO_F, _NO_I, _NO_F, _NO_I2, _NO_I2, _NO_I)


def _use_checkpoints(n: int, m: int, max_cells: int | None, block: int | None) -> int:
    """Rows per block when the path is traced with checkpoints, 0 for the full matrix."""
    if (n + 1) * (m + 1) <= (TRACEBACK_MAX_CELLS if max_cells is None else max_cells):
        return 0
    if block is not None and block < 1:
        raise ParameterError(f"block must be >= 1, got {block}")
    return checkpoint_block(n) if block is None else int(block)


@dataclasses.dataclass(frozen=True)
class Alignment:
    """One local alignment.

    Attributes
    ----------
    score : float
        The alignment's score (sum of substitution values minus gap penalties).
    rows, cols : np.ndarray [shape=(k,), dtype=int64]
        Indices of the aligned (diagonal-step) item pairs, in increasing order: item ``rows[t]`` of
        the first sequence is matched with item ``cols[t]`` of the second.
    """

    score: float
    rows: np.ndarray
    cols: np.ndarray


@njit(cache=True)
def _sw_affine(S, gap_open, gap_extend):  # pragma: no cover - compiled
    """Gotoh local alignment over substitution matrix S; returns (best, i_end, j_end, rows, cols)."""
    n, m = S.shape
    # Only two rows of H/F are needed for scores; traceback keeps one int8 matrix per state.
    H_prev = np.zeros(m + 1)
    H_cur = np.zeros(m + 1)
    F_prev = np.full(m + 1, -1e18)
    F_cur = np.full(m + 1, -1e18)
    TH = np.zeros((n + 1, m + 1), dtype=np.int8)   # 0 stop, 1 diag, 2 from E, 3 from F
    TE = np.zeros((n + 1, m + 1), dtype=np.int8)   # 0 opened from H, 1 extended E
    TF = np.zeros((n + 1, m + 1), dtype=np.int8)   # 0 opened from H, 1 extended F
    best = 0.0
    bi = 0
    bj = 0
    for i in range(1, n + 1):
        H_cur[0] = 0.0
        E = -1e18
        for j in range(1, m + 1):
            # E: gap in the first sequence (consume a column)
            e_open = H_cur[j - 1] - gap_open
            e_ext = E - gap_extend
            if e_ext > e_open:
                E = e_ext
                TE[i, j] = 1
            else:
                E = e_open
            f_open = H_prev[j] - gap_open
            f_ext = F_prev[j] - gap_extend
            if f_ext > f_open:
                F_cur[j] = f_ext
                TF[i, j] = 1
            else:
                F_cur[j] = f_open
            d = H_prev[j - 1] + S[i - 1, j - 1]
            h = 0.0
            t = 0
            if d > h:
                h = d
                t = 1
            if E > h:
                h = E
                t = 2
            if F_cur[j] > h:
                h = F_cur[j]
                t = 3
            H_cur[j] = h
            TH[i, j] = t
            if h > best:
                best = h
                bi = i
                bj = j
        for j in range(m + 1):
            H_prev[j] = H_cur[j]
            F_prev[j] = F_cur[j]
    # traceback
    rows = np.empty(min(n, m), dtype=np.int64)
    cols = np.empty(min(n, m), dtype=np.int64)
    k = 0
    i = bi
    j = bj
    state = 0  # 0 in H, 2 in E, 3 in F
    while i > 0 and j > 0:
        if state == 0:
            t = TH[i, j]
            if t == 0:
                break
            if t == 1:
                rows[k] = i - 1
                cols[k] = j - 1
                k += 1
                i -= 1
                j -= 1
            else:
                state = t
        elif state == 2:
            ext = TE[i, j]
            j -= 1
            if ext == 0:
                state = 0
        else:
            ext = TF[i, j]
            i -= 1
            if ext == 0:
                state = 0
    return best, rows[:k][::-1].copy(), cols[:k][::-1].copy()


@njit(cache=True)
def _sw_affine_table(table, ia, ib, blk_a, blk_b, gap_open, gap_extend):  # pragma: no cover - compiled
    """:func:`_sw_affine` over ``S[i, j] = table[ia[i], ib[j]]``, cells of blocked rows (``blk_a``)
    or columns (``blk_b``) reading ``_BLOCKED`` (what :func:`_block` writes into S): the same
    operations on the same values and the same choices on ties, so the same alignment, without
    building S. One traceback byte per cell (bits 0-1 the move into H, bit 2 E extended, bit 3 F
    extended), one row of H and F updated in place, and the table's rows gathered on b's items
    (blocked columns included) so that a cell reads its score with one load."""
    n = ia.shape[0]
    m = ib.shape[0]
    neg = -1e18
    prof = np.empty((table.shape[0], m))
    for u in range(table.shape[0]):
        for j in range(m):
            prof[u, j] = _BLOCKED if blk_b[j] else table[u, ib[j]]
    blocked_row = np.full(m, _BLOCKED)
    H = np.zeros(m + 1)
    F = np.full(m + 1, neg)
    TB = np.zeros((n + 1, m + 1), dtype=np.int8)
    best = 0.0
    bi = 0
    bj = 0
    for i in range(1, n + 1):
        row = blocked_row if blk_a[i - 1] else prof[ia[i - 1]]
        E = neg
        hl = 0.0            # H[i, j - 1]
        d = 0.0             # H[i - 1, j - 1]
        tb = TB[i]
        for j in range(1, m + 1):
            up = H[j]
            e_open = hl - gap_open
            e_ext = E - gap_extend
            t = 0
            if e_ext > e_open:
                E = e_ext
                t = 4
            else:
                E = e_open
            f_open = up - gap_open
            f_ext = F[j] - gap_extend
            if f_ext > f_open:
                f = f_ext
                t |= 8
            else:
                f = f_open
            F[j] = f
            dd = d + row[j - 1]
            h = 0.0
            if dd > h:
                h = dd
                t |= 1
            if E > h:
                h = E
                t = (t & 12) | 2
            if f > h:
                h = f
                t = (t & 12) | 3
            H[j] = h
            tb[j] = t
            d = up
            hl = h
            if h > best:
                best = h
                bi = i
                bj = j
    rows = np.empty(min(n, m), dtype=np.int64)
    cols = np.empty(min(n, m), dtype=np.int64)
    k = 0
    i = bi
    j = bj
    state = 0  # 0 in H, 2 in E, 3 in F
    while i > 0 and j > 0:
        if state == 0:
            t = TB[i, j] & 3
            if t == 0:
                break
            if t == 1:
                rows[k] = i - 1
                cols[k] = j - 1
                k += 1
                i -= 1
                j -= 1
            else:
                state = t
        elif state == 2:
            ext = TB[i, j] & 4
            j -= 1
            if ext == 0:
                state = 0
        else:
            ext = TB[i, j] & 8
            i -= 1
            if ext == 0:
                state = 0
    return best, rows[:k][::-1].copy(), cols[:k][::-1].copy()


@njit(cache=True, inline="always")
def _table_row(row, H, F, jmax, gap_open, gap_extend, tb, want_tb, best):  # pragma: no cover - compiled
    """One row of :func:`_sw_affine_table`'s recurrence on columns ``1..jmax`` (the same operations
    in the same order): ``row[j - 1]`` the row's substitution scores, ``H``/``F`` the row above,
    updated in place; traceback bytes into ``tb[j]`` when ``want_tb``. Returns the running best and
    the column where this row raised it (0: not raised)."""
    neg = -1e18
    E = neg
    hl = 0.0            # H[i, j - 1]
    d = 0.0             # H[i - 1, j - 1]
    bj = 0
    for j in range(1, jmax + 1):
        up = H[j]
        e_open = hl - gap_open
        e_ext = E - gap_extend
        t = 0
        if e_ext > e_open:
            E = e_ext
            t = 4
        else:
            E = e_open
        f_open = up - gap_open
        f_ext = F[j] - gap_extend
        if f_ext > f_open:
            f = f_ext
            t |= 8
        else:
            f = f_open
        F[j] = f
        dd = d + row[j - 1]
        h = 0.0
        if dd > h:
            h = dd
            t |= 1
        if E > h:
            h = E
            t = (t & 12) | 2
        if f > h:
            h = f
            t = (t & 12) | 3
        H[j] = h
        if want_tb:
            tb[j] = t
        d = up
        hl = h
        if h > best:
            best = h
            bj = j
    return best, bj


@njit(cache=True, inline="always")
def _gather_row(out, src, u, ib, blocked_row, blk_b):  # pragma: no cover - compiled
    """``out[j] = S_u[ib[j]]``, row ``u`` of the factored table on b's items (``_BLOCKED`` in
    blocked columns, all of it in a blocked row): the row :func:`_sw_affine_table` reads from its
    profile. ``src`` is :func:`_source`'s tuple: a dense table, or (table empty) a
    :class:`StreamTable`'s arrays, each cell then summed over the streams as
    :func:`.logodds.pair_logodds` sums its table (from 0.0, streams in order: the same value)."""
    table, logs, base, weights, combos_a, combos_b, nb = src
    m = ib.shape[0]
    if blocked_row:
        for j in range(m):
            out[j] = _BLOCKED
    elif table.shape[0] > 0:
        for j in range(m):
            out[j] = _BLOCKED if blk_b[j] else table[u, ib[j]]
    else:
        K = weights.shape[0]
        for j in range(m):
            if blk_b[j]:
                out[j] = _BLOCKED
                continue
            jb = ib[j]
            v = 0.0
            for k in range(K):
                v += weights[k] * logs[base[k] + combos_a[u, k] * nb[k] + combos_b[jb, k]]
            out[j] = v


@njit(cache=True)
def _sw_affine_table_ckpt(src, ia, ib, blk_a, blk_b, gap_open, gap_extend, block):  # pragma: no cover - compiled
    """:func:`_sw_affine_table` in memory linear in ``m`` per block of rows: the same alignment.

    The forward pass keeps one row of H and F, and a copy of them before every ``block``-th row
    (the checkpoints; no traceback bytes, no profile: each row's scores are gathered from the
    table as it is computed). The traceback then recomputes, from its checkpoint, the block of
    rows it is in (only up to its current row and column: the path moves up and left), with one
    traceback byte per cell of that block, and moves on to the block above when it leaves it.
    Every cell is computed by the same operations as in :func:`_sw_affine_table`, so the score,
    the end cell and the path are the same to the bit. Memory: ``2 (n / block + 1) (m + 1)``
    floats and ``(block + 1) (m + 1)`` bytes (:func:`checkpoint_block`)."""
    n = ia.shape[0]
    m = ib.shape[0]
    neg = -1e18
    nck = (n - 1) // block + 1
    CH = np.empty((nck, m + 1))
    CF = np.empty((nck, m + 1))
    H = np.zeros(m + 1)
    F = np.full(m + 1, neg)
    row = np.empty(m)
    notb = np.zeros(1, dtype=np.int8)
    best = 0.0
    bi = 0
    bj = 0
    for i in range(1, n + 1):
        if (i - 1) % block == 0:
            k = (i - 1) // block
            CH[k, :] = H
            CF[k, :] = F
        _gather_row(row, src, ia[i - 1], ib, blk_a[i - 1], blk_b)
        best, j = _table_row(row, H, F, m, gap_open, gap_extend, notb, False, best)
        if j > 0:
            bi = i
            bj = j
    TB = np.zeros((block + 1, m + 1), dtype=np.int8)
    loaded = -1
    rows = np.empty(min(n, m), dtype=np.int64)
    cols = np.empty(min(n, m), dtype=np.int64)
    k = 0
    i = bi
    j = bj
    state = 0  # 0 in H, 2 in E, 3 in F
    while i > 0 and j > 0:
        blk = (i - 1) // block
        r0 = blk * block
        if blk != loaded:
            for c in range(j + 1):
                H[c] = CH[blk, c]
                F[c] = CF[blk, c]
            for r in range(r0 + 1, i + 1):
                _gather_row(row, src, ia[r - 1], ib, blk_a[r - 1], blk_b)
                _table_row(row, H, F, j, gap_open, gap_extend, TB[r - r0], True, 0.0)
            loaded = blk
        tbyte = TB[i - r0, j]
        if state == 0:
            t = tbyte & 3
            if t == 0:
                break
            if t == 1:
                rows[k] = i - 1
                cols[k] = j - 1
                k += 1
                i -= 1
                j -= 1
            else:
                state = t
        elif state == 2:
            j -= 1
            if tbyte & 4 == 0:
                state = 0
        else:
            i -= 1
            if tbyte & 8 == 0:
                state = 0
    return best, rows[:k][::-1].copy(), cols[:k][::-1].copy()


@njit(cache=True)
def _block(S, rows, cols, value):  # pragma: no cover - compiled
    """Block the row and column span an alignment used (so the next one cannot overlap it)."""
    if rows.shape[0] == 0:
        return
    r0 = rows[0]
    r1 = rows[rows.shape[0] - 1]
    c0 = cols[0]
    c1 = cols[cols.shape[0] - 1]
    n, m = S.shape
    for i in range(r0, r1 + 1):
        for j in range(m):
            S[i, j] = value
    for i in range(n):
        for j in range(c0, c1 + 1):
            S[i, j] = value


def _check(S, gap_open, gap_extend) -> np.ndarray:
    S = np.asarray(S, dtype=np.float64)
    if S.ndim != 2:
        raise ParameterError(f"substitution matrix must be 2-D, got shape {S.shape}")
    if not np.all(np.isfinite(S)):
        raise ParameterError("substitution matrix has non-finite values")
    if gap_open < gap_extend or gap_extend < 0:
        raise ParameterError(
            f"need gap_open >= gap_extend >= 0, got gap_open={gap_open}, gap_extend={gap_extend}")
    return np.ascontiguousarray(S)


def sw_score(S: np.ndarray, *, gap_open: float, gap_extend: float) -> Alignment:
    """Best local alignment over a substitution matrix (numba kernel).

    Parameters
    ----------
    S : np.ndarray [shape=(n, m)]
        Substitution values (score of aligning item i of the first sequence with item j of the second).
    gap_open, gap_extend : float
        Affine gap penalties (positive numbers, subtracted); ``gap_open >= gap_extend >= 0``. A gap of
        length L costs ``gap_open + (L - 1) * gap_extend``.

    Returns
    -------
    Alignment

    Examples
    --------
    >>> S = np.where(np.eye(4) > 0, 2.0, -1.0)
    >>> a = sw_score(S, gap_open=2.0, gap_extend=0.5)
    >>> a.score, a.rows.tolist(), a.cols.tolist()
    (8.0, [0, 1, 2, 3], [0, 1, 2, 3])
    """
    S = _check(S, gap_open, gap_extend)
    if S.size == 0:
        return Alignment(0.0, np.zeros(0, np.int64), np.zeros(0, np.int64))
    best, rows, cols = _sw_affine(S, float(gap_open), float(gap_extend))
    return Alignment(float(best), rows, cols)


def local_alignments(S: np.ndarray, *, gap_open: float, gap_extend: float, max_alignments: int = 1,
                     min_score: float = 0.0) -> list[Alignment]:
    """Up to ``max_alignments`` non-overlapping local alignments, best first.

    After each alignment the rows and columns between its first and last pair are blocked, so later
    alignments use other parts of both sequences (Waterman-Eggert style, simplified: blocks whole
    spans instead of single cells).

    Parameters
    ----------
    S : np.ndarray [shape=(n, m)]
    gap_open, gap_extend : float
        See :func:`sw_score`.
    max_alignments : int
        At most this many alignments (>= 1).
    min_score : float
        Alignments after the first are kept only while their score is at least this.

    Returns
    -------
    list of Alignment
        The first is always the best one (possibly empty, score 0).
    """
    if max_alignments < 1:
        raise ParameterError(f"max_alignments must be >= 1, got {max_alignments}")
    S = _check(S, gap_open, gap_extend).copy()
    if S.size == 0:
        return [Alignment(0.0, np.zeros(0, np.int64), np.zeros(0, np.int64))]
    out = []
    for k in range(max_alignments):
        best, rows, cols = _sw_affine(S, float(gap_open), float(gap_extend))
        if k > 0 and (best < min_score or rows.shape[0] == 0):
            break
        out.append(Alignment(float(best), rows, cols))
        if rows.shape[0] == 0:
            break
        _block(S, rows, cols, _BLOCKED)
    return out


def local_alignments_factored(table: np.ndarray, ia: np.ndarray, ib: np.ndarray, *, gap_open: float,
                              gap_extend: float, max_alignments: int = 1, min_score: float = 0.0,
                              max_cells: int | None = None, block: int | None = None) -> list[Alignment]:
    """:func:`local_alignments` of ``S = table[ia[:, None], ib[None, :]]`` without building S (the
    same alignments: the kernel reads each cell's value from the table, blocked spans as
    :func:`local_alignments` writes them).

    Parameters
    ----------
    table : np.ndarray [shape=(Ua, Ub)] or StreamTable
    ia, ib : np.ndarray [shape=(n,)], [shape=(m,)], int
        Each item's row / column of ``table``.
    gap_open, gap_extend, max_alignments, min_score
        As :func:`local_alignments`.
    max_cells : int, optional
        Above this many cells ``(n + 1) (m + 1)`` the path is traced with checkpoints (default
        :data:`TRACEBACK_MAX_CELLS`); the alignments are the same either way.
    block : int, optional
        Rows per block of the checkpointed traceback (default :func:`checkpoint_block`).
    """
    if max_alignments < 1:
        raise ParameterError(f"max_alignments must be >= 1, got {max_alignments}")
    ia = np.ascontiguousarray(ia, dtype=np.int64)
    ib = np.ascontiguousarray(ib, dtype=np.int64)
    if ia.size == 0 or ib.size == 0:
        _check(np.zeros((ia.size, ib.size)), gap_open, gap_extend)
        return [Alignment(0.0, np.zeros(0, np.int64), np.zeros(0, np.int64))]
    if isinstance(table, StreamTable):
        _check(table.logs[None, :], gap_open, gap_extend)          # finite terms: finite sums
    else:
        table = np.ascontiguousarray(table, dtype=np.float64)
        _check(table[np.unique(ia)][:, np.unique(ib)], gap_open, gap_extend)   # the values S holds
    src = _source(table)
    blk_a = np.zeros(ia.shape[0], np.bool_)
    blk_b = np.zeros(ib.shape[0], np.bool_)
    rows_per_block = _use_checkpoints(ia.shape[0], ib.shape[0], max_cells, block)
    if not rows_per_block and (isinstance(table, StreamTable) or table.shape[0] * ib.shape[0] > PROFILE_MAX_CELLS):
        rows_per_block = checkpoint_block(ia.shape[0])    # the kernel that gathers rows as it goes
    out = []
    for k in range(max_alignments):
        if rows_per_block:
            best, rows, cols = _sw_affine_table_ckpt(src, ia, ib, blk_a, blk_b, float(gap_open), float(gap_extend),
                                                     rows_per_block)
        else:
            best, rows, cols = _sw_affine_table(table, ia, ib, blk_a, blk_b, float(gap_open), float(gap_extend))
        if k > 0 and (best < min_score or rows.shape[0] == 0):
            break
        out.append(Alignment(float(best), rows, cols))
        if rows.shape[0] == 0:
            break
        blk_a[rows[0]:rows[-1] + 1] = True
        blk_b[cols[0]:cols[-1] + 1] = True
    return out


def sw_score_numpy(S: np.ndarray, *, gap_open: float, gap_extend: float) -> float:
    """Best local alignment score by a straightforward numpy DP (the benchmark's baseline).

    The same Gotoh recurrence as the kernel, one row at a time: the diagonal and vertical moves are
    vectorised over the row; the horizontal gap state, which depends on the same row, is a running
    maximum (``np.maximum.accumulate``), valid because ``gap_open >= gap_extend``. Score only, no
    traceback (so the baseline is, if anything, flattered).

    Parameters
    ----------
    S : np.ndarray [shape=(n, m)]
    gap_open, gap_extend : float

    Returns
    -------
    float
    """
    S = _check(S, gap_open, gap_extend)
    n, m = S.shape
    H_prev = np.zeros(m + 1)
    F = np.full(m + 1, -1e18)
    offs = gap_extend * np.arange(m + 1)
    best = 0.0
    for i in range(1, n + 1):
        F = np.maximum(H_prev - gap_open, F - gap_extend)
        H = np.zeros(m + 1)
        H[1:] = np.maximum(np.maximum(H_prev[:-1] + S[i - 1], F[1:]), 0.0)
        # E[j] = max_k<j (H[k] - gap_open - (j-1-k) * gap_extend)
        run = np.maximum.accumulate(H + offs)
        E = np.full(m + 1, -1e18)
        E[1:] = run[:-1] - offs[1:] + gap_extend - gap_open
        H = np.maximum(H, E)
        best = max(best, float(H.max()))
        H_prev = H
    return best
