"""Transcription backends: audio windows in, polyphonic notes out.

A backend turns mono audio at its own sample rate into note events ``(start_s, end_s, pitch,
amplitude)``. The default, ``basic-pitch`` (Spotify, Apache-2.0), is embedded: its ONNX model
ships inside the ``basic-pitch`` package, and we run it in our own ``onnxruntime`` session so a
CUDA provider is used when one is available (basic-pitch's own loader hard-codes the CPU).
``omnizart`` needs checkpoints that are not inside its package: asking for it without them is one
clear error, never a silent fallback to another backend.

The model is loaded once per Python process (:func:`onnx_session` keeps a module-level cache), so
a Spark Python worker that is reused across tasks loads it once.

Examples
--------
>>> sorted(BACKENDS)
['basic-pitch', 'omnizart']
>>> get_backend("crepe")
Traceback (most recent call last):
...
musim_spark.errors.ParameterError: unknown transcription backend 'crepe'; known: basic-pitch, omnizart
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from typing import Protocol

import numpy as np

from ..errors import ModelError, ParameterError
from .notefilter import keep_mask, merge_dropped
from .settings import TranscribeSettings

__all__ = ["Backend", "BasicPitchBackend", "OmnizartBackend", "BACKENDS", "get_backend", "onnx_session",
           "basic_pitch_model_path", "choose_providers", "shift_onsets"]


class Backend(Protocol):
    """What the transcriber needs of a backend."""

    name: str
    sample_rate: int

    def notes(self, y: np.ndarray, settings: TranscribeSettings) -> np.ndarray:
        """Notes of mono audio ``y`` at :attr:`sample_rate`: float array (n, 4) of
        ``start_s, end_s, pitch, amplitude`` (times from the start of ``y``)."""


# --- basic-pitch ---------------------------------------------------------------------------------

# Constants of the basic-pitch 0.4 model (basic_pitch/constants.py), restated so that the model
# can run without importing the basic_pitch package (its __init__ probes for TensorFlow and logs).
_BP_SR = 22050
_BP_HOP = 256
_BP_WINDOW = 2 * _BP_SR - _BP_HOP          # 43844 samples per model input
_BP_OVERLAP_FRAMES = 30                    # frames shared by consecutive model inputs
_BP_OVERLAP = _BP_OVERLAP_FRAMES * _BP_HOP
_BP_STEP = _BP_WINDOW - _BP_OVERLAP
_BP_INPUT = "serving_default_input_2:0"
_BP_OUTPUTS = ("StatefulPartitionedCall:1", "StatefulPartitionedCall:2", "StatefulPartitionedCall:0")  # note, onset, contour
_BP_BATCH = 16                             # model inputs per session.run (bounded memory)

_SESSIONS: dict[tuple[str, int | None, int], object] = {}
_LOCK = threading.Lock()


def basic_pitch_model_path() -> str:
    """The ``nmp.onnx`` file inside the installed ``basic-pitch`` package.

    Raises
    ------
    ModelError
        When the package (or its ONNX file) is not installed, saying how to install it.
    """
    spec = importlib.util.find_spec("basic_pitch")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("transcription backend 'basic-pitch' is not installed: "
                         "pip install --no-deps basic-pitch==0.4.0 onnxruntime")
    path = os.path.join(list(spec.submodule_search_locations)[0], "saved_models", "icassp_2022", "nmp.onnx")
    if not os.path.isfile(path):
        raise ModelError(f"basic-pitch is installed without its ONNX model ({path} is missing)")
    return path


def choose_providers(available: list[str], device: int | None) -> list:
    """onnxruntime execution providers: the CUDA device ``device`` when there is one, else the CPU.

    Examples
    --------
    >>> choose_providers(["CUDAExecutionProvider", "CPUExecutionProvider"], 1)
    [('CUDAExecutionProvider', {'device_id': 1}), 'CPUExecutionProvider']
    >>> choose_providers(["CPUExecutionProvider"], 0)
    ['CPUExecutionProvider']
    >>> choose_providers(["CUDAExecutionProvider", "CPUExecutionProvider"], None)
    ['CPUExecutionProvider']
    """
    if device is not None and "CUDAExecutionProvider" in available:
        # The CPU stays in the list: onnxruntime runs there any operator CUDA lacks.
        return [("CUDAExecutionProvider", {"device_id": int(device)}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def onnx_session(path: str, *, device: int | None = None, threads: int = 0):
    """The ``onnxruntime.InferenceSession`` of ``path``, built once per process and device.

    Parameters
    ----------
    path : str
        An ONNX model file.
    device : int, optional
        CUDA device index (the GPU Spark assigned the task); None or no CUDA provider: the CPU.
    threads : int
        Intra-op threads (0: onnxruntime's default).
    """
    key = (path, device, int(threads))
    with _LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            try:
                import onnxruntime as ort
            except ImportError as exc:
                raise ModelError("onnxruntime is not installed: pip install onnxruntime "
                                 "(onnxruntime-gpu for CUDA)") from exc
            options = ort.SessionOptions()
            options.intra_op_num_threads = int(threads)
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # the CUDA provider's fallback warnings are not errors
            try:
                session = ort.InferenceSession(path, sess_options=options,
                                               providers=choose_providers(ort.get_available_providers(), device))
            except Exception as exc:  # noqa: BLE001 - a broken model file is one clear error
                raise ModelError(f"cannot load the ONNX model {path}: {type(exc).__name__}: {exc}") from exc
            _SESSIONS[key] = session
    return session


def _model_frames_to_time(n_frames: int) -> np.ndarray:
    """basic-pitch's frame times (``note_creation.model_frames_to_time``): the unwrapped output has
    a small per-window drift that its authors correct with this offset."""
    fps_frames = 2 * (_BP_SR // _BP_HOP)  # ANNOT_N_FRAMES = 172
    times = np.arange(n_frames) * _BP_HOP / _BP_SR
    window_offset = (_BP_HOP / _BP_SR) * (fps_frames - _BP_WINDOW / _BP_HOP) + 0.0018
    return times - window_offset * np.floor(np.arange(n_frames) / fps_frames)


def shift_onsets(notes: np.ndarray, shift_s: float) -> np.ndarray:
    """Notes with their onsets moved ``shift_s`` earlier (never before 0, never past their end).

    A model hears a note once its attack has risen: on the generated sets basic-pitch's onsets lag
    the MIDI note-on by a median 10 ms (piano) to 30 ms (voice, strings), see
    ``bench/results/transcription.md``; ``transcribe.onset_shift_ms`` takes that lag back.

    Examples
    --------
    >>> shift_onsets(np.array([[1.0, 2.0, 60, 0.5], [0.01, 0.5, 62, 0.5]]), 0.02).tolist()
    [[0.98, 2.0, 60.0, 0.5], [0.0, 0.5, 62.0, 0.5]]
    """
    notes = np.array(notes, dtype=np.float64).reshape(-1, 4)
    if shift_s and notes.size:
        notes[:, 0] = np.clip(notes[:, 0] - shift_s, 0.0, notes[:, 1])
    return notes


class BasicPitchBackend:
    """Spotify's basic-pitch (ICASSP 2022) through its packaged ONNX model.

    Parameters
    ----------
    device : int, optional
        CUDA device to run on when onnxruntime has the CUDA provider (else the CPU).
    """

    name = "basic-pitch"
    sample_rate = _BP_SR

    def __init__(self, device: int | None = None):
        self.device = device

    def activations(self, y: np.ndarray, settings: TranscribeSettings) -> dict[str, np.ndarray]:
        """The model's frame-wise ``note``, ``onset`` (n, 88) and ``contour`` (n, 264) outputs.

        Same windowing as basic-pitch's ``run_inference``: 2 s inputs overlapping by 30 frames,
        the overlap cut half from each side; at most :data:`_BP_BATCH` inputs per run.
        """
        session = onnx_session(basic_pitch_model_path(), device=self.device, threads=settings.onnx_threads)
        y = np.asarray(y, dtype=np.float32)
        padded = np.concatenate([np.zeros(_BP_OVERLAP // 2, np.float32), y])
        starts = range(0, padded.size, _BP_STEP)
        out: dict[str, list[np.ndarray]] = {"note": [], "onset": [], "contour": []}
        starts = list(starts)
        for b in range(0, len(starts), _BP_BATCH):
            batch = np.zeros((len(starts[b:b + _BP_BATCH]), _BP_WINDOW, 1), np.float32)
            for i, s in enumerate(starts[b:b + _BP_BATCH]):
                piece = padded[s:s + _BP_WINDOW]
                batch[i, :piece.size, 0] = piece
            try:
                note, onset, contour = session.run(list(_BP_OUTPUTS), {_BP_INPUT: batch})
            except Exception as exc:  # noqa: BLE001
                raise ModelError(f"basic-pitch inference failed: {type(exc).__name__}: {exc}") from exc
            for key, value in (("note", note), ("onset", onset), ("contour", contour)):
                out[key].append(value)
        half = _BP_OVERLAP_FRAMES // 2
        n_frames = int(np.floor(y.size * ((_BP_SR // _BP_HOP) / _BP_SR)))
        result = {}
        for key, parts in out.items():
            a = np.concatenate(parts)[:, half:-half, :]
            result[key] = a.reshape(-1, a.shape[-1])[:n_frames]
        return result

    def notes(self, y: np.ndarray, settings: TranscribeSettings) -> np.ndarray:
        """Polyphonic notes of ``y``: basic-pitch's own note decoding (with its melodia trick), then
        the note filter (:mod:`.notefilter`, ``settings.note_filter``) and the onset lag taken back
        (:func:`shift_onsets`, ``settings.onset_shift_ms``)."""
        act = self.activations(y, settings)
        if act["note"].shape[0] < 3:
            return np.zeros((0, 4))
        decode = _note_decoder()
        min_len = int(np.round(settings.min_note_ms / 1000 * (_BP_SR / _BP_HOP)))
        # basic-pitch zeroes activations in place (frequency limits): give it copies.
        events = decode(act["note"].copy(), act["onset"].copy(), onset_thresh=settings.onset_threshold,
                        frame_thresh=settings.frame_threshold, min_note_len=min_len, infer_onsets=True,
                        max_freq=None, min_freq=None, melodia_trick=True)
        if not events:
            return np.zeros((0, 4))
        ev = np.asarray([(s, e, p, a) for s, e, p, a in events], dtype=np.float64)
        times = _model_frames_to_time(act["note"].shape[0] + 1)
        ev[:, 0] = times[ev[:, 0].astype(int)]
        ev[:, 1] = times[np.minimum(ev[:, 1].astype(int), times.size - 1)]
        # The note filter reads the activations around each onset: before the onsets move.
        ev = merge_dropped(ev, keep_mask(ev, act["note"], act["onset"], times=times, threshold=settings.note_filter))
        ev = shift_onsets(ev, settings.onset_shift_ms / 1000.0)
        return ev[np.lexsort((ev[:, 2], ev[:, 0]))]


def _note_decoder():
    """basic-pitch's ``output_to_notes_polyphonic``, imported quietly (its package __init__ logs
    a warning per missing optional runtime: TensorFlow, CoreML, TFLite)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        from basic_pitch.note_creation import output_to_notes_polyphonic
    except ImportError as exc:
        raise ModelError("transcription backend 'basic-pitch' is not installed: "
                         "pip install --no-deps basic-pitch==0.4.0 onnxruntime resampy") from exc
    finally:
        root.setLevel(level)
    return output_to_notes_polyphonic


