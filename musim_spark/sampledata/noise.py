"""Transcription-like errors for delivered MIDI.

The data set's MIDI was transcribed from audio by models (Omnizart, note F1 0.758 on their
split), so it has missing and extra notes, octave and semitone slips, split notes and timing
jitter. :func:`add_transcription_noise` puts such errors into a clean Piece at a per-note rate
``P``, independently per track (the caller passes a differently seeded generator per track, so a
cover and its original never match note for note). docs/sample-data.md and
bench/results/sampledata.md give the measured note F1 (mir_eval, onset-only, 50 ms) against P.
This is the package's one transcription-noise model: the similarity engine's tests and benchmarks
use it too (:func:`musim_spark.similarity.transforms.transcription_noise`).

Examples
--------
>>> import numpy as np
>>> from musim_spark.model import Note, Piece, Track
>>> p = Piece((Track("Melody", tuple(Note(60 + i % 5, i * 0.5, i * 0.5 + 0.4) for i in range(40))),))
>>> add_transcription_noise(p, rate=0.0, rng=np.random.default_rng(0)) == p
True
>>> noisy = add_transcription_noise(p, rate=0.3, rng=np.random.default_rng(0))
>>> noisy.tracks[0].notes != p.tracks[0].notes
True
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ParameterError
from ..model import Note, Piece, Track

__all__ = ["ERROR_KINDS", "add_transcription_noise", "noisy_track", "note_f1"]

#: error kind -> relative weight among the errors a note can get
ERROR_KINDS = {"missing": 0.25, "extra": 0.15, "octave": 0.15, "semitone": 0.15, "split": 0.15, "timing": 0.15}
_DRUM_KINDS = {"missing": 0.5, "extra": 0.25, "timing": 0.25}


def _clamp_pitch(p: int) -> int:
    return int(min(127, max(0, p)))


def noisy_track(track: Track, *, rate: float, rng: np.random.Generator, jitter_s: float = 0.01) -> Track:
    """One track with transcription-like errors (see :func:`add_transcription_noise`)."""
    if rate <= 0:
        return track
    kinds_w = _DRUM_KINDS if track.is_drum else ERROR_KINDS
    kinds = list(kinds_w)
    weights = np.array([kinds_w[k] for k in kinds], dtype=np.float64)
    weights /= weights.sum()
    out: list[Note] = []

    def add(pitch, start, end, vel):
        start = max(0.0, round(float(start), 6))
        end = round(float(end), 6)
        if end - start > 0.01:
            out.append(Note(_clamp_pitch(pitch), start, end, int(vel)))

    for n in track.notes:
        # every note gets a little onset/offset jitter, well inside mir_eval's 50 ms tolerance
        js = float(np.clip(rng.normal(0.0, jitter_s), -0.025, 0.025))
        je = float(np.clip(rng.normal(0.0, 2 * jitter_s), -0.05, 0.05))
        s, e = n.start + js, max(n.end + je, n.start + js + 0.02)
        if rng.random() >= rate:
            add(n.pitch, s, e, n.velocity)
            continue
        kind = kinds[int(rng.choice(len(kinds), p=weights))]
        if kind == "missing":
            continue
        if kind == "extra":
            add(n.pitch, s, e, n.velocity)
            off = float(rng.uniform(0.06, max(0.07, e - s)))
            pitch = n.pitch if track.is_drum else n.pitch + int(rng.choice([-7, -5, -4, -3, 3, 4, 5, 7, 12]))
            add(pitch, s + off, s + off + float(rng.uniform(0.08, 0.25)), max(1, n.velocity - 20))
        elif kind == "octave":
            add(n.pitch + (12 if rng.random() < 0.5 or n.pitch < 12 else -12), s, e, n.velocity)
        elif kind == "semitone":
            add(n.pitch + (1 if rng.random() < 0.5 else -1), s, e, n.velocity)
        elif kind == "split":
            mid = s + (e - s) * float(rng.uniform(0.35, 0.65))
            if mid - s > 0.02 and e - mid > 0.02:
                add(n.pitch, s, mid, n.velocity)
                add(n.pitch, mid, e, n.velocity)
            else:
                add(n.pitch, s, e, n.velocity)
        elif kind == "timing":
            shift = float(rng.uniform(0.06, 0.15)) * (1 if rng.random() < 0.5 else -1)
            add(n.pitch, s + shift, e + shift, n.velocity)
    return dataclasses.replace(track, notes=tuple(out))


def add_transcription_noise(piece: Piece, *, rate: float, rng: np.random.Generator,
                            jitter_s: float = 0.01) -> Piece:
    """Give every track transcription-like errors at a per-note rate.

    Parameters
    ----------
    piece : Piece
        Clean notes.
    rate : float
        Probability ``P`` in [0, 1] that a note gets one error: missing (dropped), extra (a
        spurious note added inside it), octave slip, semitone slip, split in two, or an onset
        moved by 60-150 ms (beyond the 50 ms tolerance). Drum tracks get only missing, extra
        and timing errors. Every kept note also gets onset jitter of ``jitter_s`` s (s.d.,
        clipped to 25 ms). ``rate=0`` returns ``piece`` unchanged.
    rng : numpy Generator
        Seeded by the caller; each track draws from its own child generator.

    Returns
    -------
    Piece

    Raises
    ------
    ParameterError
        If ``rate`` is outside [0, 1].
    """
    if not 0.0 <= rate <= 1.0:
        raise ParameterError(f"midi noise rate {rate} outside [0, 1]")
    if rate == 0:
        return piece
    children = rng.spawn(len(piece.tracks))
    tracks = tuple(noisy_track(t, rate=rate, rng=r, jitter_s=jitter_s) for t, r in zip(piece.tracks, children))
    return dataclasses.replace(piece, tracks=tracks)


def note_f1(reference: Piece, estimate: Piece, *, onset_tolerance: float = 0.05) -> float:
    """Note F1 (mir_eval.transcription, onset-only, pitched tracks) of ``estimate`` against ``reference``."""
    import mir_eval

    ri, rp = reference.to_intervals_pitches()
    ei, ep = estimate.to_intervals_pitches()
    if len(rp) == 0 or len(ep) == 0:
        return 0.0
    _, _, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ri, rp, ei, ep, onset_tolerance=onset_tolerance, offset_ratio=None)
    return float(f)
