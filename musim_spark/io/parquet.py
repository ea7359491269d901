"""Parquet data files of a Delta table: writing them, and the statistics the Delta log keeps of each.

Pure pyarrow: runs on the driver (:func:`musim_spark.io.write.write_arrow`, the rewrite of a
replace) and inside Spark tasks (:func:`musim_spark.io.spark_io.write_dataframe` ships
:func:`write_files` to its executors), so it imports no pyspark and no deltalake.

A file is written under a temporary name (``.<name>.tmp``) and renamed when complete; its name
``<prefix><n>.parquet`` is deterministic, so a retried Spark task overwrites its own earlier
attempt's files. Partition columns are not stored in the files: Delta keeps them in the log and
the ``col=value/`` folder names (escaped as Spark escapes them, so Spark's partition discovery
reads them back). Nothing here makes a file part of a table: only a commit
(:mod:`musim_spark.io.commit`) does.

Each written file is described by one record (:data:`FILE_RECORD_SCHEMA`): its path relative to
the table, size, partition values (JSON), row count, Delta statistics (JSON: ``numRecords``,
``minValues``, ``maxValues``, ``nullCount``) and modification time.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import posixpath
import time
from typing import Any, Iterable, Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import WriteError

__all__ = [
    "MAX_ROWS_PER_FILE",
    "CHUNK_ROWS",
    "CHUNK_BYTES",
    "FILE_RECORD_SCHEMA",
    "fs_and_root",
    "partition_string",
    "write_files",
    "delete_files",
]

#: Rows per Parquet file before a task starts its next file.
MAX_ROWS_PER_FILE = 1_000_000
#: A Parquet row group holds about this many rows, or bytes, whichever comes first.
CHUNK_ROWS = 131_072
CHUNK_BYTES = 64 * 2**20
#: Characters of a string column kept in the min/max statistics.
_STATS_STRING_PREFIX = 128
#: Spark's (and Hive's) folder name for a null partition value.
_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
#: What :func:`write_files` returns (and each Spark writer task sends the driver), one row per file.
FILE_RECORD_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), False),
        pa.field("size", pa.int64(), False),
        pa.field("partition_values", pa.string(), False),  # JSON object
        pa.field("num_records", pa.int64(), False),
        pa.field("stats", pa.string(), False),  # JSON, Delta's stats format
        pa.field("modification_time", pa.int64(), False),  # ms since epoch
    ]
)


# ------------------------------------------------------------------------------------------------
# paths and file systems


def fs_and_root(table_uri: str) -> tuple[pafs.FileSystem, str]:
    """A pyarrow file system and the table's root path inside it."""
    if "://" in table_uri and not table_uri.startswith("file://"):
        try:
            return pafs.FileSystem.from_uri(table_uri)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise WriteError(f"{table_uri}: no file system for this URI: {exc}") from exc
    path = table_uri[len("file://"):] if table_uri.startswith("file://") else table_uri
    return pafs.LocalFileSystem(), path.rstrip("/") or "/"


