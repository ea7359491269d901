"""A small, obvious object model: notes in seconds, grouped in tracks, grouped in a piece.

Times are absolute seconds (ticks are converted once, when a file is read), pitches MIDI
numbers, velocities 1-127. ``Piece.to_intervals_pitches`` gives mir_eval's transcription input.

Examples
--------
>>> p = Piece(tracks=(Track("Melody", notes=(Note(60, 0.0, 0.5), Note(62, 0.5, 1.0))),))
>>> p.track("Melody").pitches().tolist()
[60, 62]
>>> p.end_time
1.0
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import numpy as np

from .errors import ParameterError

__all__ = ["Note", "Track", "Piece", "ROLES"]

#: Roles a MIDI track can play for similarity (the label's melodyTrack/rhythmTrack/chordTrack).
ROLES = ("melody", "rhythm", "chord", "other")


@dataclasses.dataclass(frozen=True, order=True)
class Note:
    """One note.

    Parameters
    ----------
    pitch : int
        MIDI pitch 0-127.
    start, end : float
        Onset and offset in seconds, ``end > start``.
    velocity : int
        1-127.

    Raises
    ------
    ParameterError
        A pitch outside 0-127, or ``end <= start``.
    """

    pitch: int
    start: float
    end: float
    velocity: int = 80

    def __post_init__(self):
        if not 0 <= self.pitch <= 127:
            raise ParameterError(f"pitch {self.pitch} outside 0-127")
        if not self.end > self.start:
            raise ParameterError(f"note ends ({self.end}) before or when it starts ({self.start})")

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclasses.dataclass(frozen=True)
class Track:
    """A named part (a MIDI track/instrument).

    Parameters
    ----------
    name : str
        Track name as in the file (``Melody``, ``Rhythm``, ``Chord``, ...).
    notes : tuple of Note
        Sorted by onset.
    program : int
        General MIDI program 0-127.
    is_drum : bool
        Channel 10 percussion (pitches are drum keys, not notes).
    role : str
        One of :data:`ROLES`.

    Raises
    ------
    ParameterError
        A role not in :data:`ROLES`.
    """

    name: str
    notes: tuple[Note, ...] = ()
    program: int = 0
    is_drum: bool = False
    role: str = "other"

    def __post_init__(self):
        if self.role not in ROLES:
            raise ParameterError(f"role {self.role!r} not one of {ROLES}")
        object.__setattr__(self, "notes", tuple(sorted(self.notes, key=lambda n: (n.start, n.pitch))))

    def pitches(self) -> np.ndarray:
        """np.ndarray [shape=(n,), dtype=int] MIDI pitches in onset order."""
        return np.array([n.pitch for n in self.notes], dtype=np.int64)

    def onsets(self) -> np.ndarray:
        """np.ndarray [shape=(n,)] onsets in seconds."""
        return np.array([n.start for n in self.notes], dtype=np.float64)

    def offsets(self) -> np.ndarray:
        """np.ndarray [shape=(n,)] offsets in seconds."""
        return np.array([n.end for n in self.notes], dtype=np.float64)

    def velocities(self) -> np.ndarray:
        return np.array([n.velocity for n in self.notes], dtype=np.int64)

    @property
    def end_time(self) -> float:
        return max((n.end for n in self.notes), default=0.0)


@dataclasses.dataclass(frozen=True)
class Piece:
    """A piece of music: tracks plus the tempo the file declared.

    Parameters
    ----------
    tracks : tuple of Track
    tempo_bpm : float or None
        First tempo of the file (None where unknown).
    beats : np.ndarray or None
        Beat times in seconds where known (a MIDI's tempo map).
    """

    tracks: tuple[Track, ...] = ()
    tempo_bpm: float | None = None
    beats: np.ndarray | None = dataclasses.field(default=None, compare=False)

    def track(self, name: str) -> Track:
        """The track called ``name`` (an exact match first, else case-insensitive).

        Raises
        ------
        ParameterError
            If there is none; the message names the tracks there are.
        """
        for t in self.tracks:
            if t.name == name:
                return t
        for t in self.tracks:
            if t.name.lower() == name.lower():
                return t
        raise ParameterError(f"no track {name!r}; tracks: {[t.name for t in self.tracks]}")

    def by_role(self, role: str) -> tuple[Track, ...]:
        return tuple(t for t in self.tracks if t.role == role)

    def pitched_tracks(self) -> tuple[Track, ...]:
        return tuple(t for t in self.tracks if not t.is_drum)

    @property
    def end_time(self) -> float:
        return max((t.end_time for t in self.tracks), default=0.0)

    @property
    def n_notes(self) -> int:
        return sum(len(t.notes) for t in self.tracks)

    def with_roles(self, *, melody: str | None = None, rhythm: str | None = None,
                   chord: str | None = None) -> "Piece":
        """A copy with each track's role set from the label's track names (others ``other``)."""
        names = {"melody": melody, "rhythm": rhythm, "chord": chord}

        def role_of(t: Track) -> str:
            for role, name in names.items():
                if name and t.name.lower() == name.lower():
                    return role
            return "other"

        return dataclasses.replace(
            self, tracks=tuple(dataclasses.replace(t, role=role_of(t)) for t in self.tracks)
        )

    def to_intervals_pitches(self, tracks: Iterable[Track] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """mir_eval's transcription input: intervals [shape=(n, 2)] in s, pitches [shape=(n,)] in Hz."""
        notes = [n for t in (tracks if tracks is not None else self.pitched_tracks()) for n in t.notes]
        notes.sort(key=lambda n: (n.start, n.pitch))
        iv = np.array([[n.start, n.end] for n in notes], dtype=np.float64).reshape(-1, 2)
        hz = 440.0 * 2.0 ** ((np.array([n.pitch for n in notes], dtype=np.float64) - 69) / 12)
        return iv, hz


def notes_from_arrays(pitch: Sequence[int], start: Sequence[float], end: Sequence[float],
                      velocity: Sequence[int] | None = None) -> tuple[Note, ...]:
    """Build notes from parallel arrays (e.g. a ``notes`` table partition)."""
    vel = velocity if velocity is not None else [80] * len(pitch)
    return tuple(Note(int(p), float(s), float(e), int(v)) for p, s, e, v in zip(pitch, start, end, vel))
