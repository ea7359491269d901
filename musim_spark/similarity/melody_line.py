"""Melody lines: which tracks may carry the melody, and one monophonic line per candidate track.

A file's melody is not always where a name says. Users' files name the melody track in any
language (``Melody``, ``Vocal``, ``旋律``, ``멜로디``, ``メロディ`` ...), and MIDI stores names as bytes
without an encoding, so a name written as UTF-8 or in a legacy code page comes back as mojibake
(``æ\\x97\\x8bå¾\\x8b`` for ``旋律``); files transcribed from audio have one track with octave and
octave-plus-fifth partials above the sung notes. So:

* :func:`track_name_forms` re-decodes a name's bytes with the usual code pages and
  :func:`melody_name_rank` matches every form against melody words of several languages;
* :func:`melody_candidates` keeps a file's best few candidate tracks (the label's melody track
  alone where a label names one; else melody-named tracks, then the most salient pitched tracks),
  and the melody facet uses the pair of candidates, one per file, that aligns best (joint choice,
  :func:`.melody.melody_similarity`): an excerpt and its whole song then use the same part even
  where salience alone would pick different tracks in each;
* :func:`monophonic_line` reduces a track to one note per onset: partials (a note an octave, an
  octave plus a fifth or two octaves above another note sounding with it, with nothing but other
  partials between) are dropped, and of the remaining notes the highest is kept unless a note
  much closer to the previous melody note is nearly as salient (continuity, after Uitdenbogerd &
  Zobel's skyline [1]_ and the voice-leading rule of melody extraction [2]_).

References
----------
.. [1] Uitdenbogerd, A., Zobel, J. (1999). Melodic matching techniques for large music databases.
       Proc. ACM Multimedia '99, 57-66 (the "skyline" melody of polyphonic MIDI).
.. [2] Salamon, J., Gómez, E. (2012). Melody extraction from polyphonic music signals using pitch
       contour characteristics. IEEE Trans. Audio, Speech, Lang. Process. 20(6), 1759-1770
       (continuity and salience of the melody line; octave errors from harmonics).

Examples
--------
>>> melody_name_rank("æ\\x97\\x8bå¾\\x8b"), melody_name_rank("Lead Vox"), melody_name_rank("Piano")
(2, 2, 0)
>>> import numpy as np
>>> p = np.array([57, 76, 60, 72, 62])      # A3 with its octave+fifth E5; C4 with C5; D4
>>> on = np.array([0.0, 0.0, 0.5, 0.51, 1.0])
>>> monophonic_line(p, on, on + 0.4)[0].tolist()
[57, 60, 62]
"""

from __future__ import annotations

import unicodedata

import numpy as np
from numba import njit

from ..errors import ParameterError
from ..model import Piece, Track

__all__ = ["MELODY_WORDS", "WEAK_MELODY_WORDS", "track_name_forms", "melody_name_rank", "monophonic_line",
           "melody_candidates"]

#: Words that name a melody (or sung) track, lower case, in the languages of the catalog: a track
#: whose name (any re-decoded form) contains one is a strong melody candidate.
MELODY_WORDS = ("melody", "melodie", "mélodie", "melodia", "melodía", "vocal", "vox", "voca", "sing",
                "主旋律", "旋律", "メロディ", "メロディー", "ボーカル", "歌", "主唱", "人声", "人聲",
                "멜로디", "보컬", "노래", "가창")
#: Weaker hints (also instrument names of melodic lines): ranked after :data:`MELODY_WORDS`.
WEAK_MELODY_WORDS = ("lead", "solo", "voice", "soprano", "theme", "リード", "리드")

# Code pages a MIDI track name is commonly written in; its bytes are read back as Latin-1 (mido) or,
# by some editors, as cp1252, so both are undone before each re-decoding.
_CODECS = ("utf-8", "cp949", "gb18030", "shift_jis", "big5", "euc-jp")


def track_name_forms(name: str) -> tuple[str, ...]:
    """The name and its re-decodings, NFKC-normalised and lower case (mojibake repaired).

    A name that is representable in Latin-1 or cp1252 is taken back to those bytes and decoded
    strictly with each of the common code pages (UTF-8, cp949, GB18030, Shift-JIS, Big5, EUC-JP);
    every decoding that succeeds is a form. Wrong code pages can decode without error into
    unrelated characters: they only add forms, and forms are only matched against melody words.

    Parameters
    ----------
    name : str

    Returns
    -------
    tuple of str
        The name itself first; no duplicates.

    Examples
    --------
    >>> "旋律" in track_name_forms("ÐýÂÉ")    # 旋律 written in GBK, read as Latin-1
    True
    """
    if not isinstance(name, str):
        raise ParameterError(f"track name must be a str, got {type(name).__name__}")
    forms = [name]
    for single in ("latin-1", "cp1252"):
        try:
            raw = name.encode(single)
        except UnicodeEncodeError:
            continue
        for codec in _CODECS:
            try:
                forms.append(raw.decode(codec))
            except UnicodeDecodeError:
                continue
    out: list[str] = []
    for f in forms:
        g = unicodedata.normalize("NFKC", f).lower()
        if g not in out:
            out.append(g)
    return tuple(out)


