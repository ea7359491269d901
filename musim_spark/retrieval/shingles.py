"""Per-track shingles: hashed, transposition- and tempo-invariant local n-grams of a track.

A global summary of a track (:func:`musim_spark.similarity.features.embedding`) collapses as the
catalog grows: thousands of pop songs have nearly the same interval and chord histograms. What
stays specific to one song is its local sequence: the next few melodic intervals with their
rhythm, the next few chord changes. So a track becomes a set of *shingles* (as in near-duplicate
text detection and symbolic music retrieval [1]_ [2]_), each a 64-bit hash of a short n-gram:

* kind 1, *pitch*: ``pitch_gram_notes`` consecutive melody notes as their pitch intervals, folded
  to one octave (-5..+6 semitones): invariant to transposition, and an octave slip of a
  transcriber (a note read an octave off) changes no folded interval;
* kind 2, *joint*: ``joint_gram_notes`` notes as folded intervals plus the classes of their
  inter-onset-interval ratios (log2 ratio of successive IOIs rounded to ``ioi_ratio_step_oct``):
  invariant to tempo, and more specific than pitch alone;
* kind 3, *chord*: ``chord_gram_events`` chord events as root movements (mod 12) and qualities:
  key-invariant; lets an arrangement cover whose melody line came out noisy still meet its
  original through the progression.

With ``max_deletions`` = d every window of up to d notes (events) more is also shingled with that
many inner notes left out (skip-grams, on both sides): a dropped note on one side, an extra note on
the other, or a wrong note on either (left out on both) then keeps shingles that span it; plain
n-grams lose every n-gram touching the error. Both sides of a pair are transcribed, so errors
come in pairs: 2 deletions find 4-16 bar phrases far better than 1 (bench/results/retrieval.md).
Every candidate melody line of the track is shingled (``max_lines``): the primary line and the
alternatives (another track, another voice).

A hash keeps its kind in its top two bits (:func:`shingle_kind`): the index weighs kinds apart.
Packing the symbols is exact (no collisions within a kind); the final mix (splitmix64, a
bijection) only spreads the values evenly for hash partitioning in Spark.

References
----------
.. [1] Broder, A. (1997). On the resemblance and containment of documents. Compression and
       Complexity of Sequences, 21-29 (shingles).
.. [2] Doraisamy, S., Rüger, S. (2003). Robust polyphonic music retrieval with n-grams. Journal of
       Intelligent Information Systems 21(1), 53-70 (interval and ratio n-grams as index terms).

Examples
--------
>>> import numpy as np
>>> p = np.array([60, 62, 64, 65, 67, 65, 64, 62, 60])
>>> on = 0.5 * np.arange(9)
>>> s = RetrievalSettings(max_deletions=0, joint_gram_notes=0, chord_gram_events=0)
>>> a = line_shingles(p, on, s)
>>> a.shape                                   # 9 notes -> 5 windows of 5 notes
(5,)
>>> bool(np.array_equal(a, line_shingles(p + 7, 1.3 * on, s)))   # transposed, slower
True
>>> sorted(set(shingle_kind(a).tolist()))
[1]
"""

from __future__ import annotations

import itertools

import numpy as np

from .settings import RetrievalSettings

__all__ = ["KIND_PITCH", "KIND_JOINT", "KIND_CHORD", "line_shingles", "chord_shingles", "melody_lines",
           "track_shingles", "shingle_kind", "mix64"]

