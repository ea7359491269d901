"""Chord similarity: key-invariant local alignment of chord sequences estimated from the notes.

Chords are estimated per beat (triad templates on duration-weighted chroma, bass emphasised;
:func:`.features.chords_per_beat`) from the label's chord track, else the accompaniment, and runs
of equal chords become chord events. Two event sequences are aligned after each of the
``n_transpositions`` best key shifts (chord-tone histogram correlation); events are compared by
root and quality only (not duration), so a tempo change, global or partial, changes nothing but
the section times.

References
----------
.. [1] Lerdahl, F. (2001). Tonal Pitch Space. Oxford University Press.
.. [2] de Haas, W. B., Veltkamp, R. C., Wiering, F. (2008). Tonal pitch step distance: a similarity
       measure for chord progressions. Proc. ISMIR 2008, 51-56.
.. [3] Müller, M. (2015). Fundamentals of Music Processing, ch. 5 (template-based chord
       recognition) and ch. 7 (key-invariant chroma alignment). Springer.

Deviations from TPSD [2]_
-------------------------
1. A three-level substitution (same triad / same root / two shared tones) stands in for the
   Tonal Pitch Space distance; only major and minor triads are estimated.
2. Local alignment with affine gaps over chord-change events instead of the area between two
   step functions over the whole piece: partial covers and tempo changes are handled.
3. Key invariance by trying the best key shifts rather than by expressing chords relative to an
   estimated global key (a wrong key estimate then costs nothing).
4. Score normalised by a self-match of the shorter sequence (0-100).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import ParameterError
from ..notation import pitch_class_name
from .facet import FacetResult, nan_result, score_from_substitution, transposition_candidates
from .features import TrackFeatures
from .settings import SimilaritySettings

__all__ = ["validate", "chord_similarity", "chord_tone_histogram", "chord_name"]


def chord_name(root: int, quality: int) -> str:
    """'C', 'Am', 'C#', ... ('N' for no chord; roots spelt as :func:`musim_spark.notation.pitch_class_name`'s
    ``"chord"`` spelling)."""
    return "N" if root < 0 else pitch_class_name(root, spelling="chord") + ("m" if quality == 1 else "")


def validate(fa: TrackFeatures, fb: TrackFeatures) -> None:
    """Raise ParameterError for malformed chord events (length mismatch, bad roots, bad times)."""
    for name, f in (("a", fa), ("b", fb)):
        r, q, st, en = f.chord_root, f.chord_quality, f.chord_start, f.chord_end
        if not (r.shape == q.shape == st.shape == en.shape):
            raise ParameterError(f"chords of {name}: field lengths differ")
        if r.size and (r.min() < 0 or r.max() > 11 or q.min() < 0 or q.max() > 1):
            raise ParameterError(f"chords of {name}: root outside 0-11 or quality outside 0-1")
        if np.any(en < st) or not np.all(np.isfinite(st)):
            raise ParameterError(f"chords of {name}: an event ends before it starts / non-finite")


def chord_tone_histogram(root, quality, start, end) -> np.ndarray:
    """Duration-weighted histogram [shape=(12,)] of the chord tones of a chord-event sequence."""
    h = np.zeros(12)
    if root.size == 0:
        return h
    w = np.minimum(end - start, 8.0)
    third = np.where(quality == 1, 3, 4)
    for iv in (np.zeros_like(third), third, np.full_like(third, 7)):
        np.add.at(h, (root.astype(np.int64) + iv) % 12, w)
    return h


def _substitution(ra, qa, rb, qb, t, s: SimilaritySettings) -> np.ndarray:
    d = (ra[:, None].astype(np.int64) - rb[None, :].astype(np.int64) - t) % 12
    same_q = qa[:, None] == qb[None, :]
    S = np.full(d.shape, s.chord_mismatch)
    S = np.where(d == 0, np.where(same_q, s.chord_match, s.chord_same_root), S)
    # two shared tones: a major vs the minor a minor third below (relative) or a major third above
    # (mediant), and the mirror cases
    a_maj_b_min = (qa[:, None] == 0) & (qb[None, :] == 1) & ((d == 3) | (d == 8))
    a_min_b_maj = (qa[:, None] == 1) & (qb[None, :] == 0) & ((d == 9) | (d == 4))
    return np.where(a_maj_b_min | a_min_b_maj, s.chord_related, S)


def chord_similarity(fa: TrackFeatures, fb: TrackFeatures, *, settings: SimilaritySettings) -> FacetResult:
    """Chord score (0-100) and matching sections of query ``fa`` against original ``fb``.

    Returns
    -------
    FacetResult
        NaN (with a warning) when either side has fewer than ``min_chord_events`` chord events.

    References
    ----------
    .. [1] de Haas et al. (2008), see the module docstring (and its list of deviations).
    """
    validate(fa, fb)
    s = settings
    na, nb = fa.chord_root.shape[0], fb.chord_root.shape[0]
    if min(na, nb) < s.min_chord_events:
        warnings.warn(f"too few chord events ({na} vs {nb}, need {s.min_chord_events}): chord is NaN",
                      UserWarning, stacklevel=2)
        return nan_result()
    ha = chord_tone_histogram(fa.chord_root, fa.chord_quality, fa.chord_start, fa.chord_end)
    hb = chord_tone_histogram(fb.chord_root, fb.chord_quality, fb.chord_start, fb.chord_end)
    shifts = transposition_candidates(ha, hb, s.n_transpositions)
    mats = [(int(t), _substitution(fa.chord_root, fa.chord_quality, fb.chord_root, fb.chord_quality,
                                   int(t), s)) for t in shifts]
    self_score = min(na, nb) * s.chord_match
    return score_from_substitution(
        mats, self_score=self_score, gap_open=s.chord_gap_open, gap_extend=s.chord_gap_extend,
        max_alignments=s.max_alignments, extra_min_fraction=s.extra_alignment_min_fraction,
        a_start=fa.chord_start, b_start=fb.chord_start, a_end=float(fa.duration[0]),
        b_end=float(fb.duration[0]), merge_gap_ms=s.merge_gap_ms, min_section_ms=s.min_section_ms,
        a_stop=fa.chord_end, b_stop=fb.chord_end)
