"""What every facet returns (:class:`FacetResult`), and helpers the facets share.

Each facet module (:mod:`.melody`, :mod:`.rhythm`, :mod:`.chord`) aligns the two tracks and
scores the best local alignment by its significance given both lengths (``raw_score``,
``-log10 P``, :mod:`.significance`); :func:`.compare.compare_features` turns it into the reported
0-100 score (:mod:`.calibration`). A score is NaN when it cannot be computed (too few items on
either side), with a ``reason``.
"""

from __future__ import annotations

import dataclasses

import numpy as np


__all__ = ["FacetResult", "nan_result", "transposition_candidates"]


@dataclasses.dataclass(frozen=True)
class FacetResult:
    """One facet's outcome for a pair.

    Attributes
    ----------
    score : float
        0-100, NaN when it cannot be computed. Straight from the alignment this is the raw score
        (below); :func:`.compare.compare_features` replaces it by the calibrated score
        (:mod:`.calibration`: 50 = the facet's decision threshold).
    sections : list of Section
        Matching sections (:class:`musim_spark.sections.Section`: own timeline = the query a,
        other = the original b), in query order.
    transposition : int
        Semitones added to b's pitch classes to match a's (0-11); -1 when not applicable.
    alignments : tuple of Alignment
        The raw paths (item indices), for reports.
    raw_score : float
        The facet's significance: ``-log10 P`` of its best alignment given both lengths
        (:mod:`.significance`; 2 = one unrelated pair in a hundred scores this high).
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
