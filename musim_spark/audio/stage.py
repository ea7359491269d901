"""The transcribe stage, a Spark module: new or changed audio in ``tracks`` -> ``transcribed_notes``.

1. The driver reads ``tracks`` (id, ``wav_path`` relative to ``root``, ``wav_sha256``) and the
   ``transcriptions`` table (what was transcribed from which audio, backend and settings), and
   plans: a track is transcribed when its digest (:func:`.rows.transcription_digest`: audio hash,
   backend, settings) is new or changed, or with ``full``; tracks gone from ``tracks`` are removed.
   Nothing to do: no Spark session is started.
2. Tracks to transcribe become a DataFrame of descriptors cut into tasks of
   ``transcribe.tracks_per_task`` tracks; ``mapInArrow`` runs :func:`.rows.transcribe_batch` on
   each batch (one backend, the model loaded once per Python worker), one result row per track:
   its notes nested, or a quarantine reason. With ``gpu.enabled`` the map runs under a
   stage-level resource profile asking ``gpu.task_gpu_amount`` GPUs per task, and each task uses
   the GPU address Spark gave it (``TaskContext.resources()["gpu"]``), the CPU when it has none.
   Stage-level profiles need a cluster manager (standalone, YARN, Kubernetes or
   ``local-cluster[...]``): ``local[*]`` refuses them, so there the profile is left out with a
   warning and tasks run on the CPU.
3. Commits: ``transcribed_notes`` (replace by track: a re-transcribed or failed track loses its
   old notes), ``quarantine`` (append), then ``transcriptions`` (replace by track; the state the
   next run compares against, so it goes last). One ``runs`` row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
import time
from typing import Callable

import pyarrow as pa

from ..errors import ParameterError
from ..io.plan import WritePlan
from ..io.read import read_arrow, table_exists
from ..io.runs_table import record_run
from ..io.settings import DeltaSettings
from ..io.spark_io import spark_schema, write_dataframe
from ..io.tables import TABLES, table_uri
from ..io.write import write_arrow
from ..spark import StageSummary, build_spark_session
from .rows import DESCRIPTOR_SCHEMA, RESULT_SCHEMA, settings_fingerprint, transcribe_batch, transcription_digest
from .settings import GpuSettings, TranscribeSettings

__all__ = ["TranscribeSummary", "run_transcribe", "run_transcribe_lazily", "gpu_profile", "task_device"]

STAGE = "transcribe"
OWNED_TABLES = ("transcribed_notes", "quarantine", "transcriptions")


@dataclasses.dataclass(frozen=True)
class TranscribeSummary(StageSummary):
    """The stage line (``rows in`` = tracks transcribed this run, ``rows out`` = notes written,
    ``quarantined`` = tracks that failed) plus what the run did.

    Attributes
    ----------
    backend : str
    tracks_total, unchanged, removed : int
    audio_seconds, model_seconds : float
        Seconds of audio transcribed (end of the last note) and task time spent on it.
    devices : tuple of str
        What the model ran on (``cpu``, ``cuda:0``...).
    commits : tuple of str
    """

    backend: str = ""
    tracks_total: int = 0
    unchanged: int = 0
    removed: int = 0
    audio_seconds: float = 0.0
    model_seconds: float = 0.0
    devices: tuple = ()
    commits: tuple = ()

    def details(self) -> str:
        rtf = self.model_seconds / self.audio_seconds if self.audio_seconds else 0.0
        return (f"transcribe: backend {self.backend}; {self.tracks_total} tracks ({self.rows_in} transcribed, "
                f"{self.unchanged} unchanged, {self.removed} removed); {self.audio_seconds:.0f} s of audio in "
                f"{self.model_seconds:.0f} task-s (real-time factor {rtf:.3f}); devices {', '.join(self.devices) or '-'}")


def gpu_profile(amount: float):
    """A stage-level resource profile asking ``amount`` GPUs (and one CPU) per task."""
    from pyspark.resource import ResourceProfileBuilder, TaskResourceRequests

    return ResourceProfileBuilder().require(TaskResourceRequests().cpus(1).resource("gpu", float(amount))).build


def task_device() -> int | None:
    """In a Spark task: the first GPU address Spark assigned it (None: no GPU, or not in a task)."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is None:
        return None
    gpu = ctx.resources().get("gpu")
    if gpu is None or not gpu.addresses:
        return None
    try:
        return int(gpu.addresses[0])
    except ValueError:
        return None


