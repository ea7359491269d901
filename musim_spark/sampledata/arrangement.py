"""Turn a POP909 song into a six-part arrangement in one of the data set's genres.

Parts (MIDI track names the labels point at): ``Melody`` (POP909 MELODY, the sung line),
``SubMelody`` (POP909 BRIDGE), ``Chord`` (POP909 PIANO comping), ``Bass`` (chord roots),
``Pad`` (sustained chord tones) and ``Rhythm`` (drums from the beat grid). Bass, pad, drums
(and re-arranged comping in covers) come from per-genre patterns placed on the song's beats.

A pattern is a tuple of events in a 4-beat cycle restarted at every bar line; an event's
position is in beats from the bar line, so it lands on the song's own (possibly uneven) beat
grid. ``swing`` (fraction of a beat) delays the off-beat eighths.

Examples
--------
>>> sorted(GENRE_STYLES) == sorted(PROGRAMS)
True
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..model import Note, Piece, Track
from .source import SourceSong

__all__ = ["PART_NAMES", "PROGRAMS", "Style", "GENRE_STYLES", "DRUM_PATTERNS", "BASS_PATTERNS",
           "COMP_PATTERNS", "PAD_STYLES", "arrange", "part_notes", "make_track", "instrument_name",
           "replace_span"]

#: Track names in file order; the labels' melodyTrack/rhythmTrack/chordTrack are Melody/Rhythm/Chord.
PART_NAMES = ("Melody", "SubMelody", "Chord", "Bass", "Pad", "Rhythm")
_VOICE = 53  # GM "Voice Oohs": the sung line (instrumentList says "Vocal")

#: GM program per genre and part (Rhythm is channel 10, program = drum kit 0).
PROGRAMS = {
    "Ballade": {"Melody": _VOICE, "SubMelody": 73, "Chord": 0, "Bass": 32, "Pad": 48, "Rhythm": 0},
    "Dance": {"Melody": _VOICE, "SubMelody": 80, "Chord": 4, "Bass": 38, "Pad": 89, "Rhythm": 0},
    "Hiphop": {"Melody": _VOICE, "SubMelody": 11, "Chord": 4, "Bass": 38, "Pad": 50, "Rhythm": 0},
    "RnB": {"Melody": _VOICE, "SubMelody": 65, "Chord": 4, "Bass": 33, "Pad": 48, "Rhythm": 0},
    "Rock": {"Melody": _VOICE, "SubMelody": 29, "Chord": 27, "Bass": 34, "Pad": 30, "Rhythm": 0},
    "Trot": {"Melody": _VOICE, "SubMelody": 66, "Chord": 0, "Bass": 33, "Pad": 21, "Rhythm": 0},
}

_H8 = tuple((p / 2, 42, 50 + 10 * (p % 2 == 0)) for p in range(8))
_H4 = tuple((float(p), 42, 45) for p in range(4))
_H16 = tuple((p / 4, 42, 35 + 12 * (p % 2 == 0)) for p in range(16))
_R8 = tuple((p / 2, 51, 55) for p in range(8))
_OPEN = tuple((p + 0.5, 46, 60) for p in range(4))

#: drum patterns: (beat position in the bar, GM drum key, velocity)
DRUM_PATTERNS = {
    "ballad": ((0, 36, 80), (1, 37, 55), (2, 36, 65), (3, 37, 55)) + _H4,
    "ballad_alt": ((0, 36, 75), (2.5, 36, 60), (1, 38, 60), (3, 38, 60)) + _R8,
    "dance": tuple((float(p), 36, 100) for p in range(4)) + ((1, 39, 85), (3, 39, 85)) + _OPEN,
    "dance_alt": tuple((float(p), 36, 95) for p in range(4)) + ((3.5, 36, 70), (1, 38, 90), (3, 38, 90)) + _H16,
    "hiphop": ((0, 36, 100), (0.75, 36, 70), (2.5, 36, 85), (1, 38, 95), (3, 38, 95)) + _H8,
    "hiphop_alt": ((0, 36, 100), (1.5, 36, 80), (2.25, 36, 75), (1, 38, 95), (3, 38, 95), (3.75, 38, 40)) + _H16,
    "rnb": ((0, 36, 90), (0.5, 36, 60), (2.75, 36, 75), (1, 38, 80), (3, 38, 80)) + _H16,
    "rnb_alt": ((0, 36, 90), (2, 36, 70), (2.5, 36, 65), (1, 37, 70), (3, 37, 70)) + _H8,
    "rock": ((0, 36, 105), (2, 36, 100), (2.5, 36, 80), (1, 38, 105), (3, 38, 105), (0, 49, 70)) + _H8,
    "rock_alt": ((0, 36, 105), (0.5, 36, 85), (2, 36, 100), (2.5, 36, 85), (1, 38, 105), (3, 38, 105)) + _R8,
    "trot": ((0, 36, 95), (2, 36, 90), (1, 38, 80), (3, 38, 80)) + _OPEN,
    "trot_alt": tuple((float(p), 36, 90) for p in range(4)) + tuple((p + 0.5, 38, 70) for p in range(4)),
}

#: bass patterns: (beat position, semitones above the root, velocity, duration in beats)
BASS_PATTERNS = {
    "hold": ((0, 0, 90, 1.9), (2, 0, 80, 1.9)),
    "eighths": tuple((p / 2, 0, 80 + 8 * (p % 2 == 0), 0.45) for p in range(8)),
    "octaves": tuple((p / 2, 12 * (p % 2), 85, 0.45) for p in range(8)),
    "rootfifth": ((0, 0, 95, 0.9), (1, 7, 80, 0.9), (2, 0, 95, 0.9), (3, 7, 80, 0.9)),
    "synco": ((0, 0, 95, 0.7), (0.75, 0, 80, 0.5), (1.5, 7, 80, 0.5), (2.5, 0, 85, 0.9), (3.5, 12, 75, 0.4)),
    "walk": ((0, 0, 90, 0.9), (1, 4, 80, 0.9), (2, 7, 85, 0.9), (3, 12, 80, 0.9)),
}

#: comping patterns for generated Chord/SubMelody parts: (position, tone index or -1 = all, vel, dur)
COMP_PATTERNS = {
    "block": ((0, -1, 70, 1.9), (2, -1, 65, 1.9)),
    "stabs": tuple((p + 0.5, -1, 70, 0.3) for p in range(4)),
    "arp": tuple((p / 2, p % 4, 62, 0.5) for p in range(8)),
    "pulse": tuple((float(p), -1, 62, 0.8) for p in range(4)),
    "offbeat": ((1, -1, 72, 0.6), (3, -1, 72, 0.6)),
    "broken": ((0, 0, 66, 0.9), (1, 1, 60, 0.9), (1.5, 2, 60, 0.4), (2, 3, 62, 0.9), (3, 1, 58, 0.9)),
}

_EDGE_S = 1e-3  # onset tolerance at span edges, s

#: pad styles: "hold" sustains each chord (middle voicing), "pulse" re-strikes it every two beats
#: in a higher voicing (so the two differ even where chords change every beat)
PAD_STYLES = ("hold", "pulse")


@dataclasses.dataclass(frozen=True)
class Style:
    """How a genre fills the generated parts (pattern names of the tables above)."""

    drums: str
    bass: str
    comp: str
    pad: str
    swing: float = 0.0


#: per genre: (style of originals, alternative style used by Rhythm/Arrangement covers)
GENRE_STYLES = {
    "Ballade": (Style("ballad", "hold", "arp", "hold"), Style("ballad_alt", "walk", "broken", "pulse")),
    "Dance": (Style("dance", "octaves", "stabs", "pulse"), Style("dance_alt", "eighths", "offbeat", "hold")),
    "Hiphop": (Style("hiphop", "synco", "offbeat", "hold", 0.08),
               Style("hiphop_alt", "hold", "stabs", "pulse", 0.12)),
    "RnB": (Style("rnb", "synco", "broken", "pulse", 0.1), Style("rnb_alt", "walk", "block", "hold", 0.05)),
    "Rock": (Style("rock", "eighths", "block", "hold"), Style("rock_alt", "octaves", "pulse", "pulse")),
    "Trot": (Style("trot", "rootfifth", "offbeat", "hold"), Style("trot_alt", "octaves", "arp", "pulse")),
}


def instrument_name(program: int, is_drum: bool) -> str:
    """The instrumentList name: ``Vocal`` for the voice patch, ``Drums`` for channel 10, else GM."""
    import pretty_midi

    if is_drum:
        return "Drums"
    if program in (52, 53, 54):
        return "Vocal"
    return pretty_midi.program_to_instrument_name(int(program))


def _grid(song: SourceSong):
    """Per beat: time (s), length (s) and index in the bar."""
    beats = np.asarray(song.beats, dtype=np.float64)
    if len(beats) < 2:
        step = 60.0 / song.tempo_bpm
        beats = np.arange(0.0, max(song.duration, step) + step, step)
        down = np.arange(len(beats)) % 4 == 0
    else:
        down = np.asarray(song.downbeats, dtype=bool)
    lengths = np.diff(beats)
    lengths = np.append(lengths, np.median(lengths))
    # extend the grid to the song's end so the last bars get parts too
    while beats[-1] + lengths[-1] < song.duration:
        beats = np.append(beats, beats[-1] + lengths[-1])
        lengths = np.append(lengths, lengths[-1])
        down = np.append(down, False)
    in_bar = np.zeros(len(beats), dtype=np.int64)
    k = 0
    for i in range(len(beats)):
        k = 0 if (down[i] or i == 0) else k + 1
        in_bar[i] = k
    return beats, lengths, in_bar


def _event_times(song: SourceSong, pattern, swing: float):
    """Yield (time s, beat length s, event) for every pattern event on the song's grid."""
    beats, lengths, in_bar = _grid(song)
    for i in range(len(beats)):
        k = in_bar[i] % 4
        for ev in pattern:
            pos = float(ev[0])
            if k <= pos < k + 1:
                frac = pos - k
                if abs(frac - 0.5) < 1e-9:
                    frac += swing
                yield float(beats[i] + frac * lengths[i]), float(lengths[i]), ev


