"""Keep the notes a transcription model means: a logistic note filter over its own activations.

basic-pitch's note decoding, run with an onset threshold low enough to find soft and slow notes,
also reports false notes, and most of them are of two kinds (measured on the development set of
``bench/transcription.py``, seed 0): a sustained note (pad, bass, held chord tone) **struck again**
where another instrument starts, and notes whose onset peak is weak. Each candidate note gets a few
numbers read from the model's own frame-wise ``note`` and ``onset`` activations at its pitch around
its onset (:data:`FEATURES`), and a logistic model (fit by ``bench/fit_note_filter.py`` on the
development set; coefficients in :data:`COEF`) gives the probability that it is a real note
onset. Notes below ``threshold`` are dropped.

Deviations from a trained post-processor (e.g. Hawthorne et al. 2018's onset/frame joint
decoding [#]_): no training of the model itself, eleven hand-made features, one linear layer, fit
on six generated tracks; the fit and its held-out check are in ``bench/results/transcription.md``.

References
----------
.. [#] C. Hawthorne et al., "Onsets and Frames: Dual-Objective Piano Transcription", ISMIR 2018.

Examples
--------
>>> import numpy as np
>>> T = 200
>>> note = np.zeros((T, 88)); onset = np.zeros((T, 88))
>>> note[50:120, 39] = 0.8; onset[50, 39] = 0.9          # a clean note: onset peak, nothing before
>>> note[20:180, 27] = 0.7; onset[100, 27] = 0.35         # a held note "struck" again at frame 100
>>> times = np.arange(T) * 256 / 22050
>>> cands = np.array([[times[50], times[120], 60, 0.8], [times[100], times[180], 48, 0.7]])
>>> keep_mask(cands, note, onset, times=times, threshold=0.3).tolist()
[True, False]
"""

from __future__ import annotations

import numpy as np

__all__ = ["FEATURES", "COEF", "note_features", "note_probability", "keep_mask", "merge_dropped"]

#: Names of the feature columns (:func:`note_features`), in order.
FEATURES = ("onset_peak", "amplitude", "log_duration", "pitch", "before", "rise", "octave_below",
            "twelfth_below", "octave_above", "onsets_with", "continues")

#: The fitted logistic model: per feature (mean, scale, weight) on standardised features, and the
#: intercept. Fit by ``bench/fit_note_filter.py`` (dev set: ``sample-data --songs 2 --seed 0``,
#: candidates of basic-pitch at onset 0.5 / frame 0.3 / 58 ms, label: matched by a truth note at
#: 50 ms); do not edit by hand, rerun the script (and bump ``rows.TRANSCRIBE_VERSION``: the
#: coefficients are not among the settings, so stored transcriptions would not be redone).
COEF = {
    "onset_peak": (0.597446, 0.142485, 1.3751),
    "amplitude": (0.524378, 0.121846, 0.234152),
    "log_duration": (-1.4084, 0.741297, 0.380993),
    "pitch": (0.160034, 0.505605, -0.234054),
    "before": (0.402238, 0.191133, -0.717817),
    "rise": (0.12516, 0.118796, 0.25293),
    "octave_below": (0.27185, 0.192445, -0.0434312),
    "twelfth_below": (0.189954, 0.170444, 0.000221817),
    "octave_above": (0.235685, 0.179147, -0.107951),
    "onsets_with": (2.22357, 1.69692, 0.408806),
    "continues": (0.627803, 0.483391, -0.420773),
}
INTERCEPT = -1.22281

_MIDI_OFFSET = 21        # activation column 0 is MIDI 21 (A0)
_SAME_ONSET_S = 0.05     # notes starting together (a chord): "onsets_with"
_CONTINUES_S = 0.06      # a same-pitch note ending this close before: "continues"