def _escape_partition_value(value: str) -> str:
    # Spark's ExternalCatalogUtils.escapePathName, so Spark's partition discovery reads it back.
    out = []
    for ch in value:
        if ch in '"#%\'*/:=?\\\x7f{[]^' or ord(ch) < 0x20:
            out.append(f"%{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)


def partition_string(value: Any) -> str | None:
    """Delta's string form of a partition value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    return str(value)


def _partition_dir(partition_by: Sequence[str], values: Mapping[str, str | None]) -> str:
    parts = []
    for col in partition_by:
        v = values[col]
        parts.append(f"{col}={_NULL_PARTITION if v is None else _escape_partition_value(v) or _NULL_PARTITION}")
    return "/".join(parts)


# ------------------------------------------------------------------------------------------------
# writing Parquet files (runs in Spark tasks and on the driver)


def _json_scalar(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


class _Stats:
    """Delta file statistics, accumulated batch by batch."""

    def __init__(self, schema: pa.Schema):
        self.schema = schema
        self.num_records = 0
        self.null_count = {f.name: 0 for f in schema if _has_null_count(f.type)}
        self.min: dict[str, Any] = {}
        self.max: dict[str, Any] = {}
        self.max_unbounded: set[str] = set()

    def update(self, batch: pa.Table) -> None:
        self.num_records += batch.num_rows
        for f in self.schema:
            if f.name not in self.null_count:
                continue
            col = batch.column(f.name)
            self.null_count[f.name] += col.null_count
            if not _has_min_max(f.type):
                continue
            if pa.types.is_floating(f.type):
                col = pc.filter(col, pc.invert(pc.is_nan(col)))
            mm = pc.min_max(col)
            lo, hi = mm["min"].as_py(), mm["max"].as_py()
            if lo is None:
                continue
            if isinstance(lo, str):
                # Long texts (lyrics, raw label JSON) would bloat the log: a prefix is still a
                # valid lower bound; a cut maximum is not an upper bound, so it is dropped.
                lo = lo[:_STATS_STRING_PREFIX]
                if len(hi) > _STATS_STRING_PREFIX:
                    self.max_unbounded.add(f.name)
            if f.name not in self.min or lo < self.min[f.name]:
                self.min[f.name] = lo
            if f.name not in self.max or hi > self.max[f.name]:
                self.max[f.name] = hi

    def to_json(self) -> str:
        mins = {k: _json_scalar(v) for k, v in self.min.items()}
        maxs = {k: _json_scalar(v) for k, v in self.max.items() if k not in self.max_unbounded}
        return json.dumps(
            {
                "numRecords": self.num_records,
                "minValues": {k: v for k, v in mins.items() if v is not None},
                "maxValues": {k: v for k, v in maxs.items() if v is not None},
                "nullCount": self.null_count,
            },
            ensure_ascii=False,
        )


def _has_null_count(t: pa.DataType) -> bool:
    return not (pa.types.is_nested(t))


def _has_min_max(t: pa.DataType) -> bool:
    # Timestamps are left out: Delta readers compare them at millisecond precision, and a
    # truncated max would make them skip files that hold the value.
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_date(t)
    )


class _OpenFile:
    def __init__(self, fs, root, rel_path, schema):
        self.fs, self.root, self.rel_path = fs, root, rel_path
        self.final = f"{root}/{rel_path}"
        self.tmp = posixpath.join(posixpath.dirname(self.final), "." + posixpath.basename(self.final) + ".tmp")
        fs.create_dir(posixpath.dirname(self.final), recursive=True)
        self.writer = pq.ParquetWriter(self.tmp, schema, filesystem=fs, compression="snappy")
        self.stats = _Stats(schema)

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table)  # one row group per call: callers pass large chunks
            self.stats.update(table)

    def close(self, partition_values: Mapping[str, str | None]) -> dict:
        self.writer.close()
        self.fs.move(self.tmp, self.final)
        info = self.fs.get_file_info(self.final)
        mtime = info.mtime_ns // 1_000_000 if info.mtime_ns is not None else int(time.time() * 1000)
        return {
            "path": self.rel_path,
            "size": int(info.size),
            "partition_values": json.dumps(dict(partition_values), ensure_ascii=False),
            "num_records": self.stats.num_records,
            "stats": self.stats.to_json(),
            "modification_time": int(mtime),
        }


def _chunks(batches: Iterable[pa.RecordBatch | pa.Table]) -> Iterator[pa.Table]:
    """Regroup ``batches`` into tables of about ``CHUNK_ROWS`` rows or ``CHUNK_BYTES`` bytes.

    Spark hands Python small Arrow batches (``maxRecordsPerBatch``, 32 tracks in
    conf/local.yaml); written one by one they would give one tiny Parquet row group each and
    cost per-batch overhead.
    """
    pending: list[pa.Table] = []
    rows = size = 0
    for batch in batches:
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if table.num_rows == 0:
            continue
        pending.append(table)
        rows += table.num_rows
        size += table.nbytes
        if rows >= CHUNK_ROWS or size >= CHUNK_BYTES:
            yield pa.concat_tables(pending)
            pending, rows, size = [], 0, 0
    if pending:
        yield pa.concat_tables(pending)


def _conform(batch: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.Table:
    """``batch`` with ``schema``'s columns, order and types (names already checked)."""
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    arrays = []
    for f in schema:
        col = table.column(f.name)
        if col.type != f.type:
            col = col.cast(f.type)
        arrays.append(col)
    # nullability is checked from the statistics, not here
    return pa.Table.from_arrays(arrays, schema=pa.schema([f.with_nullable(True) for f in schema]))


def write_files(
    batches: Iterable[pa.RecordBatch | pa.Table],
    *,
    table_uri: str,
    schema: pa.Schema,
    partition_by: Sequence[str],
    prefix: str,
    max_rows_per_file: int = MAX_ROWS_PER_FILE,
) -> list[dict]:
    """Write ``batches`` as Parquet files named ``<prefix><n>.parquet``; one record per file.

    Partition columns are not stored in the files (Delta keeps them in the log and the folder
    names). Deterministic names: a retried task overwrites its own earlier attempt's files.

    Parameters
    ----------
    batches : iterable of pa.RecordBatch or pa.Table
        The rows, with ``schema``'s column names (types are cast to ``schema``'s).
    table_uri : str
        The table directory the files go under.
    schema : pa.Schema
        The table's schema.
    partition_by : sequence of str
        Partition columns: one ``col=value/`` folder per distinct value combination.
    prefix : str
        Start of every file name (unique per write, and per task within a write).
    max_rows_per_file : int
        A file is closed, and the next one started, once it holds this many rows.

    Returns
    -------
    list of dict
        One record per file, with the fields of :data:`FILE_RECORD_SCHEMA`.
    """
    fs, root = fs_and_root(table_uri)
    data_schema = pa.schema([f for f in schema if f.name not in partition_by])
    file_schema = pa.schema([f.with_nullable(True) for f in data_schema])
    open_files: dict[tuple, _OpenFile] = {}
    pvals_of: dict[tuple, dict] = {}
    records: list[dict] = []
    counter = 0

    def open_for(key: tuple, pvals: dict) -> _OpenFile:
        nonlocal counter
        folder = _partition_dir(partition_by, pvals)
        name = f"{prefix}{counter:04d}.parquet"
        counter += 1
        return _OpenFile(fs, root, f"{folder}/{name}" if folder else name, file_schema)

    try:
        for chunk in _chunks(batches):
            table = _conform(chunk, schema)
            if table.num_rows == 0:
                continue
            if partition_by:
                groups = table.select(list(partition_by)).group_by(list(partition_by)).aggregate([])
                parts = []
                for row in groups.to_pylist():
                    mask = None
                    for col in partition_by:
                        c = table.column(col)
                        m = pc.is_null(c) if row[col] is None else pc.equal(c, pa.scalar(row[col], c.type))
                        m = pc.fill_null(m, False)
                        mask = m if mask is None else pc.and_(mask, m)
                    key = tuple(partition_string(row[c]) for c in partition_by)
                    parts.append((key, dict(zip(partition_by, key)), table.filter(mask)))
            else:
                parts = [((), {}, table)]
            for key, pvals, part in parts:
                f = open_files.get(key)
                if f is None:
                    f = open_files[key] = open_for(key, pvals)
                    pvals_of[key] = pvals
                f.write(part.select(data_schema.names))
                if f.stats.num_records >= max_rows_per_file:
                    records.append(f.close(pvals))
                    del open_files[key]
        for key, f in open_files.items():
            records.append(f.close(pvals_of[key]))
        open_files.clear()
    finally:
        for f in open_files.values():  # an error: drop half-written files
            try:
                f.writer.close()
                f.fs.delete_file(f.tmp)
            except Exception:
                pass
    return records


def delete_files(table_uri: str, prefix: str, *, keep: Iterable[str] = ()) -> int:
    """Delete this write's files (and temporary files) not in ``keep``; returns how many.

    A file belongs to the write when its name starts with ``prefix`` (or ``.`` + ``prefix``: a
    temporary file). The ``_delta_log`` folder is never touched.
    """
    fs, root = fs_and_root(table_uri)
    keep_abs = {f"{root}/{p}" for p in keep}
    try:
        infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    except OSError:
        return 0
    deleted = 0
    for info in infos:
        if info.type != pafs.FileType.File or "/_delta_log" in info.path[len(root):]:
            continue
        base = posixpath.basename(info.path)
        if (base.startswith(prefix) or base.startswith("." + prefix)) and info.path not in keep_abs:
            try:
                fs.delete_file(info.path)
                deleted += 1
            except OSError:
                pass
    return deleted

