"""Alignment paths to matching sections in both timelines, and section overlap (IoU).

A section is a :class:`musim_spark.sections.Section` (integer ms; own timeline = the query ``a``,
other = the original ``b``); its converters give the ``matches`` table's struct and the
``compare --json`` form.

Rules (:func:`path_sections`): each aligned item pair spans, in each timeline, from the item's
start to the next item's start of the same sequence (so the rests inside a matched phrase belong
to it); consecutive pairs whose spans are more than ``merge_gap_ms`` apart in either timeline
start a new section; sections shorter than ``min_section_ms`` (query side) are dropped.

Examples
--------
>>> secs = path_sections(np.array([0, 1, 2]), np.array([0, 1, 2]),
...                      np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 2.0, 4.0, 6.0]),
...                      a_end=4.0, b_end=8.0, merge_gap_ms=500, min_section_ms=0)
>>> secs
[Section(start_ms=0, duration_ms=3000, other_start_ms=0, other_duration_ms=6000)]
"""

from __future__ import annotations

import numpy as np

from ..sections import Section

__all__ = ["path_sections", "sections_iou"]


def _spans(starts: np.ndarray, end: float, max_span: float) -> np.ndarray:
    """End of each item's span: the next item's start (the last: ``end``), capped at ``max_span`` s."""
    nxt = np.append(starts[1:], max(end, starts[-1] if starts.size else 0.0))
    return np.minimum(nxt, starts + max_span)


def path_sections(rows: np.ndarray, cols: np.ndarray, a_start: np.ndarray, b_start: np.ndarray, *,
                  a_end: float, b_end: float, merge_gap_ms: float, min_section_ms: float,
                  a_stop: np.ndarray | None = None, b_stop: np.ndarray | None = None,
                  max_span_s: float = 8.0) -> list[Section]:
    """Matching sections from one alignment path.

    Parameters
    ----------
    rows, cols : np.ndarray [shape=(k,), int]
        Aligned item indices into a and b (increasing).
    a_start, b_start : np.ndarray
        Start time in s of every item of a and of b.
    a_end, b_end : float
        End of each piece in s (closes the last item's span).
    merge_gap_ms : float
        Pairs further apart than this (ms, either timeline) start a new section.
    min_section_ms : float
        Shorter sections (query side, ms) are dropped.
    a_stop, b_stop : np.ndarray, optional
        Explicit end time in s of every item (chord events, bars); default: the next item's start.
    max_span_s : float
        An item's span never exceeds this (s): a note before a long break does not claim the break.

    Returns
    -------
    list of Section
        Own timeline = a (the query), other = b (the original); in query order.
    """
    if rows.shape[0] == 0:
        return []
    a_e = a_stop if a_stop is not None else _spans(a_start, a_end, max_span_s)
    b_e = b_stop if b_stop is not None else _spans(b_start, b_end, max_span_s)
    qs, qe = a_start[rows], a_e[rows]
    os_, oe = b_start[cols], b_e[cols]
    gap = merge_gap_ms / 1000.0
    brk = np.ones(rows.shape[0], dtype=bool)
    brk[1:] = ((qs[1:] - qe[:-1]) > gap) | ((os_[1:] - oe[:-1]) > gap) | (os_[1:] < os_[:-1])
    gid = np.cumsum(brk) - 1
    n = gid[-1] + 1
    q0 = np.full(n, np.inf)
    q1 = np.full(n, -np.inf)
    o0 = np.full(n, np.inf)
    o1 = np.full(n, -np.inf)
    np.minimum.at(q0, gid, qs)
    np.maximum.at(q1, gid, qe)
    np.minimum.at(o0, gid, os_)
    np.maximum.at(o1, gid, oe)
    out = []
    for g in range(n):  # one iteration per section (a handful), not per note
        qd = (q1[g] - q0[g]) * 1000.0
        if qd < min_section_ms:
            continue
        out.append(Section(start_ms=int(round(q0[g] * 1000.0)), duration_ms=int(round(qd)),
                           other_start_ms=int(round(o0[g] * 1000.0)),
                           other_duration_ms=int(round((o1[g] - o0[g]) * 1000.0))))
    return out


def _union_length(intervals: list[tuple[float, float]]) -> tuple[float, list[tuple[float, float]]]:
    iv = sorted((s, e) for s, e in intervals if e > s)
    merged: list[tuple[float, float]] = []
    for s, e in iv:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return sum(e - s for s, e in merged), merged


def sections_iou(predicted: list[tuple[float, float]], truth: list[tuple[float, float]]) -> float:
    """Intersection over union of two sets of (start, end) intervals on one timeline.

    Both empty gives 1.0 (agreement that nothing is the same); one empty gives 0.0.

    Examples
    --------
    >>> sections_iou([(0, 10)], [(5, 15)])
    0.3333333333333333
    """
    lp, mp = _union_length(predicted)
    lt, mt = _union_length(truth)
    if lp == 0 and lt == 0:
        return 1.0
    inter = 0.0
    for s1, e1 in mp:
        for s2, e2 in mt:
            inter += max(0.0, min(e1, e2) - max(s1, s2))
    union = lp + lt - inter
    return float(inter / union) if union > 0 else 0.0
