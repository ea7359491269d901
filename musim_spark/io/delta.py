"""Every Delta table read and write of musim-spark goes through this module.

Two engines, same semantics:

``spark`` (the Delta jars are on the classpath: a cluster with delta-spark via
``spark.jars.packages`` / ``spark.jars``)
    ``df.write.format("delta")`` with ``txnAppId`` / ``txnVersion`` / ``userMetadata``;
    ``mode="replace"`` is one ``MERGE`` (delete the matched keys, insert the new rows).

``delta-rs`` (no jars, e.g. here: no Maven)
    Spark tasks (``mapInArrow``) write Parquet files under the table directory, each with a
    unique name ``part-<write id>-<task>-<n>.parquet`` (in ``col=value/`` folders when
    partitioned), and return each file's path, size and statistics (``numRecords``, min/max,
    ``nullCount``). The driver then commits ALL of them with ``deltalake`` in ONE transaction.
    A file enters the table only through that commit, so files of a failed stage (an exception
    before the commit) or of a failed task attempt are never visible; they are deleted.

Modes: ``append``; ``overwrite`` (every old file removed in the same commit); ``replace``: rows
whose ``keys`` occur in the new rows (or in ``delete_keys``) are removed in the same commit as the
new rows are added. delta-rs 1.6's ``create_write_transaction`` accepts ``RemoveAction`` next to
``AddAction`` in ``mode="append"``, so replace rewrites the affected files on the driver (each
file whose key min/max statistics can hold a replaced key is read; if it does, the file is removed
and its other rows are written to a new file) and commits removes + adds together. Cost: the
driver reads and rewrites every file holding a replaced key (a file holds the rows of one Spark
task, so replacing a few tracks rewrites a few files; replacing keys spread over every file
rewrites the table; write tables replaced by key clustered by that key, e.g.
``repartitionByRange``/``sortWithinPartitions`` on it). Files are pruned by their key statistics
first, so keys that are new cost nothing. The replaced keys are read back from the files just
written (key columns only), so the stage's DataFrame is evaluated once. The commit is made on the
snapshot the removes were planned on: a concurrent commit touching the same files is a conflict
(``WriteError``), never a lost update.

Idempotence: each commit records the app transaction (``app_id``,
:func:`musim_spark.runs.run_txn_version` of the run id). Before writing and again before
committing, if the table's ``transaction_version(app_id)`` is already >= that version, nothing is
committed (``CommitResult.skipped``) and the files of this attempt are deleted.

Every commit carries custom metadata: ``userMetadata`` (JSON text, what ``DESCRIBE HISTORY``
shows) and ``musim`` (the same as an object): run_id, app_id, txn_version, mode, plus whatever the
caller passes in ``metadata`` (stage, config fingerprint, git sha...).

Tables keep protocol (1, 2): timestamps are tz-aware UTC (``timestamp``), never ``timestamp_ntz``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import posixpath
import time
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import ParameterError, WriteError
from ..runs import run_txn_version

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "DeltaSettings",
    "delta_settings",
    "CommitResult",
    "write_dataframe",
    "write_arrow",
    "read_dataframe",
    "read_arrow",
    "table_exists",
    "table_version",
    "table_row_count",
    "history",
    "run_committed",
]

Mode = Literal["append", "overwrite", "replace"]
Engine = Literal["auto", "spark", "delta-rs"]

#: Rows per Parquet file before a task starts its next file.
MAX_ROWS_PER_FILE = 1_000_000
#: A Parquet row group holds about this many rows, or bytes, whichever comes first.
CHUNK_ROWS = 131_072
CHUNK_BYTES = 64 * 2**20
#: Characters of a string column kept in the min/max statistics.
_STATS_STRING_PREFIX = 128
#: Spark's (and Hive's) folder name for a null partition value.
_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
#: What each writer task reports back to the driver, one row per file.
_FILE_RECORD_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), False),
        pa.field("size", pa.int64(), False),
        pa.field("partition_values", pa.string(), False),  # JSON object
        pa.field("num_records", pa.int64(), False),
        pa.field("stats", pa.string(), False),  # JSON, Delta's stats format
        pa.field("modification_time", pa.int64(), False),  # ms since epoch
    ]
)


@dataclasses.dataclass(frozen=True)
class DeltaSettings:
    """The ``delta:`` section of the configuration.

    Attributes
    ----------
    engine : {"auto", "spark", "delta-rs"}
        What :func:`write_dataframe` uses; stages pass ``engine=settings.engine``.
    """

    engine: Engine = "auto"

    def __post_init__(self) -> None:
        if self.engine not in ("auto", "spark", "delta-rs"):
            raise ParameterError(f"delta.engine must be auto, spark or delta-rs, got {self.engine!r}")


def delta_settings(config) -> DeltaSettings:
    """:class:`DeltaSettings` from a :class:`musim_spark.config.Config` (unknown keys refused)."""
    from ..config import section_dataclass

    return section_dataclass(DeltaSettings, config.section("delta"), where=f"{config.path}: delta")


@dataclasses.dataclass(frozen=True)
class CommitResult:
    """What one write did.

    Attributes
    ----------
    table : str
        The table URI.
    version : int or None
        The table version after the write (the existing version when skipped; None when the
        table does not exist).
    skipped : bool
        True when this run had already committed to the table, so nothing was committed.
    rows_added : int
        New rows (rows carried over from rewritten files not counted).
    rows_removed : int
        Rows deleted by ``replace`` or ``overwrite`` (0 for ``append``).
    files_added, files_removed : int
        Data files added / removed by the commit (rewritten files counted in both).
    seconds : float
        Wall-clock time of the whole write (s).
    """

    table: str
    version: int | None
    skipped: bool
    rows_added: int
    rows_removed: int
    files_added: int
    files_removed: int
    seconds: float


# ------------------------------------------------------------------------------------------------
# paths and file systems


def _fs_and_root(table_uri: str) -> tuple[pafs.FileSystem, str]:
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


def _partition_string(value: Any) -> str | None:
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
# schemas


def _canonical_type(t: pa.DataType) -> str:
    """A type name that ignores differences that do not change the stored data."""
    if pa.types.is_dictionary(t):
        return _canonical_type(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _: False)(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_timestamp(t):
        return "timestamp" if t.tz else "timestamp_ntz"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{_canonical_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{_canonical_type(f.type)}" for f in t) + ">"
    if pa.types.is_map(t):
        return f"map<{_canonical_type(t.key_type)},{_canonical_type(t.item_type)}>"
    return str(t)


def _schema_differences(got: Mapping[str, str], want: Mapping[str, str]) -> list[str]:
    problems = []
    missing = [c for c in want if c not in got]
    extra = [c for c in got if c not in want]
    wrong = [f"{c} (got {got[c]}, table has {want[c]})" for c in want if c in got and got[c] != want[c]]
    if missing:
        problems.append(f"missing column(s) {missing}")
    if extra:
        problems.append(f"unexpected column(s) {extra}")
    if wrong:
        problems.append("wrong type: " + ", ".join(wrong))
    return problems


def _check_arrow_schema(got: pa.Schema, want: pa.Schema, *, table_uri: str) -> None:
    problems = _schema_differences(
        {f.name: _canonical_type(f.type) for f in got}, {f.name: _canonical_type(f.type) for f in want}
    )
    if problems:
        raise WriteError(f"{table_uri}: rows do not match the table schema: " + "; ".join(problems))


def _check_spark_schema(got, want: pa.Schema, *, table_uri: str) -> None:
    from ..io.tables import spark_schema

    want_spark = spark_schema(want)
    problems = _schema_differences(
        {f.name: f.dataType.simpleString() for f in got.fields},
        {f.name: f.dataType.simpleString() for f in want_spark.fields},
    )
    if problems:
        raise WriteError(f"{table_uri}: DataFrame does not match the table schema: " + "; ".join(problems))


def _check_table_schema(table, want: pa.Schema, *, table_uri: str) -> None:
    have = pa.schema(table.schema().to_arrow())
    problems = _schema_differences(
        {f.name: _canonical_type(f.type) for f in want}, {f.name: _canonical_type(f.type) for f in have}
    )
    if problems:
        raise WriteError(
            f"{table_uri}: the existing table's schema differs from the one written "
            f"(migrate the table first): " + "; ".join(problems)
        )


def _check_not_null(records: Sequence[Mapping[str, Any]], schema: pa.Schema, *, table_uri: str) -> None:
    """Refuse nulls in NOT NULL columns, using the files' nullCount statistics."""
    required = [f.name for f in schema if not f.nullable]
    nulls: dict[str, int] = {}
    for rec in records:
        counts = json.loads(rec["stats"]).get("nullCount", {})
        pvals = json.loads(rec["partition_values"])
        for col in required:
            n = counts.get(col, 0) if col not in pvals else (rec["num_records"] if pvals[col] is None else 0)
            if n:
                nulls[col] = nulls.get(col, 0) + n
    if nulls:
        raise WriteError(
            f"{table_uri}: null values in NOT NULL column(s): "
            + ", ".join(f"{c} ({n} rows)" for c, n in sorted(nulls.items()))
        )


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


