"""Render a Piece to audio with FluidSynth and a General MIDI soundfont.

Each track is rendered alone (pretty_midi + pyfluidsynth, mono, 44.1 kHz), panned to a fixed
place in the stereo field (constant-power pan), and the mix is the sum of the panned stems,
scaled once so its peak is -1 dBFS. The stems are written with the same gain and pan, so they
add up to the mix (up to 16-bit rounding): separation can be scored against them exactly.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from ..errors import ParameterError

__all__ = ["SAMPLE_RATE", "TAIL_S", "PANS", "default_soundfont", "render_track", "render_piece", "wav_bytes"]

SAMPLE_RATE = 44100
#: seconds of audio after the music ends (release tails); a WAV lasts the cover's duration + TAIL_S
TAIL_S = 1.0
#: pan per track name, -1 (left) .. 1 (right); unknown names sit in the middle
PANS = {"Melody": 0.0, "SubMelody": 0.35, "Chord": -0.3, "Bass": 0.0, "Pad": 0.5, "Rhythm": -0.1}
_PEAK = 10 ** (-1 / 20)  # -1 dBFS


def default_soundfont() -> str:
    """The small GM soundfont shipped inside the pretty_midi package (TimGM6mb.sf2)."""
    import pretty_midi

    return os.path.join(os.path.dirname(pretty_midi.__file__), "TimGM6mb.sf2")


def render_track(track, *, sf2_path: str, fs: int = SAMPLE_RATE) -> np.ndarray:
    """Render one :class:`~musim_spark.model.Track` to mono float audio.

    Returns
    -------
    np.ndarray [shape=(n,), dtype=float64]
        Samples at ``fs`` Hz (FluidSynth's own level; empty for a track without notes).
    """
    import pretty_midi

    if not track.notes:
        return np.zeros(0)
    # Instrument.fluidsynth, not PrettyMIDI.fluidsynth: the latter normalises each render to
    # peak 1, which would erase the balance between parts
    inst = pretty_midi.Instrument(program=int(track.program), is_drum=bool(track.is_drum), name=track.name)
    inst.notes = [pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=n.start, end=n.end)
                  for n in track.notes]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(inst.fluidsynth(fs=fs, sf2_path=sf2_path), dtype=np.float64)
    except Exception as exc:  # pyfluidsynth/libfluidsynth errors (missing library, bad soundfont)
        raise ParameterError(f"FluidSynth could not render track {track.name!r} with {sf2_path}: {exc}") from exc


def render_piece(piece, *, sf2_path: str, fs: int = SAMPLE_RATE, duration: float | None = None):
    """Render every track, pan it, and mix.

    Parameters
    ----------
    piece : Piece
    sf2_path : str
        A General MIDI soundfont.
    fs : int
        Sample rate in Hz.
    duration : float, optional
        Length of the output in s (default: the longest stem, release tails included).

    Returns
    -------
    mix : np.ndarray [shape=(n, 2), dtype=float64]
        Stereo mix in [-1, 1], peak at -1 dBFS (silence stays silence).
    stems : dict of str to np.ndarray [shape=(n, 2)]
        Each track's panned contribution, same gain; ``sum(stems.values()) == mix``.
    """
    if not os.path.isfile(sf2_path):
        raise ParameterError(f"soundfont not found: {sf2_path}")
    mono = {t.name: render_track(t, sf2_path=sf2_path, fs=fs) for t in piece.tracks}
    n = int(round(duration * fs)) if duration is not None else max((len(a) for a in mono.values()), default=0)
    stems = {}
    for name, a in mono.items():
        a = np.pad(a, (0, max(0, n - len(a))))[:n]
        theta = (PANS.get(name, 0.0) + 1.0) * np.pi / 4
        stems[name] = np.stack([a * np.cos(theta), a * np.sin(theta)], axis=1)
    mix = sum(stems.values()) if stems else np.zeros((n, 2))
    peak = float(np.max(np.abs(mix))) if mix.size else 0.0
    gain = _PEAK / peak if peak > 0 else 1.0
    return mix * gain, {k: np.clip(v * gain, -1.0, 1.0) for k, v in stems.items()}


def wav_bytes(audio: np.ndarray, *, fs: int = SAMPLE_RATE) -> bytes:
    """16-bit PCM WAV bytes of float audio in [-1, 1] (shape (n,) mono or (n, channels))."""
    import soundfile as sf

    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, fs, subtype="PCM_16", format="WAV")
    return buf.getvalue()