def note_features(notes: np.ndarray, note: np.ndarray, onset: np.ndarray, *, times: np.ndarray) -> np.ndarray:
    """Per candidate note, the numbers the filter reads (:data:`FEATURES`).

    Parameters
    ----------
    notes : np.ndarray
        Shape (n, 4): ``start_s, end_s, pitch, amplitude`` on the activations' timeline.
    note, onset : np.ndarray
        Shape (T, 88): the model's frame and onset activations (0-1), column 0 = MIDI 21.
    times : np.ndarray
        Shape (>= T,): the time in s of each frame.

    Returns
    -------
    np.ndarray
        Shape (n, len(FEATURES)), float64:

        - ``onset_peak``: the highest onset activation at the pitch within 2 frames of the onset;
        - ``amplitude``: the note's mean frame activation (the decoder's amplitude);
        - ``log_duration``: log of the duration in s;
        - ``pitch``: (MIDI - 60) / 24;
        - ``before``: mean frame activation at the pitch 6 to 2 frames before the onset (already
          sounding: a re-strike);
        - ``rise``: mean frame activation over the first 3 frames minus ``before``;
        - ``octave_below``, ``twelfth_below``, ``octave_above``: the highest frame activation 12
          and 19 semitones below and 12 above over the first 3 frames (harmonic evidence);
        - ``onsets_with``: other candidates starting within 50 ms (a chord);
        - ``continues``: 1 when a same-pitch candidate ends within 60 ms before the onset.

    Examples
    --------
    >>> note_features(np.zeros((0, 4)), np.zeros((5, 88)), np.zeros((5, 88)), times=np.arange(5.0)).shape
    (0, 11)
    """
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    note = np.asarray(note, dtype=np.float64)
    onset = np.asarray(onset, dtype=np.float64)
    T, K = note.shape
    out = np.zeros((notes.shape[0], len(FEATURES)))
    if notes.shape[0] == 0 or T == 0:
        return out
    start, end, pitch, amp = notes.T
    frame = np.minimum(np.searchsorted(np.asarray(times, dtype=np.float64)[:T], start - 1e-6), T - 1)
    col = np.clip(np.round(pitch).astype(int) - _MIDI_OFFSET, 0, K - 1)
    for j in range(notes.shape[0]):
        i, k = int(frame[j]), int(col[j])
        out[j, 0] = onset[max(i - 2, 0):i + 3, k].max()
        out[j, 4] = note[max(i - 6, 0):max(i - 2, 1), k].mean()
        out[j, 5] = note[i:i + 3, k].mean() - out[j, 4]
        out[j, 6] = note[i:i + 3, k - 12].max() if k >= 12 else 0.0
        out[j, 7] = note[i:i + 3, k - 19].max() if k >= 19 else 0.0
        out[j, 8] = note[i:i + 3, k + 12].max() if k + 12 < K else 0.0
        out[j, 9] = np.count_nonzero(np.abs(start - start[j]) <= _SAME_ONSET_S) - 1
        before = (pitch == pitch[j]) & (start < start[j] - 1e-6)
        out[j, 10] = float(before.any() and start[j] - end[before].max() < _CONTINUES_S)
    out[:, 1] = amp
    out[:, 2] = np.log(np.maximum(end - start, 1e-3))
    out[:, 3] = (pitch - 60.0) / 24.0
    return out


def note_probability(features: np.ndarray) -> np.ndarray:
    """The filter's probability that each candidate is a real note onset.

    Parameters
    ----------
    features : np.ndarray
        Shape (n, len(FEATURES)) (:func:`note_features`).

    Returns
    -------
    np.ndarray
        Shape (n,), in (0, 1).

    Examples
    --------
    >>> note_probability(np.zeros((2, len(FEATURES)))).shape
    (2,)
    """
    x = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURES))
    mean, scale, weight = (np.array([COEF[f][i] for f in FEATURES]) for i in range(3))
    z = ((x - mean) / scale) @ weight + INTERCEPT
    return 1.0 / (1.0 + np.exp(-z))


def keep_mask(notes: np.ndarray, note: np.ndarray, onset: np.ndarray, *, times: np.ndarray,
              threshold: float) -> np.ndarray:
    """Which candidate notes the filter keeps (probability >= ``threshold``; 0 keeps all).

    Parameters
    ----------
    notes, note, onset, times
        As :func:`note_features`.
    threshold : float
        0-1.

    Returns
    -------
    np.ndarray
        Boolean, one per note.
    """
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    if threshold <= 0 or notes.shape[0] == 0:
        return np.ones(notes.shape[0], dtype=bool)
    return note_probability(note_features(notes, note, onset, times=times)) >= threshold


def merge_dropped(notes: np.ndarray, keep: np.ndarray, *, gap_s: float = _CONTINUES_S) -> np.ndarray:
    """The kept notes, each extended over the dropped same-pitch notes that continue it.

    A dropped candidate that starts within ``gap_s`` of the end of a kept (or already merged)
    note of its pitch was a false re-strike of a sounding note: the note goes on, so its end
    moves to the dropped one's end instead of the note stopping at the false onset.

    Parameters
    ----------
    notes : np.ndarray
        Shape (n, 4): ``start_s, end_s, pitch, amplitude``.
    keep : np.ndarray
        Boolean, one per note (:func:`keep_mask`).

    Returns
    -------
    np.ndarray
        Shape (keep.sum(), 4), in the order of ``notes``.

    Examples
    --------
    >>> n = np.array([[0.0, 1.0, 60, 0.8], [1.02, 2.0, 60, 0.5], [3.0, 4.0, 60, 0.5]])
    >>> merge_dropped(n, np.array([True, False, False])).tolist()
    [[0.0, 2.0, 60.0, 0.8]]
    """
    notes = np.array(notes, dtype=np.float64).reshape(-1, 4)
    keep = np.asarray(keep, dtype=bool)
    out = notes.copy()
    last: dict[float, int] = {}  # pitch -> index of the kept note it currently continues
    for j in np.argsort(notes[:, 0], kind="stable"):
        p = notes[j, 2]
        if keep[j]:
            last[p] = j
        elif p in last and notes[j, 0] - out[last[p], 1] < gap_s:
            out[last[p], 1] = max(out[last[p], 1], notes[j, 1])
    return out[keep]
