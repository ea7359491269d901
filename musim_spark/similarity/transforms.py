"""Cover-like and transcription-like transforms of a Piece, for tests and benchmarks.

Each function is pure (Piece in, new Piece out) and seeded where random. They model what covers
and audio-to-MIDI transcription do to the notes: transposition, global and partial tempo change,
partial re-rhythm, ornaments and split notes, crop, and transcription errors. The transcription
errors are the generator's own model (:func:`musim_spark.sampledata.noise.add_transcription_noise`),
so the engine is tested against the same noise the data sets carry.

Examples
--------
>>> from musim_spark.model import Note, Piece, Track
>>> p = Piece((Track("Melody", (Note(60, 0.0, 1.0), Note(62, 1.0, 2.0))),), tempo_bpm=120.0)
>>> transpose(p, 3).tracks[0].pitches().tolist()
[63, 65]
>>> warp_time(p, lambda t: 2 * t).end_time
4.0
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from ..model import Note, Piece, Track
from ..sampledata.noise import add_transcription_noise

__all__ = ["transpose", "warp_time", "tempo_change", "partial_tempo_change", "rerhythm", "ornament",
           "crop", "transcription_noise", "replace_track"]


def _map_notes(piece: Piece, fn: Callable[[Track], tuple], *, which=None) -> Piece:
    tracks = tuple(dataclasses.replace(t, notes=fn(t)) if (which is None or which(t)) else t
                   for t in piece.tracks)
    return dataclasses.replace(piece, tracks=tracks)


def _safe(pitch, start, end, vel=80):
    return Note(int(np.clip(pitch, 0, 127)), float(start), float(max(end, start + 0.01)), int(vel))


def transpose(piece: Piece, semitones: int) -> Piece:
    """Shift every pitched (non-drum) note by ``semitones``."""
    return _map_notes(piece, lambda t: tuple(_safe(n.pitch + semitones, n.start, n.end, n.velocity) for n in t.notes),
                      which=lambda t: not t.is_drum)


def warp_time(piece: Piece, fn: Callable[[np.ndarray], np.ndarray]) -> Piece:
    """Map every note time (and the beat grid) through the increasing function ``fn`` (s -> s)."""
    def f(t: Track):
        if not t.notes:
            return t.notes
        s = fn(t.onsets())
        e = fn(t.offsets())
        return tuple(_safe(n.pitch, a, b, n.velocity) for n, a, b in zip(t.notes, s, e))
    out = _map_notes(piece, f)
    beats = fn(piece.beats) if piece.beats is not None else None
    return dataclasses.replace(out, beats=beats)


def tempo_change(piece: Piece, ratio: float) -> Piece:
    """Global tempo change: times divided by ``ratio`` (ratio > 1 = faster)."""
    p = warp_time(piece, lambda t: np.asarray(t) / ratio)
    return dataclasses.replace(p, tempo_bpm=(piece.tempo_bpm or 120.0) * ratio)


def partial_tempo_change(piece: Piece, ratio: float, start_s: float, end_s: float) -> Piece:
    """Tempo ``ratio`` between ``start_s`` and ``end_s`` only (a piecewise-linear time warp)."""
    def fn(t):
        t = np.asarray(t, dtype=np.float64)
        inside = np.clip(t, start_s, end_s) - start_s
        return np.minimum(t, start_s) + inside / ratio + np.maximum(t - end_s, 0.0)
    return warp_time(piece, fn)


def rerhythm(piece: Piece, start_s: float, end_s: float, *, track: str | None = None, swing: float = 0.3,
             seed: int = 0) -> Piece:
    """Change the rhythm inside [start_s, end_s): move every other onset by ``swing`` of its IOI
    and randomly lengthen/shorten notes (pitches unchanged)."""
    rng = np.random.default_rng(seed)

    def f(t: Track):
        out = []
        notes = list(t.notes)
        for i, n in enumerate(notes):
            if start_s <= n.start < end_s and i + 1 < len(notes):
                ioi = notes[i + 1].start - n.start
                shift = swing * ioi if i % 2 else 0.0
                dur = n.duration * rng.uniform(0.5, 1.2)
                out.append(_safe(n.pitch, n.start + shift, n.start + shift + dur, n.velocity))
            else:
                out.append(n)
        return tuple(out)
    return _map_notes(piece, f, which=lambda t: track is None or t.name == track)


def ornament(piece: Piece, *, track: str, rate: float = 0.15, seed: int = 0) -> Piece:
    """Add grace notes (a step above, 60 ms before) and split notes in two, each at ``rate``."""
    rng = np.random.default_rng(seed)

    def f(t: Track):
        out = []
        for n in t.notes:
            u = rng.random()
            if u < rate and n.duration > 0.15:
                out.append(_safe(n.pitch + 2, n.start, n.start + 0.06, n.velocity))
                out.append(_safe(n.pitch, n.start + 0.06, n.end, n.velocity))
            elif u < 2 * rate and n.duration > 0.2:
                mid = n.start + n.duration / 2
                out.append(_safe(n.pitch, n.start, mid, n.velocity))
                out.append(_safe(n.pitch, mid, n.end, n.velocity))
            else:
                out.append(n)
        return tuple(out)
    return _map_notes(piece, f, which=lambda t: t.name == track)


def crop(piece: Piece, start_s: float, end_s: float) -> Piece:
    """Keep only notes starting in [start_s, end_s), shifted to start at 0."""
    out = _map_notes(piece, lambda t: tuple(
        _safe(n.pitch, n.start - start_s, min(n.end, end_s) - start_s, n.velocity)
        for n in t.notes if start_s <= n.start < end_s))
    beats = piece.beats
    if beats is not None:
        beats = beats[(beats >= start_s) & (beats < end_s)] - start_s
    return dataclasses.replace(out, beats=beats)


def transcription_noise(piece: Piece, *, seed: int = 0, rate: float = 0.28) -> Piece:
    """Transcription-like errors at a per-note ``rate`` (missing and extra notes, octave and semitone
    slips, split notes, timing errors, onset jitter): the generator's model,
    :func:`musim_spark.sampledata.noise.add_transcription_noise`, seeded with ``seed``. The default
    0.28 gives note F1 0.80 (bench/results/sampledata.md), the engine benchmarks' setting."""
    return add_transcription_noise(piece, rate=rate, rng=np.random.default_rng(seed))


def replace_track(piece: Piece, name: str, track: Track) -> Piece:
    """A copy with the track called ``name`` replaced by ``track`` (renamed to ``name``)."""
    tracks = tuple(dataclasses.replace(track, name=t.name, role=t.role) if t.name == name else t
                   for t in piece.tracks)
    return dataclasses.replace(piece, tracks=tracks)
