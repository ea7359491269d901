"""MIDI files to :class:`~musim_spark.model.Piece` and back (through pretty_midi).

Reading never trusts the file: unparsable bytes raise :class:`~musim_spark.errors.InputError`
with ``MIDI_CORRUPT``, a file without notes ``MIDI_EMPTY``.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from .errors import InputError, QuarantineReason
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
        raise InputError(label, QuarantineReason.MIDI_CORRUPT, f"does not parse as MIDI: {exc}") from exc
    piece = piece_from_pretty_midi(pm, melody=melody, rhythm=rhythm, chord=chord)
    if piece.n_notes == 0:
        raise InputError(label, QuarantineReason.MIDI_EMPTY, "MIDI has no notes")
    return piece


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