def melody_name_rank(name: str) -> int:
    """2 when a form of ``name`` contains a word of :data:`MELODY_WORDS`, 1 for
    :data:`WEAK_MELODY_WORDS`, else 0."""
    forms = track_name_forms(name)
    if any(w in f for f in forms for w in MELODY_WORDS):
        return 2
    if any(w in f for f in forms for w in WEAK_MELODY_WORDS):
        return 1
    return 0


@njit(cache=True)
def _reduce(pitch, onset, offset, velocity, tol, partial_iv, w_cont, cont_span):  # pragma: no cover - compiled
    """One note per onset group (see :func:`monophonic_line`); returns the kept indices and the
    index of each group's first note."""
    n = pitch.shape[0]
    keep = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    k = 0
    g0 = 0
    prev = -1
    partial = np.zeros(n, dtype=np.bool_)
    while g0 < n:
        g1 = g0 + 1
        while g1 < n and onset[g1] - onset[g0] <= tol:
            g1 += 1
        # partials: q lies a partial interval above some p of the group, and every note strictly
        # between them is itself a partial (so a chord's doubled root on top is not one)
        for a in range(g0, g1):
            partial[a] = False
        for q in range(g0, g1):
            for p in range(g0, g1):
                if p == q:
                    continue
                d = pitch[q] - pitch[p]
                hit = False
                for iv in partial_iv:
                    if d == iv:
                        hit = True
                if not hit:
                    continue
                clean = True
                for r in range(g0, g1):
                    if pitch[r] > pitch[p] and pitch[r] < pitch[q]:
                        dr = pitch[r] - pitch[p]
                        rp = False
                        for iv in partial_iv:
                            if dr == iv:
                                rp = True
                        if not rp:
                            clean = False
                if clean:
                    partial[q] = True
        # choice: the highest remaining note, unless a note nearer the previous melody note scores
        # better on salience (velocity x duration share) + continuity
        top = -1
        for a in range(g0, g1):
            if not partial[a] and (top < 0 or pitch[a] > pitch[top]):
                top = a
        if top < 0:  # all partials of each other (cannot happen with positive intervals): keep the lowest
            top = g0
            for a in range(g0, g1):
                if pitch[a] < pitch[top]:
                    top = a
        best = top
        if prev >= 0 and g1 - g0 > 1 and w_cont > 0.0:
            vmax = 1.0
            dmax = 1e-6
            for a in range(g0, g1):
                if velocity[a] > vmax:
                    vmax = velocity[a]
                if offset[a] - onset[a] > dmax:
                    dmax = offset[a] - onset[a]
            best_s = -1e18
            for a in range(g0, g1):
                if partial[a]:
                    continue
                sal = 0.5 * velocity[a] / vmax + 0.5 * (offset[a] - onset[a]) / dmax
                jump = abs(pitch[a] - prev)
                cont = -w_cont * min(jump, cont_span) / cont_span
                s = sal + cont + (0.5 if a == top else 0.0)
                if s > best_s:
                    best_s = s
                    best = a
        keep[k] = best
        first[k] = g0
        k += 1
        prev = pitch[best]
        g0 = g1
    return keep[:k], first[:k]


