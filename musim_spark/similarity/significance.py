"""Length-fair significance of a local alignment score (Karlin-Altschul statistics, fitted empirically).

A local alignment score grows with the lengths of the two sequences even when they are unrelated:
the longer they are, the more chances a stretch has to match by accident. Karlin and Altschul [1]_
showed that for ungapped local alignment of random sequences of lengths ``m`` and ``n`` the best
score ``S`` follows an extreme-value (Gumbel) law, the expected number of chance alignments scoring
at least ``S`` being

    E = K m n exp(-lambda S),

and Altschul and Gish [2]_ that the same form holds, with ``lambda`` and ``K`` fitted by simulation,
for gapped scoring schemes. At the lengths of melodies (tens to hundreds of notes) gapped
alignment has not reached its asymptotic regime: the effective ``lambda`` and ``K`` depend on the
shorter length ``l`` ([3]_ studies this finite-size effect), so both get an empirical correction
term in ``l^-power`` (:class:`NullModel`), fitted with them by maximum likelihood on alignments of
unrelated material, optionally on the upper tail only (:func:`fit_null`), where the decisions
are made. The P-value of the best alignment is ``P = 1 - exp(-E)`` and the length-fair score
reported here is ``-log10 P``: 2 means "one unrelated pair in a hundred scores this high", for
every pair of lengths.

This module is generic: any facet with a local alignment score can fit its own ``NullModel`` on
alignments of unrelated material (:func:`fit_null`) and read its scores with
:func:`significance`. The melody facet's fitted values are the settings' ``melody_null_*``
(``scripts/fit_null_melody.py`` refits them); any change of a facet's scoring scheme
(substitution values, gaps) needs a refit.

References
----------
.. [1] Karlin, S., Altschul, S. F. (1990). Methods for assessing the statistical significance of
       molecular sequence features by using general scoring schemes. PNAS 87(6), 2264-2268.
.. [2] Altschul, S. F., Gish, W. (1996). Local alignment statistics. Methods in Enzymology 266,
       460-480.
.. [3] Altschul, S. F., Bundschuh, R., Olsen, R., Hwa, T. (2001). The estimation of statistical
       parameters for local alignment score distributions. Nucleic Acids Res. 29(2), 351-361.

Examples
--------
>>> null = NullModel(lam=0.5, k=0.1)
>>> round(significance(20.0, 100, 100, null), 3)      # E = 0.1 x 100 x 100 x e^-10 = 0.0454, P = 1 - e^-E
1.353
>>> significance(20.0, 100, 100, null) > significance(20.0, 400, 400, null)   # longer: less surprising
True
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import ParameterError

__all__ = ["NullModel", "log_e_value", "e_value", "significance", "significance_array", "fit_null",
           "MAX_SIGNIFICANCE"]

#: Cap of :func:`significance` (-log10 P): beyond this the number says nothing more (P < 1e-300).
MAX_SIGNIFICANCE = 300.0


@dataclasses.dataclass(frozen=True)
class NullModel:
    """Fitted chance statistics of one local-alignment scoring scheme.

    For two sequences of lengths ``m`` and ``n`` (``l = min(m, n)``) the best chance score is
    Gumbel with scale ``1 / lambda(l)`` and location ``ln(K(l) m n) / lambda(l)``, where

        lambda(l) = lam + lam_short l^-power,    ln K(l) = ln(k) + k_short l^-power.

    ``lam`` and ``k`` are the Karlin-Altschul parameters of long sequences [1]_ [2]_; the
    ``*_short`` terms are an empirical finite-size correction (gapped alignments of short
    sequences have a larger effective lambda [3]_), 0 for none.

    Attributes
    ----------
    lam : float
        > 0, per score unit.
    k : float
        > 0.
    lam_short, k_short : float
        Finite-size terms (lam + lam_short l^-power must stay > 0 for l >= 1).
    power : float
        > 0.
    """

    lam: float
    k: float
    lam_short: float = 0.0
    k_short: float = 0.0
    power: float = 0.5

    def __post_init__(self):
        ok = (self.lam > 0 and self.k > 0 and self.power > 0 and self.lam + min(self.lam_short, 0.0) > 0
              and all(math.isfinite(v) for v in (self.lam, self.k, self.lam_short, self.k_short, self.power)))
        if not ok:
            raise ParameterError(f"NullModel needs lam > 0, k > 0, power > 0, lam + lam_short > 0; got {self}")

    def params(self, len_a, len_b):
        """``(lambda, ln K)`` for sequences of these lengths (arrays broadcast)."""
        ell = np.maximum(np.minimum(np.asarray(len_a, dtype=np.float64), np.asarray(len_b, dtype=np.float64)), 1.0)
        f = ell ** -self.power
        return self.lam + self.lam_short * f, math.log(self.k) + self.k_short * f


def log_e_value(score, len_a, len_b, null: NullModel, *, tries=1):
    """Natural log of :func:`e_value` (arrays broadcast)."""
    m = np.maximum(np.asarray(len_a, dtype=np.float64), 1.0)
    n = np.maximum(np.asarray(len_b, dtype=np.float64), 1.0)
    lam, log_k = null.params(m, n)
    t = np.maximum(np.asarray(tries, dtype=np.float64), 1.0)
    return np.log(t) + log_k + np.log(m) + np.log(n) - lam * np.asarray(score, dtype=np.float64)


def e_value(score, len_a, len_b, null: NullModel, *, tries=1):
    """Expected number of chance alignments scoring at least ``score`` (times ``tries`` tests)."""
    return np.exp(log_e_value(score, len_a, len_b, null, tries=tries))


def significance_array(score, len_a, len_b, null: NullModel, *, tries=1) -> np.ndarray:
    """:func:`significance` for arrays (broadcast)."""
    log_e = log_e_value(score, len_a, len_b, null, tries=tries)
    e = np.exp(np.minimum(log_e, 50.0))
    p_small = -log_e / math.log(10.0)                      # E << 1: P ~ E
    with np.errstate(divide="ignore"):
        p_any = -np.log10(-np.expm1(-e))
    out = np.where(log_e < -20.0, p_small, p_any)
    return np.clip(out, 0.0, MAX_SIGNIFICANCE)


def significance(score: float, len_a: int, len_b: int, null: NullModel, *, tries: int = 1) -> float:
    """Length-fair significance ``-log10 P`` of a best local alignment score.

    Parameters
    ----------
    score : float
        The best local alignment score of the pair (>= 0).
    len_a, len_b : int
        The two sequences' lengths (items aligned, e.g. melody transitions).
    null : NullModel
        The scoring scheme's fitted chance statistics (:func:`fit_null`).
    tries : int
        Number of alignments the best was chosen from (e.g. candidate melody lines per file pair):
        E is multiplied by it (Bonferroni), so trying more does not manufacture significance.

    Returns
    -------
    float
        ``-log10(1 - exp(-E))`` in [0, :data:`MAX_SIGNIFICANCE`]; 2.0 = P of 0.01. NaN for a NaN score.
    """
    if score is None or not math.isfinite(score):
        return float("nan")
    return float(significance_array(float(score), len_a, len_b, null, tries=tries))


def _unpack(x, power):
    return NullModel(lam=math.exp(x[0]), k=math.exp(x[2]), lam_short=math.exp(x[1]), k_short=x[3], power=power)


def _nll(x, s, m, n, power, cens):
    try:
        null = _unpack(x, power)
    except (ParameterError, OverflowError):
        return 1e300
    lam, log_k = null.params(m, n)
    z = lam * s - (log_k + np.log(m) + np.log(n))          # Gumbel: F = exp(-exp(-z))
    ll = np.log(lam) - z - np.exp(-z)
    if cens is not None:
        zc = lam * cens - (log_k + np.log(m) + np.log(n))
        below = s < cens
        ll = np.where(below, -np.exp(-zc), ll)
    v = -float(np.sum(ll))
    return v if math.isfinite(v) else 1e300


def fit_null(scores, len_a, len_b, *, power: float = 0.5, tail: float = 1.0) -> NullModel:
    """Fit a :class:`NullModel` by maximum likelihood on the best scores of unrelated pairs.

    Pairs of many different lengths (short phrases to whole songs) pin the length dependence.
    With ``tail < 1`` the fit is refined on the upper tail, where decisions are made: a first fit
    on all pairs gives each pair its ``1 - tail`` quantile, and scores below it enter the
    likelihood only as "below" (censored), so the bulk of the distribution cannot pull the tail.

    Parameters
    ----------
    scores : np.ndarray [shape=(N,)]
        Best alignment scores of N unrelated pairs.
    len_a, len_b : np.ndarray [shape=(N,)]
        Their lengths.
    power : float
        Exponent of the finite-size terms.
    tail : float
        Share (0-1] of the distribution the final fit is made on.

    Returns
    -------
    NullModel
    """
    from scipy.optimize import minimize

    s = np.asarray(scores, dtype=np.float64)
    m = np.maximum(np.asarray(len_a, dtype=np.float64), 1.0)
    n = np.maximum(np.asarray(len_b, dtype=np.float64), 1.0)
    if not (s.shape == m.shape == n.shape) or s.ndim != 1 or s.shape[0] < 50:
        raise ParameterError("fit_null needs >= 50 scores with matching lengths")
    if not 0.0 < tail <= 1.0:
        raise ParameterError(f"tail must be in (0, 1], got {tail}")
    # start: one lambda from the spread, K from the mean (method of moments, no length terms)
    lam0 = math.pi / math.sqrt(6.0) / max(float(np.std(s)), 1e-3)
    log_k0 = float(np.mean(lam0 * s - np.log(m * n))) - 0.5772
    x0 = np.array([math.log(lam0), math.log(0.1 * lam0), log_k0, 0.0])
    opts = dict(maxiter=20000, maxfev=20000, xatol=1e-8, fatol=1e-8)
    res = minimize(_nll, x0, args=(s, m, n, power, None), method="Nelder-Mead", options=opts)
    null = _unpack(res.x, power)
    if tail < 1.0:
        lam, log_k = null.params(m, n)
        z = lam * s - (log_k + np.log(m) + np.log(n))
        c = float(np.quantile(z, 1.0 - tail))
        cens = (c + log_k + np.log(m) + np.log(n)) / lam          # each pair's score at that quantile
        res = minimize(_nll, res.x, args=(s, m, n, power, cens), method="Nelder-Mead", options=opts)
        null = _unpack(res.x, power)
    return null
