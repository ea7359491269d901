"""The ingest stage: list on the driver, parse in Spark tasks, commit each table once.

1. Input: a data-set root, or a directory of split zip parts landed (incrementally) into
   ``<warehouse>/<landing_dir>/<NAME>/`` (:func:`.delivery.resolve_root`).
2. The driver lists the root (:func:`.scan.scan_root`: stat only) and plans against what the
   ``tracks`` and ``quarantine`` tables already hold (:func:`.incremental.plan_run`).
3. Tracks to (re)parse become a DataFrame of descriptors (paths, sizes, times), cut into
   tasks of about ``tracks_per_task`` tracks (contiguous ids, balanced by bytes:
   :func:`.rows.descriptor_slices`); ``mapInArrow`` runs :func:`.rows.parse_descriptors` on each
   batch, returning one row per track with its ``tracks`` row, ``labels`` row, ``notes`` and
   ``quarantine`` rows as nested columns. The result is persisted so the four writes below do not
   parse twice.
4. Commits, in this order, each one transaction (:func:`musim_spark.io.spark_io.write_dataframe`):
   ``labels`` and ``notes`` (replace by ``track_id``), ``quarantine`` (append: task rows plus
   the driver's), then ``tracks`` (replace by ``track_id``). ``tracks`` is what the next run
   compares against, so it goes last: a run that dies between commits leaves those tracks
   looking changed, and the next run parses and replaces them again. A table with nothing to
   add or delete is not written at all, so a rerun over unchanged data commits nothing; a table
   this stage owns that does not exist yet is created empty, so after the first run all four
   exist (scripts read ``quarantine`` after a clean run).
5. One row in ``runs``.

Before anything is written, a run that would remove more than ``ingest.max_removed_share`` of the
stored tracks is refused (:func:`.incremental.check_removals`: an empty or unmounted root). The
CLI holds the warehouse's write lock (:mod:`musim_spark.io.lock`) around the whole stage.

The same run id twice commits nothing twice (app transactions in every commit).

This is the Spark module of ingest; what runs inside the tasks, and everything else, is pure
(:mod:`.rows`, :mod:`.delivery`, :mod:`.scan`, :mod:`.incremental`, :mod:`.parse`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from typing import TYPE_CHECKING, Callable, Iterator

import pyarrow as pa

from ..io.plan import WritePlan
from ..io.read import read_arrow, table_exists, table_row_count
from ..io.runs_table import record_run
from ..io.settings import DeltaSettings
from ..io.spark_io import spark_schema, write_dataframe
from ..io.tables import TABLES, table_uri
from ..io.write import write_arrow
from ..spark import LazySession, StageSummary
from .delivery import describe_landing, resolve_root
from .incremental import Plan, check_removals, plan_run, previous_good_state, previous_quarantine_state
from .parse import track_parses
from .rows import (DESCRIPTOR_SCHEMA, PARSED_SCHEMA, descriptor_slices, parse_descriptors, rejection_table,
                   timestamps_to_us)
from .scan import MEMBERS, Listing, Rejection, scan_root
from .settings import IngestSettings
from .zipparts import LandingResult

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

__all__ = ["IngestSummary", "run_ingest", "run_ingest_lazily"]

STAGE = "ingest"
#: The tables this stage writes (besides its row in ``runs``); each exists after the first run.
OWNED_TABLES = ("labels", "notes", "quarantine", "tracks")


@dataclasses.dataclass(frozen=True)
class IngestSummary(StageSummary):
    """The stage line (``rows in`` = files listed, ``rows out`` = tracks written, ``quarantined`` =
    quarantine rows written) plus what ingest did in detail.

    Attributes
    ----------
    run_id : str
    root : str
        The data-set root read (the landing directory for zip input).
    tracks_total : int
        Tracks found (complete or not).
    good_total : int
        Rows in ``tracks`` after the run.
    new, changed, unchanged_good, unchanged_rejected, removed : int
    parsed : int
        Tracks parsed in Spark tasks this run.
    notes_written : int
    files_in_tracks, files_quarantined : int
        Reconciliation: files under the root in good tracks / in quarantine (this run's rows
        plus files still rejected from earlier runs). Their sum equals ``rows_in``.
    bytes_listed : int
    landing : str or None
        What zip landing did (None for a plain root).
    commits : tuple of str
        ``table@version`` of each commit made.
    phase_seconds : tuple of (str, float)
        Wall-clock seconds of each phase (land+list+plan, parse, each table's write).
    """

    run_id: str = ""
    root: str = ""
    tracks_total: int = 0
    good_total: int = 0
    new: int = 0
    changed: int = 0
    unchanged_good: int = 0
    unchanged_rejected: int = 0
    removed: int = 0
    parsed: int = 0
    notes_written: int = 0
    files_in_tracks: int = 0
    files_quarantined: int = 0
    bytes_listed: int = 0
    landing: str | None = None
    commits: tuple = ()
    phase_seconds: tuple = ()

    def details(self) -> str:
        """A second line: track counts and the reconciliation of files."""
        return (
            f"ingest: {self.tracks_total} tracks ({self.new} new, {self.changed} changed, "
            f"{self.unchanged_good} unchanged, {self.unchanged_rejected} still rejected, {self.removed} removed; "
            f"{self.parsed} parsed), {self.good_total} in tracks; files {self.rows_in} = "
            f"{self.files_in_tracks} in tracks + {self.files_quarantined} quarantined"
        )


def run_ingest(spark: SparkSession, config, *, root: str | os.PathLike, warehouse: str | os.PathLike,
               run_id: str, settings: IngestSettings | None = None) -> IngestSummary:
    """Ingest a data-set root (or split zip parts) into ``tracks``, ``labels``, ``notes``, ``quarantine``.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session the parse tasks run in (unused when there is nothing to parse).
    config : musim_spark.config.Config
        Gives the settings (:meth:`IngestSettings.from_config`, unless ``settings`` is given) and
        the Delta engine; its fingerprint is recorded with every commit.
    root : path-like
        Data-set root, or a directory of ``NAME.zip.part<N>`` files.
    warehouse : path-like
        Directory of the Delta tables.
    run_id : str
        :func:`musim_spark.runs.new_run_id`; in every row and commit.
    settings : IngestSettings or None
        Overrides ``config``'s ``ingest`` section.

    Returns
    -------
    IngestSummary
        ``str()`` is the stage line; :meth:`IngestSummary.details` the reconciliation.

    Raises
    ------
    ParameterError
        Bad ``root``.
    InputError
        Zip input that cannot be read at all, or declares more than the configured bound
        (nothing is committed: treating it as an empty data set would delete every track).

    See Also
    --------
    run_ingest_lazily : the same, starting a session of its own only when there is something to parse.
    """
    return _run(lambda: spark, config, root=root, warehouse=warehouse, run_id=run_id, settings=settings)


def run_ingest_lazily(config, *, root: str | os.PathLike, warehouse: str | os.PathLike, run_id: str,
                      settings: IngestSettings | None = None, session: LazySession | None = None) -> IngestSummary:
    """:func:`run_ingest` with a Spark session started only if there are tracks to parse.

    A nightly rerun over unchanged data never pays the JVM start. Without ``session`` one is built
    from ``config.spark`` (:class:`musim_spark.spark.LazySession`, application ``<name>:ingest``) and
    stopped before this returns; a given ``session`` (``musim run``'s, shared by its stages) is left
    running. Parameters, result and errors as :func:`run_ingest`.
    """
    own = session is None
    session = session or LazySession(config.spark, app_suffix=":ingest")
    try:
        return _run(session, config, root=root, warehouse=warehouse, run_id=run_id, settings=settings)
    finally:
        if own:
            session.stop()


def _run(get_spark: Callable[[], SparkSession], config, *, root: str | os.PathLike,
         warehouse: str | os.PathLike, run_id: str, settings: IngestSettings | None) -> IngestSummary:
    """The stage; ``get_spark`` is called (once or more) only when there are tracks to parse."""
    started = time.monotonic()
    settings = settings or IngestSettings.from_config(config)
    warehouse = os.path.abspath(os.fspath(warehouse))
    now_us = _now_us()
    started_at = now_us
    meta = {"stage": STAGE, "conf_fingerprint": config.fingerprint}
    engine = DeltaSettings.from_config(config).engine
    try:
        data_root, landing = resolve_root(root, warehouse, settings)
        listing = scan_root(data_root, require_audio=settings.require_audio,
                            parses=track_parses(data_root, settings=settings))
        good, run_of, rejected, loose = _previous_state(warehouse)
        plan = plan_run(listing, good=good, rejected=rejected, loose=loose, run_label=run_of)
        check_removals(plan, stored=len(good), max_share=settings.max_removed_share, root=os.fspath(root))
        driver_rows = list(plan.rejections) + [
            Rejection(e.path, e.reason, e.detail) for e in (landing.rejected if landing else ())
        ]
        phases = [("land, list and plan", time.monotonic() - started)]
        summary = _execute(get_spark, listing, plan, driver_rows, good, settings=settings, warehouse=warehouse,
                           run_id=run_id, now_us=now_us, meta=meta, started=started, landing=landing,
                           phases=phases, engine=engine)
    except Exception:
        _record_run(warehouse, run_id, started_at, None, status="failed", meta=meta, config=config)
        raise
    _record_run(warehouse, run_id, started_at, summary, status="ok", meta=meta, config=config)
    return summary


def _now_us() -> int:
    return int(dt.datetime.now(dt.timezone.utc).timestamp() * 1_000_000)


def _previous_state(warehouse: str) -> tuple[dict, dict, dict, dict]:
    tracks_uri, q_uri = table_uri(warehouse, "tracks"), table_uri(warehouse, "quarantine")
    good, run_of = {}, {}
    if table_exists(tracks_uri):
        cols = ["track_id", "run_id"] + [f"{m}_{k}" for m in MEMBERS for k in ("path", "bytes", "mtime")]
        rows = timestamps_to_us(read_arrow(tracks_uri, columns=cols), [f"{m}_mtime" for m in MEMBERS]).to_pylist()
        good = previous_good_state(rows)
        run_of = {r["track_id"]: r["run_id"] for r in rows}
    rejected, loose = {}, {}
    if table_exists(q_uri):
        q = read_arrow(q_uri, columns=["path", "track_id", "stage", "reason", "file_bytes", "file_mtime", "run_id"],
                       filter=[("stage", "=", STAGE)])
        rejected, loose = previous_quarantine_state(timestamps_to_us(q, ["file_mtime"]).to_pylist())
    return good, run_of, rejected, loose


def _parse_fn(root: str, settings: IngestSettings, run_id: str, now_us: int
              ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The ``mapInArrow`` function: descriptor batches in, parsed-track batches out."""

    def parse_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield parse_descriptors(batch, root=root, settings=settings, run_id=run_id, now_us=now_us)

    return parse_batches


def _execute(get_spark: Callable[[], SparkSession], listing: Listing, plan: Plan, driver_rows: list[Rejection],
             good: dict, *, settings: IngestSettings, warehouse: str, run_id: str, now_us: int, meta: dict,
             started: float, landing: LandingResult | None, phases: list, engine: str = "auto") -> IngestSummary:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    delete_ids = sorted(set(plan.delete_track_ids) | {t.track_id for t in plan.to_parse if t.track_id in good})
    delete_keys = pa.table({"track_id": pa.array(delete_ids, pa.string())}) if delete_ids else None
    driver_q = rejection_table(driver_rows, run_id=run_id, now_us=now_us)
    commits: list[str] = []
    parsed = None
    n_good = n_notes = n_task_q = n_task_q_files = 0
    try:
        if plan.to_parse:
            spark = get_spark()
            n_tasks = max(1, -(-len(plan.to_parse) // settings.tracks_per_task))
            if settings.max_tasks:
                n_tasks = min(n_tasks, settings.max_tasks)
            slices = descriptor_slices(plan.to_parse, n_tasks)
            # one byte-balanced slice per partition (parallelize over the rows would cut them by count)
            rdd = spark.sparkContext.parallelize(slices, len(slices)).flatMap(lambda rows: rows)
            descriptors = spark.createDataFrame(rdd, spark_schema(DESCRIPTOR_SCHEMA))
            parsed = descriptors.mapInArrow(
                _parse_fn(listing.root, settings, run_id, now_us), spark_schema(PARSED_SCHEMA)
            ).persist(StorageLevel.MEMORY_AND_DISK)
            mark = time.monotonic()
            counts = parsed.select(
                F.count("track").alias("good"),
                F.coalesce(F.sum(F.size("notes")), F.lit(0)).alias("notes"),
                F.coalesce(F.sum(F.size("quarantine")), F.lit(0)).alias("q"),
            ).collect()[0]
            n_good, n_notes, n_task_q = int(counts["good"]), int(counts["notes"]), int(counts["q"])
            n_task_q_files = n_task_q
            phases.append((f"parse {len(plan.to_parse)} tracks in {n_tasks} tasks", time.monotonic() - mark))

        def write(name: str, df, arrow: pa.Table | None = None, mode: str = "replace") -> None:
            spec = TABLES[name]
            kw = dict(schema=spec.schema, mode=mode, run_id=run_id, app_id=f"musim:{STAGE}:{name}", metadata=meta)
            if mode == "replace":
                kw.update(keys=spec.keys, delete_keys=delete_keys)
            target = WritePlan(table_uri(warehouse, name), **kw)
            mark = time.monotonic()
            if df is not None:
                res = write_dataframe(df, target, engine=engine)
            else:
                res = write_arrow(arrow, target)
            phases.append((f"write {name}", time.monotonic() - mark))
            if not res.skipped:
                commits.append(f"{name}@{res.version}")

        has_parsed_good = parsed is not None and n_good > 0
        empty = {name: TABLES[name].schema.empty_table() for name in ("tracks", "labels", "notes")}
        for name, column in (("labels", "label"), ("notes", None)):
            if has_parsed_good or delete_keys is not None:
                if has_parsed_good:
                    df = (parsed.where(F.col("label").isNotNull()).select("label.*") if column
                          else parsed.select(F.explode("notes").alias("n")).select("n.*"))
                    write(name, df)
                else:
                    write(name, None, empty[name])
        if n_task_q or driver_q.num_rows:
            if n_task_q:
                q_df = parsed.select(F.explode("quarantine").alias("q")).select("q.*")
                if driver_q.num_rows:
                    q_df = q_df.unionByName(spark.createDataFrame(driver_q, spark_schema("quarantine")))
                write("quarantine", q_df, mode="append")
            else:
                write("quarantine", None, driver_q, mode="append")
        if has_parsed_good:
            write("tracks", parsed.where(F.col("track").isNotNull()).select("track.*"))
        elif delete_keys is not None:
            write("tracks", None, empty["tracks"])
        # Every table of the stage exists after its first run, empty where nothing was written.
        for name in OWNED_TABLES:
            if not table_exists(table_uri(warehouse, name)):
                write(name, None, TABLES[name].schema.empty_table(), mode="append")
    finally:
        if parsed is not None:
            parsed.unpersist()

    tracks_uri = table_uri(warehouse, "tracks")
    good_total = (table_row_count(tracks_uri) or 0) if table_exists(tracks_uri) else 0
    # Rows for files that exist under the root (not missing members, REMOVED files or zip entries).
    files_q_now = sum(1 for r in driver_rows if r.size is not None) + n_task_q_files
    files_quarantined = files_q_now + plan.unchanged_rejected_files
    files_in_tracks = listing.n_files - files_quarantined
    return IngestSummary(
        stage=STAGE, rows_in=listing.n_files, rows_out=n_good, quarantined=driver_q.num_rows + n_task_q,
        seconds=time.monotonic() - started, run_id=run_id, root=listing.root, tracks_total=len(listing.tracks),
        good_total=good_total, new=plan.new, changed=plan.changed, unchanged_good=plan.unchanged_good,
        unchanged_rejected=plan.unchanged_rejected, removed=plan.removed, parsed=len(plan.to_parse),
        notes_written=n_notes, files_in_tracks=files_in_tracks, files_quarantined=files_quarantined,
        bytes_listed=listing.n_bytes,
        landing=describe_landing(landing),
        commits=tuple(commits), phase_seconds=tuple(phases),
    )


def _record_run(warehouse: str, run_id: str, started_us: int, summary: IngestSummary | None, *, status: str,
                meta: dict, config) -> None:
    """One ``runs`` row; a failure to record it must not hide the stage's own error."""
    try:
        record_run(warehouse, run_id=run_id, summary=summary, stage=STAGE, status=status,
                   started_at=dt.datetime.fromtimestamp(started_us / 1e6, tz=dt.timezone.utc),
                   conf_fingerprint=config.fingerprint, metadata=meta)
    except Exception:  # noqa: BLE001 - best effort; the stage result (or its error) matters more
        if status == "ok":
            raise

