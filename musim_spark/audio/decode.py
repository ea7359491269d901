"""Decode audio once, check it, resample it once: a file in, a mono float32 array out.

Every check that rejects audio raises :class:`~musim_spark.errors.InputError` with a quarantine
reason, so the transcribe stage records the track and carries on (bad audio never crashes a task).

Examples
--------
>>> import numpy as np
>>> y = 0.5 * np.sin(2 * np.pi * 440 * np.arange(44100) / 44100)
>>> check_audio(y, 44100, path="a.wav").dtype
dtype('float32')
>>> check_audio(np.zeros(44100), 44100, path="quiet.wav")
Traceback (most recent call last):
...
musim_spark.errors.InputError: quiet.wav: AUDIO_SILENT: peak -inf dBFS is below the silence floor -60.0 dBFS
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError, QuarantineReason
from .settings import TranscribeSettings

__all__ = ["load_audio", "check_audio", "resample"]

# Samples at or above this magnitude count as clipped (16-bit full scale is 32767/32768).
_FULL_SCALE = 0.999


def load_audio(path: str | os.PathLike, settings: TranscribeSettings | None = None, *,
               sample_rate: int = 22050, name: str | None = None, mono: bool = True) -> np.ndarray:
    """Decode a file to mono at ``sample_rate``, rejecting audio not worth transcribing.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file soundfile reads (WAV, FLAC, OGG...).
    settings : TranscribeSettings, optional
        Bounds (defaults: :class:`TranscribeSettings`).
    sample_rate : int
        The rate to resample to, once (the backend's own rate).
    name : str, optional
        How to name the file in errors (the path relative to the data-set root); default ``path``.
    mono : bool
        Average the channels (default); else keep the first two (the melody is found in the
        centre of a stereo mix: :mod:`.stereo`).

    Returns
    -------
    np.ndarray
        float32 samples in [-1, 1] at ``sample_rate``: shape (n,) when ``mono`` or the file is
        mono, else (n, 2).

    Raises
    ------
    InputError
        ``AUDIO_UNDECODABLE``, ``AUDIO_BAD_RATE``, ``AUDIO_TOO_LONG`` (checked from the header,
        before decoding), ``AUDIO_TOO_SHORT``, ``AUDIO_NONFINITE``, ``AUDIO_SILENT``, ``AUDIO_CLIPPED``.
    """
    import soundfile as sf

    s = settings or TranscribeSettings()
    name = str(path) if name is None else name
    try:
        info = sf.info(str(path))
    except Exception as exc:  # noqa: BLE001 - any decoder refusal is one quarantine reason
        raise InputError(name, QuarantineReason.AUDIO_UNDECODABLE, _first_line(exc)) from exc
    if info.samplerate < s.min_sample_rate:
        raise InputError(name, QuarantineReason.AUDIO_BAD_RATE,
                         f"sample rate {info.samplerate} Hz is below {s.min_sample_rate} Hz")
    # From the header, before decoding: a runaway file must not be read into memory at all.
    if info.frames / info.samplerate > s.max_seconds:
        raise InputError(name, QuarantineReason.AUDIO_TOO_LONG,
                         f"{info.frames / info.samplerate:.0f} s is over the bound of {s.max_seconds:.0f} s")
    try:
        y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001
        raise InputError(name, QuarantineReason.AUDIO_UNDECODABLE, _first_line(exc)) from exc
    # The checks look at the mono mix (what the model hears).
    mix = y.mean(axis=1) if y.shape[1] > 1 else y[:, 0]
    mix = check_audio(mix, sr, path=name, settings=s)
    if mono or y.shape[1] < 2:
        return resample(mix, sr, sample_rate)
    return np.stack([resample(y[:, c], sr, sample_rate) for c in (0, 1)], axis=1)


def check_audio(y: np.ndarray, sr: int, *, path: str = "<audio>",
                settings: TranscribeSettings | None = None) -> np.ndarray:
    """Reject audio with nothing to transcribe or damage that would mislead the model.

    Parameters
    ----------
    y : np.ndarray
        Mono samples, nominally in [-1, 1].
    sr : int
        Their sample rate (Hz).
    path : str
        Named in the error.
    settings : TranscribeSettings, optional

    Returns
    -------
    np.ndarray
        ``y`` as float32.

    Raises
    ------
    InputError
        With reason ``AUDIO_TOO_SHORT``, ``AUDIO_NONFINITE``, ``AUDIO_SILENT`` or ``AUDIO_CLIPPED``.

    Examples
    --------
    >>> import numpy as np
    >>> check_audio(np.sign(np.sin(np.arange(8000.0))), 8000, path="square.wav")
    Traceback (most recent call last):
    ...
    musim_spark.errors.InputError: square.wav: AUDIO_CLIPPED: 100.0% of samples at full scale (bound 1.0%)
    """
    s = settings or TranscribeSettings()
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise InputError(path, QuarantineReason.PARSE_ERROR, f"expected mono samples, got shape {y.shape}")
    # One model frame (about 12 ms) is the least there is to look at.
    if y.size < max(1, sr // 80):
        raise InputError(path, QuarantineReason.AUDIO_TOO_SHORT, f"{y.size} samples at {sr} Hz")
    if not np.all(np.isfinite(y)):
        raise InputError(path, QuarantineReason.AUDIO_NONFINITE,
                         f"{int(np.count_nonzero(~np.isfinite(y)))} NaN or infinite samples")
    peak = float(np.max(np.abs(y)))
    peak_db = 20 * np.log10(peak) if peak > 0 else -np.inf
    if peak_db < s.silence_dbfs:
        raise InputError(path, QuarantineReason.AUDIO_SILENT,
                         f"peak {peak_db:.1f} dBFS is below the silence floor {s.silence_dbfs} dBFS")
    clipped = float(np.count_nonzero(np.abs(y) >= _FULL_SCALE)) / y.size
    if clipped > s.clip_fraction:
        raise InputError(path, QuarantineReason.AUDIO_CLIPPED,
                         f"{100 * clipped:.1f}% of samples at full scale (bound {100 * s.clip_fraction:.1f}%)")
    return y


def resample(y: np.ndarray, sr: int, target: int) -> np.ndarray:
    """Resample mono audio once to ``target`` Hz (soxr through librosa; a no-op at the same rate).

    Examples
    --------
    >>> import numpy as np
    >>> resample(np.zeros(44100, np.float32), 44100, 22050).shape
    (22050,)
    """
    if int(sr) == int(target):
        return np.ascontiguousarray(y, dtype=np.float32)
    import librosa

    return librosa.resample(np.asarray(y, dtype=np.float32), orig_sr=int(sr), target_sr=int(target),
                            res_type="soxr_hq").astype(np.float32, copy=False)


def _first_line(exc: BaseException) -> str:
    from ..errors import one_line

    return one_line(exc)
