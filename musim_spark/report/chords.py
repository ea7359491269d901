"""Chords of a pair on two aligned rows: beat by beat, with chord names and Roman numerals.

A's tracked beats (``TrackFeatures.beat_times``) are the columns; each beat shows the chord A
plays there and the chord B plays at the same moment of the music (the beat's time mapped onto
B's timeline by the pair's time map, :mod:`.warp`). Runs of beats with the same pair of chords
become one cell (:func:`chord_rows`), and each cell says whether the chords agree after the
pair's key shift (:func:`chord_agreement`). Numerals are relative to each song's own key: the
label's ``songKey`` when a label sits beside the file, else the key estimated from the chords
and the melody (:func:`estimate_key`, Krumhansl-Kessler profiles [1]_).

References
----------
.. [1] Krumhansl, C. L. (1990). Cognitive Foundations of Musical Pitch, ch. 4 (key profiles).
       Oxford University Press.

Examples
--------
>>> roman_numeral(7, 0, 0, "major"), roman_numeral(9, 1, 0, "major"), roman_numeral(3, 0, 0, "minor")
('V', 'vi', 'III')
>>> parse_key("Db major"), parse_key("a minor"), parse_key("F#:min"), parse_key("?")
((1, 'major'), (9, 'minor'), (6, 'minor'), None)
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from ..notation import LETTER_PITCH_CLASSES, pitch_class_name
from ..similarity.chord import chord_name
from ..similarity.features import TrackFeatures

__all__ = ["parse_key", "key_name", "estimate_key", "roman_numeral", "chord_at", "chord_agreement",
           "ChordCell", "chord_rows"]

# Krumhansl-Kessler probe-tone profiles (C major, C minor) [1]_
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# scale-degree numerals by semitones above the tonic; the minor table reads the natural minor
# scale's degrees (III, VI, VII) without accidentals, as a musician spells them in a minor key
_DEGREES = {"major": ("I", "bII", "II", "bIII", "III", "IV", "#IV", "V", "bVI", "VI", "bVII", "VII"),
            "minor": ("I", "bII", "II", "III", "#III", "IV", "#IV", "V", "VI", "#VI", "VII", "#VII")}


def parse_key(text) -> tuple[int, str] | None:
    """``(tonic pitch class, "major"|"minor")`` of a key name: ``"Db major"``, ``"A minor"``,
    ``"F#:min"`` (POP909), ``"Am"``; None when it cannot be read."""
    if not isinstance(text, str):
        return None
    m = re.match(r"^\s*([A-Ga-g])\s*([#b\u266f\u266d]?)\s*[:\s]?\s*(major|minor|maj|min|m)?\s*$", text)
    if not m:
        return None
    pc = LETTER_PITCH_CLASSES[m.group(1).upper()] + {"#": 1, "\u266f": 1, "b": -1, "\u266d": -1}.get(m.group(2), 0)
    mode = "minor" if (m.group(3) or "").lower() in ("minor", "min", "m") else "major"
    return pc % 12, mode


def key_name(tonic: int, mode: str) -> str:
    """``"Eb major"``, ``"F# minor"`` (flats except C#/F#, as the chord names)."""
    return f"{pitch_class_name(tonic, spelling='chord')} {mode}"


def estimate_key(f: TrackFeatures) -> tuple[int, str, float]:
    """The most likely key of a track from its chord tones and melody (Krumhansl-Kessler).

    Returns
    -------
    (int, str, float)
        Tonic pitch class, ``"major"`` or ``"minor"``, and the correlation of the best profile
        (-1..1; below about 0.5 the estimate is a guess).
    """
    h = np.zeros(12)
    if f.chord_root.shape[0]:
        w = np.minimum(f.chord_end - f.chord_start, 8.0)
        third = np.where(f.chord_quality == 1, 3, 4)
        for iv in (np.zeros_like(third), third, np.full_like(third, 7)):
            np.add.at(h, (f.chord_root.astype(np.int64) + iv) % 12, w)
    if f.melody_pitch.shape[0]:
        np.add.at(h, f.melody_pitch.astype(np.int64) % 12, np.minimum(f.melody_offset - f.melody_onset, 2.0))
    if not h.any():
        return 0, "major", 0.0
    best = (-2.0, 0, "major")
    for mode, prof in (("major", _KK_MAJOR), ("minor", _KK_MINOR)):
        for t in range(12):
            r = float(np.corrcoef(h, np.roll(prof, t))[0, 1])
            if r > best[0]:
                best = (r, t, mode)
    return best[1], best[2], best[0]


def roman_numeral(root: int, quality: int, tonic: int, mode: str) -> str:
    """Roman numeral of a triad in a key: upper case major, lower case minor (``"vi"``, ``"bVII"``);
    ``"-"`` for no chord."""
    if root < 0:
        return "-"
    deg = _DEGREES.get(mode, _DEGREES["major"])[(int(root) - int(tonic)) % 12]
    return deg.lower() if quality == 1 else deg


def chord_at(f: TrackFeatures, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root and quality of the chord event sounding at each time ``t`` (s); root -1 where none."""
    t = np.asarray(t, np.float64)
    root = np.full(t.shape, -1, np.int64)
    qual = np.zeros(t.shape, np.int64)
    if f.chord_start.shape[0] == 0:
        return root, qual
    k = np.searchsorted(f.chord_start, t, side="right") - 1
    inside = (k >= 0) & (t < f.chord_end[np.clip(k, 0, None)])
    root[inside] = f.chord_root[k[inside]]
    qual[inside] = f.chord_quality[k[inside]]
    return root, qual


def chord_agreement(ra: int, qa: int, rb: int, qb: int, shift: int) -> str:
    """How B's chord ``(rb, qb)``, moved ``shift`` semitones, compares with A's ``(ra, qa)``.

    Returns
    -------
    str
        ``"same"``; ``"near"`` (same root other quality, or a relative/mediant triad sharing two
        tones: what chord estimation confuses, or a re-harmonisation); ``"differs"``; ``"none"``
        when either side has no chord.
    """
    if ra < 0 or rb < 0:
        return "none"
    rb = (rb + shift) % 12
    if rb == ra % 12:
        return "same" if qa == qb else "near"
    related = {(ra + 9) % 12, (ra + 4) % 12} if qa == 0 else {(ra + 3) % 12, (ra + 8) % 12}
    return "near" if qb != qa and rb in related else "differs"


@dataclasses.dataclass(frozen=True)
class ChordCell:
    """A run of A's beats over which both songs' chords stay the same.

    Attributes
    ----------
    beat0, beats : int
        First beat (index into A's beats) and number of beats.
    start_a, end_a, start_b, end_b : float
        Times (s) in each song's own timeline.
    root_a, quality_a, root_b, quality_b : int
        Chords (root -1: none).
    agreement : str
        :func:`chord_agreement`.
    """

    beat0: int
    beats: int
    start_a: float
    end_a: float
    start_b: float
    end_b: float
    root_a: int
    quality_a: int
    root_b: int
    quality_b: int
    agreement: str

    def names(self) -> tuple[str, str]:
        return chord_name(self.root_a, self.quality_a), chord_name(self.root_b, self.quality_b)


def chord_rows(fa: TrackFeatures, fb: TrackFeatures, to_b, shift: int) -> list[ChordCell]:
    """A's beats with A's chord and B's chord at the matching moment, runs merged.

    Parameters
    ----------
    fa, fb : TrackFeatures
    to_b : callable
        Maps A times (np.ndarray, s) to B times (the pair's time map).
    shift : int
        Semitones added to B's chords to compare them with A's (the chord facet's key shift).

    Returns
    -------
    list of ChordCell
        In A's order; empty when A has no tracked beats.
    """
    beats = np.asarray(fa.beat_times, np.float64)
    if beats.shape[0] == 0:
        return []
    end = float(fa.duration[0])
    ends = np.append(beats[1:], max(end, beats[-1] + 0.5))
    mid = 0.5 * (beats + ends)
    ra, qa = chord_at(fa, mid)
    tb = to_b(mid)
    rb, qb = chord_at(fb, tb)
    b0, b1 = to_b(beats), to_b(ends)
    cells: list[ChordCell] = []
    i = 0
    n = beats.shape[0]
    while i < n:
        j = i + 1
        while j < n and ra[j] == ra[i] and qa[j] == qa[i] and rb[j] == rb[i] and qb[j] == qb[i]:
            j += 1
        cells.append(ChordCell(i, j - i, float(beats[i]), float(ends[j - 1]), float(b0[i]), float(b1[j - 1]),
                               int(ra[i]), int(qa[i]), int(rb[i]), int(qb[i]),
                               chord_agreement(int(ra[i]), int(qa[i]), int(rb[i]), int(qb[i]), shift)))
        i = j
    return cells
