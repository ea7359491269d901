"""The ingest stage: list on the driver, parse in Spark tasks, commit each table once.

1. Input: a data-set root, or a directory of split zip parts landed (incrementally) into
   ``<warehouse>/<landing_dir>/<NAME>/`` (:mod:`.zipparts`).
2. The driver lists the root (:func:`.scan.scan_root`: stat only) and plans against what the
   ``tracks`` and ``quarantine`` tables already hold (:func:`.incremental.plan_run`).
3. Tracks to (re)parse become a DataFrame of descriptors (paths, sizes, times), cut into
   tasks of about ``tracks_per_task`` tracks (contiguous ids, balanced by bytes); ``mapInArrow`` runs
   :func:`.parse.parse_track` on each, returning one row per track with its ``tracks`` row,
   ``labels`` row, ``notes`` and ``quarantine`` rows as nested columns. The result is persisted so
   the four writes below do not parse twice.
4. Commits, in this order, each one transaction (:func:`musim_spark.io.delta.write_dataframe`):
   ``labels`` and ``notes`` (replace by ``track_id``), ``quarantine`` (append: task rows plus
   the driver's), then ``tracks`` (replace by ``track_id``). ``tracks`` is what the next run
   compares against, so it goes last: a run that dies between commits leaves those tracks
   looking changed, and the next run parses and replaces them again. A table with nothing to
   add or delete is not written at all, so a rerun over unchanged data commits nothing.
5. One row in ``runs``.

The same run id twice commits nothing twice (app transactions in every commit).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from typing import Callable, Iterator

import pyarrow as pa

from ..errors import ParameterError
from ..io import delta
from ..io.tables import TABLES, spark_schema, table_uri
from ..runs import record_run
from ..spark import StageSummary
from .incremental import Plan, plan_run, previous_good_state, previous_quarantine_state
from .parse import NOTE_COLUMNS, ParsedTrack, parse_track, quarantine_row, unexpected_failure
from .scan import MEMBERS, FileStat, Listing, Rejection, TrackFiles, scan_root
from .settings import IngestSettings
from .zipparts import LandingResult, find_zip_parts, land_archive

__all__ = ["IngestSummary", "run_ingest", "resolve_root"]

STAGE = "ingest"

_DESCRIPTOR_SCHEMA = pa.schema(
    [pa.field("track_id", pa.string(), False)]
    + [f for m in MEMBERS for f in (
        pa.field(f"{m}_path", pa.string()), pa.field(f"{m}_bytes", pa.int64()), pa.field(f"{m}_mtime", pa.int64()))]
)


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


def resolve_root(root: str | os.PathLike, warehouse: str | os.PathLike, settings: IngestSettings
                 ) -> tuple[str, LandingResult | None]:
    """The data-set root to list: ``root`` itself, or the landing directory of its zip parts.

    ``root`` is treated as split-zip input when it holds ``*.zip.part<N>`` files and no
    ``Similar``/``Regular`` folder.

    Raises
    ------
    ParameterError
        If ``root`` is not a directory, or holds parts of more than one archive.
    InputError
        From :func:`.zipparts.land_archive` (unreadable archive, over the total bound).
    """
    base = os.path.abspath(os.fspath(root))
    if not os.path.isdir(base):
        raise ParameterError(f"--root {root}: not a directory")
    if any(os.path.isdir(os.path.join(base, k)) for k in ("Similar", "Regular")):
        return base, None
    archives = find_zip_parts(base)
    if not archives:
        return base, None
    if len(archives) > 1:
        raise ParameterError(f"--root {root}: parts of {len(archives)} archives ({sorted(archives)}); "
                             f"give one archive's parts per directory")
    (name, parts), = archives.items()
    landing = os.path.join(os.path.abspath(os.fspath(warehouse)), settings.landing_dir, name)
    result = land_archive(parts, landing, name=name, bounds=settings.zip)
    return result.root, result


def _now_us() -> int:
    return int(dt.datetime.now(dt.timezone.utc).timestamp() * 1_000_000)


def _ts_to_us(table: pa.Table, columns) -> pa.Table:
    for c in columns:
        i = table.schema.get_field_index(c)
        if i >= 0:
            table = table.set_column(i, c, table.column(c).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()))
    return table


def _previous_state(warehouse: str) -> tuple[dict, dict, dict, dict]:
    tracks_uri, q_uri = table_uri(warehouse, "tracks"), table_uri(warehouse, "quarantine")
    good, run_of = {}, {}
    if delta.table_exists(tracks_uri):
        cols = ["track_id", "run_id"] + [f"{m}_{k}" for m in MEMBERS for k in ("path", "bytes", "mtime")]
        rows = _ts_to_us(delta.read_arrow(tracks_uri, columns=cols), [f"{m}_mtime" for m in MEMBERS]).to_pylist()
        good = previous_good_state(rows)
        run_of = {r["track_id"]: r["run_id"] for r in rows}
    rejected, loose = {}, {}
    if delta.table_exists(q_uri):
        q = delta.read_arrow(q_uri, columns=["path", "track_id", "stage", "reason", "file_bytes", "file_mtime",
                                             "run_id"], filter=[("stage", "=", STAGE)])
        rejected, loose = previous_quarantine_state(_ts_to_us(q, ["file_mtime"]).to_pylist())
    return good, run_of, rejected, loose


def _descriptor_rows(tracks: list[TrackFiles], n_tasks: int) -> list[list[tuple]]:
    """Cut the tracks, sorted by id, into ``n_tasks`` contiguous slices of about equal bytes.

    Contiguous ids keep each written file's ``track_id`` min/max range narrow, so a later
    replace-by-key rewrites only the few files that can hold a changed track (delta-rs prunes
    files by those statistics).
    """
    ordered = sorted(tracks, key=lambda t: t.track_id)
    sizes = [sum(f.size for f in t.members.values()) for t in ordered]
    total = sum(sizes) or 1
    slices: list[list[tuple]] = [[] for _ in range(n_tasks)]
    done = 0
    for t, size in zip(ordered, sizes):
        index = min(n_tasks - 1, done * n_tasks // total)
        done += size
        row = [t.track_id]
        for m in MEMBERS:
            f = t.members.get(m)
            row += [f.path, f.size, f.mtime_us] if f else [None, None, None]
        slices[index].append(tuple(row))
    return slices


def _parse_partition_fn(root: str, settings: IngestSettings, run_id: str, now_us: int) -> Callable:
    """The ``mapInArrow`` function: descriptor batches in, parsed-track batches out."""
    from ..layout import parse_track_id

    out_schema = _parsed_schema()
    note_struct = out_schema.field("notes").type.value_type
    note_names = [f.name for f in note_struct]

    def parse_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            ids, tracks, labels, quarantine = [], [], [], []
            note_cols: dict[str, list] = {c: [] for c in NOTE_COLUMNS}
            offsets = [0]
            for d in batch.to_pylist():
                members = {
                    m: FileStat(d[f"{m}_path"], d[f"{m}_bytes"], d[f"{m}_mtime"])
                    for m in MEMBERS if d[f"{m}_path"] is not None
                }
                tf = TrackFiles(parse_track_id(d["track_id"]), members)
                try:
                    parsed = parse_track(root, tf, settings=settings)
                except Exception as exc:  # noqa: BLE001 - one bad track must not fail the stage
                    parsed = ParsedTrack(tf.track_id, rejections=unexpected_failure(tf, exc))
                ids.append(d["track_id"])
                if parsed.track is not None:
                    parsed.track.update(root=root, run_id=run_id, ingested_at=now_us)
                    parsed.label["run_id"] = run_id
                    for c in NOTE_COLUMNS:
                        note_cols[c].extend(parsed.notes[c])
                tracks.append(parsed.track)
                labels.append(parsed.label)
                offsets.append(len(note_cols["pitch"]))
                quarantine.append([quarantine_row(r, run_id=run_id, now_us=now_us) for r in parsed.rejections])
            n_notes = len(note_cols["pitch"])
            children = [
                pa.array(note_cols[name] if name != "run_id" else [run_id] * n_notes, type=note_struct.field(name).type)
                for name in note_names
            ]
            notes = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()),
                                             pa.StructArray.from_arrays(children, fields=list(note_struct)))
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(ids, pa.string()),
                    pa.array(tracks, type=out_schema.field("track").type),
                    pa.array(labels, type=out_schema.field("label").type),
                    notes,
                    pa.array(quarantine, type=out_schema.field("quarantine").type),
                ],
                schema=out_schema,
            )

    return parse_batches


def _parsed_schema() -> pa.Schema:
    return pa.schema([
        pa.field("track_id", pa.string(), False),
        pa.field("track", pa.struct(list(TABLES["tracks"].schema))),
        pa.field("label", pa.struct(list(TABLES["labels"].schema))),
        pa.field("notes", pa.list_(pa.struct(list(TABLES["notes"].schema)))),
        pa.field("quarantine", pa.list_(pa.struct(list(TABLES["quarantine"].schema)))),
    ])


def _rejection_table(rows: list[Rejection], run_id: str, now_us: int) -> pa.Table:
    return pa.Table.from_pylist([quarantine_row(r, run_id=run_id, now_us=now_us) for r in rows],
                                schema=TABLES["quarantine"].schema)


def run_ingest(spark, config, *, root: str | os.PathLike, warehouse: str | os.PathLike, run_id: str,
               settings: IngestSettings | None = None) -> IngestSummary:
    """Ingest a data-set root (or split zip parts) into ``tracks``, ``labels``, ``notes``, ``quarantine``.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession or callable
        The session, or a zero-argument function returning it: then a run with nothing to parse
        (a nightly rerun over unchanged data) never starts Spark.
    config : musim_spark.config.Config
        Its ``ingest`` section gives the settings (unless ``settings`` is given); its fingerprint
        is recorded with every commit.
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
    """
    started = time.monotonic()
    settings = settings or IngestSettings.from_section(config.section("ingest"))
    warehouse = os.path.abspath(os.fspath(warehouse))
    now_us = _now_us()
    started_at = now_us
    meta = {"stage": STAGE, "conf_fingerprint": config.fingerprint}
    engine = delta.delta_settings(config).engine
    try:
        data_root, landing = resolve_root(root, warehouse, settings)
        listing = scan_root(data_root, require_audio=settings.require_audio)
        good, run_of, rejected, loose = _previous_state(warehouse)
        plan = plan_run(listing, good=good, rejected=rejected, loose=loose, run_label=run_of)
        driver_rows = list(plan.rejections) + [
            Rejection(e.path, e.reason, e.detail) for e in (landing.rejected if landing else ())
        ]
        phases = [("land, list and plan", time.monotonic() - started)]
        summary = _execute(spark, listing, plan, driver_rows, good, settings=settings, warehouse=warehouse,
                           run_id=run_id, now_us=now_us, meta=meta, started=started, landing=landing,
                           phases=phases, engine=engine)
    except Exception:
        _record_run(warehouse, run_id, started_at, None, status="failed", meta=meta, config=config)
        raise
    _record_run(warehouse, run_id, started_at, summary, status="ok", meta=meta, config=config)
    return summary


def _execute(spark, listing: Listing, plan: Plan, driver_rows: list[Rejection], good: dict, *,
             settings: IngestSettings, warehouse: str, run_id: str, now_us: int, meta: dict, started: float,
             landing: LandingResult | None, phases: list, engine: str = "auto") -> IngestSummary:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    delete_ids = sorted(set(plan.delete_track_ids) | {t.track_id for t in plan.to_parse if t.track_id in good})
    delete_keys = pa.table({"track_id": pa.array(delete_ids, pa.string())}) if delete_ids else None
    driver_q = _rejection_table(driver_rows, run_id, now_us)
    commits: list[str] = []
    parsed = None
    n_good = n_notes = n_task_q = n_task_q_files = 0
    try:
        if plan.to_parse:
            spark = spark if hasattr(spark, "sparkContext") else spark()
            n_tasks = max(1, -(-len(plan.to_parse) // settings.tracks_per_task))
            if settings.max_tasks:
                n_tasks = min(n_tasks, settings.max_tasks)
            slices = _descriptor_rows(plan.to_parse, n_tasks)
            # one byte-balanced slice per partition (parallelize over the rows would cut them by count)
            rdd = spark.sparkContext.parallelize(slices, len(slices)).flatMap(lambda rows: rows)
            descriptors = spark.createDataFrame(rdd, spark_schema(_DESCRIPTOR_SCHEMA))
            parsed = descriptors.mapInArrow(
                _parse_partition_fn(listing.root, settings, run_id, now_us), spark_schema(_parsed_schema())
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
            uri = table_uri(warehouse, name)
            mark = time.monotonic()
            if df is not None:
                res = delta.write_dataframe(df, uri, engine=engine, **kw)
            else:
                res = delta.write_arrow(arrow, uri, **kw)
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
    finally:
        if parsed is not None:
            parsed.unpersist()

    tracks_uri = table_uri(warehouse, "tracks")
    good_total = (delta.table_row_count(tracks_uri) or 0) if delta.table_exists(tracks_uri) else 0
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
        landing=None if landing is None else (
            f"{landing.root}: " + ("parts unchanged, not read" if landing.skipped else
                                   f"{landing.extracted} extracted, {landing.kept} kept, {landing.deleted} deleted, "
                                   f"{len(landing.rejected)} refused")),
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