def run_transcribe(spark, config, *, warehouse, run_id: str, backend: str | None = None,
                   full: bool = False) -> TranscribeSummary:
    """Transcribe new or changed audio of ``tracks`` into ``transcribed_notes``.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    config : musim_spark.config.Config
        Gives ``transcribe``, ``gpu`` and the Delta engine.
    warehouse : path-like
    run_id : str
    backend : str, optional
        Overrides ``transcribe.backend``.
    full : bool
        Transcribe every track again.

    Raises
    ------
    ParameterError
        No ``tracks`` table (run ``musim ingest`` first); unknown backend.
    ModelError
        The backend cannot run (missing package or checkpoints).
    """
    return _run(lambda: spark, config, warehouse=warehouse, run_id=run_id, backend=backend, full=full)


def run_transcribe_lazily(config, *, warehouse, run_id: str, backend: str | None = None,
                          full: bool = False) -> TranscribeSummary:
    """:func:`run_transcribe` with a session of its own, started only when there is work."""
    sessions: list = []

    def session():
        if not sessions:
            sessions.append(build_spark_session(config.spark, app_suffix=":transcribe"))
        return sessions[0]

    try:
        return _run(session, config, warehouse=warehouse, run_id=run_id, backend=backend, full=full)
    finally:
        for s in sessions:
            s.stop()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _run(get_spark: Callable, config, *, warehouse, run_id, backend, full) -> TranscribeSummary:
    from .backends import get_backend

    started, started_at = time.monotonic(), _now()
    warehouse = os.path.abspath(os.fspath(warehouse))
    settings = TranscribeSettings.from_config(config)
    if backend:
        settings = dataclasses.replace(settings, backend=backend)
    # Fail on the driver, before any task, when the backend cannot run here (one clear message).
    get_backend(settings.backend)
    meta = {"stage": STAGE, "conf_fingerprint": config.fingerprint, "backend": settings.backend}
    try:
        summary = _execute(get_spark, config, warehouse=warehouse, run_id=run_id, settings=settings,
                           full=full, meta=meta, started=started)
    except Exception:
        try:
            record_run(warehouse, run_id=run_id, summary=None, stage=STAGE, status="failed", started_at=started_at,
                       conf_fingerprint=config.fingerprint, metadata=meta)
        except Exception:  # noqa: BLE001 - the stage's own error matters more
            pass
        raise
    record_run(warehouse, run_id=run_id, summary=summary, stage=STAGE, status="ok", started_at=started_at,
               conf_fingerprint=config.fingerprint, metadata=meta)
    return summary


