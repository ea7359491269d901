"""Rhythm similarity: local alignment of onset patterns on a tracked pulse, by instrument group.

The pulse is tracked from the track's own onsets (predominant local pulse; :func:`.features.pulse_grid`),
so tempo, global or changing in part of the song, with or without a tempo map, is normalised away.
At every pulse the item compared is the window of ``rhythm_window`` pulses starting there, as a
binary pattern of :data:`.features.STEPS_PER_PULSE` steps per pulse for each group (kick, snare,
hi-hat/cymbals, other percussion, other accompaniment, the label's chord track (comping), the melody
line: :data:`.features.RHYTHM_GROUPS`). Two windows' similarity is the weighted mean, over groups
that play in either, of the cosine similarity of their soft onset patterns, each step's weight
spread to its neighbours (``rhythm_smooth``), so extra, missing or shifted transcribed onsets lower
it a little, they do not break it. The default weights favour the song's own rhythm (melody and
comping) over the drums, bass and pads, which many songs of a genre share; a local
alignment of the pulse sequences (affine gaps, up to ``max_alignments`` stretches) finds where the
grooves are the same. Windows starting at every pulse make the measure independent of where bars
begin (transcribed MIDI has no reliable downbeats).

References
----------
.. [1] Bruford, F., Lartillot, O., McDonald, S., Sandler, M. (2020). Multidimensional similarity
       modelling of complex drum loops using the GrooveToolbox. Proc. ISMIR 2020, 263-270.
.. [2] Toussaint, G. (2004). A comparison of rhythmic similarity measures. Proc. ISMIR 2004.
.. [3] Grosche, P., Müller, M. (2011). Extracting predominant local pulse information from music
       recordings. IEEE Trans. Audio, Speech, Lang. Process. 19(6), 1688-1701.

Deviations from GrooveToolbox [1]_
----------------------------------
1. Soft (linearly shared between neighbouring steps) onsets, 4 steps per tracked beat, over a
   sliding window of beats, instead of velocity-weighted 32-step loops on a known bar grid (transcribed MIDI has unreliable velocities,
   no reliable tempo map and no downbeats).
2. Seven groups (kick, snare, hi-hat/cymbals, other percussion, other accompaniment, chord-track
   comping, melody line) instead of the toolbox's low/mid/high drum bands. The pitched groups let
   tracks without drums be compared, and the melody line's rhythm (and the comping's) is what makes
   the measure song-specific: drums, bass and pads are often a genre's stock patterns, shared by
   different songs, so they get small default weights (``rhythm_group_weights``). The chord-track
   group is empty without a label naming the chord track (its onsets then stay in the
   accompaniment group).
3. Onsets spread over +-1 step (``rhythm_smooth``) before the cosine, for transcription timing
   errors; per-group cosine similarity averaged with weights, instead of the
   toolbox's feature distances, and whole songs are compared with local alignment (the toolbox
   compares single loops).
4. Score normalised by a self-match of the shorter song's non-empty windows (0-100).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import ParameterError
from .facet import FacetResult, nan_result, score_from_substitution
from .features import RHYTHM_GROUPS, STEPS_PER_PULSE, TrackFeatures
from .settings import SimilaritySettings

__all__ = ["validate", "rhythm_similarity", "window_similarity", "pulse_windows", "smooth_patterns",
           "match_metrical_level", "pulse_ratio"]


def validate(fa: TrackFeatures, fb: TrackFeatures) -> None:
    """Raise ParameterError for malformed rhythm features (pattern size vs pulses, unsorted pulses)."""
    for name, f in (("a", fa), ("b", fb)):
        k = f.n_pulses
        if f.rhythm_pattern.shape[0] != k * len(RHYTHM_GROUPS) * STEPS_PER_PULSE:
            raise ParameterError(
                f"rhythm of {name}: pattern length {f.rhythm_pattern.shape[0]} != pulses {k} x "
                f"{len(RHYTHM_GROUPS)} x {STEPS_PER_PULSE}")
        if np.any(np.diff(f.pulse) <= 0) or not np.all(np.isfinite(f.pulse)):
            raise ParameterError(f"rhythm of {name}: pulse boundaries not increasing/finite")


def smooth_patterns(patterns: np.ndarray, weight: float) -> np.ndarray:
    """Spread every step's onset weight to its two neighbouring steps (x ``weight``), along the whole track.

    Transcribed onsets land a step early or late (timing errors of 60-150 ms, split notes); with
    ``weight`` > 0 such an onset still overlaps the true one in the cosine instead of missing it.

    Parameters
    ----------
    patterns : np.ndarray [shape=(K, G, S)]
    weight : float
        0 returns ``patterns`` unchanged.

    Returns
    -------
    np.ndarray [shape=(K, G, S), float32]
    """
    if weight <= 0 or patterns.shape[0] == 0:
        return patterns
    K, G, S = patterns.shape
    flat = patterns.transpose(1, 0, 2).reshape(G, K * S).astype(np.float32)
    out = flat.copy()
    out[:, 1:] += np.float32(weight) * flat[:, :-1]
    out[:, :-1] += np.float32(weight) * flat[:, 1:]
    return out.reshape(G, K, S).transpose(1, 0, 2)


def pulse_windows(patterns: np.ndarray, window: int) -> np.ndarray:
    """Per pulse, the patterns of the ``window`` pulses starting there (zeros past the end).

    Parameters
    ----------
    patterns : np.ndarray [shape=(K, G, S)]

    Returns
    -------
    np.ndarray [shape=(K, G, window * S)]
    """
    K, G, S = patterns.shape
    padded = np.concatenate([patterns, np.zeros((window, G, S), patterns.dtype)], axis=0)
    return np.concatenate([padded[k:k + K] for k in range(window)], axis=2)


def window_similarity(pa: np.ndarray, pb: np.ndarray, weights) -> np.ndarray:
    """Similarity 0-1 of every window of a with every window of b.

    Parameters
    ----------
    pa : np.ndarray [shape=(n, G, L)]
    pb : np.ndarray [shape=(m, G, L)]
    weights : sequence of float [G]

    Returns
    -------
    np.ndarray [shape=(n, m)]
        Weighted mean, over groups that play in either window, of the cosine similarity of the
        two windows' onset patterns (a group playing on one side only contributes 0); 0 where
        neither window has any onset.
    """
    n, m = pa.shape[0], pb.shape[0]
    num = np.zeros((n, m), dtype=np.float32)
    den = np.zeros((n, m), dtype=np.float32)
    for g, w in enumerate(weights):  # G = 7 groups, each one matrix product over windows
        A = pa[:, g].astype(np.float32)
        B = pb[:, g].astype(np.float32)
        na = np.linalg.norm(A, axis=1)
        nb = np.linalg.norm(B, axis=1)
        A = A / np.where(na > 0, na, 1.0)[:, None]
        B = B / np.where(nb > 0, nb, 1.0)[:, None]
        num += np.float32(w) * (A @ B.T)
        den += np.float32(w) * ((na[:, None] > 0) | (nb[None, :] > 0))
    return np.where(den > 0, num / np.maximum(den, 1e-9), 0.0).astype(np.float64)


def match_metrical_level(patterns: np.ndarray, pulse: np.ndarray, other_pulse: np.ndarray, *,
                         phase: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Re-grid one track's patterns to the metrical level of another's pulse.

    Pulse tracking may lock one song onto the beat and its cover onto the half or double beat (a
    cover at 140 BPM of a song at 120 BPM tracked at 70); windows of the same number of pulses then
    span twice the music on one side and nothing aligns. When the median pulse periods differ by more
    than a factor sqrt(2) (tempo covers change the tempo by at most 1.25), the track with the shorter
    pulses gets pairs of pulses merged (steps pooled by max), the one with the longer pulses gets
    every pulse split in two (steps spread out, zeros between), so both are compared per pulse of
    about the same length.

    Parameters
    ----------
    patterns : np.ndarray [shape=(K, G, S)]
        The track's rhythm patterns (:meth:`.features.TrackFeatures.rhythm_matrix`).
    pulse : np.ndarray [shape=(K + 1,)]
        Its pulse boundaries (s).
    other_pulse : np.ndarray
        The other track's pulse boundaries (s).
    phase : {0, 1}
        When merging: pair pulses (0, 1), (2, 3)... or (1, 2), (3, 4)... (the other track's pulse
        boundaries may fall on either; :func:`rhythm_similarity` tries both).

    Returns
    -------
    (np.ndarray [shape=(K', G, S)], np.ndarray [shape=(K' + 1,)])
        ``patterns`` and ``pulse`` themselves when the levels already match.

    Examples
    --------
    >>> p = np.zeros((4, 1, 4), np.float32); p[:, 0, 0] = 1
    >>> m, b = match_metrical_level(p, np.arange(5) * 0.5, np.arange(3) * 1.0)
    >>> m[:, 0].tolist(), b.tolist()
    ([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]], [0.0, 1.0, 2.0])
    """
    K, G, S = patterns.shape
    if K < 2 or S % 2:
        return patterns, pulse
    ratio = pulse_ratio(other_pulse, pulse)
    if ratio > np.sqrt(2.0):  # other's pulses are ~2 of ours: merge pairs
        p0 = 1 if phase else 0
        K2 = (K - p0) // 2
        pairs = patterns[p0:p0 + 2 * K2].reshape(K2, 2, G, S).transpose(0, 2, 1, 3).reshape(K2, G, 2 * S)
        return pairs.reshape(K2, G, S, 2).max(axis=3), pulse[p0:p0 + 2 * K2 + 1:2].copy()
    if ratio < np.sqrt(0.5):  # other's pulses are ~half of ours: split each in two
        halves = patterns.reshape(K, G, 2, S // 2).transpose(0, 2, 1, 3)  # (K, 2, G, S/2)
        up = np.zeros((K, 2, G, S), dtype=patterns.dtype)
        up[..., ::2] = halves
        mid = 0.5 * (pulse[:-1] + pulse[1:])
        new_pulse = np.empty(2 * K + 1)
        new_pulse[0::2] = pulse
        new_pulse[1::2] = mid
        return up.reshape(2 * K, G, S), new_pulse
    return patterns, pulse


def rhythm_similarity(fa: TrackFeatures, fb: TrackFeatures, *, settings: SimilaritySettings) -> FacetResult:
    """Rhythm score (0-100) and matching sections of query ``fa`` against original ``fb``.

    Returns
    -------
    FacetResult
        NaN (with a warning) when either side has fewer than ``min_rhythm_pulses`` pulses with onsets.

    References
    ----------
    .. [1] Bruford et al. (2020), see the module docstring (and its list of deviations).
    """
    validate(fa, fb)
    s = settings
    if len(s.rhythm_group_weights) != len(RHYTHM_GROUPS):
        raise ParameterError(f"rhythm_group_weights has {len(s.rhythm_group_weights)} values, need one per "
                             f"rhythm group {RHYTHM_GROUPS}")
    wa = pulse_windows(smooth_patterns(fa.rhythm_matrix(), s.rhythm_smooth), int(s.rhythm_window))
    pb = fb.rhythm_matrix()
    ratio = pulse_ratio(fa.pulse, fb.pulse)
    # merging pairs of b's pulses: a's pulse boundaries may fall on b's even or odd ones, try both
    phases = (0, 1) if ratio > np.sqrt(2.0) else (0,)
    best = None
    for phase in phases:
        pat_b, pulse_b = match_metrical_level(pb, fb.pulse, fa.pulse, phase=phase)
        result = _aligned(fa, wa, pat_b, pulse_b, s)
        if best is None or np.isnan(best.score) or result.score > best.score:
            best = result
    return best


def pulse_ratio(other_pulse: np.ndarray, pulse: np.ndarray) -> float:
    """Median pulse period of ``other_pulse`` over that of ``pulse`` (1.0 when either is too short)."""
    if other_pulse.shape[0] < 3 or pulse.shape[0] < 3:
        return 1.0
    return float(np.median(np.diff(other_pulse)) / np.median(np.diff(pulse)))


def _aligned(fa: TrackFeatures, wa: np.ndarray, pat_b: np.ndarray, pulse_b: np.ndarray,
             s: SimilaritySettings) -> FacetResult:
    wb = pulse_windows(smooth_patterns(pat_b, s.rhythm_smooth), int(s.rhythm_window))
    ne_a = int(np.count_nonzero(wa.reshape(wa.shape[0], -1).any(1)))
    ne_b = int(np.count_nonzero(wb.reshape(wb.shape[0], -1).any(1)))
    if min(ne_a, ne_b) < s.min_rhythm_pulses:
        warnings.warn(f"too few pulses with onsets ({ne_a} vs {ne_b}, need {s.min_rhythm_pulses}): "
                      "rhythm is NaN", UserWarning, stacklevel=2)
        return nan_result()
    sim = window_similarity(wa, wb, s.rhythm_group_weights)
    S = s.rhythm_scale * (sim - s.rhythm_center)
    self_score = min(ne_a, ne_b) * s.rhythm_scale * (1.0 - s.rhythm_center)
    return score_from_substitution(
        [(-1, S)], self_score=self_score, gap_open=s.rhythm_gap_open, gap_extend=s.rhythm_gap_extend,
        max_alignments=s.max_alignments, extra_min_fraction=s.extra_alignment_min_fraction,
        a_start=fa.pulse[:-1], b_start=pulse_b[:-1], a_end=float(fa.pulse[-1]),
        b_end=float(pulse_b[-1]), merge_gap_ms=s.merge_gap_ms, min_section_ms=s.min_section_ms,
        a_stop=fa.pulse[1:], b_stop=pulse_b[1:])
