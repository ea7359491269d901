"""MIDI files to :class:`~musim_spark.model.Piece` and back (through pretty_midi).

Reading never trusts the file: unparsable bytes raise :class:`~musim_spark.errors.InputError`
with ``MIDI_CORRUPT``, a file without notes ``MIDI_EMPTY``.

Length bound: pretty_midi maps every tick to a time in one array, so it refuses a file whose
last event lies past ``pretty_midi.pretty_midi.MAX_TICK`` (10,000,000 ticks, an 80 MB array;
about 6 hours at 120 bpm and the 220 ticks per beat pretty_midi writes). Such a file is well-formed, so it gets its own
code, ``MIDI_TOO_LONG``, with the tick and its time in the detail, not ``MIDI_CORRUPT``: a note
hours long is an authoring slip in a song-length data set, and the bound keeps one file from
taking a task's memory. The bound is pretty_midi's, not a setting.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from .errors import InputError, QuarantineReason, one_line
from .model import Note, Piece, Track

__all__ = ["read_midi", "piece_from_pretty_midi", "piece_to_pretty_midi", "write_midi"]


def piece_from_pretty_midi(pm, *, melody: str | None = None, rhythm: str | None = None,
                           chord: str | None = None) -> Piece:
    """Convert a ``pretty_midi.PrettyMIDI`` into a :class:`Piece` (roles from track names)."""
    tracks = []
    for inst in pm.instruments:
        notes = tuple(
            Note(int(n.pitch), float(n.start), float(n.end), max(1, int(n.velocity)))
            for n in inst.notes if n.end > n.start
        )
        tracks.append(Track(inst.name or f"Track{len(tracks)}", notes, int(inst.program), bool(inst.is_drum)))
    _, tempi = pm.get_tempo_changes()
    try:
        beats = np.asarray(pm.get_beats(), dtype=np.float64)
    except Exception:  # pretty_midi raises on odd tempo maps; beats are optional
        beats = None
    piece = Piece(tuple(tracks), float(tempi[0]) if len(tempi) else None, beats)
    return piece.with_roles(melody=melody, rhythm=rhythm, chord=chord)


def read_midi(source: str | os.PathLike | bytes, *, name: str | None = None, melody: str | None = None,
              rhythm: str | None = None, chord: str | None = None) -> Piece:
    """Read a Standard MIDI File.

    Parameters
    ----------
    source : path-like or bytes
    name : str, optional
        How to name the file in errors (defaults to the path).
    melody, rhythm, chord : str, optional
        Track names that play these roles (the label's ``melodyTrack`` ...).

    Raises
    ------
    InputError
        ``MIDI_CORRUPT`` if the bytes do not parse, ``MIDI_EMPTY`` if there are no notes.
    """
    import pretty_midi

    label = name or (str(source) if not isinstance(source, bytes) else "<bytes>")
    if isinstance(source, bytes):
        data = source
    else:
        with open(source, "rb") as fh:
            data = fh.read()
    if len(data) == 0:
        raise InputError(label, QuarantineReason.MIDI_EMPTY, "file is 0 bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:  # mido/pretty_midi raise many types on bad bytes
        too_long = _past_tick_bound(data)
        if too_long:
            raise InputError(label, QuarantineReason.MIDI_TOO_LONG, too_long) from exc
        raise InputError(label, QuarantineReason.MIDI_CORRUPT, f"does not parse as MIDI: {_why(exc)}") from exc
    piece = piece_from_pretty_midi(pm, melody=melody, rhythm=rhythm, chord=chord)
    if piece.n_notes == 0:
        raise InputError(label, QuarantineReason.MIDI_EMPTY, "MIDI has no notes")
    return piece


def _why(exc: BaseException) -> str:
    """The parser's complaint in one line; a bare ``EOFError()`` (mido on a cut file) says so."""
    if isinstance(exc, EOFError) and not str(exc).strip():
        return "the file ends in the middle of a chunk or event (truncated; EOFError)"
    return one_line(exc)


def _past_tick_bound(data: bytes) -> str | None:
    """Why a well-formed file is over pretty_midi's tick bound, or None (not well-formed, or not over)."""
    import mido
    import pretty_midi

    bound = pretty_midi.pretty_midi.MAX_TICK
    try:
        mf = mido.MidiFile(file=io.BytesIO(data))
        last = max((sum(msg.time for msg in track) for track in mf.tracks), default=0)
        if last + 1 <= bound:
            return None
        seconds = mf.length
    except Exception:  # noqa: BLE001 - not well-formed: the caller reports MIDI_CORRUPT
        return None
    return (f"last event at tick {last} ({seconds:.0f} s), past the reader's bound of {bound:.0f} ticks "
            f"(a note or event hours past the music)")


def piece_to_pretty_midi(piece: Piece, *, tempo_bpm: float | None = None):
    """Convert a :class:`Piece` to ``pretty_midi.PrettyMIDI`` (one instrument per track)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=float(tempo_bpm or piece.tempo_bpm or 120.0))
    for t in piece.tracks:
        inst = pretty_midi.Instrument(program=int(t.program), is_drum=bool(t.is_drum), name=t.name)
        inst.notes = [pretty_midi.Note(velocity=int(n.velocity), pitch=int(n.pitch), start=float(n.start),
                                       end=float(n.end)) for n in t.notes]
        pm.instruments.append(inst)
    return pm


def write_midi(piece: Piece, path: str | os.PathLike, *, tempo_bpm: float | None = None) -> None:
    """Write a :class:`Piece` as a Standard MIDI File."""
    piece_to_pretty_midi(piece, tempo_bpm=tempo_bpm).write(str(path))
