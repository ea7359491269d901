"""Read one POP909 song: its MELODY/BRIDGE/PIANO tracks, beat grid, chords and key.

POP909 (Wang et al., ISMIR 2020) is the real material every generated original is built from
(``shared/data/pop909/NNN/``: ``NNN.mid``, ``beat_midi.txt``, ``chord_midi.txt``,
``key_audio.txt``, and ``index.csv`` at the top). Times are seconds in the MIDI's timeline.

Examples
--------
>>> parse_chord_label("Bb:min7")
(10, (0, 3, 7, 10))
>>> parse_chord_label("N")
(None, ())
"""

from __future__ import annotations

import csv
import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError, ParameterError, QuarantineReason
from ..model import Note, Track
from ..notation import LETTER_PITCH_CLASSES, pitch_class_name

__all__ = ["SourceSong", "Chord", "parse_chord_label", "list_songs", "read_song", "crop_song",
           "transpose_song", "PITCH_CLASSES"]

#: Natural note letter -> pitch class (kept here under its old name; the table is :mod:`..notation`'s).
PITCH_CLASSES = LETTER_PITCH_CLASSES

# quality prefix -> intervals above the root (semitones); longest prefix wins
_QUALITIES = {
    "maj7": (0, 4, 7, 11), "maj6": (0, 4, 7, 9), "maj": (0, 4, 7), "minmaj7": (0, 3, 7, 11),
    "min7": (0, 3, 7, 10), "min6": (0, 3, 7, 9), "min": (0, 3, 7), "hdim7": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9), "dim": (0, 3, 6), "aug": (0, 4, 8), "sus4(b7)": (0, 5, 7, 10),
    "sus4": (0, 5, 7), "sus2": (0, 2, 7), "7": (0, 4, 7, 10), "9": (0, 4, 7, 10, 14),
}


@dataclasses.dataclass(frozen=True)
class Chord:
    """One chord span: ``start``/``end`` in s, ``root`` pitch class 0-11 (None for no chord),
    ``intervals`` semitones above the root, ``label`` as written in POP909."""

    start: float
    end: float
    root: int | None
    intervals: tuple[int, ...]
    label: str


@dataclasses.dataclass(frozen=True)
class SourceSong:
    """A POP909 song (possibly cropped/transposed), the raw material of one generated original.

    Attributes
    ----------
    song_id : str
        POP909 id, three digits.
    title, artist : str
    melody, bridge, piano : Track
        The three POP909 tracks (``MELODY`` sung line, ``BRIDGE`` secondary melody, ``PIANO``).
    beats : np.ndarray [shape=(n,)]
        Beat times in s, increasing.
    downbeats : np.ndarray [shape=(n,), dtype=bool]
        True where a beat starts a bar.
    chords : tuple of Chord
    key_tonic : int
        Pitch class 0-11.
    key_mode : str
        ``maj`` or ``min``.
    tempo_bpm : float
    duration : float
        Length in s (end of the last note).
    transpose : int
        Semitones applied to the POP909 pitches (non-zero when originals wrap around the songs).
    """

    song_id: str
    title: str
    artist: str
    melody: Track
    bridge: Track
    piano: Track
    beats: np.ndarray = dataclasses.field(compare=False)
    downbeats: np.ndarray = dataclasses.field(compare=False)
    chords: tuple[Chord, ...]
    key_tonic: int
    key_mode: str
    tempo_bpm: float
    duration: float
    transpose: int = 0

    @property
    def key_name(self) -> str:
        """Key as ``Gb:maj`` (POP909 notation)."""
        return f"{pitch_class_name(self.key_tonic)}:{self.key_mode}"


def _pitch_class(name: str) -> int:
    pc = PITCH_CLASSES[name[0]]
    for acc in name[1:]:
        pc += 1 if acc == "#" else -1 if acc == "b" else 0
    return pc % 12


