"""Melody similarity: transposition-invariant local alignment of two melody lines.

Each note is (pitch class after a candidate key shift, inter-onset-interval ratio to its
neighbours). Two notes agree when their pitch classes are equal (octave slips do not matter) and
gain a little more when their local IOI ratios agree (a tempo-free rhythm cue: the ratio of the
next to the previous inter-onset interval is the same at any tempo, global or local). A local
alignment with affine gaps then finds the best-matching stretch (or up to ``max_alignments``
non-overlapping stretches), so ornaments, split or merged notes and missing/extra transcribed notes
cost a gap, not the match, and a cover keeping only part of the song still matches that part.

References
----------
.. [1] Urbano, J., Lloréns, J., Morato, J., Sánchez-Cuadrado, S. (2011). Melodic similarity through
       shape similarity. In: Exploring Music Contents (CMMR 2010), LNCS 6684, 338-355.
.. [2] Urbano, J. (2014). MelodyShape at MIREX 2014 symbolic melodic similarity. MIREX abstracts.
.. [3] Mongeau, M., Sankoff, D. (1990). Comparison of musical sequences. Computers and the
       Humanities 24, 161-175.

Deviations from MelodyShape [1]_ [2]_
-------------------------------------
1. No spline interpolation of the pitch-time curve: notes are aligned directly (local alignment,
   as MelodyShape's ``ShapeL`` uses) on pitch class + IOI ratio. This is faster and, with pitch
   classes, immune to octave slips of transcription.
2. Transposition invariance by trying the ``n_transpositions`` best key shifts (pitch-class
   histogram correlation) instead of interval shapes; one missing note then costs one gap
   instead of corrupting two intervals.
3. Tempo invariance by IOI ratios (local), not by normalising the time axis of the whole piece.
4. Up to ``max_alignments`` non-overlapping local alignments are summed (partial covers).
5. The score is normalised by a self-match of the shorter melody (0-100) so that it means the
   same across songs.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import ParameterError
from .facet import FacetResult, nan_result, score_from_substitution, transposition_candidates
from .features import TrackFeatures
from .settings import SimilaritySettings

__all__ = ["validate", "melody_similarity", "ioi_ratios", "pitch_class_histogram"]


def validate(fa: TrackFeatures, fb: TrackFeatures) -> None:
    """Raise ParameterError for malformed melody features; warn when one side is too short.

    Malformed: onsets/offsets/pitches of different lengths, non-finite times, pitches outside
    0-127, offsets before onsets, onsets not sorted.
    """
    for name, f in (("a", fa), ("b", fb)):
        p, on, off = f.melody_pitch, f.melody_onset, f.melody_offset
        if not (p.shape == on.shape == off.shape) or p.ndim != 1:
            raise ParameterError(
                f"melody of {name}: pitch/onset/offset shapes differ: {p.shape}, {on.shape}, {off.shape}")
        if not (np.all(np.isfinite(on)) and np.all(np.isfinite(off))):
            raise ParameterError(f"melody of {name}: non-finite note times")
        if p.size and (p.min() < 0 or p.max() > 127):
            raise ParameterError(f"melody of {name}: pitch outside 0-127 ({int(p.min())}..{int(p.max())})")
        if np.any(off < on):
            raise ParameterError(f"melody of {name}: a note ends before it starts")
        if np.any(np.diff(on) < 0):
            raise ParameterError(f"melody of {name}: onsets not sorted")


def ioi_ratios(onset: np.ndarray) -> np.ndarray:
    """log2(next IOI / previous IOI) per note, 0 at the ends, clipped to +-3 (octaves of ratio).

    Parameters
    ----------
    onset : np.ndarray [shape=(n,)] in s

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    n = onset.shape[0]
    out = np.zeros(n)
    if n < 3:
        return out
    ioi = np.maximum(np.diff(onset), 1e-3)
    out[1:-1] = np.log2(ioi[1:] / ioi[:-1])
    return np.clip(out, -3.0, 3.0)


def pitch_class_histogram(pitch: np.ndarray, onset: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Duration-weighted pitch-class histogram [shape=(12,)] (durations capped at 2 s)."""
    w = np.minimum(offset - onset, 2.0)
    return np.bincount(pitch.astype(np.int64) % 12, weights=w, minlength=12)


def _substitution(pa, ra, pb, rb, t, s: SimilaritySettings) -> np.ndarray:
    d = (pa[:, None].astype(np.int64) - pb[None, :].astype(np.int64) - t) % 12
    S = np.where(d == 0, s.melody_match, np.where((d == 1) | (d == 11), s.melody_near, s.melody_mismatch))
    agree = np.abs(ra[:, None] - rb[None, :]) <= s.melody_ioi_tolerance_oct
    return S + np.where(agree, s.melody_rhythm_bonus, -s.melody_rhythm_bonus)


def melody_similarity(fa: TrackFeatures, fb: TrackFeatures, *, settings: SimilaritySettings) -> FacetResult:
    """Melody score (0-100) and matching sections of query ``fa`` against original ``fb``.

    Parameters
    ----------
    fa, fb : TrackFeatures
        Query and original.
    settings : SimilaritySettings
        ``melody_*`` values, ``n_transpositions``, section rules.

    Returns
    -------
    FacetResult
        NaN score (with a warning) when either melody has fewer than ``min_melody_notes`` notes.

    References
    ----------
    .. [1] Urbano et al. (2011), see the module docstring (and its list of deviations).
    """
    validate(fa, fb)
    s = settings
    na, nb = fa.melody_pitch.shape[0], fb.melody_pitch.shape[0]
    if min(na, nb) < s.min_melody_notes:
        warnings.warn(f"melody has too few notes ({na} vs {nb}, need {s.min_melody_notes}): score is NaN",
                      UserWarning, stacklevel=2)
        return nan_result()
    ra, rb = ioi_ratios(fa.melody_onset), ioi_ratios(fb.melody_onset)
    ha = pitch_class_histogram(fa.melody_pitch, fa.melody_onset, fa.melody_offset)
    hb = pitch_class_histogram(fb.melody_pitch, fb.melody_onset, fb.melody_offset)
    shifts = transposition_candidates(ha, hb, s.n_transpositions)
    mats = [(int(t), _substitution(fa.melody_pitch, ra, fb.melody_pitch, rb, int(t), s)) for t in shifts]
    self_score = min(na, nb) * (s.melody_match + s.melody_rhythm_bonus)
    return score_from_substitution(
        mats, self_score=self_score, gap_open=s.melody_gap_open, gap_extend=s.melody_gap_extend,
        max_alignments=s.max_alignments, extra_min_fraction=s.extra_alignment_min_fraction,
        a_start=fa.melody_onset, b_start=fb.melody_onset, a_end=float(fa.duration[0]),
        b_end=float(fb.duration[0]), merge_gap_ms=s.merge_gap_ms, min_section_ms=s.min_section_ms)
