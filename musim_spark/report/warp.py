"""Which note of A matches which note of B, and B's timeline warped onto A's (and back).

The melody facet (:mod:`musim_spark.similarity.melody`) keeps its best alignments as note index
pairs of the candidate lines it used (``FacetResult.alignments`` and ``.candidates``); this module
turns them into what a reviewer looks at: the matched note pairs (:func:`matched_notes`), a
monotone chain of them that can serve as a time map (:func:`monotone_pairs`), and the piecewise
linear map itself (:func:`warp_times`). Nothing here changes a score: it only reads the result.

Examples
--------
>>> warp_times(np.array([0.0, 1.2, 2.4, 3.6]), np.array([1.2, 2.4]), np.array([1.0, 2.0]))
array([0., 1., 2., 3.])
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..similarity.facet import FacetResult
from ..similarity.features import TrackFeatures
from ..similarity.melody import line_candidates

__all__ = ["NoteMatch", "matched_notes", "monotone_pairs", "warp_times", "time_map"]


@dataclasses.dataclass(frozen=True)
class NoteMatch:
    """The melody lines a pair was judged on and their matched notes.

    Attributes
    ----------
    pitch_a, onset_a, offset_a : np.ndarray [shape=(n,)]
        A's line (the candidate line the melody facet used; the primary line when none).
    pitch_b, onset_b, offset_b : np.ndarray [shape=(m,)]
        B's line, likewise.
    rows, cols : np.ndarray [shape=(k,), int64]
        Matched note pairs: ``rows[t]`` of A against ``cols[t]`` of B, sorted by ``rows``.
    shift : int
        Semitones added to B's pitches to reach A's (the most common difference over the matched
        pairs, octaves kept: -12..12 typically); 0 when nothing matched.
    same : np.ndarray [shape=(k,), bool]
        Whether each pair is the same note after ``shift`` up to octaves (an aligned pair whose
        pitch differs is an ornament, a changed note, or a transcription slip).
    """

    pitch_a: np.ndarray
    onset_a: np.ndarray
    offset_a: np.ndarray
    pitch_b: np.ndarray
    onset_b: np.ndarray
    offset_b: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    shift: int
    same: np.ndarray

    @property
    def n_matched(self) -> int:
        return int(self.rows.shape[0])


def _line(f: TrackFeatures, k: int):
    lines = line_candidates(f)
    return lines[k] if 0 <= k < len(lines) else lines[0]


def matched_notes(melody: FacetResult, fa: TrackFeatures, fb: TrackFeatures) -> NoteMatch:
    """The matched note pairs of a pair's melody facet result.

    Parameters
    ----------
    melody : FacetResult
        The melody facet of a :class:`~musim_spark.similarity.compare.PairResult`; its
        ``alignments`` hold NOTE indices into the candidate lines named by ``candidates``.
        A facet without a path (not significant, or not computed) gives no pairs.
    fa, fb : TrackFeatures
        The features the result was computed from.

    Returns
    -------
    NoteMatch
    """
    ia, ib = (tuple(melody.candidates) + (0, 0))[:2]
    pa, oa, fa_off = _line(fa, int(ia))
    pb, ob, fb_off = _line(fb, int(ib))
    rows = [np.asarray(al.rows, np.int64) for al in melody.alignments if np.asarray(al.rows).shape[0]]
    cols = [np.asarray(al.cols, np.int64) for al in melody.alignments if np.asarray(al.cols).shape[0]]
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    ok = (r >= 0) & (r < pa.shape[0]) & (c >= 0) & (c < pb.shape[0])
    r, c = r[ok], c[ok]
    order = np.argsort(r, kind="stable")
    r, c = r[order], c[order]
    if r.shape[0]:
        d = pa[r].astype(np.int64) - pb[c].astype(np.int64)
        vals, counts = np.unique(d, return_counts=True)
        shift = int(vals[np.argmax(counts)])
        same = (d - shift) % 12 == 0
    else:
        shift, same = 0, np.zeros(0, bool)
    return NoteMatch(pa, oa, fa_off, pb, ob, fb_off, r, c, shift, same)


def monotone_pairs(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Indices of the longest chain of pairs increasing strictly in both ``rows`` and ``cols``.

    Several alignments of one pair may cross (a chorus of A matched with an earlier verse of B);
    a time map must not run backwards, so it keeps the longest consistent chain.

    Parameters
    ----------
    rows, cols : np.ndarray [shape=(k,), int]
        Pairs sorted by ``rows``.

    Returns
    -------
    np.ndarray [shape=(l,), int64]
        Positions into ``rows``/``cols``, increasing.

    Examples
    --------
    >>> monotone_pairs(np.array([0, 1, 2, 3, 4]), np.array([5, 6, 0, 1, 2])).tolist()
    [2, 3, 4]
    """
    n = rows.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    # longest strictly increasing subsequence of cols among rows strictly increasing
    # (patience sorting, O(k log k)); equal rows cannot both be kept
    tail_idx: list[int] = []  # tail_idx[L]: the chain of length L + 1 ending on the smallest col
    prev = np.full(n, -1, np.int64)
    for i in range(n):
        if i and rows[i] == rows[i - 1]:
            continue
        lo, hi = 0, len(tail_idx)
        while lo < hi:
            mid = (lo + hi) // 2
            if cols[tail_idx[mid]] < cols[i]:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(tail_idx):
            tail_idx.append(i)
        else:
            tail_idx[lo] = i
        prev[i] = tail_idx[lo - 1] if lo else -1
    out = []
    i = tail_idx[-1] if tail_idx else -1
    while i >= 0:
        out.append(i)
        i = int(prev[i])
    return np.array(out[::-1], np.int64)