def parse_chord_label(label: str) -> tuple[int | None, tuple[int, ...]]:
    """Root pitch class and intervals of a POP909/Harte chord label (``B:maj7``, ``Gb:min/5``).

    Unknown qualities fall back to a major triad; ``N``/``X`` give ``(None, ())``.
    """
    label = label.strip()
    if not label or label in ("N", "X") or ":" not in label:
        if label and label[0] in PITCH_CLASSES and ":" not in label:
            return _pitch_class(label), (0, 4, 7)
        return None, ()
    root_s, qual = label.split(":", 1)
    qual = qual.split("/")[0]
    try:
        root = _pitch_class(root_s)
    except KeyError:
        return None, ()
    for prefix in sorted(_QUALITIES, key=len, reverse=True):
        if qual.startswith(prefix):
            return root, _QUALITIES[prefix]
    return root, (0, 4, 7)


def list_songs(pop909_dir: str | os.PathLike) -> list[str]:
    """Song ids (``001``...) that have a MIDI file, sorted."""
    root = Path(pop909_dir)
    if not root.is_dir():
        raise ParameterError(f"POP909 directory not found: {root}")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / f"{p.name}.mid").is_file())


def _read_index(root: Path) -> dict[str, tuple[str, str]]:
    idx = root / "index.csv"
    if not idx.is_file():
        return {}
    try:
        with idx.open(encoding="utf-8") as f:
            return {row["song_id"]: (row["name"], row["artist"]) for row in csv.DictReader(f)}
    except (OSError, KeyError, ValueError) as exc:
        raise _annotation_error(idx, exc) from exc


def _annotation_error(path: Path, exc: Exception) -> ParameterError:
    detail = f"missing column {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
    return ParameterError(f"{path}: unreadable POP909 annotation ({detail})")