#: Shingle kinds (the hash's top two bits).
KIND_PITCH, KIND_JOINT, KIND_CHORD = 1, 2, 3
_KIND_SHIFT = np.uint64(62)
_LOW62 = np.uint64((1 << 62) - 1)
#: Shortest inter-onset interval (s) in a ratio: guards a division by zero on equal onsets.
_MIN_IOI_S = 1e-3


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser of uint64 values (a bijection: distinct inputs stay distinct).

    Examples
    --------
    >>> mix64(np.array([0, 1], dtype=np.uint64)).tolist()
    [0, 6238072747940578789]
    """
    z = np.asarray(x, dtype=np.uint64).copy()
    with np.errstate(over="ignore"):
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def _tag(packed: np.ndarray, kind: int) -> np.ndarray:
    """Mix, then put ``kind`` into the top two bits (the mixed value's top bits are dropped)."""
    return (mix64(packed) & _LOW62) | (np.uint64(kind) << _KIND_SHIFT)


def shingle_kind(hashes: np.ndarray) -> np.ndarray:
    """Kind (1 pitch, 2 joint, 3 chord) of each shingle hash, int64."""
    return (np.asarray(hashes, dtype=np.uint64) >> _KIND_SHIFT).astype(np.int64)


def _windows(n: int, k: int, max_deletions: int) -> np.ndarray:
    """Index rows (int64, shape (m, k)) of the k-item windows of n items, plus every (k + d)-item
    window with d inner items left out, d = 1 .. ``max_deletions``. Leaving out an end item gives
    a window already there (or one of fewer deletions)."""
    rows = []
    if n >= k:
        rows.append(np.arange(n - k + 1)[:, None] + np.arange(k)[None, :])
    for d in range(1, int(max_deletions) + 1):
        if n < k + d:
            break
        full = np.arange(n - k - d + 1)[:, None] + np.arange(k + d)[None, :]
        rows += [np.delete(full, list(out), axis=1) for out in itertools.combinations(range(1, k + d - 1), d)]
    return np.concatenate(rows) if rows else np.zeros((0, k), dtype=np.int64)


def _pack(symbols: np.ndarray, bits: int) -> np.ndarray:
    """Rows of small non-negative ints -> one uint64 per row, ``bits`` bits per symbol."""
    shifts = (np.arange(symbols.shape[1], dtype=np.uint64) * np.uint64(bits))
    return np.bitwise_or.reduce(symbols.astype(np.uint64) << shifts[None, :], axis=1) \
        if symbols.shape[1] else np.zeros(symbols.shape[0], np.uint64)


def _folded_intervals(pitch: np.ndarray) -> np.ndarray:
    """Pitch intervals of each row, folded to -5..+6 semitones and offset to 0..11."""
    d = np.diff(pitch.astype(np.int64), axis=1)
    return (d + 5) % 12


def line_shingles(pitch: np.ndarray, onset: np.ndarray, settings: RetrievalSettings | None = None, *,
                  with_times: bool = False):
    """Pitch and joint shingles of one monophonic melody line.

    Parameters
    ----------
    pitch : np.ndarray [shape=(n,)]
        MIDI pitches in onset order.
    onset : np.ndarray [shape=(n,)]
        Onsets in s, non-decreasing.
    settings : RetrievalSettings, optional
    with_times : bool
        Also return each shingle's time: the onset (s) of its first note.

    Returns
    -------
    np.ndarray [shape=(m,), uint64]
        Not deduplicated (see :func:`track_shingles`); empty for a line shorter than a shingle.
    times : np.ndarray [shape=(m,), float64]
        Only with ``with_times``.
    """
    s = settings or RetrievalSettings()
    pitch = np.asarray(pitch, dtype=np.int64)
    onset = np.asarray(onset, dtype=np.float64)
    out, times = [], []
    if s.pitch_gram_notes:
        w = _windows(pitch.shape[0], s.pitch_gram_notes, s.max_deletions)
        if w.shape[0]:
            out.append(_tag(_pack(_folded_intervals(pitch[w]), 4), KIND_PITCH))
            times.append(onset[w[:, 0]])
    if s.joint_gram_notes:
        w = _windows(pitch.shape[0], s.joint_gram_notes, s.max_deletions)
        if w.shape[0]:
            iv = _folded_intervals(pitch[w])
            ioi = np.maximum(np.diff(onset[w], axis=1), _MIN_IOI_S)
            ratio = np.log2(ioi[:, 1:] / ioi[:, :-1]) / s.ioi_ratio_step_oct
            c = int(s.ioi_ratio_clip)
            cls = np.clip(np.rint(ratio), -c, c).astype(np.int64) + c
            # 4 bits per folded interval, then the ratio classes above them
            packed = _pack(iv, 4) | (_pack(cls, 4) << np.uint64(4 * iv.shape[1]))
            out.append(_tag(packed, KIND_JOINT))
            times.append(onset[w[:, 0]])
    h = np.concatenate(out) if out else np.zeros(0, np.uint64)
    return (h, np.concatenate(times) if times else np.zeros(0)) if with_times else h


def chord_shingles(root: np.ndarray, quality: np.ndarray, settings: RetrievalSettings | None = None, *,
                   start: np.ndarray | None = None):
    """Chord shingles of a track's chord events (root movements mod 12 and qualities).

    Parameters
    ----------
    root : np.ndarray [shape=(E,)]
        Roots 0-11 (negative = no chord: left out).
    quality : np.ndarray [shape=(E,)]
        0 major, 1 minor.
    settings : RetrievalSettings, optional
    start : np.ndarray [shape=(E,)], optional
        Event starts (s): when given, each shingle's time (its first event's start) is returned too.

    Returns
    -------
    np.ndarray [shape=(m,), uint64]
    times : np.ndarray [shape=(m,), float64]
        Only when ``start`` is given.

    Examples
    --------
    >>> s = RetrievalSettings(chord_gram_events=4, max_deletions=0)
    >>> a = chord_shingles(np.array([0, 7, 9, 5, 0]), np.array([0, 0, 1, 0, 0]), s)
    >>> b = chord_shingles(np.array([2, 9, 11, 7, 2]), np.array([0, 0, 1, 0, 0]), s)  # up a tone
    >>> bool(np.array_equal(a, b)), a.shape
    (True, (2,))
    """
    s = settings or RetrievalSettings()
    k = int(s.chord_gram_events)
    root = np.asarray(root, dtype=np.int64)
    quality = np.asarray(quality, dtype=np.int64)
    keep = root >= 0
    root, quality = root[keep], quality[keep]
    t = np.asarray(start, dtype=np.float64)[keep] if start is not None else np.zeros(root.shape[0])
    w = _windows(root.shape[0], k, s.max_deletions) if k else np.zeros((0, 1), np.int64)
    if not w.shape[0]:
        h = np.zeros(0, np.uint64)
        return (h, np.zeros(0)) if start is not None else h
    move = np.diff(root[w], axis=1) % 12
    # 5 bits per event: quality, then (from the second) the root movement onto it
    sym = quality[w].copy()
    sym[:, 1:] |= move << 1
    h = _tag(_pack(sym, 5), KIND_CHORD)
    return (h, t[w[:, 0]]) if start is not None else h


def melody_lines(features, max_lines: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(pitch, onset) of a track's candidate melody lines: the primary line, then the alternatives.

    Parameters
    ----------
    features : TrackFeatures
        Or anything with its ``melody_*`` (and optionally ``melody_alt_*``) arrays.
    max_lines : int, optional
        At most this many lines (None: all).
    """
    lines = [(np.asarray(features.melody_pitch), np.asarray(features.melody_onset))]
    bounds = np.asarray(getattr(features, "melody_alt_bounds", np.zeros(1, np.int64)))
    alt_p = np.asarray(getattr(features, "melody_alt_pitch", np.zeros(0)))
    alt_o = np.asarray(getattr(features, "melody_alt_onset", np.zeros(0)))
    for a, b in zip(bounds[:-1], bounds[1:]):
        lines.append((alt_p[a:b], alt_o[a:b]))
    return lines if max_lines is None else lines[:max_lines]


def track_shingles(features, settings: RetrievalSettings | None = None, *, with_times: bool = False):
    """All shingles of one track: its melody lines' and its chords'.

    Parameters
    ----------
    features : TrackFeatures
        From :func:`musim_spark.similarity.features.extract_features` (or
        ``TrackFeatures.from_dict`` of a stored row).
    settings : RetrievalSettings, optional
    with_times : bool
        False (an original, for the index): the set of shingles. True (a track to find candidates
        for): every (shingle, time) occurrence, for the local score of
        :func:`musim_spark.retrieval.index.query_scores`.

    Returns
    -------
    np.ndarray [shape=(m,), uint64]
        Without ``with_times``: sorted, unique (a set: a chorus repeated four times is no more
        evidence than once). With it: the hashes of the unique (hash, time) pairs, by time.
    times : np.ndarray [shape=(m,), float64]
        Only with ``with_times``: each occurrence's time (s, onset of its first note or chord).

    Examples
    --------
    >>> from musim_spark.model import Note, Piece, Track
    >>> from musim_spark.similarity.features import extract_features
    >>> steps = [0, 2, 4, 5, 7, 4, 2, 0, 9, 7, 5, 4, 2, 4, 0]
    >>> mel = Track("Melody", tuple(Note(60 + d, 0.4 * i, 0.4 * i + 0.3) for i, d in enumerate(steps)))
    >>> f = extract_features(Piece((mel,), tempo_bpm=120.0))
    >>> sh = track_shingles(f)
    >>> sh.dtype, bool(np.all(sh[1:] > sh[:-1]))
    (dtype('uint64'), True)
    >>> h, t = track_shingles(f, with_times=True)
    >>> bool(np.array_equal(np.unique(h), sh)), float(t.min()), float(t.max()) <= 0.4 * 15
    (True, 0.0, True)
    """
    s = settings or RetrievalSettings()
    parts = [line_shingles(p, o, s, with_times=True) for p, o in melody_lines(features, s.max_lines)]
    parts.append(chord_shingles(features.chord_root, features.chord_quality, s,
                                start=np.asarray(getattr(features, "chord_start", np.zeros(len(features.chord_root))))))
    h = np.concatenate([p[0] for p in parts])
    if not with_times:
        return np.unique(h)
    t = np.concatenate([p[1] for p in parts])
    # unique (time, hash) pairs, ordered by time (the same shingle of two lines at one onset is one)
    order = np.lexsort((h, t))
    h, t = h[order], t[order]
    keep = np.ones(h.shape[0], bool)
    keep[1:] = (h[1:] != h[:-1]) | (t[1:] != t[:-1])
    return h[keep], t[keep]
