"""What every facet returns, and the step all three share: substitution matrix -> score + sections.

Each facet module (:mod:`.melody`, :mod:`.rhythm`, :mod:`.chord`) builds one substitution matrix
per candidate transposition; :func:`score_from_substitution` aligns (:func:`.align.local_alignments`),
keeps the best transposition, normalises by what a self-match of the shorter sequence would score
and turns the path into sections (:func:`.sections.path_sections`).

Score scale (all facets): ``100 x clip(alignment score / self-match score of the shorter
sequence, 0, 1)``, i.e. the share of the shorter piece that aligns as well as it would with itself.
A score is NaN when it cannot be computed (too few items on either side).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .align import Alignment, local_alignments
from .sections import path_sections

__all__ = ["FacetResult", "score_from_substitution", "nan_result", "transposition_candidates"]


@dataclasses.dataclass(frozen=True)
class FacetResult:
    """One facet's outcome for a pair.

    Attributes
    ----------
    score : float
        0-100, NaN when it cannot be computed. Straight from the alignment this is the raw score
        (below); :func:`.compare.compare_features` replaces it by the calibrated score
        (:mod:`.cohort`: 50 = the facet's decision threshold).
    sections : list of Section
        Matching sections (:class:`musim_spark.sections.Section`: own timeline = the query a,
        other = the original b), in query order.
    transposition : int
        Semitones added to b's pitch classes to match a's (0-11); -1 when not applicable.
    alignments : tuple of Alignment
        The raw paths (item indices), for reports.
    raw_score : float
        The facet's uncalibrated score. For a facet scored by significance (melody,
        :mod:`.significance`): ``-log10 P`` of its best alignment given both lengths (2 = one
        unrelated pair in a hundred scores this high). Otherwise the aligned share (below).
    normalised : float
        ``raw_score`` against both tracks' cohort statistics (S-norm, in cohort spreads); NaN until
        normalised.
    reason : str
        Why the score is NaN ("not enough material"), e.g. ``"melody of A has 2 notes; at least 8
        are needed"``; empty when the score could be computed.
    share : float
        Share (0-100) of the shorter sequence that the best alignment matches as well as a
        self-match would ("aligned share", for reports); NaN when not computed.
    candidates : tuple of int
        Melody: the candidate line of each file the score uses (0 = the file's primary line,
        :mod:`.melody_line`); empty for other facets.
    """

    score: float
    sections: list
    transposition: int = -1
    alignments: tuple = ()
    raw_score: float = float("nan")
    normalised: float = float("nan")
    reason: str = ""
    share: float = float("nan")
    candidates: tuple = ()


def nan_result(reason: str = "") -> FacetResult:
    """A facet that cannot be computed: NaN score, no sections, ``reason`` saying why."""
    return FacetResult(float("nan"), [], -1, (), reason=reason)


def transposition_candidates(hist_a: np.ndarray, hist_b: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` shifts t (0-11) maximising the circular correlation of a with b rolled by t.

    Parameters
    ----------
    hist_a, hist_b : np.ndarray [shape=(12,)]
        Pitch-class weights (e.g. duration-weighted histograms).
    k : int

    Returns
    -------
    np.ndarray [shape=(min(k, 12),), int64]
        Best first; ``pc_b + t ≡ pc_a (mod 12)`` for matching notes.
    """
    corr = np.array([np.dot(hist_a, np.roll(hist_b, t)) for t in range(12)])
    return np.argsort(-corr, kind="stable")[: max(1, min(k, 12))]


def score_from_substitution(matrices: list[tuple[int, np.ndarray]], *, self_score: float,
                            gap_open: float, gap_extend: float, max_alignments: int,
                            extra_min_fraction: float, a_start: np.ndarray, b_start: np.ndarray,
                            a_end: float, b_end: float, merge_gap_ms: float, min_section_ms: float,
                            a_stop=None, b_stop=None) -> FacetResult:
    """Align each (transposition, substitution matrix), keep the best, score and cut sections.

    Parameters
    ----------
    matrices : list of (int, np.ndarray [shape=(n, m)])
        Candidate transposition and its substitution matrix.
    self_score : float
        What a self-match of the shorter sequence scores (> 0).
    gap_open, gap_extend, max_alignments : see :func:`.align.local_alignments`.
    extra_min_fraction : float
        Extra alignments must reach this fraction of ``self_score``.
    a_start, b_start, a_end, b_end, merge_gap_ms, min_section_ms, a_stop, b_stop :
        See :func:`.sections.path_sections`.
    """
    best_t, best_al, best_total = -1, [], -np.inf
    for t, S in matrices:
        # the first (best) alignment picks the transposition; extras are only computed for it
        als = local_alignments(S, gap_open=gap_open, gap_extend=gap_extend, max_alignments=1)
        if als[0].score > best_total:
            best_total, best_t, best_S = als[0].score, t, S
    if max_alignments > 1:
        best_al = local_alignments(best_S, gap_open=gap_open, gap_extend=gap_extend,
                                   max_alignments=max_alignments,
                                   min_score=extra_min_fraction * self_score)
    else:
        best_al = local_alignments(best_S, gap_open=gap_open, gap_extend=gap_extend, max_alignments=1)
    total = sum(a.score for a in best_al)
    score = 100.0 * float(np.clip(total / self_score, 0.0, 1.0)) if self_score > 0 else float("nan")
    sections = []
    for al in best_al:
        sections += path_sections(al.rows, al.cols, a_start, b_start, a_end=a_end, b_end=b_end,
                                  merge_gap_ms=merge_gap_ms, min_section_ms=min_section_ms,
                                  a_stop=a_stop, b_stop=b_stop)
    sections.sort(key=lambda s: s.start_ms)
    return FacetResult(score, sections, int(best_t), tuple(best_al), raw_score=score)