def read_song(pop909_dir: str | os.PathLike, song_id: str) -> SourceSong:
    """Read one POP909 song folder.

    Raises
    ------
    InputError
        ``MIDI_CORRUPT`` if the MIDI does not parse; ParameterError if the folder is missing.
    """
    import pretty_midi

    root = Path(pop909_dir)
    folder = root / song_id
    midi_path = folder / f"{song_id}.mid"
    if not midi_path.is_file():
        raise ParameterError(f"POP909 song {song_id!r} not found under {root}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm = pretty_midi.PrettyMIDI(str(midi_path))
    except Exception as exc:  # pretty_midi raises many types on bad bytes
        raise InputError(str(midi_path), QuarantineReason.MIDI_CORRUPT, str(exc)) from exc
    tracks = {}
    for inst in pm.instruments:
        notes = tuple(Note(int(n.pitch), round(float(n.start), 6), round(float(n.end), 6), max(1, int(n.velocity)))
                      for n in inst.notes if n.end > n.start)
        tracks[inst.name.upper()] = Track(inst.name, notes, 0, False)
    empty = Track("", ())
    beat_file = folder / "beat_midi.txt"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns on an empty file; refused just below
            beats_tab = np.loadtxt(beat_file, ndmin=2)
    except (OSError, ValueError) as exc:
        raise _annotation_error(beat_file, exc) from exc
    if beats_tab.shape[0] < 2:
        raise ParameterError(f"{beat_file}: unreadable POP909 annotation (fewer than 2 beats)")
    beats = beats_tab[:, 0].astype(np.float64)
    downbeats = beats_tab[:, 2] > 0.5 if beats_tab.shape[1] >= 3 else np.arange(len(beats)) % 4 == 0
    chords = []
    chord_file = folder / "chord_midi.txt"
    try:
        with chord_file.open(encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                root_pc, ivs = parse_chord_label(parts[2])
                if chords and chords[-1].label == parts[2] and abs(chords[-1].end - float(parts[0])) < 1e-3:
                    # POP909 repeats a held chord once per beat: merge so a pad sustains it
                    chords[-1] = dataclasses.replace(chords[-1], end=float(parts[1]))
                else:
                    chords.append(Chord(float(parts[0]), float(parts[1]), root_pc, ivs, parts[2]))
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise _annotation_error(chord_file, exc) from exc
    tonic, mode = 0, "maj"
    key_file = folder / "key_audio.txt"
    if key_file.is_file():
        first = key_file.read_text(encoding="utf-8").split()
        if len(first) >= 3 and ":" in first[2]:
            k, m = first[2].split(":", 1)
            try:
                tonic, mode = _pitch_class(k), ("min" if m.startswith("min") else "maj")
            except (KeyError, ValueError, IndexError) as exc:
                raise _annotation_error(key_file, exc) from exc
    _, tempi = pm.get_tempo_changes()
    tempo = float(tempi[0]) if len(tempi) else float(60.0 / np.median(np.diff(beats)))
    title, artist = _read_index(root).get(song_id, (song_id, ""))
    melody = tracks.get("MELODY", empty)
    bridge = tracks.get("BRIDGE", empty)
    piano = tracks.get("PIANO", empty)
    duration = max(t.end_time for t in (melody, bridge, piano))
    return SourceSong(song_id, title, artist, melody, bridge, piano, beats, downbeats, tuple(chords),
                      tonic, mode, round(tempo, 3), duration)


def _crop_track(track: Track, t0: float, t1: float) -> Track:
    notes = []
    for n in track.notes:
        if n.start < t0 or n.start >= t1:
            continue
        end = min(n.end, t1)
        if end - n.start > 1e-3:
            notes.append(Note(n.pitch, round(n.start - t0, 6), round(end - t0, 6), n.velocity))
    return dataclasses.replace(track, notes=tuple(notes))


def crop_song(song: SourceSong, seconds: float | None) -> SourceSong:
    """Crop to ``seconds`` (None: whole song) and shift so time 0 is a downbeat.

    The window starts at the bar line just before the first melody note when cropping (so a
    short crop still holds the sung line), else at the first beat.
    """
    beats, down = song.beats, song.downbeats
    if seconds is None:
        t0 = float(beats[0]) if len(beats) else 0.0
        t1 = song.duration + 1e-6
    else:
        first = song.melody.notes[0].start if song.melody.notes else 0.0
        cands = beats[down & (beats <= first + 1e-6)]
        t0 = float(cands[-1]) if len(cands) else (float(beats[0]) if len(beats) else 0.0)
        t1 = t0 + float(seconds)
    keep = (beats >= t0 - 1e-6) & (beats < t1)
    new_beats = np.round(beats[keep] - t0, 6)
    new_down = down[keep]
    chords = tuple(
        dataclasses.replace(c, start=round(max(c.start, t0) - t0, 6), end=round(min(c.end, t1) - t0, 6))
        for c in song.chords if c.end > t0 and c.start < t1 and min(c.end, t1) - max(c.start, t0) > 1e-3
    )
    melody, bridge, piano = (_crop_track(t, t0, t1) for t in (song.melody, song.bridge, song.piano))
    duration = max(t.end_time for t in (melody, bridge, piano))
    if seconds is not None:
        duration = min(float(seconds), max(duration, 0.0))
    return dataclasses.replace(song, melody=melody, bridge=bridge, piano=piano, beats=new_beats,
                               downbeats=new_down, chords=chords, duration=round(duration, 6))


def transpose_song(song: SourceSong, semitones: int) -> SourceSong:
    """Shift every pitch, chord root and the key by ``semitones``."""
    if semitones == 0:
        return song

    def tr(t: Track) -> Track:
        return dataclasses.replace(t, notes=tuple(
            dataclasses.replace(n, pitch=min(127, max(0, n.pitch + semitones))) for n in t.notes))

    chords = tuple(dataclasses.replace(c, root=None if c.root is None else (c.root + semitones) % 12)
                   for c in song.chords)
    return dataclasses.replace(song, melody=tr(song.melody), bridge=tr(song.bridge), piano=tr(song.piano),
                               chords=chords, key_tonic=(song.key_tonic + semitones) % 12,
                               transpose=song.transpose + semitones)