def _write_files(
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
    """
    fs, root = _fs_and_root(table_uri)
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
                    key = tuple(_partition_string(row[c]) for c in partition_by)
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


def _spark_task_writer(table_uri: str, schema: pa.Schema, partition_by: Sequence[str], prefix: str):
    """The ``mapInArrow`` function: each task writes its rows, yields one record per file."""

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        task = TaskContext.get().partitionId()
        records = _write_files(
            batches, table_uri=table_uri, schema=schema, partition_by=partition_by,
            prefix=f"{prefix}{task:05d}-",
        )
        yield pa.RecordBatch.from_pylist(records, schema=_FILE_RECORD_SCHEMA)

    return write_partition


def _delete_files(table_uri: str, prefix: str, *, keep: Iterable[str] = ()) -> int:
    """Delete this write's files (and temporary files) not in ``keep``; returns how many."""
    fs, root = _fs_and_root(table_uri)
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


# ------------------------------------------------------------------------------------------------
# the commit


def _delta_table(table_uri: str, version: int | None = None):
    from deltalake import DeltaTable

    if not DeltaTable.is_deltatable(table_uri):
        return None
    try:
        return DeltaTable(table_uri, version=version)
    except Exception as exc:  # deltalake raises several types; all mean "cannot load"
        raise WriteError(f"{table_uri}: cannot load version {version}: {exc}") from exc


def _already_committed(table, app_id: str, txn_version: int) -> bool:
    if table is None:
        return False
    done = table.transaction_version(app_id)
    return done is not None and done >= txn_version


def _key_table(table: pa.Table, keys: Sequence[str], schema: pa.Schema) -> pa.Table:
    sub = table.select(list(keys))
    sub = pa.Table.from_arrays([sub.column(k).cast(schema.field(k).type) for k in keys], names=list(keys))
    return sub.group_by(list(keys)).aggregate([])


def _delete_key_table(delete_keys: pa.Table, keys: Sequence[str], schema: pa.Schema, *, table_uri: str) -> pa.Table:
    missing = [k for k in keys if k not in delete_keys.column_names]
    if missing:
        raise WriteError(f"{table_uri}: delete_keys lacks key column(s) {missing}")
    _check_arrow_schema(delete_keys.select(list(keys)).schema, pa.schema([schema.field(k) for k in keys]),
                        table_uri=table_uri)
    return _key_table(delete_keys, keys, schema)


def _keys_of_files(table_uri: str, records: Sequence[dict], *, keys: Sequence[str], schema: pa.Schema) -> pa.Table:
    """The distinct ``keys`` of the rows in the files of ``records`` (reads the key columns only)."""
    fs, root = _fs_and_root(table_uri)
    parts = []
    for rec in records:
        pvals = json.loads(rec["partition_values"])
        stored = [k for k in keys if k not in pvals]
        data = pq.read_table(f"{root}/{rec['path']}", columns=stored, filesystem=fs)
        cols = {}
        for k in keys:
            if k in pvals:
                cols[k] = pa.array([pvals[k]] * data.num_rows, pa.string()).cast(schema.field(k).type)
            else:
                cols[k] = data.column(k)
        parts.append(_key_table(pa.table(cols), keys, schema))
    if not parts:
        return pa.table({k: pa.array([], schema.field(k).type) for k in keys})
    return pa.concat_tables(parts).group_by(list(keys)).aggregate([])


def _plan_replace(
    table, table_uri: str, *, schema: pa.Schema, keys: Sequence[str], key_table: pa.Table,
    partition_by: Sequence[str], prefix: str,
) -> tuple[list, list[dict], int]:
    """Removes and rewritten files that drop every row whose keys are in ``key_table``."""
    from deltalake.transaction import RemoveAction

    if table is None or key_table.num_rows == 0:
        return [], [], 0
    fs, root = _fs_and_root(table_uri)
    actions = pa.table(table.get_add_actions(flatten=True))
    key_values = {k: key_table.column(k) for k in keys}
    removes, records, rows_removed = [], [], 0
    now_ms = int(time.time() * 1000)
    for i, act in enumerate(actions.to_pylist()):
        # Prune by statistics: a file whose min/max range holds none of the keys is untouched.
        maybe = True
        for k in keys:
            if f"partition.{k}" in act:
                continue
            lo, hi = act.get(f"min.{k}"), act.get(f"max.{k}")
            if lo is None or hi is None:
                continue
            vals = key_values[k]
            inside = pc.and_(pc.greater_equal(vals, pa.scalar(lo, vals.type)), pc.less_equal(vals, pa.scalar(hi, vals.type)))
            if not pc.any(pc.fill_null(inside, False)).as_py():
                maybe = False
                break
        if not maybe:
            continue
        # get_add_actions gives the log's URL-encoded path; files and RemoveAction want it raw.
        path = urllib.parse.unquote(act["path"])
        pvals = {c: act.get(f"partition.{c}") for c in partition_by}
        data = pq.read_table(f"{root}/{path}", filesystem=fs)
        for c in partition_by:
            v = act.get(f"partition.{c}")
            col = pa.array([v] * data.num_rows, pa.string() if isinstance(v, str) else None)
            data = data.append_column(c, col.cast(schema.field(c).type) if data.num_rows else pa.array([], schema.field(c).type))
        idx = pa.table({k: data.column(k).cast(schema.field(k).type) for k in keys}).append_column(
            "__row", pa.array(range(data.num_rows), pa.int64())
        )
        hit = idx.join(key_table, keys=list(keys), join_type="left semi").column("__row")
        if len(hit) == 0:
            continue
        keep_mask = pc.invert(pc.is_in(pa.array(range(data.num_rows), pa.int64()), value_set=hit.combine_chunks()))
        kept = data.filter(keep_mask)
        rows_removed += data.num_rows - kept.num_rows
        removes.append(RemoveAction(
            path=path, data_change=True, deletion_timestamp=now_ms,
            size=int(act["size_bytes"]), partition_values={c: _partition_string(v) for c, v in pvals.items()},
        ))
        if kept.num_rows:
            records += _write_files(
                [kept], table_uri=table_uri, schema=schema, partition_by=partition_by,
                prefix=f"{prefix}rw{i:05d}-",
            )
    return removes, records, rows_removed


def _commit(
    table_uri: str, table, *, schema: pa.Schema, mode: Mode, records: Sequence[dict], removes: Sequence,
    partition_by: Sequence[str], app_id: str, txn_version: int, custom: Mapping[str, Any],
) -> int:
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import AddAction, CommitProperties, Transaction, create_table_with_add_actions

    adds = [
        AddAction(
            path=r["path"], size=int(r["size"]), partition_values=json.loads(r["partition_values"]),
            modification_time=int(r["modification_time"]), data_change=True, stats=r["stats"],
        )
        for r in records
    ]
    props = CommitProperties(custom_metadata=dict(custom), app_transactions=[Transaction(app_id, txn_version)])
    try:
        if table is None:
            create_table_with_add_actions(
                table_uri, Schema.from_arrow(schema), adds, mode="error",
                partition_by=list(partition_by) or None, commit_properties=props,
            )
        else:
            # The snapshot the removes were planned on: delta-rs checks commits made since
            # against it, so a concurrent writer's change is a conflict, never a lost update.
            table.create_write_transaction(
                [*adds, *removes], "overwrite" if mode == "overwrite" else "append", schema,
                partition_by=list(partition_by) or None, commit_properties=props,
            )
    except Exception as exc:
        raise WriteError(f"{table_uri}: commit failed: {exc}") from exc
    # Our commit's version: the newest one carrying our app transaction (others may follow it).
    for commit in DeltaTable(table_uri).history(20):
        meta = commit.get("musim") or {}
        if meta.get("app_id") == custom["musim"]["app_id"] and meta.get("txn_version") == str(txn_version):
            return int(commit["version"])
    return DeltaTable(table_uri).version()


def _validate_args(mode, keys, delete_keys, partition_by, schema, engine, run_id, app_id):
    if mode not in ("append", "overwrite", "replace"):
        raise ParameterError(f"mode must be append, overwrite or replace, got {mode!r}")
    if engine not in ("auto", "spark", "delta-rs"):
        raise ParameterError(f"engine must be auto, spark or delta-rs, got {engine!r}")
    if mode == "replace" and not keys:
        raise ParameterError("mode='replace' needs keys=")
    if mode != "replace" and delete_keys is not None:
        raise ParameterError("delete_keys= is only meaningful with mode='replace'")
    missing = [c for c in (*keys, *partition_by) if c not in schema.names]
    if missing:
        raise ParameterError(f"keys/partition_by column(s) {missing} not in the schema")
    if not app_id:
        raise ParameterError("app_id must be a non-empty string")
    return run_txn_version(run_id)


def _custom_metadata(metadata, *, run_id, app_id, txn_version, mode) -> dict:
    meta = {str(k): str(v) for k, v in dict(metadata or {}).items()}
    meta.update(run_id=run_id, app_id=app_id, txn_version=str(txn_version), mode=mode)
    return {"userMetadata": json.dumps(meta, sort_keys=True, ensure_ascii=False), "musim": meta}


def _finish(
    table_uri: str, *, started: float, schema: pa.Schema, mode: Mode, records: list[dict],
    keys: Sequence[str], key_table: pa.Table | None, partition_by: Sequence[str], prefix: str,
    app_id: str, txn_version: int, custom: Mapping[str, Any],
) -> CommitResult:
    """Check, plan the removes, commit once; delete this write's files on any failure or skip."""
    committed = False
    all_records = list(records)
    try:
        _check_not_null(records, schema, table_uri=table_uri)
        table = _delta_table(table_uri)
        if table is not None:
            _check_table_schema(table, schema, table_uri=table_uri)
            existing_parts = list(table.metadata().partition_columns)
            if existing_parts != list(partition_by):
                raise WriteError(
                    f"{table_uri}: table is partitioned by {existing_parts}, write asked for {list(partition_by)}"
                )
        if _already_committed(table, app_id, txn_version):
            return CommitResult(table_uri, table.version(), True, 0, 0, 0, 0, time.monotonic() - started)
        removes: list = []
        rows_removed = files_removed = 0
        if mode == "replace" and key_table is not None:
            removes, rewritten, rows_removed = _plan_replace(
                table, table_uri, schema=schema, keys=keys, key_table=key_table,
                partition_by=partition_by, prefix=prefix,
            )
            all_records += rewritten
            files_removed = len(removes)
        elif mode == "overwrite" and table is not None:
            # delta-rs derives the remove actions of an overwrite itself (every current file).
            rows_removed = _table_rows(table)
            files_removed = len(table.file_uris())
        version = _commit(
            table_uri, table, schema=schema, mode=mode, records=all_records, removes=removes,
            partition_by=partition_by, app_id=app_id, txn_version=txn_version, custom=custom,
        )
        committed = True
        return CommitResult(
            table=table_uri, version=version, skipped=False,
            rows_added=sum(int(r["num_records"]) for r in records), rows_removed=rows_removed,
            files_added=len(all_records),
            files_removed=files_removed,
            seconds=time.monotonic() - started,
        )
    finally:
        # Failed or skipped: every file of this write goes. Committed: only strays of failed task attempts.
        _delete_files(table_uri, prefix, keep=[r["path"] for r in all_records] if committed else ())


def _table_rows(table) -> int:
    actions = pa.table(table.get_add_actions(flatten=True))
    if actions.num_rows == 0:
        return 0
    return int(pc.sum(actions.column("num_records")).as_py() or 0)


def write_arrow(
    table: pa.Table,
    table_uri: str,
    *,
    schema: pa.Schema,
    mode: Mode,
    run_id: str,
    app_id: str,
    keys: Sequence[str] = (),
    delete_keys: pa.Table | None = None,
    partition_by: Sequence[str] = (),
    engine: Engine = "auto",
    metadata: Mapping[str, str] | None = None,
) -> CommitResult:
    """Write an Arrow table from the driver (small tables: quarantine rows, runs); one commit.

    Same semantics and commit machinery as :func:`write_dataframe` (always delta-rs: the rows
    are already on the driver). ``engine`` is accepted for symmetry; ``"spark"`` is refused.

    Raises
    ------
    WriteError
        Schema mismatch (names the columns), nulls in NOT NULL columns, failed commit.
    ParameterError
        Bad mode/keys/run id.
    """
    started = time.monotonic()
    txn_version = _validate_args(mode, keys, delete_keys, partition_by, schema, engine, run_id, app_id)
    if engine == "spark":
        raise ParameterError("write_arrow writes with delta-rs; use write_dataframe for engine='spark'")
    _check_arrow_schema(table.schema, schema, table_uri=table_uri)
    if _already_committed(_delta_table(table_uri), app_id, txn_version):
        t = _delta_table(table_uri)
        return CommitResult(table_uri, t.version(), True, 0, 0, 0, 0, time.monotonic() - started)
    prefix = f"part-{run_id}-{uuid.uuid4().hex[:8]}-"
    key_table = None
    if mode == "replace":
        key_table = _key_table(table, keys, schema)
        if delete_keys is not None:
            more = _delete_key_table(delete_keys, keys, schema, table_uri=table_uri)
            key_table = pa.concat_tables([key_table, more]).group_by(list(keys)).aggregate([])
    records: list[dict] = []
    try:
        records = _write_files(
            [table], table_uri=table_uri, schema=schema, partition_by=partition_by, prefix=prefix + "d-",
        )
    except BaseException:
        _delete_files(table_uri, prefix)
        raise
    return _finish(
        table_uri, started=started, schema=schema, mode=mode, records=records, keys=keys,
        key_table=key_table, partition_by=partition_by, prefix=prefix, app_id=app_id,
        txn_version=txn_version,
        custom=_custom_metadata(metadata, run_id=run_id, app_id=app_id, txn_version=txn_version, mode=mode),
    )


def write_dataframe(
    df: "DataFrame",
    table_uri: str,
    *,
    schema: pa.Schema,
    mode: Mode,
    run_id: str,
    app_id: str,
    keys: Sequence[str] = (),
    delete_keys: pa.Table | None = None,
    partition_by: Sequence[str] = (),
    engine: Engine = "auto",
    metadata: Mapping[str, str] | None = None,
) -> CommitResult:
    """Write a Spark DataFrame to a Delta table in ONE commit.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Rows to write; its columns must be exactly ``schema``'s (any order), with the same types
        (``spark_schema(schema)``). Evaluating ``df`` runs the stage: an exception raised there
        leaves the table unchanged and this write's files deleted.
    table_uri : str
        The table directory (:func:`musim_spark.io.tables.table_uri`).
    schema : pa.Schema
        The table's schema (``TABLES[name].schema``). NOT NULL fields are enforced.
    mode : {"append", "overwrite", "replace"}
        ``replace``: rows whose ``keys`` values occur in ``df`` (or in ``delete_keys``) are
        removed in the same commit that adds ``df``'s rows.
    run_id : str
        :func:`musim_spark.runs.new_run_id`; recorded as app transaction
        ``(app_id, run_txn_version(run_id))``.
    app_id : str
        Identifies the writer (e.g. ``"musim:ingest:tracks"``): one app id per (stage, table).
    keys : sequence of str
        Key columns for ``replace``.
    delete_keys : pa.Table or None
        Further keys (columns ``keys``) to delete without new rows (e.g. tracks gone from the
        data set).
    partition_by : sequence of str
        Partition columns (must match an existing table's).
    engine : {"auto", "spark", "delta-rs"}
        ``auto``: ``spark`` when the Delta jars are on the classpath, else ``delta-rs``.
    metadata : mapping or None
        Recorded with the commit (stage, config fingerprint, git sha...).

    Returns
    -------
    CommitResult

    Raises
    ------
    WriteError
        Schema mismatch (names the columns), nulls in NOT NULL columns, failed commit.
    ParameterError
        Bad mode, keys, engine or run id.
    """
    started = time.monotonic()
    txn_version = _validate_args(mode, keys, delete_keys, partition_by, schema, engine, run_id, app_id)
    _check_spark_schema(df.schema, schema, table_uri=table_uri)
    df = df.select(*schema.names)
    custom = _custom_metadata(metadata, run_id=run_id, app_id=app_id, txn_version=txn_version, mode=mode)
    if engine == "auto":
        from ..spark import delta_jars_available

        engine = "spark" if delta_jars_available(df.sparkSession) else "delta-rs"
    if engine == "spark":
        return _write_with_delta_spark(
            df, table_uri, mode=mode, keys=keys, delete_keys=delete_keys, partition_by=partition_by,
            app_id=app_id, txn_version=txn_version, custom=custom, started=started,
        )
    if _already_committed(_delta_table(table_uri), app_id, txn_version):
        return CommitResult(table_uri, _delta_table(table_uri).version(), True, 0, 0, 0, 0, time.monotonic() - started)

    from ..io.tables import spark_schema

    prefix = f"part-{run_id}-{uuid.uuid4().hex[:8]}-"
    records: list[dict] = []
    key_table = None
    try:
        written = df.mapInArrow(
            _spark_task_writer(table_uri, schema, tuple(partition_by), prefix), spark_schema(_FILE_RECORD_SCHEMA)
        ).toArrow()
        records = written.to_pylist()
        if mode == "replace":
            # The keys come from the files just written (key columns only), so the stage's rows
            # are computed once, by the writing job, and a non-deterministic df cannot disagree.
            key_table = _keys_of_files(table_uri, records, keys=keys, schema=schema)
            if delete_keys is not None:
                more = _delete_key_table(delete_keys, keys, schema, table_uri=table_uri)
                key_table = pa.concat_tables([key_table, more]).group_by(list(keys)).aggregate([])
    except BaseException:
        _delete_files(table_uri, prefix)
        # Tasks Spark is still cancelling may finish a file after the first sweep.
        time.sleep(1.0)
        _delete_files(table_uri, prefix)
        raise
    return _finish(
        table_uri, started=started, schema=schema, mode=mode, records=records, keys=keys,
        key_table=key_table, partition_by=partition_by, prefix=prefix, app_id=app_id,
        txn_version=txn_version, custom=custom,
    )


def _write_with_delta_spark(
    df, table_uri, *, mode, keys, delete_keys, partition_by, app_id, txn_version, custom, started,
) -> CommitResult:
    """The ``format("delta")`` path (Delta jars on the classpath).

    Not exercised in this repository's CI (no Maven, so no jars): ``tests/test_delta_spark.py::
    test_format_delta_path`` runs it where the jars are present. Row and file counts come from the
    commit's ``operationMetrics``.
    """
    before = table_version(table_uri)
    if _already_committed(_delta_table(table_uri), app_id, txn_version):
        return CommitResult(table_uri, before, True, 0, 0, 0, 0, time.monotonic() - started)
    spark = df.sparkSession
    user_metadata = custom["userMetadata"]
    if mode in ("append", "overwrite") or before is None:
        writer = (
            df.write.format("delta").mode("overwrite" if mode == "overwrite" else "append")
            .option("txnAppId", app_id).option("txnVersion", str(txn_version))
            .option("userMetadata", user_metadata)
        )
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.save(table_uri)
    else:
        # replace = one MERGE: delete-marker rows (keys only) delete the matches, the new rows
        # never match (their marker flag is false) and are inserted.
        from delta.tables import DeltaTable as SparkDeltaTable
        from pyspark.sql import functions as F

        key_df = df.select(*keys)
        if delete_keys is not None:
            key_df = key_df.unionByName(spark.createDataFrame(delete_keys.select(list(keys)).to_pandas()))
        markers = key_df.distinct()
        for c in df.columns:
            if c not in keys:
                markers = markers.withColumn(c, F.lit(None).cast(df.schema[c].dataType))
        source = df.withColumn("__delete", F.lit(False)).unionByName(
            markers.select(*df.columns).withColumn("__delete", F.lit(True))
        )
        cond = " AND ".join([f"t.`{k}` <=> s.`{k}`" for k in keys] + ["s.__delete"])
        for key, value in (("txnAppId", app_id), ("txnVersion", str(txn_version)),
                           ("commitInfo.userMetadata", user_metadata)):
            spark.conf.set(f"spark.databricks.delta.write.{key}" if key != "commitInfo.userMetadata"
                           else "spark.databricks.delta.commitInfo.userMetadata", value)
        try:
            (
                SparkDeltaTable.forPath(spark, table_uri).alias("t").merge(source.alias("s"), cond)
                .whenMatchedDelete()
                .whenNotMatchedInsert(condition="NOT s.__delete", values={c: f"s.`{c}`" for c in df.columns})
                .execute()
            )
        finally:
            for key in ("spark.databricks.delta.write.txnAppId", "spark.databricks.delta.write.txnVersion",
                        "spark.databricks.delta.commitInfo.userMetadata"):
                spark.conf.unset(key)
    after = table_version(table_uri)
    if after == before:  # delta-spark saw the app transaction and wrote nothing
        return CommitResult(table_uri, after, True, 0, 0, 0, 0, time.monotonic() - started)
    metrics = (history(table_uri, 1) or [{}])[0].get("operationMetrics") or {}

    def metric(*names: str) -> int:
        return sum(int(metrics.get(n, 0) or 0) for n in names)

    return CommitResult(
        table=table_uri, version=after, skipped=False,
        rows_added=metric("numOutputRows", "numTargetRowsInserted"),
        rows_removed=metric("numTargetRowsDeleted"),
        files_added=metric("numFiles", "numTargetFilesAdded"),
        files_removed=metric("numRemovedFiles", "numTargetFilesRemoved"),
        seconds=time.monotonic() - started,
    )


# ------------------------------------------------------------------------------------------------
# reading and inspecting


def read_arrow(
    table_uri: str,
    *,
    version: int | None = None,
    columns: Sequence[str] | None = None,
    filter: Any = None,
) -> pa.Table:
    """Read a table (or one of its old versions) into Arrow.

    Parameters
    ----------
    version : int or None
        Time travel: the table as of this version.
    columns : sequence of str or None
    filter : DNF filter list or pyarrow.compute.Expression
        Passed to ``DeltaTable.to_pyarrow_table(filters=...)``; prunes files by statistics.

    Raises
    ------
    WriteError
        If the table does not exist or the version cannot be loaded.
    """
    table = _delta_table(table_uri, version)
    if table is None:
        raise WriteError(f"{table_uri}: no Delta table there")
    return table.to_pyarrow_table(columns=list(columns) if columns else None, filters=filter)


def read_dataframe(
    spark: "SparkSession", table_uri: str, *, version: int | None = None, schema: pa.Schema | None = None
) -> "DataFrame":
    """Read a table (or one of its old versions) as a Spark DataFrame.

    With the Delta jars: ``format("delta")`` (``versionAsOf``). Without: the Parquet files of
    the version's file list (``DeltaTable.file_uris()``), so files not in the log are never read.
    An empty table gives an empty DataFrame with the schema.

    Parameters
    ----------
    schema : pa.Schema or None
        The expected schema (default: the table's own).
    """
    from ..io.tables import spark_schema
    from ..spark import delta_jars_available

    if delta_jars_available(spark):
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", int(version))
        return reader.load(table_uri)
    table = _delta_table(table_uri, version)
    if table is None:
        raise WriteError(f"{table_uri}: no Delta table there")
    arrow_schema = schema if schema is not None else pa.schema(table.schema().to_arrow())
    struct = spark_schema(arrow_schema)
    uris = table.file_uris()
    if not uris:
        return spark.createDataFrame([], struct)
    base = table.table_uri.rstrip("/")
    return spark.read.schema(struct).option("basePath", base).parquet(*uris).select(*arrow_schema.names)


def table_exists(table_uri: str) -> bool:
    """Whether a Delta table exists at ``table_uri``."""
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(table_uri)


def table_version(table_uri: str) -> int | None:
    """The table's current version, or None if there is no table."""
    table = _delta_table(table_uri)
    return None if table is None else table.version()


def table_row_count(table_uri: str, *, version: int | None = None) -> int | None:
    """Rows in the table, from the log's ``numRecords`` statistics (no data file is read)."""
    table = _delta_table(table_uri, version)
    return None if table is None else _table_rows(table)


def history(table_uri: str, limit: int | None = None) -> list[dict]:
    """The table's commits, newest first (delta-rs ``history``: version, timestamp, operation,
    userMetadata, musim...). Empty when there is no table."""
    table = _delta_table(table_uri)
    return [] if table is None else table.history(limit)


def run_committed(table_uri: str, *, app_id: str, run_id: str) -> bool:
    """Whether run ``run_id`` (or a later run) has committed to the table as ``app_id``."""
    return _already_committed(_delta_table(table_uri), app_id, run_txn_version(run_id))
