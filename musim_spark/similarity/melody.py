"""Melody similarity: local alignment of pitch intervals, scored by its significance given both lengths.

Each melody line (:mod:`.melody_line`) becomes its sequence of **transitions** (note ``i - 1`` to
note ``i``): the pitch interval in semitones and the inter-onset-interval ratio
``log2(IOI_i / IOI_{i-1})`` (tempo-free). Intervals make the comparison independent of the key
everywhere at once: a copy in another key matches, and so does a copy that modulates half way
(only the one transition at the modulation differs), which one key shift per pair could not.
Two transitions score the log-odds (bits) of "a copy" against "independent lines" [4]_ [7]_
(:func:`scoring_table`): a copy keeps an interval with probability ``melody_same_rate`` or moves it
a semitone or an octave (an ornament, an octave slip) with ``melody_near_rate``, and the
background is the pair's own interval frequencies, so matching the repeated notes and steps every
melody is made of earns little and matching rare leaps much. IOI ratios agreeing within
``melody_ioi_tolerance_oct`` add the log-odds of agreement against the pair's own chance agreement
(:func:`rhythm_scores`).

A Smith-Waterman-Gotoh local alignment [1]_ [2]_ with affine gaps and Mongeau-Sankoff
consolidation/fragmentation [3]_ (two transitions of one line against one of the other, their
intervals summed, at ``melody_merge_penalty``: a note dropped or split by transcription costs
less than a gap plus a mismatch) finds the best-matching stretch; up to ``max_alignments``
non-overlapping stretches give the sections.

**Score = significance.** The best alignment score ``S`` of two lines of ``m`` and ``n``
transitions is read against what unrelated melodies of those lengths reach (Karlin-Altschul
statistics, fitted empirically for this gapped scheme: :mod:`.significance`): the reported raw
score is ``-log10 P`` with ``P = 1 - exp(-E)``, ``E = K m n exp(-lambda S)`` (``lambda`` and
``K`` with finite-size terms, settings ``melody_null_*``). A short melody
needs a near-perfect match to be significant, a long song copying a third of another is far above
chance, and the same threshold means the same false-alarm rate for every pair of lengths. The
aligned share of the shorter line (the score of earlier versions) is kept as
``FacetResult.share`` for reports.

**Joint line choice.** Each file keeps up to ``melody_candidates`` candidate lines
(:func:`.melody_line.melody_candidates`); every pair of candidates, one per file, is aligned and
the most significant pair is used, its E-value multiplied by the number of pairs tried
(Bonferroni), so trying more lines cannot make unrelated songs look similar.

References
----------
.. [1] Smith, T. F., Waterman, M. S. (1981). Identification of common molecular subsequences.
       J. Mol. Biol. 147, 195-197.
.. [2] Gotoh, O. (1982). An improved algorithm for matching biological sequences. J. Mol. Biol.
       162, 705-708.
.. [3] Mongeau, M., Sankoff, D. (1990). Comparison of musical sequences. Computers and the
       Humanities 24, 161-175.
.. [4] Karlin, S., Altschul, S. F. (1990). Methods for assessing the statistical significance of
       molecular sequence features by using general scoring schemes. PNAS 87, 2264-2268.
.. [5] Altschul, S. F., Gish, W. (1996). Local alignment statistics. Methods Enzymol. 266, 460-480.
.. [6] Urbano, J., Lloréns, J., Morato, J., Sánchez-Cuadrado, S. (2011). Melodic similarity through
       shape similarity. CMMR 2010, LNCS 6684, 338-355.
.. [7] Henikoff, S., Henikoff, J. G. (1992). Amino acid substitution matrices from protein blocks.
       PNAS 89(22), 10915-10919 (log-odds substitution scores).

Deviations from MelodyShape [6]_
--------------------------------
1. No spline interpolation of the pitch-time curve: transitions are aligned directly (local
   alignment, as MelodyShape's ``ShapeL``) on pitch interval + IOI ratio.
2. Transposition invariance by intervals (local: modulations are free), not by interval shapes.
3. Tempo invariance by IOI ratios (local), not by normalising the time axis of the whole piece.
4. Consolidation/fragmentation steps (Mongeau-Sankoff) for dropped and split notes.
5. The score is the alignment's significance given both lengths, not a normalised distance.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit

from ..errors import ParameterError
from .align import Alignment, _use_checkpoints
from .facet import FacetResult, nan_result
from .features import TrackFeatures
from .sections import path_sections
from .settings import SimilaritySettings
from .significance import NullModel, significance

__all__ = ["validate", "melody_similarity", "melody_transitions", "ioi_ratios", "pitch_class_histogram",
           "interval_histogram", "scoring_table", "rhythm_scores", "align_lines", "align_lines_raw", "self_score",
           "substitution_matrix",
           "melody_null_model", "line_candidates"]

_NEG = -1.0e18


def _check_line(label: str, p: np.ndarray, on: np.ndarray, off: np.ndarray) -> None:
    if not (p.shape == on.shape == off.shape) or p.ndim != 1:
        raise ParameterError(f"{label}: pitch/onset/offset shapes differ: {p.shape}, {on.shape}, {off.shape}")
    if p.size == 0:
        return
    if not (np.isfinite(on.sum()) and np.isfinite(off.sum())):
        raise ParameterError(f"{label}: non-finite note times")
    lo, hi = int(p.min()), int(p.max())
    if lo < 0 or hi > 127:
        raise ParameterError(f"{label}: pitch outside 0-127 ({lo}..{hi})")
    if (off < on).any():
        raise ParameterError(f"{label}: a note ends before it starts")


def validate(fa: TrackFeatures, fb: TrackFeatures) -> None:
    """Raise ParameterError for malformed melody features.

    Malformed: onsets/offsets/pitches of different lengths, non-finite times, pitches outside
    0-127, offsets before onsets, onsets not sorted; candidate-line bounds that do not partition
    the candidate arrays.
    """
    for name, f in (("A", fa), ("B", fb)):
        # a track found well-formed once is not checked again (the sweep: every pair of a task)
        f.derived(("melody", "valid"), lambda: _check(name, f))


def _check(name: str, f: TrackFeatures) -> bool:
    _check_line(f"melody of {name}", f.melody_pitch, f.melody_onset, f.melody_offset)
    _check_line(f"candidate melody lines of {name}", f.melody_alt_pitch, f.melody_alt_onset, f.melody_alt_offset)
    on = f.melody_onset
    if on.size > 1 and (on[1:] < on[:-1]).any():
        raise ParameterError(f"melody of {name}: onsets not sorted")
    b = f.melody_alt_bounds
    if b.ndim != 1 or b.shape[0] < 1 or b[0] != 0 or b[-1] != f.melody_alt_pitch.shape[0] or (b[1:] < b[:-1]).any():
        raise ParameterError(f"candidate melody lines of {name}: bounds {b.tolist()} do not partition "
                             f"{f.melody_alt_pitch.shape[0]} notes")
    return True


def ioi_ratios(onset: np.ndarray) -> np.ndarray:
    """log2(next IOI / previous IOI) per note, 0 at the ends, clipped to +-3 (octaves of ratio).

    Parameters
    ----------
    onset : np.ndarray [shape=(n,)] in s

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    n = onset.shape[0]
    out = np.zeros(n)
    if n < 3:
        return out
    ioi = np.maximum(np.diff(onset), 1e-3)
    out[1:-1] = np.log2(ioi[1:] / ioi[:-1])
    return np.clip(out, -3.0, 3.0)


