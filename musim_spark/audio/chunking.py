"""Bounded-memory processing of long audio: overlapping windows, and notes stitched across seams.

A song is cut into windows of ``chunk_s`` seconds overlapping by ``overlap_s``. Each window owns
the middle of its span (the overlap is split half and half between neighbours); a note is kept
from the window that owns its onset, so no note is found twice. A note still sounding at the end
of its window was cut there: it takes the end of the same-pitch note that continues it in the next
window. Model activations then exist for one window at a time, whatever the song's length.

Examples
--------
>>> [(w.start, w.stop, w.own_start, w.own_stop) for w in plan_windows(70, sr=1, chunk_s=30, overlap_s=4)]
[(0, 30, 0, 28), (26, 56, 28, 54), (52, 70, 54, 70)]
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Window", "plan_windows", "stitch"]


@dataclasses.dataclass(frozen=True)
class Window:
    """One window of a recording, in samples.

    Attributes
    ----------
    start, stop : int
        The samples the window reads.
    own_start, own_stop : int
        The samples whose onsets it owns (the windows' owned spans tile the recording).
    """

    start: int
    stop: int
    own_start: int
    own_stop: int


def plan_windows(n_samples: int, *, sr: int, chunk_s: float, overlap_s: float) -> list[Window]:
    """Cut ``n_samples`` into overlapping windows whose owned spans tile ``[0, n_samples)``.

    Parameters
    ----------
    n_samples : int
    sr : int
        Sample rate (Hz).
    chunk_s, overlap_s : float
        Window length and overlap of consecutive windows (seconds); ``overlap_s < chunk_s / 2``.

    Returns
    -------
    list of Window
        One window for audio no longer than ``chunk_s``.

    Examples
    --------
    >>> plan_windows(10, sr=1, chunk_s=30, overlap_s=4)
    [Window(start=0, stop=10, own_start=0, own_stop=10)]
    """
    chunk = max(1, int(round(chunk_s * sr)))
    overlap = int(round(overlap_s * sr))
    hop = chunk - overlap
    if n_samples <= chunk:
        return [Window(0, int(n_samples), 0, int(n_samples))]
    starts = list(range(0, int(n_samples) - overlap, hop))
    # A last window shorter than the overlap adds nothing its neighbour does not see.
    if len(starts) > 1 and n_samples - starts[-1] <= overlap:
        starts.pop()
    windows = []
    for i, start in enumerate(starts):
        stop = min(start + chunk, int(n_samples)) if i < len(starts) - 1 else int(n_samples)
        own_start = 0 if i == 0 else start + overlap // 2
        own_stop = int(n_samples) if i == len(starts) - 1 else start + hop + overlap // 2
        windows.append(Window(start, stop, own_start, own_stop))
    return windows


def stitch(parts: list[np.ndarray], windows: list[Window], *, sr: int, tolerance_s: float = 0.1) -> np.ndarray:
    """Join the notes of consecutive windows into the notes of the whole recording.

    Parameters
    ----------
    parts : list of np.ndarray
        Per window, a float array of shape (n, 4): ``start_s, end_s, pitch, amplitude`` with times
        on the recording's timeline.
    windows : list of Window
        The windows the parts come from (:func:`plan_windows`), in order.
    sr : int
        Sample rate of the windows' sample positions.
    tolerance_s : float
        A note ending within this of its window's end was cut by the seam.

    Returns
    -------
    np.ndarray
        Shape (n, 4), sorted by start then pitch.

    Examples
    --------
    A 20 s note, cut by the seam at 30 s, continues in the next window:

    >>> w = plan_windows(70, sr=1, chunk_s=30, overlap_s=4)
    >>> a = np.array([[20.0, 30.0, 60, 0.5]])
    >>> b = np.array([[26.0, 40.0, 60, 0.5], [27.0, 28.0, 64, 0.5]])
    >>> stitch([a, b, np.zeros((0, 4))], w, sr=1).tolist()
    [[20.0, 40.0, 60.0, 0.5]]
    """
    kept = []
    for k, (part, win) in enumerate(zip(parts, windows)):
        part = np.asarray(part, dtype=np.float64).reshape(-1, 4)
        own = (part[:, 0] >= win.own_start / sr) & (part[:, 0] < win.own_stop / sr)
        mine = part[own].copy()
        if k + 1 < len(parts) and mine.size:
            nxt = np.asarray(parts[k + 1], dtype=np.float64).reshape(-1, 4)
            cut = mine[:, 1] >= win.stop / sr - tolerance_s
            for i in np.flatnonzero(cut):
                # The continuation starts at the next window's first frames and overlaps the cut note.
                cont = nxt[(nxt[:, 2] == mine[i, 2]) & (nxt[:, 0] <= windows[k + 1].start / sr + tolerance_s)
                           & (nxt[:, 1] > mine[i, 1] - tolerance_s)]
                if cont.size:
                    mine[i, 1] = max(mine[i, 1], float(cont[:, 1].max()))
        kept.append(mine)
    out = np.concatenate(kept) if kept else np.zeros((0, 4))
    return out[np.lexsort((out[:, 2], out[:, 0]))] if out.size else out.reshape(0, 4)
