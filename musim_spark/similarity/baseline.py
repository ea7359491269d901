"""The interval n-gram baseline: Jaccard similarity of two melodies' sets of pitch-interval n-grams.

The floor every melody engine must clear (issue 10: a 20-line matcher of this kind beat the engine
on real plagiarism cases). A monophonic melody line becomes its sequence of pitch intervals
(semitones between consecutive notes: transposition-invariant, rhythm ignored); every run of ``n``
consecutive intervals is an n-gram ("term"); two melodies compare by the Jaccard coefficient of
their n-gram SETS, ``|A & B| / |A | B|`` (order, counts and positions ignored).

This is the n-gram text-retrieval view of melody of Downie [1]_ and Uitdenbogerd & Zobel [2]_
(who found interval n-grams among the best simple matchers), with the set (Jaccard) measure in
place of their tf-idf or count-based scores [3]_: no collection statistics, so a pair's value
depends on the two melodies only, as the engine's scores must.

Deviations from [1]_/[2]_: exact semitone intervals (no contour or interval classes), no
rhythm, no weighting, sets not multisets.

References
----------
.. [1] Downie, J. S. (1999). Evaluating a simple approach to music information retrieval:
       conceiving melodic n-grams as text. PhD thesis, University of Western Ontario.
.. [2] Uitdenbogerd, A., Zobel, J. (1999). Melodic matching techniques for large music
       databases. Proc. ACM Multimedia '99, 57-66.
.. [3] Doraisamy, S., Rüger, S. (2003). Robust polyphonic music retrieval with n-grams.
       Journal of Intelligent Information Systems 21(1), 53-70.

Examples
--------
>>> import numpy as np
>>> a = np.array([60, 62, 64, 65, 67, 65, 64, 62, 60])
>>> interval_ngram_jaccard(a, a + 5)
1.0
>>> interval_ngram_jaccard(a, np.array([60, 62, 64, 65, 67, 69, 71, 72]))
0.25
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..model import Piece

__all__ = ["intervals", "interval_ngrams", "ngram_jaccard", "interval_ngram_jaccard", "melody_line"]

# Intervals between MIDI pitches lie in -127..127: offset by 127 they fit one base-255 digit, so an
# n-gram packs into one int64 for n <= 7 (255**8 > 2**63), and set operations are np.unique/intersect.
_BASE = 255
_MAX_N = 7


def intervals(pitch) -> np.ndarray:
    """Pitch intervals (semitones) of a melody line.

    Parameters
    ----------
    pitch : np.ndarray [shape=(m,), int]
        MIDI pitches 0-127 in onset order (a monophonic line).

    Returns
    -------
    np.ndarray [shape=(max(m - 1, 0),), int64]
        ``pitch[1:] - pitch[:-1]``.

    Raises
    ------
    ParameterError
        Not a 1-D array of integers in 0-127.
    """
    p = np.asarray(pitch)
    if p.ndim != 1:
        raise ParameterError(f"pitch must be 1-D, got shape {p.shape}")
    if p.size and (not np.issubdtype(p.dtype, np.integer)):
        if not (np.issubdtype(p.dtype, np.floating) and np.all(np.isfinite(p)) and np.all(p == np.round(p))):
            raise ParameterError(f"pitch must hold integer MIDI numbers, got dtype {p.dtype}")
    p = p.astype(np.int64)
    if p.size and (p.min() < 0 or p.max() > 127):
        raise ParameterError(f"pitch must lie in 0-127, got {p.min()}..{p.max()}")
    return np.diff(p)


def interval_ngrams(pitch, *, n: int = 3) -> np.ndarray:
    """The set of interval n-grams of a melody line, each packed into one integer.

    Parameters
    ----------
    pitch : np.ndarray [shape=(m,), int]
        MIDI pitches in onset order.
    n : int
        Intervals per n-gram, 1-7 (so ``n + 1`` notes each).

    Returns
    -------
    np.ndarray [shape=(k,), int64]
        Sorted, unique codes (``k = 0`` for fewer than ``n + 1`` notes); equal codes mean equal
        n-grams.
    """
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= _MAX_N:
        raise ParameterError(f"n must be an integer in 1-{_MAX_N}, got {n!r}")
    iv = intervals(pitch) + 127
    k = iv.shape[0] - n + 1
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    codes = np.zeros(k, dtype=np.int64)
    for j in range(n):  # n is tiny: a Python loop over n, numpy over the melody
        codes = codes * _BASE + iv[j:j + k]
    return np.unique(codes)


def ngram_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard coefficient of two sets of n-gram codes (:func:`interval_ngrams`).

    Returns
    -------
    float
        ``|a & b| / |a | b|`` in [0, 1]; 0.0 when both are empty (nothing to share: an undefined
        similarity must not count as similar).
    """
    a, b = np.unique(np.asarray(a, dtype=np.int64)), np.unique(np.asarray(b, dtype=np.int64))
    inter = np.intersect1d(a, b, assume_unique=True).shape[0]
    union = a.shape[0] + b.shape[0] - inter
    return float(inter) / union if union else 0.0


def interval_ngram_jaccard(pitch_a, pitch_b, *, n: int = 3) -> float:
    """Interval n-gram Jaccard similarity of two melody lines.

    Parameters
    ----------
    pitch_a, pitch_b : np.ndarray [shape=(m,), int]
        MIDI pitches of two monophonic lines in onset order (e.g. :func:`melody_line`, or
        ``TrackFeatures.melody_pitch``).
    n : int
        n-gram length in intervals (3: the issue's "interval 3-gram").

    Returns
    -------
    float
        In [0, 1]: 1 for lines with the same n-gram set (any transposition), 0 for none shared or
        when neither line has ``n + 1`` notes.
    """
    return ngram_jaccard(interval_ngrams(pitch_a, n=n), interval_ngrams(pitch_b, n=n))


def melody_line(piece: Piece, *, onset_tolerance: float = 0.03) -> np.ndarray:
    """A piece's melody line as pitches: the highest note per onset of its melody track.

    The melody track is :func:`.features.find_melody_track`'s; the line is its "skyline" (highest
    note per onset, :func:`.features.skyline`; Uitdenbogerd & Zobel [2]_). These are the steps of
    the engine the issue measured (commit 44d9f2c): the baseline then reads the same notes as that
    engine. An engine that reduces melodies differently keeps its own line in
    ``TrackFeatures.melody_pitch``; the benchmark feeds that to :func:`interval_ngram_jaccard`.

    Parameters
    ----------
    piece : Piece
    onset_tolerance : float
        s (``SimilaritySettings.onset_tolerance_s``): onsets this close are one onset.

    Returns
    -------
    np.ndarray [shape=(m,), int16]
        Empty when the piece has no pitched notes.
    """
    from .features import find_melody_track, skyline

    if not isinstance(piece, Piece):
        raise ParameterError(f"melody_line needs a Piece, got {type(piece).__name__}")
    track = find_melody_track(piece)
    if track is None:
        return np.zeros(0, dtype=np.int16)
    p, _, _ = skyline(track.pitches(), track.onsets(), track.offsets(), onset_tolerance=onset_tolerance)
    return p