def monophonic_line(pitch, onset, offset, velocity=None, *, onset_tolerance: float = 0.03,
                    partial_intervals=(12, 19, 24), continuity_weight: float = 0.5,
                    continuity_span: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One note per onset: the melody line of a (possibly polyphonic or transcribed) note list.

    Notes whose onsets lie within ``onset_tolerance`` s of a group's first onset form one group.
    In each group a note lying ``partial_intervals`` semitones above another note of the group,
    with only other such partials between them, is a transcription partial (a singer's A4 heard as
    A4 + E6) and is dropped; a chord with its root doubled on top (C4 E4 G4 C5) has notes between,
    so its top note stays. Of the remaining notes the highest is kept (the skyline), unless
    another is more salient (velocity and duration, each relative to the group's largest) and
    closer to the previous kept note: score = salience + 0.5 (highest) - ``continuity_weight`` x
    min(|jump| / ``continuity_span``, 1). Each kept note ends at the next kept onset at the latest.

    Parameters
    ----------
    pitch : np.ndarray [shape=(n,), int]
    onset, offset : np.ndarray [shape=(n,)] in s
    velocity : np.ndarray [shape=(n,)], optional
        MIDI velocities (all equal when not given).
    onset_tolerance : float
        s.
    partial_intervals : sequence of int
        Semitones above a note at which a simultaneous note is a partial (12 octave, 19 octave +
        fifth, 24 two octaves); empty: no partial removal (the plain skyline but for continuity).
    continuity_weight : float
        >= 0; 0 = always the highest note that is not a partial (the skyline without partials).
    continuity_span : int
        Semitones at which the continuity penalty is full.

    Returns
    -------
    pitch : np.ndarray [shape=(k,), int16]
    onset, offset : np.ndarray [shape=(k,), float64]
        Sorted by onset; each note ends at or before the next one's onset.
    """
    p = np.asarray(pitch, dtype=np.int64)
    on = np.asarray(onset, dtype=np.float64)
    off = np.asarray(offset, dtype=np.float64)
    if not (p.ndim == on.ndim == off.ndim == 1 and p.shape == on.shape == off.shape):
        raise ParameterError(f"pitch/onset/offset must be 1-D of one length, got {p.shape}, {on.shape}, {off.shape}")
    vel = np.full(p.shape, 80.0) if velocity is None else np.asarray(velocity, dtype=np.float64)
    if vel.shape != p.shape:
        raise ParameterError(f"velocity shape {vel.shape} differs from pitch shape {p.shape}")
    if onset_tolerance < 0 or continuity_weight < 0 or continuity_span < 1:
        raise ParameterError("onset_tolerance and continuity_weight must be >= 0, continuity_span >= 1")
    if p.shape[0] == 0:
        return np.zeros(0, np.int16), np.zeros(0), np.zeros(0)
    order = np.lexsort((-p, on))
    p, on, off, vel = p[order], on[order], off[order], vel[order]
    iv = np.asarray(sorted({int(i) for i in partial_intervals}), dtype=np.int64)
    if iv.size and iv.min() <= 0:
        raise ParameterError(f"partial_intervals must be positive semitones, got {tuple(partial_intervals)}")
    idx, first = _reduce(p, on, off, vel, float(onset_tolerance), iv, float(continuity_weight),
                         int(continuity_span))
    # a group's onset is its first note's (the earliest), whichever note is kept
    starts = on[first]
    p2, off2 = p[idx], off[idx].copy()
    off2[:-1] = np.minimum(off2[:-1], starts[1:])
    keep = off2 > starts
    return p2[keep].astype(np.int16), starts[keep], off2[keep]


def _monophony(t: Track) -> float:
    """Share of a track's notes that end (within 50 ms) before the next one starts."""
    on, off = t.onsets(), t.offsets()
    return float(np.mean(on[1:] >= off[:-1] - 0.05)) if on.shape[0] > 1 else 1.0


def _salience(t: Track) -> float:
    """Mean pitch x monophony (melodies are high and mostly monophonic); -1 for tracks of fewer
    than 8 notes."""
    if len(t.notes) < 8:
        return -1.0
    return float(np.mean(t.pitches())) * _monophony(t)


def melody_candidates(piece: Piece, *, max_candidates: int = 3, min_monophony: float = 0.5) -> list[Track]:
    """The tracks that may carry the melody, most likely first (at most ``max_candidates``).

    * A track with the label's melody role is the only candidate (the label is the truth).
    * Else tracks named like a melody (:func:`melody_name_rank` 2, any language, mojibake
      repaired) are the only candidates, most salient first: a named melody is trusted, and
      comparing accompaniment lines as well would let two songs on the same chords and groove
      look melodically alike.
    * Else the pitched tracks with notes, weak name hints (``lead``, ``solo``, ``voice``) first,
      then by salience (mean pitch x monophony); after the first, only tracks that are mostly
      monophonic (``min_monophony``): a polyphonic accompaniment's top line is no melody
      candidate unless nothing else is.

    Parameters
    ----------
    piece : Piece
    max_candidates : int
        >= 1.
    min_monophony : float
        Share of notes not overlapping the next one a track needs to be a further candidate.

    Returns
    -------
    list of Track
        Empty when no pitched track has notes.
    """
    if max_candidates < 1:
        raise ParameterError(f"max_candidates must be >= 1, got {max_candidates}")
    roles = [t for t in piece.by_role("melody") if t.notes]
    if roles:
        return roles[:1]
    pitched = [t for t in piece.pitched_tracks() if t.notes]
    rank = [melody_name_rank(t.name) for t in pitched]
    sal = [_salience(t) for t in pitched]
    named = [i for i in range(len(pitched)) if rank[i] == 2]
    if named:
        named.sort(key=lambda i: (-sal[i], i))
        return [pitched[i] for i in named[:max_candidates]]
    order = sorted(range(len(pitched)), key=lambda i: (-rank[i], -sal[i], i))
    out = order[:1] + [i for i in order[1:] if _monophony(pitched[i]) >= min_monophony]
    return [pitched[i] for i in out[:max_candidates]]