def warp_times(t: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Times ``t`` of one timeline mapped onto another along anchor pairs ``src -> dst``.

    Piecewise linear between anchors (each anchor lands exactly on its partner, so matched notes
    drawn warped sit above each other); before the first and after the last anchor the map goes
    on with the mean slope of all anchors (a tempo cover keeps its tempo ratio there). Without
    anchors the map is the identity; with one it is a shift.

    Parameters
    ----------
    t : np.ndarray
        Times (s) in the source timeline.
    src, dst : np.ndarray [shape=(k,)]
        Anchor times (s), ``src`` strictly increasing; ``dst`` non-decreasing.

    Returns
    -------
    np.ndarray
        Times (s) in the destination timeline, same shape as ``t``.
    """
    t = np.asarray(t, np.float64)
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape[0] == 0:
        return t.copy()
    if src.shape[0] == 1:
        return t + (dst[0] - src[0])
    span = src[-1] - src[0]
    slope = (dst[-1] - dst[0]) / span if span > 0 else 1.0
    out = np.interp(t, src, dst)
    lo, hi = t < src[0], t > src[-1]
    out[lo] = dst[0] + (t[lo] - src[0]) * slope
    out[hi] = dst[-1] + (t[hi] - src[-1]) * slope
    return out


def time_map(match: NoteMatch, chord_pairs: tuple[np.ndarray, np.ndarray] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Anchor times ``(a_times, b_times)`` for :func:`warp_times` (B -> A: ``warp_times(t, b, a)``).

    The onsets of a monotone chain of matched notes (:func:`monotone_pairs`); where fewer than
    two notes matched, ``chord_pairs`` (A and B start times of aligned chord events, e.g. a pair
    sharing chords and groove but not the melody) when given; else none (the identity).

    Returns
    -------
    (np.ndarray, np.ndarray)
        Both strictly increasing, same length.
    """
    keep = monotone_pairs(match.rows, match.cols)
    a = match.onset_a[match.rows[keep]]
    b = match.onset_b[match.cols[keep]]
    if a.shape[0] < 2 and chord_pairs is not None and np.asarray(chord_pairs[0]).shape[0] >= 2:
        a, b = (np.asarray(x, np.float64) for x in chord_pairs)
    # strictly increasing on both sides (equal onsets cannot be told apart)
    ok = np.ones(a.shape[0], bool)
    if a.shape[0] > 1:
        ok[1:] = (np.diff(a) > 0) & (np.diff(b) > 0)
    return a[ok], b[ok]