def _chord_at(song: SourceSong, t: float):
    for c in song.chords:
        if c.start - 1e-6 <= t < c.end:
            return c
    return None


def _voicing(root: int, intervals, base: int = 52) -> list[int]:
    low = base + (root - base) % 12
    return [low + iv for iv in intervals[:4]]


def part_notes(part: str, song: SourceSong, style: Style, *, rng: np.random.Generator | None = None) -> list[Note]:
    """Generate one part (``Bass``, ``Pad``, ``Rhythm``, ``Chord`` or ``SubMelody``) for the whole song.

    Returns notes in seconds; velocities get a small seeded jitter when ``rng`` is given.
    """
    notes: list[Note] = []
    end_of_song = song.duration

    def add(pitch, start, dur, vel):
        end = min(start + dur, end_of_song)
        if start < end_of_song and end - start > 0.01 and 0 <= pitch <= 127:
            v = int(vel + (rng.integers(-6, 7) if rng is not None else 0))
            notes.append(Note(int(pitch), round(start, 6), round(end, 6), max(1, min(127, v))))

    if part == "Rhythm":
        for t, _, (pos, key, vel) in _event_times(song, DRUM_PATTERNS[style.drums], style.swing):
            add(key, t, 0.1, vel)
    elif part == "Bass":
        for t, bl, (pos, deg, vel, dur) in _event_times(song, BASS_PATTERNS[style.bass], style.swing):
            c = _chord_at(song, t)
            if c is None or c.root is None:
                continue
            add(33 + (c.root - 33) % 12 + deg, t, dur * bl, vel)
    elif part in ("Chord", "SubMelody"):
        base = 55 if part == "Chord" else 67
        for t, bl, (pos, idx, vel, dur) in _event_times(song, COMP_PATTERNS[style.comp], style.swing):
            c = _chord_at(song, t)
            if c is None or c.root is None:
                continue
            tones = _voicing(c.root, c.intervals, base)
            chosen = tones if idx < 0 else [tones[idx % len(tones)]]
            for p in chosen:
                add(p, t, dur * bl, vel if part == "Chord" else vel + 8)
    elif part == "Pad":
        beats, lengths, _ = _grid(song)
        for c in song.chords:
            if c.root is None:
                continue
            if style.pad == "pulse":
                tones = _voicing(c.root, c.intervals[:3], 67)
                step = 2 * float(np.median(lengths))
                t = c.start
                while t < c.end - 0.05:
                    for p in tones:
                        add(p, t, min(step, c.end - t) * 0.95, 55)
                    t += step
            else:
                for p in _voicing(c.root, c.intervals[:3], 60):
                    add(p, c.start, (c.end - c.start) * 0.98, 50)
    else:
        raise ValueError(f"part {part!r} is not generated (one of Rhythm, Bass, Chord, SubMelody, Pad)")
    notes.sort(key=lambda n: (n.start, n.pitch))
    return notes


