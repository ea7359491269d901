"""Calibration: a facet's significance -> the reported 0-100 score.

Every facet scores a pair by the **significance** of its best local alignment given both
sequences' lengths, ``-log10 P`` where P is the chance that an unrelated pair of those lengths
aligns as well (:mod:`.significance`; 2 = one unrelated pair in a hundred scores this high). That
scale already means the same for every pair, whatever the lengths, the transcription noise or the
style of the songs, so no per-track chance level is needed. (Until issue 10 the facets reported an
aligned share and each track was compared with a cohort of unrelated songs to read it against its
own chance level; a significance made that step, and its 2 x cohort-size extra alignments per
track, unnecessary.)

The reported score is ``100 sigmoid(slope (significance - threshold))``: 50 at the facet's
decision threshold (chosen on a calibration set, ``bench/similarity.py``), 73 one ``1 / slope``
above it, for every pair.
"""

from __future__ import annotations

import math

__all__ = ["FACETS", "calibrated_score"]

#: Facet order of every per-facet array and setting triple.
FACETS = ("melody", "rhythm", "chord")


def calibrated_score(significance: float, threshold: float, slope: float) -> float:
    """0-100 score: ``100 sigmoid(slope (significance - threshold))``; 50 at the decision threshold,
    NaN stays NaN.

    Parameters
    ----------
    significance : float
        ``-log10 P`` of the facet's best alignment (NaN: not computed).
    threshold : float
        The facet's decision threshold on the significance.
    slope : float
        Score steepness per unit of significance (> 0).

    Returns
    -------
    float

    Examples
    --------
    >>> calibrated_score(4.0, 4.0, 1.0), round(calibrated_score(7.0, 4.0, 1.0), 1)
    (50.0, 95.3)
    >>> calibrated_score(float("nan"), 4.0, 1.0)
    nan
    """
    if significance is None or not math.isfinite(significance):
        return float("nan")
    x = max(min(slope * (significance - threshold), 50.0), -50.0)
    return 100.0 / (1.0 + math.exp(-x))
