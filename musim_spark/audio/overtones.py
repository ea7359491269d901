"""Drop notes that are overtones of a louder note: a transcription model's most common false note.

A bright timbre puts energy at the 2nd-5th harmonics (+12, +19, +24, +28 semitones); a model may
report them as notes of their own, starting with their fundamental and quieter than it. Left in,
they sit on top of the mix and the melody line (the highest salient notes) would follow them.

Examples
--------
>>> import numpy as np
>>> notes = np.array([[1.0, 1.5, 74, 0.75],
...                   [1.0, 1.4, 93, 0.33],    # its 3rd harmonic (+19), much quieter: an overtone
...                   [1.0, 1.5, 86, 0.70]])   # +12 but as loud: a real note (an octave doubling)
>>> overtone_mask(notes).tolist()
[False, True, False]
"""

from __future__ import annotations

import numpy as np

__all__ = ["overtone_mask", "HARMONIC_INTERVALS"]

#: Semitones above a fundamental of its 2nd, 3rd, 4th and 5th harmonics.
HARMONIC_INTERVALS = (12, 19, 24, 28)


def overtone_mask(notes: np.ndarray, *, ratio: float = 0.7, onset_tol_s: float = 0.05) -> np.ndarray:
    """Which notes are overtones of another note.

    Parameters
    ----------
    notes : np.ndarray
        Shape (n, 4): ``start_s, end_s, pitch, amplitude``.
    ratio : float
        A note is an overtone when it is quieter than ``ratio`` times a note a harmonic interval
        below that starts with it (within ``onset_tol_s``) and does not outlast it.
    onset_tol_s : float

    Returns
    -------
    np.ndarray
        Boolean, one per note (True: an overtone, to drop).

    Examples
    --------
    >>> overtone_mask(np.zeros((0, 4))).shape
    (0,)
    """
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    n = notes.shape[0]
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    start, end, pitch, amp = notes.T
    for i in range(n):
        below = pitch[i] - pitch
        cand = (np.isin(below, HARMONIC_INTERVALS) & (np.abs(start - start[i]) <= onset_tol_s)
                & (end >= end[i] - onset_tol_s) & (amp[i] < ratio * amp))
        out[i] = bool(cand.any())
    return out