def _plan(warehouse: str, settings: TranscribeSettings, full: bool):
    """(descriptors to transcribe as a pa.Table, unchanged count, removed ids, tracks total)."""
    tracks_uri = table_uri(warehouse, "tracks")
    if not table_exists(tracks_uri):
        raise ParameterError(f"{tracks_uri}: no tracks table; run 'musim ingest --root DATA' first")
    tracks = read_arrow(tracks_uri, columns=["track_id", "wav_path", "wav_sha256", "root"]).to_pylist()
    stored = {}
    t_uri = table_uri(warehouse, "transcriptions")
    if table_exists(t_uri):
        stored = {r["track_id"]: r["digest"] for r in read_arrow(t_uri, columns=["track_id", "digest"]).to_pylist()}
    fingerprint = settings_fingerprint(settings)
    todo, unchanged = [], 0
    for r in sorted(tracks, key=lambda r: r["track_id"]):
        if not r["wav_path"]:
            continue  # ingest quarantined the missing WAV already
        digest = transcription_digest(r["wav_sha256"], settings.backend, fingerprint)
        if not full and stored.get(r["track_id"]) == digest:
            unchanged += 1
            continue
        todo.append({"track_id": r["track_id"], "path": os.path.join(r["root"] or "", r["wav_path"]),
                     "name": r["wav_path"], "wav_sha256": r["wav_sha256"], "digest": digest,
                     "task": len(todo) // settings.tracks_per_task})
    present = {r["track_id"] for r in tracks}
    removed = sorted(set(stored) - present)
    return pa.Table.from_pylist(todo, schema=DESCRIPTOR_SCHEMA), unchanged, removed, len(tracks)


def _execute(get_spark, config, *, warehouse, run_id, settings, full, meta, started) -> TranscribeSummary:
    todo, unchanged, removed, n_tracks = _plan(warehouse, settings, full)
    engine = DeltaSettings.from_config(config).engine
    commits: list[str] = []
    now = _now()

    def write(name, df=None, *, arrow=None, mode="replace", delete_ids=()):
        spec = TABLES[name]
        kw = dict(schema=spec.schema, mode=mode, run_id=run_id, app_id=f"musim:{STAGE}:{name}", metadata=meta)
        if mode == "replace":
            keys = pa.table({"track_id": pa.array(sorted(delete_ids), pa.string())}) if delete_ids else None
            kw.update(keys=spec.keys, delete_keys=keys)
        target = WritePlan(table_uri(warehouse, name), **kw)
        res = write_dataframe(df, target, engine=engine) if df is not None else write_arrow(arrow, target)
        if not res.skipped:
            commits.append(f"{name}@{res.version}")

    base = dict(stage=STAGE, backend=settings.backend, tracks_total=n_tracks, unchanged=unchanged,
                removed=len(removed))
    if todo.num_rows == 0:
        if removed:
            for name in ("transcribed_notes", "transcriptions"):
                write(name, arrow=TABLES[name].schema.empty_table(), delete_ids=removed)
        _ensure_tables(warehouse, run_id, meta)
        return TranscribeSummary(rows_in=0, rows_out=0, quarantined=0, seconds=time.monotonic() - started,
                                 commits=tuple(commits), **base)

    spark = get_spark()
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    results = _transcribe(spark, config, todo, settings).persist(StorageLevel.MEMORY_AND_DISK)
    stats = results.select("track_id", "reason", "seconds", "duration_s", "device",
                           F.coalesce(F.size("notes"), F.lit(0)).alias("n")).collect()
    stats = [s for s in stats]
    n_notes = sum(max(0, int(s["n"])) for s in stats)
    failed = [s for s in stats if s["reason"] is not None]
    processed = [s["track_id"] for s in stats]

    note_cols = [f.name for f in TABLES["transcribed_notes"].schema if f.name not in ("track_id", "run_id")]
    notes = (results.where("notes IS NOT NULL").select("track_id", F.explode("notes").alias("n"))
             .select("track_id", *[F.col(f"n.{c}").alias(c) for c in note_cols], F.lit(run_id).alias("run_id")))
    write("transcribed_notes", notes, delete_ids=processed + removed)
    if failed:
        quarantine = results.where("reason IS NOT NULL").select(
            F.col("name").alias("path"), "track_id", F.lit(STAGE).alias("stage"), "reason", "detail",
            F.lit(None).cast("bigint").alias("file_bytes"), F.lit(None).cast("timestamp").alias("file_mtime"),
            F.lit(run_id).alias("run_id"), F.lit(now).alias("quarantined_at"))
        write("quarantine", quarantine, mode="append")
    state = results.select("track_id", F.lit(settings.backend).alias("backend"), "digest", "wav_sha256",
                           "duration_s", F.coalesce(F.size("notes"), F.lit(0)).cast("bigint").alias("notes"),
                           "seconds", "device", "reason", "detail", F.lit(run_id).alias("run_id"))
    write("transcriptions", state, delete_ids=removed)
    results.unpersist()
    _ensure_tables(warehouse, run_id, meta)
    return TranscribeSummary(
        rows_in=len(stats), rows_out=n_notes, quarantined=len(failed), seconds=time.monotonic() - started,
        audio_seconds=sum(float(s["duration_s"] or 0.0) for s in stats),
        model_seconds=sum(float(s["seconds"] or 0.0) for s in stats),
        devices=tuple(sorted({s["device"] for s in stats if s["device"]})), commits=tuple(commits), **base)


def _transcribe(spark, config, todo: pa.Table, settings: TranscribeSettings):
    """The result rows (:data:`.rows.RESULT_SCHEMA`) of ``todo``, one Spark task per ``task`` value."""
    gpu = GpuSettings.from_config(config)
    # One core per task: Spark runs as many tasks as there are cores, each with its own session.
    task_settings = settings if settings.onnx_threads else dataclasses.replace(settings, onnx_threads=1)
    n_tasks = int(max(todo.column("task").to_pylist())) + 1
    desc = spark.createDataFrame(todo.to_pandas(), spark_schema(DESCRIPTOR_SCHEMA)).repartitionByRange(n_tasks, "task")
    use_gpu = gpu.enabled

    def run_batches(batches):
        device = task_device() if use_gpu else None
        for batch in batches:
            yield from transcribe_batch(batch, task_settings, device=device).to_batches()

    schema = spark_schema(RESULT_SCHEMA)
    if use_gpu:
        master = spark.sparkContext.master
        if master.startswith("local[") or master == "local":
            print(f"musim transcribe: warning: gpu.enabled, but master {master} cannot schedule stage-level "
                  "resource profiles (use local-cluster[...] or a cluster); running on the CPU", file=sys.stderr)
            use_gpu = False
        else:
            return desc.mapInArrow(run_batches, schema, profile=gpu_profile(gpu.task_gpu_amount))
    return desc.mapInArrow(run_batches, schema)


def _ensure_tables(warehouse: str, run_id: str, meta: dict) -> None:
    """Every table the stage owns exists after its first run (empty where nothing was written)."""
    for name in OWNED_TABLES:
        uri = table_uri(warehouse, name)
        if not table_exists(uri):
            write_arrow(TABLES[name].schema.empty_table(),
                        WritePlan(uri, schema=TABLES[name].schema, mode="append", run_id=run_id,
                                  app_id=f"musim:{STAGE}:{name}:create", metadata=meta))
