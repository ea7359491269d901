"""The three facet scores -> ``similarityCoefficient`` in [-1, 1] and the ``isSimilar`` decision.

A logistic model on the calibrated 0-100 scores (:mod:`.cohort`): ``p = sigmoid(bias + w_m m/100 + w_r r/100 + w_c c/100)``,
``coefficient = 2p - 1``, ``isSimilar = coefficient >= coefficient_threshold``. The weights, bias
and threshold live in ``conf`` (``similarity:``), fitted by ``bench/similarity.py --calibrate`` on
a calibration set (one seed and song range) and evaluated on a different test set.

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

__all__ = ["DECISION_SCORE", "similarity_coefficient", "is_similar", "fit_logistic", "best_threshold"]


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


def best_threshold(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Threshold maximising F1 of ``scores >= t`` (midpoint between neighbouring scores).

    When several thresholds reach the best F1 (a plateau), the middle one is taken: the widest
    margin to both classes, which transfers best to new data.

    Returns
    -------
    (threshold, f1)
    """
    ok = np.isfinite(scores)
    s, yy = scores[ok], y[ok].astype(bool)
    u = np.unique(s)
    cands = np.concatenate([[u[0] - 1e-6], (u[1:] + u[:-1]) / 2, [u[-1] + 1e-6]]) if u.size else np.array([0.0])
    f1s = np.empty(cands.shape[0])
    for k, t in enumerate(cands):  # one pass per candidate; calibration-time only
        pred = s >= t
        f1s[k] = 2 * np.sum(pred & yy) / max(pred.sum() + yy.sum(), 1)
    top = np.flatnonzero(f1s >= f1s.max() - 1e-12)
    # the plateau of best thresholds may be split; take the middle of the longest run
    runs = np.split(top, np.flatnonzero(np.diff(top) > 1) + 1)
    run = max(runs, key=len)
    lo, hi = cands[run[0]], cands[run[-1]]
    return float((lo + hi) / 2), float(f1s[run[0]])