def melody_transitions(pitch: np.ndarray, onset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The line's transitions: pitch interval and IOI ratio of note ``i`` after note ``i - 1``.

    Parameters
    ----------
    pitch : np.ndarray [shape=(n,), int]
    onset : np.ndarray [shape=(n,)] in s

    Returns
    -------
    interval : np.ndarray [shape=(max(n - 1, 0),), int64]
        ``pitch[i] - pitch[i - 1]`` for i = 1..n-1.
    ratio : np.ndarray [shape=(max(n - 1, 0),), float64]
        ``log2((onset[i] - onset[i-1]) / (onset[i-1] - onset[i-2]))`` clipped to +-3; 0 for the
        first transition (no previous IOI).

    Examples
    --------
    >>> iv, r = melody_transitions(np.array([60, 62, 62, 67]), np.array([0.0, 0.5, 1.0, 2.0]))
    >>> iv.tolist(), r.tolist()
    ([2, 0, 5], [0.0, 0.0, 1.0])
    """
    p = np.asarray(pitch, dtype=np.int64)
    on = np.asarray(onset, dtype=np.float64)
    n = p.shape[0]
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0)
    iv = np.diff(p)
    ioi = np.maximum(np.diff(on), 1e-3)
    r = np.zeros(n - 1)
    r[1:] = np.clip(np.log2(ioi[1:] / ioi[:-1]), -3.0, 3.0)
    return iv, r


def pitch_class_histogram(pitch: np.ndarray, onset: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Duration-weighted pitch-class histogram [shape=(12,)] (durations capped at 2 s)."""
    w = np.minimum(offset - onset, 2.0)
    return np.bincount(pitch.astype(np.int64) % 12, weights=w, minlength=12)


@njit(cache=True, inline="always")
def _code(x, r):  # pragma: no cover - compiled
    """Interval -> table index: clipped to +-r semitones, shifted to 0..2r."""
    if x > r:
        x = r
    elif x < -r:
        x = -r
    return x + r


@njit(cache=True)
def _align(iv_a, r_a, iv_b, r_b, blk_a, blk_b, T, R, r_agree, r_disagree, tol, gap_open, gap_extend,
           merge, want_path):  # pragma: no cover - compiled
    """Gotoh local alignment of two transition sequences with consolidation/fragmentation.

    ``T[code(x), code(y)]`` is the pitch score of intervals x and y (:func:`_code`, clip ``R``);
    IOI ratios within ``tol`` add ``r_agree``, else ``r_disagree``. Returns (best, rows, cols):
    rows/cols are the transitions of a and b paired on the best path (empty when ``want_path`` is
    False). Cells of blocked rows (``blk_a``) or columns (``blk_b``) cannot be used
    (Waterman-Eggert repeats).
    """
    n = iv_a.shape[0]
    m = iv_b.shape[0]
    cb = np.empty(m, dtype=np.int64)
    cb2 = np.empty(m, dtype=np.int64)   # code of the sum of b's transitions j-1 and j
    for j in range(m):
        cb[j] = _code(iv_b[j], R)
        cb2[j] = _code(iv_b[j] + iv_b[j - 1], R) if j >= 1 else 0
    H2 = np.zeros(m + 1)      # row i-2
    H1 = np.zeros(m + 1)      # row i-1
    H0 = np.zeros(m + 1)      # row i
    F1 = np.full(m + 1, _NEG)
    F0 = np.full(m + 1, _NEG)
    # traceback, one byte per cell: bits 0-2 the move into H (0 stop, 1 diag, 2 from E, 3 from F,
    # 4 consolidation (i-1, j-2), 5 fragmentation (i-2, j-1)); bit 3 E extended, bit 4 F extended
    TB = np.zeros((n + 1, m + 1) if want_path else (1, 1), dtype=np.int8)
    use_merge = merge >= 0.0
    any_blk = False
    for j in range(m):
        any_blk = any_blk or blk_b[j]
    best = 0.0
    bi = 0
    bj = 0
    for i in range(1, n + 1):
        H0[0] = 0.0
        F0[0] = _NEG
        E = _NEG
        if blk_a[i - 1]:
            for j in range(m + 1):
                H0[j] = 0.0
                F0[j] = _NEG
        else:
            Trow = T[_code(iv_a[i - 1], R)]
            Trow2 = T[_code(iv_a[i - 1] + iv_a[i - 2], R) if i >= 2 else 0]
            ra = r_a[i - 1]
            can_frag = use_merge and i >= 2 and not blk_a[i - 2]
            for j in range(1, m + 1):
                if any_blk and blk_b[j - 1]:
                    H0[j] = 0.0
                    F0[j] = _NEG
                    E = _NEG
                    continue
                # E: gap in a (consume a column of b); F: gap in b (consume a row of a)
                e_open = H0[j - 1] - gap_open
                e_ext = E - gap_extend
                E = max(e_ext, e_open)
                f_open = H1[j] - gap_open
                f_ext = F1[j] - gap_extend
                f = max(f_ext, f_open)
                F0[j] = f
                s = Trow[cb[j - 1]] + (r_agree if abs(ra - r_b[j - 1]) <= tol else r_disagree)
                d = H1[j - 1] + s
                h = max(max(d, 0.0), max(E, f))
                if use_merge:
                    c4 = _NEG
                    c5 = _NEG
                    if j >= 2 and not (any_blk and blk_b[j - 2]):
                        c4 = H1[j - 2] + Trow[cb2[j - 1]] - merge
                    if can_frag:
                        c5 = H2[j - 1] + Trow2[cb[j - 1]] - merge
                    h = max(h, max(c4, c5))
                H0[j] = h
                if want_path:
                    # the move that gave h (same preference order as a chain of strict ">": diag first)
                    t = 0
                    if h > 0.0:
                        if h == d:
                            t = 1
                        elif h == E:
                            t = 2
                        elif h == f:
                            t = 3
                        elif use_merge and h == c4:
                            t = 4
                        else:
                            t = 5
                    if e_ext > e_open:
                        t |= 8
                    if f_ext > f_open:
                        t |= 16
                    TB[i, j] = t
                if h > best:
                    best = h
                    bi = i
                    bj = j
        # rotate the rows (references, no copies)
        H2, H1, H0 = H1, H0, H2
        F1, F0 = F0, F1
    rows = np.empty(min(n, m) + 1, dtype=np.int64)
    cols = np.empty(min(n, m) + 1, dtype=np.int64)
    k = 0
    if not want_path:
        return best, rows[:0], cols[:0]
    i = bi
    j = bj
    state = 0
    while i > 0 and j > 0:
        if state == 0:
            t = TB[i, j] & 7
            if t == 0:
                break
            if t == 1:
                rows[k] = i - 1
                cols[k] = j - 1
                k += 1
                i -= 1
                j -= 1
            elif t == 4:
                rows[k] = i - 1
                cols[k] = j - 1
                k += 1
                i -= 1
                j -= 2
            elif t == 5:
                rows[k] = i - 1
                cols[k] = j - 1
                k += 1
                i -= 2
                j -= 1
            else:
                state = t
        elif state == 2:
            ext = TB[i, j] & 8
            j -= 1
            if ext == 0:
                state = 0
        else:
            ext = TB[i, j] & 16
            i -= 1
            if ext == 0:
                state = 0
    return best, rows[:k][::-1].copy(), cols[:k][::-1].copy()


@njit(cache=True, inline="always")
def _align_row(i, jmax, iv_a, r_a, blk_a, blk_b, any_blk, cb, cb2, r_b, T, R, r_agree, r_disagree, tol, gap_open,
               gap_extend, merge, H2, H1, H0, F1, F0, tb, want_tb, best):  # pragma: no cover - compiled
    """Row ``i`` of :func:`_align`'s recurrence on columns ``0..jmax`` (the same operations in the
    same order) into ``H0``/``F0`` from rows ``i - 1`` (``H1``, ``F1``) and ``i - 2`` (``H2``);
    traceback bytes into ``tb[j]`` when ``want_tb``. Returns the running best and the column where
    this row raised it (0: not raised)."""
    use_merge = merge >= 0.0
    bj = 0
    H0[0] = 0.0
    F0[0] = _NEG
    E = _NEG
    if blk_a[i - 1]:
        for j in range(jmax + 1):
            H0[j] = 0.0
            F0[j] = _NEG
            if want_tb:
                tb[j] = 0
        return best, bj
    Trow = T[_code(iv_a[i - 1], R)]
    Trow2 = T[_code(iv_a[i - 1] + iv_a[i - 2], R) if i >= 2 else 0]
    ra = r_a[i - 1]
    can_frag = use_merge and i >= 2 and not blk_a[i - 2]
    for j in range(1, jmax + 1):
        if any_blk and blk_b[j - 1]:
            H0[j] = 0.0
            F0[j] = _NEG
            E = _NEG
            if want_tb:
                tb[j] = 0
            continue
        e_open = H0[j - 1] - gap_open
        e_ext = E - gap_extend
        E = max(e_ext, e_open)
        f_open = H1[j] - gap_open
        f_ext = F1[j] - gap_extend
        f = max(f_ext, f_open)
        F0[j] = f
        s = Trow[cb[j - 1]] + (r_agree if abs(ra - r_b[j - 1]) <= tol else r_disagree)
        d = H1[j - 1] + s
        h = max(max(d, 0.0), max(E, f))
        c4 = _NEG
        c5 = _NEG
        if use_merge:
            if j >= 2 and not (any_blk and blk_b[j - 2]):
                c4 = H1[j - 2] + Trow[cb2[j - 1]] - merge
            if can_frag:
                c5 = H2[j - 1] + Trow2[cb[j - 1]] - merge
            h = max(h, max(c4, c5))
        H0[j] = h
        if want_tb:
            t = 0
            if h > 0.0:
                if h == d:
                    t = 1
                elif h == E:
                    t = 2
                elif h == f:
                    t = 3
                elif use_merge and h == c4:
                    t = 4
                else:
                    t = 5
            if e_ext > e_open:
                t |= 8
            if f_ext > f_open:
                t |= 16
            tb[j] = t
        if h > best:
            best = h
            bj = j
    return best, bj


@njit(cache=True)
def _align_ckpt(iv_a, r_a, iv_b, r_b, blk_a, blk_b, T, R, r_agree, r_disagree, tol, gap_open, gap_extend,
                merge, block):  # pragma: no cover - compiled
    """:func:`_align` with a path, in memory linear in ``m`` per block of rows: the same alignment.

    The forward pass keeps three rows of H and two of F, and before every ``block``-th row a copy
    of the two rows of H and the row of F it starts from (the checkpoints); the traceback
    recomputes, from its checkpoint, the block of rows it is in (up to its current row and column:
    every move goes up and/or left) with one traceback byte per cell of that block. Every cell is
    computed by the same operations as in :func:`_align`, so the score, the end cell and the path
    are the same to the bit (see :func:`.align._sw_affine_table_ckpt`). Memory:
    ``3 (n / block + 1) (m + 1)`` floats and ``(block + 1) (m + 1)`` bytes."""
    n = iv_a.shape[0]
    m = iv_b.shape[0]
    cb = np.empty(m, dtype=np.int64)
    cb2 = np.empty(m, dtype=np.int64)
    for j in range(m):
        cb[j] = _code(iv_b[j], R)
        cb2[j] = _code(iv_b[j] + iv_b[j - 1], R) if j >= 1 else 0
    any_blk = False
    for j in range(m):
        any_blk = any_blk or blk_b[j]
    nck = (n - 1) // block + 1
    C2 = np.empty((nck, m + 1))
    C1 = np.empty((nck, m + 1))
    CF = np.empty((nck, m + 1))
    H2 = np.zeros(m + 1)
    H1 = np.zeros(m + 1)
    H0 = np.zeros(m + 1)
    F1 = np.full(m + 1, _NEG)
    F0 = np.full(m + 1, _NEG)
    notb = np.zeros(1, dtype=np.int8)
    best = 0.0
    bi = 0
    bj = 0
    for i in range(1, n + 1):
        if (i - 1) % block == 0:
            k = (i - 1) // block
            C2[k, :] = H2
            C1[k, :] = H1
            CF[k, :] = F1
        best, j = _align_row(i, m, iv_a, r_a, blk_a, blk_b, any_blk, cb, cb2, r_b, T, R, r_agree, r_disagree, tol,
                             gap_open, gap_extend, merge, H2, H1, H0, F1, F0, notb, False, best)
        if j > 0:
            bi = i
            bj = j
        H2, H1, H0 = H1, H0, H2
        F1, F0 = F0, F1
    TB = np.zeros((block + 1, m + 1), dtype=np.int8)
    loaded = -1
    rows = np.empty(min(n, m) + 1, dtype=np.int64)
    cols = np.empty(min(n, m) + 1, dtype=np.int64)
    k = 0
    i = bi
    j = bj
    state = 0
    while i > 0 and j > 0:
        blk = (i - 1) // block
        r0 = blk * block
        if blk != loaded:
            for c in range(j + 1):
                H2[c] = C2[blk, c]
                H1[c] = C1[blk, c]
                F1[c] = CF[blk, c]
            for r in range(r0 + 1, i + 1):
                _align_row(r, j, iv_a, r_a, blk_a, blk_b, any_blk, cb, cb2, r_b, T, R, r_agree, r_disagree, tol,
                           gap_open, gap_extend, merge, H2, H1, H0, F1, F0, TB[r - r0], True, 0.0)
                H2, H1, H0 = H1, H0, H2
                F1, F0 = F0, F1
            loaded = blk
        tbyte = TB[i - r0, j]
        if state == 0:
            t = tbyte & 7
            if t == 0:
                break
            if t == 1:
                rows[k] = i - 1
                cols[k] = j - 1
                k += 1
                i -= 1
                j -= 1
            elif t == 4:
                rows[k] = i - 1
                cols[k] = j - 1
                k += 1
                i -= 1
                j -= 2
            elif t == 5:
                rows[k] = i - 1
                cols[k] = j - 1
                k += 1
                i -= 2
                j -= 1
            else:
                state = t
        elif state == 2:
            j -= 1
            if tbyte & 8 == 0:
                state = 0
        else:
            i -= 1
            if tbyte & 16 == 0:
                state = 0
    return best, rows[:k][::-1].copy(), cols[:k][::-1].copy()


@njit(cache=True)
def _best_score(iv_a, r_a, iv_b, r_b, T, R, r_agree, r_disagree, tol, gap_open, gap_extend,
                merge):  # pragma: no cover - compiled
    """The best score of :func:`_align` (same recurrence), without path or blocks: the common case.

    Scalars carry the left, diagonal and diagonal-before cells, so each cell reads two arrays and
    writes two (4-5 ns per cell on one core of the benchmark machine).
    """
    n = iv_a.shape[0]
    m = iv_b.shape[0]
    cb = np.empty(m, dtype=np.int64)
    cb2 = np.empty(m, dtype=np.int64)
    for j in range(m):
        cb[j] = _code(iv_b[j], R)
        cb2[j] = _code(iv_b[j] + iv_b[j - 1], R) if j >= 1 else 0
    H2 = np.zeros(m + 1)
    H1 = np.zeros(m + 1)
    H0 = np.zeros(m + 1)
    F = np.full(m + 1, _NEG)
    use_merge = merge >= 0.0
    best = 0.0
    for i in range(1, n + 1):
        Trow = T[_code(iv_a[i - 1], R)]
        Trow2 = T[_code(iv_a[i - 1] + iv_a[i - 2], R) if i >= 2 else 0]
        ra = r_a[i - 1]
        can_frag = use_merge and i >= 2
        E = _NEG
        hl = 0.0          # H[i, j-1]
        d1 = 0.0          # H[i-1, j-1]
        d2 = 0.0          # H[i-1, j-2]
        for j in range(1, m + 1):
            h1j = H1[j]
            E = max(E - gap_extend, hl - gap_open)
            f = max(F[j] - gap_extend, h1j - gap_open)
            F[j] = f
            c = cb[j - 1]
            s = Trow[c] + (r_agree if abs(ra - r_b[j - 1]) <= tol else r_disagree)
            h = max(max(d1 + s, 0.0), max(E, f))
            if use_merge:
                if j >= 2:
                    h = max(h, d2 + Trow[cb2[j - 1]] - merge)
                if can_frag:
                    h = max(h, H2[j - 1] + Trow2[c] - merge)
            H0[j] = h
            if h > best:
                best = h
            d2 = d1
            d1 = h1j
            hl = h
        H2, H1, H0 = H1, H0, H2
    return best


def interval_histogram(interval: np.ndarray, clip: int) -> np.ndarray:
    """Counts [shape=(2 clip + 1,)] of a line's intervals, clipped to +-``clip`` semitones."""
    return np.bincount(np.clip(np.asarray(interval, dtype=np.int64), -clip, clip) + clip,
                       minlength=2 * clip + 1).astype(np.float64)


def scoring_table(hist_a: np.ndarray, hist_b: np.ndarray, *, settings: SimilaritySettings) -> np.ndarray:
    """Log-odds pitch scores (bits) of every pair of (clipped) intervals for one pair of lines.

    Background ``p``: the two lines' own interval frequencies (pooled, plus
    ``melody_pseudo_count`` spread evenly), so matching the intervals a pair uses all the time
    (repeated notes, steps) is weaker evidence than matching its rare leaps (composition-based
    scores, as BLAST's [4]_). Copy model: an interval is kept with probability ``melody_same_rate``,
    becomes a neighbour a semitone or an octave away with ``melody_near_rate`` (split evenly), else
    any interval at background rates. ``T[x, y] = log2(Q(x, y) / (p(x) p(y)))`` with ``Q`` the
    symmetrised copy distribution.

    Returns
    -------
    np.ndarray [shape=(C, C)]
        ``C = 2 melody_interval_clip + 1``.
    """
    s = settings
    R = int(s.melody_interval_clip)
    C = 2 * R + 1
    cnt = np.asarray(hist_a, dtype=np.float64) + np.asarray(hist_b, dtype=np.float64)
    p = (cnt + s.melody_pseudo_count / C) / (cnt.sum() + s.melody_pseudo_count)
    near, n_near = _neighbours(C)
    rho, nu = float(s.melody_same_rate), float(s.melody_near_rate)
    # q(y | x): same, near (even share), else background renormalised over the rest
    rest_p = 1.0 - p - (near * p[None, :]).sum(axis=1)                       # background mass of "other" y
    # Q = symmetrised p(x) q(y | x), then T = log2(Q / (p(x) p(y))): elementwise, in one kernel
    # (the same operations as the numpy expressions it replaced; the logarithm stays numpy's)
    T = np.log2(_copy_odds(p, rest_p, near, n_near, rho, nu))
    # an interval so common that a copy keeps it less often than chance repeats it (a line of
    # repeated notes) carries no evidence: its match scores 0, never against the pair
    np.fill_diagonal(T, np.maximum(np.diag(T), 0.0))
    return T


@functools.lru_cache(maxsize=4)
def _neighbours(C: int) -> tuple[np.ndarray, np.ndarray]:
    """Which interval codes are a semitone or an octave apart [shape=(C, C), bool], and how many
    each has [shape=(C,), int64] (read-only, kept)."""
    x = np.arange(C)
    d = np.abs(x[:, None] - x[None, :])
    near = (d == 1) | (d == 12)
    n_near = near.sum(axis=1)
    near.setflags(write=False)
    n_near.setflags(write=False)
    return near, n_near


@njit(cache=True, error_model="numpy")   # a division by 0 gives inf/nan, as numpy's
def _copy_odds(p, rest_p, near, n_near, rho, nu):  # pragma: no cover - compiled
    """``Q(x, y) / (p(x) p(y))`` of :func:`scoring_table`."""
    C = p.shape[0]
    q = np.empty((C, C))
    other = 1.0 - rho - nu
    for x in range(C):
        for y in range(C):
            if x == y:
                q[x, y] = rho
            elif near[x, y]:
                q[x, y] = nu / n_near[x]
            else:
                q[x, y] = other * p[y] / rest_p[x]
    out = np.empty((C, C))
    for x in range(C):
        for y in range(C):
            out[x, y] = 0.5 * (p[x] * q[x, y] + p[y] * q[y, x]) / (p[x] * p[y])
    return out


def rhythm_scores(r_a: np.ndarray, r_b: np.ndarray, *, settings: SimilaritySettings) -> tuple[float, float]:
    """Log-odds (bits, times ``melody_rhythm_weight``) of two transitions' IOI ratios agreeing or not.

    Chance agreement ``pi`` is this pair's own: the share of all (i, j) with
    ``|r_a[i] - r_b[j]| <= melody_ioi_tolerance_oct``; a copy agrees with ``melody_rhythm_same_rate``
    (``sigma``). Where ``pi >= sigma`` (even rhythms agree anyway) both scores are 0.

    Returns
    -------
    (agree, disagree) : (float, float)
    """
    s = settings
    tol = s.melody_ioi_tolerance_oct
    if r_a.size == 0 or r_b.size == 0:
        return 0.0, 0.0
    rb = np.sort(r_b)
    hits = np.searchsorted(rb, r_a + tol, side="right") - np.searchsorted(rb, r_a - tol, side="left")
    pi = float(np.clip(hits.sum() / (r_a.size * r_b.size), 0.02, 0.98))
    sigma = float(s.melody_rhythm_same_rate)
    if pi >= sigma:
        # rhythms that agree by chance at least as often as a copy keeps them (an even line): no evidence
        return 0.0, 0.0
    w = float(s.melody_rhythm_weight)
    return w * math.log2(sigma / pi), w * math.log2((1.0 - sigma) / (1.0 - pi))


def align_lines_raw(iv_a, r_a, iv_b, r_b, T, ragree, rdis, *, settings: SimilaritySettings, max_alignments: int = 1,
                    min_score: float = 0.0, want_path: bool = True, max_cells: int | None = None,
                    block: int | None = None) -> list[Alignment]:
    """:func:`align_lines` on precomputed transitions and scores (rows/cols are transition indices).

    Above ``max_cells`` cells (default :data:`.align.TRACEBACK_MAX_CELLS`) the path is traced with
    checkpoints, ``block`` rows per block (default :func:`.align.checkpoint_block`): the same
    alignments in memory that grows with ``sqrt(n) m``, not ``n m``."""
    s = settings
    if not want_path:
        best = _best_score(iv_a, r_a, iv_b, r_b, T, int(s.melody_interval_clip), float(ragree), float(rdis),
                           float(s.melody_ioi_tolerance_oct), float(s.melody_gap_open), float(s.melody_gap_extend),
                           float(s.melody_merge_penalty))
        return [Alignment(float(best), np.zeros(0, np.int64), np.zeros(0, np.int64))]
    blk_a = np.zeros(iv_a.shape[0], np.bool_)
    blk_b = np.zeros(iv_b.shape[0], np.bool_)
    rows_per_block = _use_checkpoints(iv_a.shape[0], iv_b.shape[0], max_cells, block)
    out: list[Alignment] = []
    for k in range(max(1, int(max_alignments)) if want_path else 1):
        args = (iv_a, r_a, iv_b, r_b, blk_a, blk_b, T, int(s.melody_interval_clip), float(ragree), float(rdis),
                float(s.melody_ioi_tolerance_oct), float(s.melody_gap_open), float(s.melody_gap_extend),
                float(s.melody_merge_penalty))
        if rows_per_block and iv_a.shape[0] and iv_b.shape[0]:
            best, rows, cols = _align_ckpt(*args, rows_per_block)
        else:
            best, rows, cols = _align(*args, bool(want_path))
        if k > 0 and (best < min_score or rows.shape[0] == 0):
            break
        if rows.shape[0]:
            blk_a[rows[0]:rows[-1] + 1] = True
            blk_b[cols[0]:cols[-1] + 1] = True
        out.append(Alignment(float(best), rows, cols))
        if rows.shape[0] == 0:
            break
    return out


def align_lines(pa: np.ndarray, oa: np.ndarray, pb: np.ndarray, ob: np.ndarray, *, settings: SimilaritySettings,
                max_alignments: int = 1, min_score: float = 0.0, want_path: bool = True, max_cells: int | None = None,
                block: int | None = None) -> list[Alignment]:
    """Up to ``max_alignments`` non-overlapping local alignments of two melody lines, best first.

    Parameters
    ----------
    pa, oa, pb, ob : np.ndarray
        Pitches and onsets (s) of line a and line b.
    settings : SimilaritySettings
        ``melody_*`` scoring, gap and merge values.
    max_alignments : int
        >= 1; after each alignment the transitions it spans are blocked in both lines.
    min_score : float
        Alignments after the first are kept only while they score at least this.
    want_path : bool
        False: the best score only (no path; faster, one alignment).
    max_cells, block : int, optional
        Memory of the path: see :func:`align_lines_raw`.

    Returns
    -------
    list of Alignment
        Scores in bits; ``rows``/``cols`` are NOTE indices (the arriving note of each paired
        transition, plus the departing note of the first pair), so they index the lines' arrays.
    """
    iv_a, r_a = melody_transitions(pa, oa)
    iv_b, r_b = melody_transitions(pb, ob)
    R = int(settings.melody_interval_clip)
    T = scoring_table(interval_histogram(iv_a, R), interval_histogram(iv_b, R), settings=settings)
    ragree, rdis = rhythm_scores(r_a, r_b, settings=settings)
    out = []
    for al in align_lines_raw(iv_a, r_a, iv_b, r_b, T, ragree, rdis, settings=settings,
                              max_alignments=max_alignments, min_score=min_score, want_path=want_path,
                              max_cells=max_cells, block=block):
        if al.rows.shape[0]:
            # transitions -> notes: transition t arrives at note t + 1; the first pair's departing notes lead
            al = Alignment(al.score, np.concatenate([[al.rows[0]], al.rows + 1]).astype(np.int64),
                           np.concatenate([[al.cols[0]], al.cols + 1]).astype(np.int64))
        out.append(al)
    return out


def substitution_matrix(pa: np.ndarray, oa: np.ndarray, pb: np.ndarray, ob: np.ndarray, *,
                        settings: SimilaritySettings) -> np.ndarray:
    """The dense transition-by-transition score matrix (bits) of two lines, without the merge moves.

    What the kernel computes on the fly, for the benchmark's numpy baseline
    (:func:`.align.sw_score_numpy` on it equals :func:`align_lines` with ``melody_merge_penalty < 0``).

    Returns
    -------
    np.ndarray [shape=(n - 1, m - 1)]
    """
    iv_a, r_a = melody_transitions(pa, oa)
    iv_b, r_b = melody_transitions(pb, ob)
    R = int(settings.melody_interval_clip)
    T = scoring_table(interval_histogram(iv_a, R), interval_histogram(iv_b, R), settings=settings)
    ag, dis = rhythm_scores(r_a, r_b, settings=settings)
    agree = np.abs(r_a[:, None] - r_b[None, :]) <= settings.melody_ioi_tolerance_oct
    return T[np.clip(iv_a, -R, R)[:, None] + R, np.clip(iv_b, -R, R)[None, :] + R] + np.where(agree, ag, dis)


def self_score(pitch: np.ndarray, onset: np.ndarray, *, settings: SimilaritySettings) -> float:
    """What a line scores aligned with itself (bits): the top of its aligned share."""
    iv, r = melody_transitions(pitch, onset)
    R = int(settings.melody_interval_clip)
    h = interval_histogram(iv, R)
    T = scoring_table(h, h, settings=settings)
    agree, _ = rhythm_scores(r, r, settings=settings)
    c = np.clip(iv, -R, R) + R
    return float(np.sum(T[c, c]) + agree * iv.shape[0])


def melody_null_model(settings: SimilaritySettings) -> NullModel:
    """The fitted chance model of this scoring scheme (settings ``melody_null_*``)."""
    return NullModel(lam=settings.melody_null_lambda, k=settings.melody_null_k,
                     lam_short=settings.melody_null_lambda_short, k_short=settings.melody_null_k_short,
                     power=settings.melody_null_power)


def line_candidates(f: TrackFeatures) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A track's candidate melody lines ``(pitch, onset, offset)``: the primary line (the
    ``melody_*`` fields) first, then the ``melody_alt_*`` lines."""
    out = [(f.melody_pitch, f.melody_onset, f.melody_offset)]
    b = f.melody_alt_bounds
    for k in range(b.shape[0] - 1):
        sl = slice(int(b[k]), int(b[k + 1]))
        out.append((f.melody_alt_pitch[sl], f.melody_alt_onset[sl], f.melody_alt_offset[sl]))
    return out


def _transposition(pa, pb, al: Alignment) -> int:
    """Most common key shift (semitones mod 12 added to b to match a) over the aligned notes."""
    if al.rows.shape[0] == 0:
        return -1
    d = (pa[al.rows].astype(np.int64) - pb[al.cols].astype(np.int64)) % 12
    return int(np.argmax(np.bincount(d, minlength=12)))


def melody_similarity(fa: TrackFeatures, fb: TrackFeatures, *, settings: SimilaritySettings) -> FacetResult:
    """Melody significance and matching sections of query ``fa`` against original ``fb``.

    Parameters
    ----------
    fa, fb : TrackFeatures
        Query and original.
    settings : SimilaritySettings
        ``melody_*`` values, ``min_melody_notes``, ``max_alignments``, section rules.

    Returns
    -------
    FacetResult
        ``raw_score`` (and ``score``, until calibrated by :func:`.compare.compare_features`) =
        ``-log10 P`` of the best alignment of the best candidate pair (Bonferroni over the pairs
        tried); ``share`` = its aligned share of the shorter line (0-100); ``candidates`` = the
        candidate line used in each file (0 = the primary line); ``transposition`` = the most
        common key shift over the aligned notes. NaN with a ``reason`` when either primary line
        has fewer than ``min_melody_notes`` notes (not enough material).

    References
    ----------
    See the module docstring ([1]_-[5]_, and its list of deviations from MelodyShape).
    """
    validate(fa, fb)
    s = settings
    na, nb = fa.melody_pitch.shape[0], fb.melody_pitch.shape[0]
    for side, n in (("A", na), ("B", nb)):
        if n < s.min_melody_notes:
            return nan_result(f"melody of {side} has {n} note{'s' if n != 1 else ''}; "
                              f"at least {s.min_melody_notes} are needed")
    null = melody_null_model(s)
    R = int(s.melody_interval_clip)
    ca, cb = _lines(fa, s), _lines(fb, s)
    tries = len(ca) * len(cb)
    tol = float(s.melody_ioi_tolerance_oct)
    # score every candidate pair (score only: no path), keep the most significant
    best = (-np.inf, 0, 0, 0.0, None)
    for i, la in enumerate(ca):
        for j, lb in enumerate(cb):
            T = scoring_table(la.hist, lb.hist, settings=s)
            ag, dis = _rhythm_scores(la, lb, settings=s)
            score = float(_best_score(la.iv, la.r, lb.iv, lb.r, T, R, float(ag), float(dis), tol,
                                      float(s.melody_gap_open), float(s.melody_gap_extend),
                                      float(s.melody_merge_penalty)))
            sig = significance(score, la.iv.shape[0], lb.iv.shape[0], null, tries=tries)
            if sig > best[0]:
                best = (sig, i, j, score, (T, ag, dis))
    sig, i, j, score, (T, ag, dis) = best
    la, lb = ca[i], cb[j]
    pa, oa, iva, ra = la.pitch, la.onset, la.iv, la.r
    pb, ob, ivb, rb = lb.pitch, lb.onset, lb.iv, lb.r
    # aligned share: the score against what the shorter line scores with itself (this pair's scores)
    short = la if iva.shape[0] <= ivb.shape[0] else lb
    top = float(np.sum(T[short.codes, short.codes]) + ag * short.iv.shape[0])
    share = 100.0 * min(max(score / top, 0.0), 1.0) if top > 0 else float("nan")
    if sig < s.melody_sections_min_significance:
        # no stretch matches beyond chance: no section is claimed (and no path is computed: most
        # pairs of a catalog sweep end here, at the cost of one score-only alignment per pair)
        return FacetResult(float(sig), [], -1, (), raw_score=float(sig), share=share, candidates=(i, j))
    als = []
    for al in align_lines_raw(iva, ra, ivb, rb, T, ag, dis, settings=s, max_alignments=s.max_alignments,
                              min_score=s.extra_alignment_min_fraction * score):
        if al.rows.shape[0]:
            al = Alignment(al.score, np.concatenate([[al.rows[0]], al.rows + 1]).astype(np.int64),
                           np.concatenate([[al.cols[0]], al.cols + 1]).astype(np.int64))
        als.append(al)
    sections = []
    for al in als:
        sections += path_sections(al.rows, al.cols, oa, ob, a_end=float(fa.duration[0]), b_end=float(fb.duration[0]),
                                  merge_gap_ms=s.merge_gap_ms, min_section_ms=s.min_section_ms)
    sections.sort(key=lambda x: x.start_ms)
    return FacetResult(float(sig), sections, _transposition(pa, pb, als[0]), tuple(als), raw_score=float(sig),
                       share=share, candidates=(i, j))


class _Line:
    """What the melody facet derives from one candidate line alone (kept on the track, :func:`_lines`):
    its transitions, their clipped interval codes and histogram, the IOI ratios sorted."""

    def __init__(self, pitch: np.ndarray, onset: np.ndarray, clip: int):
        self.pitch, self.onset = pitch, onset
        self.iv, self.r = melody_transitions(pitch, onset)
        self.hist = interval_histogram(self.iv, clip)
        self.codes = np.clip(self.iv, -clip, clip) + clip
        self.r_sorted = np.sort(self.r)


def _lines(f: TrackFeatures, settings: SimilaritySettings) -> list[_Line]:
    """The track's candidate lines with at least ``min_melody_notes`` notes (:func:`line_candidates`),
    as :class:`_Line` (kept on the track per interval clip and minimum)."""
    R, low = int(settings.melody_interval_clip), int(settings.min_melody_notes)
    return f.derived(("melody", "lines", R, low),
                     lambda: [_Line(p, on, R) for p, on, _ in line_candidates(f) if p.shape[0] >= low])


def _rhythm_scores(la: _Line, lb: _Line, *, settings: SimilaritySettings) -> tuple[float, float]:
    """:func:`rhythm_scores` of two lines, b's ratios sorted once per line (the same result)."""
    s = settings
    tol = s.melody_ioi_tolerance_oct
    r_a, rb = la.r, lb.r_sorted
    if r_a.size == 0 or rb.size == 0:
        return 0.0, 0.0
    hits = np.searchsorted(rb, r_a + tol, side="right") - np.searchsorted(rb, r_a - tol, side="left")
    pi = min(max(float(hits.sum() / (r_a.size * rb.size)), 0.02), 0.98)     # np.clip of a scalar, faster
    sigma = float(s.melody_rhythm_same_rate)
    if pi >= sigma:
        return 0.0, 0.0
    w = float(s.melody_rhythm_weight)
    return w * math.log2(sigma / pi), w * math.log2((1.0 - sigma) / (1.0 - pi))