# --- omnizart ------------------------------------------------------------------------------------

#: The checkpoint folders omnizart 0.6.3 loads for music transcription (``omnizart download-checkpoints``).
OMNIZART_CHECKPOINTS = ("checkpoints/music/music_piano", "checkpoints/music/music_pop",
                        "checkpoints/drum/drum_keras", "checkpoints/vocal/vocal_semitone")


class OmnizartBackend:
    """omnizart (MIT), whose checkpoints are not inside its package and cannot be fetched here.

    Creating it checks for the package and its checkpoints and raises one clear error naming what
    is missing and how to get it; it never falls back to another backend.
    """

    name = "omnizart"
    sample_rate = 44100

    def __init__(self, device: int | None = None):
        self.device = device
        spec = importlib.util.find_spec("omnizart")
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                "transcription backend 'omnizart' is not installed and its checkpoints "
                f"({', '.join(OMNIZART_CHECKPOINTS)}) are missing: in a separate environment "
                "(numpy<2, Cython<3.1) run pip install 'musim-spark[omnizart]' then "
                "omnizart download-checkpoints, or use --backend basic-pitch")
        root = list(spec.submodule_search_locations)[0]
        missing = [c for c in OMNIZART_CHECKPOINTS if not os.path.isdir(os.path.join(root, c))]
        if missing:
            raise ModelError(
                f"transcription backend 'omnizart' is missing its checkpoint files {', '.join(missing)} "
                f"under {root}: run omnizart download-checkpoints (needs github.com) or copy them there, "
                "or use --backend basic-pitch")
        raise ModelError("transcription backend 'omnizart' is installed with its checkpoints, but running it "
                         "is not wired in yet (issue 12): use --backend basic-pitch")

    def notes(self, y: np.ndarray, settings: TranscribeSettings) -> np.ndarray:  # pragma: no cover
        raise ModelError("omnizart backend is not wired in")


BACKENDS = {"basic-pitch": BasicPitchBackend, "omnizart": OmnizartBackend}


def get_backend(name: str, *, device: int | None = None) -> Backend:
    """The backend called ``name``, on CUDA device ``device`` where it can use one.

    Raises
    ------
    ParameterError
        An unknown name.
    ModelError
        A known backend that cannot run here (missing package or checkpoints): the message says
        what is missing and how to get it.
    """
    try:
        cls = BACKENDS[name]
    except KeyError:
        raise ParameterError(f"unknown transcription backend {name!r}; known: {', '.join(sorted(BACKENDS))}") from None
    return cls(device=device)
