"""Audio to notes with roles: the columns of the ``transcribed_notes`` table for one recording.

One pass over the recording in overlapping windows (:mod:`.chunking`): per window the backend's
polyphonic notes and the percussive component's drum onsets (:mod:`.drums`), stitched across the
seams. Overtones reported as notes are dropped (:mod:`.overtones`). The melody line (:mod:`.melody`)
is picked from the notes of the centre of a stereo mix (:mod:`.stereo`: where the lead voice is
panned), or of the mix itself when the audio is mono; mix notes that repeat a melody note are
dropped from the accompaniment. The result has
the shape of a MIDI file's ``notes`` rows, three tracks:

========  ========================  =======  ========
index     track_name                role     is_drum
========  ========================  =======  ========
0         Transcribed melody        melody   False
1         Transcribed accompaniment chord    False
2         Transcribed drums         rhythm   True
========  ========================  =======  ========

Examples
--------
>>> import numpy as np
>>> class Fixed:  # a stand-in backend: one note per window it is given
...     name, sample_rate = "fixed", 100
...     def notes(self, y, settings):
...         return np.array([[3.0, 3.5, 72, 0.8]])
>>> s = TranscribeSettings(chunk_s=30.0, overlap_s=4.0, drums=False)
>>> cols = transcribe_array(np.ones(6000, np.float32) * 0.1, Fixed(), s)
>>> cols["start_s"].tolist(), cols["role"].tolist()
([3.0, 29.0, 55.0], ['melody', 'melody', 'melody'])
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError, QuarantineReason
from .backends import Backend
from .chunking import plan_windows, stitch
from .decode import check_audio, load_audio
from .drums import drum_onsets
from .melody import melody_mask
from .stereo import center_channel, is_dual_mono
from .overtones import overtone_mask
from .settings import TranscribeSettings

__all__ = ["transcribe_array", "transcribe_file", "TRACKS", "COLUMNS"]

#: (track_index, track_name, role, is_drum) of the transcribed tracks.
TRACKS = ((0, "Transcribed melody", "melody", False),
          (1, "Transcribed accompaniment", "chord", False),
          (2, "Transcribed drums", "rhythm", True))

#: The columns returned (the ``notes`` schema less ``track_id`` and ``run_id``).
COLUMNS = ("track_index", "track_name", "role", "program", "is_drum", "pitch", "start_s", "end_s", "velocity")


def transcribe_array(y: np.ndarray, backend: Backend, settings: TranscribeSettings | None = None, *,
                     path: str = "<audio>") -> dict[str, np.ndarray]:
    """Notes with roles of mono audio at ``backend.sample_rate``.

    Parameters
    ----------
    y : np.ndarray
        Samples at the backend's rate: mono (n,) or stereo (n, 2).
    backend : Backend
        :func:`~musim_spark.audio.backends.get_backend`.
    settings : TranscribeSettings, optional
    path : str
        Named in errors.

    Returns
    -------
    dict of str to np.ndarray
        :data:`COLUMNS`, one entry per note, sorted by track then start.

    Raises
    ------
    InputError
        ``EMPTY_TRANSCRIPTION`` when audible audio gives no note at all, and the reasons of
        :func:`~musim_spark.audio.decode.check_audio`.
    """
    s = settings or TranscribeSettings()
    sr = int(backend.sample_rate)
    stereo = np.asarray(y, dtype=np.float32)
    mono = stereo.mean(axis=1) if stereo.ndim == 2 else stereo
    mono = check_audio(mono, sr, path=path, settings=s)
    # The centre pass doubles the model's work: only where there is a centre to find.
    use_center = s.melody_from_center and stereo.ndim == 2 and not is_dual_mono(stereo)
    windows = plan_windows(mono.size, sr=sr, chunk_s=s.chunk_s, overlap_s=s.overlap_s)
    pitched, hits, centre = [], [], []
    for w in windows:
        # Only one window's activations and spectrograms exist at a time: memory is bounded by chunk_s.
        seg = mono[w.start:w.stop]
        offset = np.array([w.start / sr, w.start / sr, 0.0, 0.0])
        pitched.append(np.asarray(backend.notes(seg, s), dtype=np.float64).reshape(-1, 4) + offset)
        if s.drums:
            hits.append(drum_onsets(seg, sr, delta=s.drum_delta) + offset)
        if use_center:
            c = center_channel(stereo[w.start:w.stop], width=s.center_width)
            centre.append(np.asarray(backend.notes(c, s), dtype=np.float64).reshape(-1, 4) + offset)
    notes = _clean(stitch(pitched, windows, sr=sr), s)
    drums = stitch(hits, windows, sr=sr) if s.drums else np.zeros((0, 4))
    if notes.shape[0] == 0 and drums.shape[0] == 0:
        raise InputError(path, QuarantineReason.EMPTY_TRANSCRIPTION,
                         f"backend {backend.name} found no note in {mono.size / sr:.1f} s of audio")
    if use_center:
        lead = _clean(stitch(centre, windows, sr=sr), s)
        melody = lead[melody_mask(lead, min_pitch=s.melody_min_pitch, min_amplitude=s.melody_min_amplitude)]
        accomp = notes[~_repeats(notes, melody)]
    else:
        is_melody = melody_mask(notes, min_pitch=s.melody_min_pitch, min_amplitude=s.melody_min_amplitude)
        melody, accomp = notes[is_melody], notes[~is_melody]
    parts = [(melody, TRACKS[0]), (accomp, TRACKS[1]), (drums, TRACKS[2])]
    return _columns(parts)


def transcribe_file(path: str | os.PathLike, backend: Backend, settings: TranscribeSettings | None = None, *,
                    name: str | None = None) -> dict[str, np.ndarray]:
    """:func:`transcribe_array` of a file, decoded and resampled once to the backend's rate.

    Raises
    ------
    InputError
        With a quarantine reason (:func:`~musim_spark.audio.decode.load_audio`).
    """
    name = str(path) if name is None else name
    y = load_audio(path, settings, sample_rate=int(backend.sample_rate), name=name, mono=False)
    return transcribe_array(y, backend, settings, path=name)


def _clean(notes: np.ndarray, s: TranscribeSettings) -> np.ndarray:
    return notes[~overtone_mask(notes, ratio=s.overtone_ratio)] if s.overtone_ratio > 0 and notes.size else notes


def _repeats(notes: np.ndarray, melody: np.ndarray, tol_s: float = 0.05) -> np.ndarray:
    """Which of ``notes`` repeat a melody note (same pitch, onsets within ``tol_s``)."""
    out = np.zeros(notes.shape[0], dtype=bool)
    for i, (start, _, pitch, _) in enumerate(notes):
        out[i] = bool(np.any((melody[:, 2] == pitch) & (np.abs(melody[:, 0] - start) <= tol_s)))
    return out


def _columns(parts) -> dict[str, np.ndarray]:
    cols: dict[str, list] = {c: [] for c in COLUMNS}
    for notes, (index, name, role, is_drum) in parts:
        n = notes.shape[0]
        cols["track_index"].append(np.full(n, index, np.int32))
        cols["track_name"].append(np.full(n, name, dtype=object))
        cols["role"].append(np.full(n, role, dtype=object))
        cols["program"].append(np.zeros(n, np.int32))
        cols["is_drum"].append(np.full(n, is_drum, bool))
        cols["pitch"].append(notes[:, 2].round().astype(np.int32))
        cols["start_s"].append(notes[:, 0].astype(np.float64))
        # A note never ends before it starts (a model frame rounding at a seam).
        cols["end_s"].append(np.maximum(notes[:, 1], notes[:, 0] + 1e-3).astype(np.float64))
        cols["velocity"].append(np.clip(np.round(notes[:, 3] * 127), 1, 127).astype(np.int32))
    return {k: np.concatenate(v) for k, v in cols.items()}
