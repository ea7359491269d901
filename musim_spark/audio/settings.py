"""Transcription settings: the ``transcribe:`` and ``gpu:`` sections of ``conf/*.yaml`` as frozen dataclasses.

Library code never reads the file; the CLI and jobs call :meth:`TranscribeSettings.from_config`
once and pass the result down. Defaults here equal the packaged ``resources/defaults.yaml`` values.

Examples
--------
>>> s = TranscribeSettings()
>>> s.backend, s.chunk_s, s.overlap_s
('basic-pitch', 30.0, 4.0)
>>> TranscribeSettings(chunk_s=8.0, overlap_s=4.0)
Traceback (most recent call last):
...
musim_spark.errors.ParameterError: transcribe.overlap_s must be below chunk_s / 2 (4.0), got 4.0
"""

from __future__ import annotations

import dataclasses

from ..config import SectionSettings
from ..errors import ParameterError

__all__ = ["TranscribeSettings", "GpuSettings"]


@dataclasses.dataclass(frozen=True)
class TranscribeSettings(SectionSettings):
    """How audio becomes notes (:mod:`musim_spark.audio.transcribe`).

    Attributes
    ----------
    backend : str
        ``basic-pitch`` (embedded ONNX model, the default) or ``omnizart`` (needs its checkpoints).
    chunk_s, overlap_s : float
        Long audio is transcribed in windows of ``chunk_s`` seconds that overlap by ``overlap_s``,
        so memory does not grow with the song; notes are stitched across the seams.
    max_seconds : float
        Longer audio is quarantined (``AUDIO_TOO_LONG``): the data set's songs are minutes long.
    min_sample_rate : int
        Files recorded below this rate are quarantined (``AUDIO_BAD_RATE``).
    silence_dbfs : float
        Audio whose peak stays below this level (dBFS) is quarantined as silent.
    clip_fraction : float
        Audio with more than this fraction of samples at full scale is quarantined as clipped.
    onset_threshold, frame_threshold : float
        basic-pitch's note onset and sustain activation thresholds (0-1).
    min_note_ms : float
        Shorter notes are dropped.
    note_filter : float
        Candidate notes whose probability of being a real onset (:mod:`.notefilter`, a logistic
        model over the activations around the onset) is below this are dropped (0: keep all).
    onset_shift_ms : float
        Transcribed onsets are moved this much earlier: the model hears a note once its attack
        has risen, after the note-on (0-100 ms).
    overtone_ratio : float
        A note quieter than this times a note 12/19/24/28 semitones below it, starting with it, is
        an overtone and dropped (0: keep every note).
    melody_min_pitch : int
        Lowest MIDI pitch the melody line may take (keeps the bass out of the melody).
    melody_min_amplitude : float
        Notes quieter than this (basic-pitch amplitude, 0-1) never carry the melody.
    melody_from_center : bool
        Take the melody from the centre of a stereo mix (:mod:`.stereo`; the lead voice is panned
        there), at the price of a second model pass; mono audio uses the mix.
    center_width : float
        Width of the centre's pan mask (0-1 pan index).
    drums : bool
        Detect drum onsets in the percussive (HPSS) component.
    drum_delta : float
        Peak-picking threshold of the drum onset envelopes (higher: fewer onsets).
    onnx_threads : int
        Threads of the ONNX session (0: onnxruntime's default, all cores); a Spark task uses 1.
    tracks_per_task : int
        Tracks one Spark task transcribes (the model loads once per Python worker).
    """

    SECTION = "transcribe"

    backend: str = "basic-pitch"
    chunk_s: float = 30.0
    overlap_s: float = 4.0
    max_seconds: float = 1800.0
    min_sample_rate: int = 8000
    silence_dbfs: float = -60.0
    clip_fraction: float = 0.01
    onset_threshold: float = 0.5
    frame_threshold: float = 0.3
    min_note_ms: float = 58.0
    note_filter: float = 0.3
    onset_shift_ms: float = 20.0
    overtone_ratio: float = 0.7
    melody_min_pitch: int = 55
    melody_min_amplitude: float = 0.25
    melody_from_center: bool = True
    center_width: float = 0.1
    drums: bool = True
    drum_delta: float = 0.25
    onnx_threads: int = 0
    tracks_per_task: int = 4

    def __post_init__(self):
        if float(self.chunk_s) < 4.0:
            raise ParameterError(f"transcribe.chunk_s must be >= 4 seconds, got {self.chunk_s!r}")
        if not 0.0 <= float(self.overlap_s) < float(self.chunk_s) / 2:
            raise ParameterError(f"transcribe.overlap_s must be below chunk_s / 2 ({self.chunk_s / 2}), "
                                 f"got {self.overlap_s!r}")
        for name in ("onset_threshold", "frame_threshold", "clip_fraction"):
            if not 0.0 < float(getattr(self, name)) <= 1.0:
                raise ParameterError(f"transcribe.{name} must be in (0, 1], got {getattr(self, name)!r}")
        if not 0.0 <= float(self.note_filter) < 1.0:
            raise ParameterError(f"transcribe.note_filter must be in [0, 1), got {self.note_filter!r}")
        if not 0.0 <= float(self.onset_shift_ms) <= 100.0:
            raise ParameterError(f"transcribe.onset_shift_ms must be in [0, 100], got {self.onset_shift_ms!r}")
        for name in ("tracks_per_task", "min_sample_rate"):
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"transcribe.{name} must be >= 1, got {getattr(self, name)!r}")



@dataclasses.dataclass(frozen=True)
class GpuSettings(SectionSettings):
    """Whether model stages ask Spark for GPUs (``conf/gpu.yaml``).

    Attributes
    ----------
    enabled : bool
        Model stages run under a stage-level resource profile requesting ``task_gpu_amount``
        GPUs per task; each task then uses the GPU Spark assigned it (CPU when it has none).
    task_gpu_amount : float
        GPUs per task (0.25: four model tasks share one GPU).
    """

    SECTION = "gpu"

    enabled: bool = False
    task_gpu_amount: float = 0.25

    def __post_init__(self):
        amount = float(self.task_gpu_amount)
        if amount <= 0 or (amount > 1 and amount != int(amount)):  # Spark's own rule for task amounts
            raise ParameterError(f"gpu.task_gpu_amount must be in (0, 1] or a whole number, got {self.task_gpu_amount!r}")

