"""What one transcribe task does with a batch of tracks: descriptors in, result rows out. Pure.

The Spark stage (:mod:`.stage`) hands each task an Arrow batch of :data:`DESCRIPTOR_SCHEMA`
rows (track id, absolute WAV path, audio hash, digest); :func:`transcribe_batch` transcribes them
one after the other with one backend (the model loaded once per Python process) and returns one
:data:`RESULT_SCHEMA` row per track: its notes as a nested list, or the quarantine reason. A bad
file is a row with a reason, never an exception that fails the task.

Examples
--------
>>> transcription_digest("ab12", "basic-pitch", "f00d") == transcription_digest("ab12", "basic-pitch", "f00d")
True
>>> transcription_digest("ab12", "basic-pitch", "f00d") == transcription_digest("ab13", "basic-pitch", "f00d")
False
"""

from __future__ import annotations

import dataclasses
import hashlib
import time

import numpy as np
import pyarrow as pa

from ..errors import InputError, MusimError, QuarantineReason, one_line
from ..io.tables import TABLES
from .settings import TranscribeSettings

__all__ = ["TRANSCRIBE_VERSION", "DESCRIPTOR_SCHEMA", "RESULT_SCHEMA", "NOTE_TYPE", "settings_fingerprint",
           "transcription_digest", "transcribe_batch"]

#: Bumped when transcription changes in a way the settings do not show: stored ones are redone.
TRANSCRIBE_VERSION = "2026-12-02.2"

DESCRIPTOR_SCHEMA = pa.schema([
    pa.field("track_id", pa.string(), False),
    pa.field("path", pa.string(), False),        # absolute path of the WAV
    pa.field("name", pa.string(), False),        # the path relative to the data-set root (errors, quarantine)
    pa.field("wav_sha256", pa.string()),
    pa.field("digest", pa.string(), False),
    pa.field("task", pa.int32(), False),         # which task transcribes it
])

_NOTE_FIELDS = [f for f in TABLES["transcribed_notes"].schema if f.name not in ("track_id", "run_id")]
NOTE_TYPE = pa.struct(_NOTE_FIELDS)

RESULT_SCHEMA = pa.schema([
    pa.field("track_id", pa.string(), False),
    pa.field("name", pa.string(), False),
    pa.field("wav_sha256", pa.string()),
    pa.field("digest", pa.string(), False),
    pa.field("duration_s", pa.float64()),
    pa.field("seconds", pa.float64()),
    pa.field("device", pa.string()),
    pa.field("reason", pa.string()),
    pa.field("detail", pa.string()),
    pa.field("notes", pa.list_(NOTE_TYPE)),
])

# Settings that do not change the notes (how the work is spread) stay out of the digest.
_NOT_IN_DIGEST = ("onnx_threads", "tracks_per_task")


def settings_fingerprint(settings: TranscribeSettings) -> str:
    """What stored transcriptions depend on besides the audio: the settings that shape the notes.

    Examples
    --------
    >>> a = settings_fingerprint(TranscribeSettings())
    >>> a == settings_fingerprint(TranscribeSettings(tracks_per_task=9))
    True
    >>> a == settings_fingerprint(TranscribeSettings(onset_threshold=0.6))
    False
    """
    values = {k: v for k, v in dataclasses.asdict(settings).items() if k not in _NOT_IN_DIGEST}
    return hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()[:16]


def transcription_digest(wav_sha256: str | None, backend: str, fingerprint: str) -> str:
    """One short hash of everything a transcription was computed from."""
    blob = "|".join([TRANSCRIBE_VERSION, str(wav_sha256), backend, fingerprint])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def transcribe_batch(batch: pa.RecordBatch | pa.Table, settings: TranscribeSettings, *,
                     device: int | None = None) -> pa.Table:
    """Transcribe every track of ``batch`` (:data:`DESCRIPTOR_SCHEMA`) with ``settings.backend``.

    Parameters
    ----------
    batch : pyarrow.RecordBatch or pyarrow.Table
    settings : TranscribeSettings
    device : int, optional
        The CUDA device the task was given (None: the CPU).

    Returns
    -------
    pyarrow.Table
        :data:`RESULT_SCHEMA`, one row per input row.

    Raises
    ------
    ModelError
        The backend cannot run at all (missing package or checkpoints): that is not one track's
        fault, so the task (and the stage) fails with the message.
    """
    from .backends import get_backend
    from .transcribe import transcribe_file

    rows = batch.to_pylist()
    backend = get_backend(settings.backend, device=device) if rows else None
    out = []
    for r in rows:
        started = time.monotonic()
        row = {"track_id": r["track_id"], "name": r["name"], "wav_sha256": r["wav_sha256"], "digest": r["digest"],
               "duration_s": None, "seconds": None, "device": _device_name(backend, device, settings), "reason": None,
               "detail": None, "notes": None}
        try:
            cols = transcribe_file(r["path"], backend, settings, name=r["name"])
            row["notes"] = _note_structs(cols)
            row["duration_s"] = float(cols["end_s"].max()) if cols["end_s"].size else 0.0
        except InputError as exc:
            row.update(reason=exc.reason.value, detail=exc.detail)
        except MusimError:
            raise  # a backend that cannot run: every track would fail the same way
        except Exception as exc:  # noqa: BLE001 - one bad file is quarantined as a bug to report
            row.update(reason=QuarantineReason.PARSE_ERROR.value, detail=f"{type(exc).__name__}: {one_line(exc)}")
        row["seconds"] = time.monotonic() - started
        out.append(row)
    return pa.Table.from_pylist(out, schema=RESULT_SCHEMA)


def _device_name(backend, device, settings) -> str:
    """``cuda:N`` where the model runs on GPU N; ``cpu``, or ``cpu (gpu N assigned)`` where Spark gave
    the task a GPU that onnxruntime cannot use (no CUDA provider installed)."""
    if backend is None or device is None:
        return "cpu"
    try:
        from .backends import basic_pitch_model_path, onnx_session

        providers = onnx_session(basic_pitch_model_path(), device=device,
                                 threads=settings.onnx_threads).get_providers()
    except Exception:  # noqa: BLE001 - only a label
        providers = []
    return f"cuda:{device}" if "CUDAExecutionProvider" in providers else f"cpu (gpu {device} assigned)"


def _note_structs(cols: dict[str, np.ndarray]) -> list[dict]:
    names = [f.name for f in _NOTE_FIELDS]
    values = [cols[n].tolist() for n in names]
    return [dict(zip(names, v)) for v in zip(*values)]
