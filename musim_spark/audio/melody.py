"""The melody line of polyphonic notes: the highest salient line (a "skyline").

A transcribed mix has no tracks; the melody is taken as what sits on top. A note belongs to the
melody when it is loud enough to be heard as a lead (``min_amplitude``), high enough not to be the
bass (``min_pitch``), and no higher salient note covers most of it. The result is monophonic
enough for the similarity engine's melody facet (which reduces a line to one note at a time).

Examples
--------
>>> import numpy as np
>>> notes = np.array([[0.0, 1.0, 72, 0.8],   # the tune
...                   [0.0, 2.0, 60, 0.7],   # a held chord tone under it
...                   [1.0, 2.0, 74, 0.8],   # the tune goes on
...                   [0.0, 2.0, 40, 0.9]])  # the bass
>>> melody_mask(notes).tolist()
[True, False, True, False]
"""

from __future__ import annotations

import numpy as np

__all__ = ["melody_mask"]


def melody_mask(notes: np.ndarray, *, min_pitch: int = 55, min_amplitude: float = 0.25,
                covered: float = 0.5) -> np.ndarray:
    """Which notes form the melody line.

    Parameters
    ----------
    notes : np.ndarray
        Shape (n, 4): ``start_s, end_s, pitch, amplitude``.
    min_pitch : int
        Lowest MIDI pitch of the melody.
    min_amplitude : float
        Notes quieter than this are accompaniment.
    covered : float
        A note covered by higher salient notes for more than this fraction of its duration is
        under the melody, not part of it.

    Returns
    -------
    np.ndarray
        Boolean, one per note.

    Examples
    --------
    >>> melody_mask(np.zeros((0, 4))).shape
    (0,)
    """
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    n = notes.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    start, end, pitch, amp = notes.T
    salient = (pitch >= min_pitch) & (amp >= min_amplitude)
    mask = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(salient)
    # Highest first: each note only needs the salient notes above it, already decided.
    order = idx[np.argsort(-pitch[idx], kind="stable")]
    for k, i in enumerate(order):
        above = order[:k]
        above = above[pitch[above] > pitch[i]]
        dur = max(end[i] - start[i], 1e-9)
        if above.size:
            ov = np.clip(np.minimum(end[above], end[i]) - np.maximum(start[above], start[i]), 0, None)
            # Overlaps of the notes above may overlap each other: union them on a fine grid.
            if ov.sum() > covered * dur:
                grid = np.linspace(start[i], end[i], 64, endpoint=False) + dur / 128
                hit = np.zeros(grid.size, dtype=bool)
                for j in above[ov > 0]:
                    hit |= (grid >= start[j]) & (grid < end[j])
                if hit.mean() > covered:
                    continue
        mask[i] = True
    return mask
