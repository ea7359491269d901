"""The three facet scores -> ``similarityCoefficient`` in [-1, 1] and the ``isSimilar`` decision.

A logistic model on the calibrated 0-100 scores (:mod:`.cohort`): ``p = sigmoid(bias + w_m m/100 + w_r r/100 + w_c c/100)``,
``coefficient = 2p - 1``, ``isSimilar = coefficient >= coefficient_threshold``. The weights, bias
and threshold live in ``conf`` (``similarity:``), fitted by ``bench/similarity.py`` on a
calibration set (``--cal``: one seed and song range; :func:`fit_logistic` here, the threshold search is the
benchmark's ``balanced_threshold``) and evaluated on a different test set.

A facet that cannot be computed (NaN, e.g. no drums and no accompaniment) enters at 50, its
decision threshold, i.e. as neutral evidence, so the others decide.

Examples
--------
>>> from .settings import SimilaritySettings
>>> s = SimilaritySettings(combine_bias=-5.0, combine_melody_weight=10.0, combine_rhythm_weight=0.0,
...                        combine_chord_weight=0.0)
>>> round(similarity_coefficient(90.0, 20.0, 20.0, settings=s), 3)
0.964
"""

from __future__ import annotations

import math

import numpy as np

from .settings import SimilaritySettings

#: Calibrated score at every facet's decision threshold (:func:`.cohort.calibrated_score`).
DECISION_SCORE = 50.0

__all__ = ["DECISION_SCORE", "similarity_coefficient", "is_similar", "fit_logistic"]


def _filled(value: float, fallback: float) -> float:
    return fallback if value is None or not math.isfinite(value) else float(value)


def similarity_coefficient(melody: float, rhythm: float, chord: float, *, settings: SimilaritySettings) -> float:
    """Coefficient in [-1, 1] from the three scores (0-100, NaN allowed)."""
    s = settings
    z = (s.combine_bias
         + s.combine_melody_weight * _filled(melody, DECISION_SCORE) / 100.0
         + s.combine_rhythm_weight * _filled(rhythm, DECISION_SCORE) / 100.0
         + s.combine_chord_weight * _filled(chord, DECISION_SCORE) / 100.0)
    p = 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
    return 2.0 * p - 1.0


def is_similar(coefficient: float, *, settings: SimilaritySettings) -> bool:
    return bool(coefficient >= settings.coefficient_threshold)


def fit_logistic(X: np.ndarray, y: np.ndarray, *, l2: float = 1e-2, iterations: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method (for calibration; tiny data, no dependency).

    Parameters
    ----------
    X : np.ndarray [shape=(n, d)]
        Features (here scores / 100).
    y : np.ndarray [shape=(n,)]
        0/1 labels.
    l2 : float
        Ridge penalty on the weights (not the bias): keeps separable data finite.

    Returns
    -------
    np.ndarray [shape=(d + 1,)]
        ``[bias, w_1, ..., w_d]``.
    """
    Xb = np.hstack([np.ones((X.shape[0], 1)), X])
    w = np.zeros(Xb.shape[1])
    reg = np.full(Xb.shape[1], l2)
    reg[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(Xb @ w, -50, 50)))
        g = Xb.T @ (p - y) + reg * w
        H = (Xb * (p * (1 - p))[:, None]).T @ Xb + np.diag(reg) + 1e-9 * np.eye(Xb.shape[1])
        step = np.linalg.solve(H, g)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w

