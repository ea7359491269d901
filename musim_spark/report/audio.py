"""Short listening excerpts for a pair report, embedded in the page as ``data:`` URIs.

Where a track has audio (the data set's ``.wav`` beside the ``.mid``, same stem:
:func:`wav_beside`) the excerpt is cut from it (:func:`wav_excerpt`, reading only the frames it
needs); where it has none (a melody file, a generated plagiarism case) the excerpt is rendered
from the MIDI at report time with FluidSynth and the General MIDI soundfont shipped with
pretty_midi (:func:`synth_excerpt`, :mod:`musim_spark.sampledata.render`).

**Embedded, not referenced.** A report links nothing: each excerpt is encoded (mono, 22.05 kHz,
Ogg Vorbis: about 8 KB per second, or 16-bit WAV where libsndfile lacks Vorbis) and embedded
(:func:`data_uri`). A relative path to the data set's WAV would break as soon as a folder of
reports is copied, mailed or opened away from the cluster the data set lives on, and the whole
WAV (about 10 MB a minute) is far more than the few seconds a reviewer listens to; excerpts are
capped (:data:`MAX_EXCERPT_S`) so a page stays a few hundred KB.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

from ..errors import ParameterError

__all__ = ["MAX_EXCERPT_S", "EXCERPT_FS", "wav_beside", "wav_excerpt", "synth_excerpt", "data_uri"]

#: Longest excerpt (s): long enough to hear a phrase, short enough to keep pages small.
MAX_EXCERPT_S = 12.0
#: Sample rate (Hz) of embedded excerpts (a reviewer compares melodies, not mastering).
EXCERPT_FS = 22050


def wav_beside(midi_path) -> Path | None:
    """The audio file beside a MIDI file (same stem, ``.wav`` in any case), or None."""
    if midi_path is None:
        return None
    p = Path(midi_path)
    for suffix in (".wav", ".WAV", ".Wav"):
        w = p.with_suffix(suffix)
        if w.is_file():
            return w
    return None


def _to_mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def _resample(x: np.ndarray, fs: int, target: int) -> np.ndarray:
    if fs == target or x.shape[0] == 0:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(fs), int(target))
    return resample_poly(x, target // g, int(fs) // g)


def wav_excerpt(path, start_s: float, end_s: float, *, fs: int = EXCERPT_FS) -> np.ndarray:
    """Mono samples at ``fs`` Hz of ``path`` from ``start_s`` to ``end_s`` (clipped to the file).

    Raises
    ------
    ParameterError
        The file cannot be read as audio.
    """
    import soundfile as sf

    try:
        info = sf.info(str(path))
        a = max(int(round(start_s * info.samplerate)), 0)
        b = min(int(round(end_s * info.samplerate)), info.frames)
        x, sr = sf.read(str(path), start=a, stop=max(b, a), dtype="float64", always_2d=True)
    except (RuntimeError, OSError) as exc:  # soundfile raises LibsndfileError (a RuntimeError)
        raise ParameterError(f"cannot read audio {path}: {exc}") from exc
    return _resample(_to_mono(x), sr, fs)


def synth_excerpt(piece, start_s: float, end_s: float, *, fs: int = EXCERPT_FS, sf2_path: str | None = None
                  ) -> np.ndarray:
    """Mono samples at ``fs`` Hz of ``piece`` from ``start_s`` to ``end_s``, rendered by FluidSynth.

    Only the notes sounding in the window are rendered (cut at its edges), so the cost is that of
    the excerpt, not of the song.

    Raises
    ------
    ParameterError
        FluidSynth or the soundfont is missing.
    """
    from ..model import Note, Piece, Track
    from ..sampledata.render import default_soundfont, render_piece

    tracks = []
    for t in piece.tracks:
        notes = tuple(Note(n.pitch, max(n.start, start_s) - start_s, min(n.end, end_s) - start_s, n.velocity)
                      for n in t.notes if min(n.end, end_s) > max(n.start, start_s))
        if notes:
            tracks.append(Track(t.name, notes, program=t.program, is_drum=t.is_drum))
    n = max(int(round((end_s - start_s) * fs)), 0)
    if not tracks:
        return np.zeros(n)
    mix, _ = render_piece(Piece(tuple(tracks), tempo_bpm=piece.tempo_bpm), sf2_path=sf2_path or default_soundfont(),
                          fs=fs, duration=end_s - start_s)
    return _to_mono(mix)


def data_uri(x: np.ndarray, *, fs: int = EXCERPT_FS) -> str:
    """A ``data:`` URI of mono audio in [-1, 1]: Ogg Vorbis where available, else 16-bit WAV.

    Faded in and out over 20 ms (an excerpt cut mid-note would click) and normalised to a peak
    of -3 dBFS (excerpts of two songs play at a similar level).
    """
    import soundfile as sf

    x = np.asarray(x, np.float64).copy()
    k = min(int(0.02 * fs), x.shape[0] // 2)
    if k:
        ramp = np.linspace(0.0, 1.0, k)
        x[:k] *= ramp
        x[-k:] *= ramp[::-1]
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 0:
        x *= 10 ** (-3 / 20) / peak
    buf = io.BytesIO()
    if "VORBIS" in sf.available_subtypes("OGG"):
        sf.write(buf, x.astype(np.float32), fs, format="OGG", subtype="VORBIS")
        mime = "audio/ogg"
    else:  # pragma: no cover - libsndfile built without Vorbis
        sf.write(buf, np.round(np.clip(x, -1, 1) * 32767).astype(np.int16), fs, format="WAV", subtype="PCM_16")
        mime = "audio/wav"
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")
