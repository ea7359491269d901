"""The three facet scores -> ``similarityCoefficient`` in [-1, 1] and the ``isSimilar`` decision.

A logistic model on the calibrated 0-100 scores (:mod:`.calibration`): ``p = sigmoid(bias + w_m m/100 + w_r r/100 + w_c c/100)``,
``coefficient = 2p - 1``, ``isSimilar = coefficient >= coefficient_threshold``. The weights, bias
and threshold live in ``conf`` (``similarity:``), fitted by ``bench/similarity.py`` on a
calibration set (``--cal``: one seed and song range; :func:`fit_logistic` here, the threshold search is the
benchmark's ``balanced_threshold``) and evaluated on a different test set.

Undefined facets ("not enough material")
-----------------------------------------
A facet that cannot be computed (NaN: too few notes, beats or chords on a side) is *no evidence*,
neither for nor against:

- **Melody undefined** (or no facet defined): there is nothing a copy claim could rest on, so the
  pair is **not decided**: coefficient NaN (``null`` in JSON), ``isSimilar`` false, and a reason
  (``"not enough material: ..."``). Rhythm and chord alone are genre stock (drum grooves, four-chord
  loops) that unrelated songs share; before this rule a 2-note intro, with every facet NaN entering
  at 50, got coefficient +0.42 and ``isSimilar`` true against any song.
- **Rhythm or chord undefined** (e.g. single-line melody files have no accompaniment): the
  coefficient uses the defined facets only, with the weights **renormalised** so that they sum to
  the full model's: ``z = bias + (W / W_D) sum_{k in D} w_k s_k / 100`` (``D`` the defined facets,
  ``W`` all weights, ``W_D`` the defined ones'). This equals imputing each missing facet by the
  weighted mean of the defined scores, so a pair at every defined facet's threshold (50) stays at
  the full model's threshold point, and the coefficient threshold keeps its meaning. A logistic
  model refitted per subset of defined facets was the alternative; it was not taken because the
  calibration set (generated arrangements) has almost no pairs with a missing facet to fit it on,
  and renormalisation needs no parameters beyond the fitted ones. Before, a missing facet entered
  at 50 (its threshold), which pulled a clear melody copy down and a clear non-copy up.

Examples
--------
>>> from .settings import SimilaritySettings
>>> s = SimilaritySettings(combine_bias=-5.0, combine_melody_weight=10.0, combine_rhythm_weight=0.0,
...                        combine_chord_weight=0.0)
>>> round(similarity_coefficient(90.0, 20.0, 20.0, settings=s), 3)
0.964
>>> d = decide((float("nan"), 60.0, 70.0), ("melody of A has 2 notes, at least 8 are needed", "", ""),
...            settings=s)
>>> d.similar, d.reason
(False, 'not enough material: melody of A has 2 notes, at least 8 are needed')
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .settings import SimilaritySettings

#: Calibrated score at every facet's decision threshold (:func:`.calibration.calibrated_score`).
DECISION_SCORE = 50.0
#: The facets in the order of every score triple.
FACETS = ("melody", "rhythm", "chord")
#: Prefix of the reason of a pair that is not decided.
NOT_ENOUGH_MATERIAL = "not enough material"

__all__ = ["DECISION_SCORE", "FACETS", "NOT_ENOUGH_MATERIAL", "Decision", "decide", "similarity_coefficient",
           "is_similar", "fit_logistic"]


def _value(x) -> float:
    return float("nan") if x is None else float(x)


def similarity_coefficient(melody: float, rhythm: float, chord: float, *, settings: SimilaritySettings) -> float:
    """Coefficient in [-1, 1] from the three calibrated scores (0-100; NaN or None = undefined).

    Returns
    -------
    float
        NaN when the melody score is undefined (the pair is not decided); otherwise the logistic
        combination of the defined facets with renormalised weights (module docstring).

    Examples
    --------
    >>> from .settings import SimilaritySettings
    >>> s = SimilaritySettings(combine_bias=-6.0, combine_melody_weight=8.0, combine_rhythm_weight=2.0,
    ...                        combine_chord_weight=2.0)
    >>> # chord undefined: melody and rhythm weights scaled by 12 / 10; 50/50 stays the all-50 point
    >>> similarity_coefficient(50.0, 50.0, None, settings=s) == similarity_coefficient(50.0, 50.0, 50.0, settings=s)
    True
    >>> math.isnan(similarity_coefficient(None, 90.0, 90.0, settings=s))
    True
    """
    s = settings
    scores = np.array([_value(melody), _value(rhythm), _value(chord)], dtype=np.float64)
    weights = np.array([s.combine_melody_weight, s.combine_rhythm_weight, s.combine_chord_weight], dtype=np.float64)
    defined = np.isfinite(scores)
    if not defined[0]:
        return float("nan")
    w_defined = float(weights[defined].sum())
    # the defined facets' weighted mean stands in for the missing ones (weights are >= 0 when fitted;
    # a degenerate sum <= 0 leaves the missing ones out unscaled)
    scale = float(weights.sum()) / w_defined if w_defined > 0 else 1.0
    z = s.combine_bias + scale * float(np.dot(weights[defined], scores[defined])) / 100.0
    p = 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))
    return 2.0 * p - 1.0


def is_similar(coefficient: float, *, settings: SimilaritySettings) -> bool:
    """``coefficient >= coefficient_threshold``; an undefined (NaN/None) coefficient is not similar."""
    if coefficient is None or not math.isfinite(coefficient):
        return False
    return bool(coefficient >= settings.coefficient_threshold)


@dataclasses.dataclass(frozen=True)
class Decision:
    """A pair's combined outcome.

    Attributes
    ----------
    coefficient : float
        [-1, 1]; NaN when the pair is not decided.
    similar : bool
        False whenever ``coefficient`` is NaN.
    reason : str
        Empty when every facet is defined. ``"not enough material: ..."`` when the pair is not
        decided; ``"decided on melody and rhythm only (chord: ...)"`` when some facet is missing.
    """

    coefficient: float
    similar: bool
    reason: str = ""

    @property
    def decided(self) -> bool:
        return math.isfinite(self.coefficient)


def _facet_reason(name: str, reason: str) -> str:
    reason = reason or "cannot be computed"
    return reason if reason.lower().startswith(name) else f"{name}: {reason}"


def decide(scores, reasons=("", "", ""), *, settings: SimilaritySettings) -> Decision:
    """Coefficient, decision and reason from the calibrated (melody, rhythm, chord) scores.

    Parameters
    ----------
    scores : sequence of 3 float
        Calibrated 0-100 scores; NaN or None = the facet cannot be computed.
    reasons : sequence of 3 str
        Why each undefined facet cannot be computed (the facets' ``FacetResult.reason``); an empty
        reason of an undefined facet reads "cannot be computed".
    settings : SimilaritySettings

    Returns
    -------
    Decision
    """
    vals = [_value(x) for x in scores]
    missing = [_facet_reason(n, r) for n, v, r in zip(FACETS, vals, reasons) if not math.isfinite(v)]
    coef = similarity_coefficient(*vals, settings=settings)
    if not math.isfinite(coef):
        return Decision(float("nan"), False, f"{NOT_ENOUGH_MATERIAL}: " + "; ".join(missing))
    reason = ""
    if missing:
        used = [n for n, v in zip(FACETS, vals) if math.isfinite(v)]
        reason = f"decided on {' and '.join(used)} only ({'; '.join(missing)})"
    return Decision(coef, is_similar(coef, settings=settings), reason)


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