def make_track(name: str, notes, program: int) -> Track:
    """A Track with the role its name implies (Melody/Rhythm/Chord)."""
    role = {"Melody": "melody", "Rhythm": "rhythm", "Chord": "chord"}.get(name, "other")
    return Track(name, tuple(notes), int(program), name == "Rhythm", role)


def replace_span(old, new, t0: float, t1: float) -> list[Note]:
    """Notes of ``old`` outside ``[t0, t1)`` (onset-wise) plus notes of ``new`` with onsets inside.

    Old notes that start before ``t0`` and ring into the span are cut at ``t0``. Onsets within
    1 ms before ``t0`` count as inside (chord and beat annotations disagree by microseconds).
    """
    t0 = t0 - _EDGE_S
    out = []
    for n in old:
        if n.start < t0:
            end = min(n.end, t0)
            if end - n.start > 1e-3:
                out.append(dataclasses.replace(n, end=round(end, 6)) if end != n.end else n)
        elif n.start >= t1:
            out.append(n)
    for n in new:
        if t0 <= n.start < t1:
            out.append(dataclasses.replace(n, end=round(min(n.end, t1), 6)) if n.end > t1 else n)
    out.sort(key=lambda n: (n.start, n.pitch))
    return out


def arrange(song: SourceSong, genre: str, *, rng: np.random.Generator | None = None) -> Piece:
    """The original's arrangement: POP909 Melody/SubMelody/Chord plus generated Bass, Pad, Rhythm.

    Parameters
    ----------
    song : SourceSong
        Already cropped/transposed.
    genre : str
        One of the data set's genres; picks programs and patterns.
    rng : numpy Generator, optional
        Velocity jitter of the generated parts (seeded by the caller).

    Returns
    -------
    Piece
        Six tracks in :data:`PART_NAMES` order, ``tempo_bpm`` the song's.
    """
    style = GENRE_STYLES[genre][0]
    prog = PROGRAMS[genre]
    # no BRIDGE in this stretch: a counter-line from the genre's own comping pattern (the
    # alternative style used by re-arranging covers has a different one)
    sub = list(song.bridge.notes) or part_notes("SubMelody", song, style, rng=rng)
    tracks = [
        make_track("Melody", song.melody.notes, prog["Melody"]),
        make_track("SubMelody", sub, prog["SubMelody"]),
        make_track("Chord", song.piano.notes or part_notes("Chord", song, style, rng=rng), prog["Chord"]),
        make_track("Bass", part_notes("Bass", song, style, rng=rng), prog["Bass"]),
        make_track("Pad", part_notes("Pad", song, style, rng=rng), prog["Pad"]),
        make_track("Rhythm", part_notes("Rhythm", song, style, rng=rng), prog["Rhythm"]),
    ]
    return Piece(tuple(tracks), float(song.tempo_bpm), None)
