"""The delta-rs commit: written Parquet files enter a table in ONE transaction, or not at all.

A writer (:func:`musim_spark.io.write.write_arrow`, :func:`musim_spark.io.spark_io.write_dataframe`
without the Delta jars) writes its files (:mod:`musim_spark.io.parquet`) and hands their records
to :func:`commit_write`, which checks them, plans the removes, commits once with ``deltalake``
and deletes the files of the write whenever it does not commit (an error, a conflict, a skip).

Replace by key: delta-rs 1.6's ``create_write_transaction`` accepts ``RemoveAction`` next to
``AddAction`` in ``mode="append"``, so a replace rewrites the affected files on the driver (each
file whose key min/max statistics can hold a replaced key is read; if it does, the file is removed
and its other rows are written to a new file) and commits removes + adds together. Cost: the
driver reads and rewrites every file holding a replaced key (a file holds the rows of one Spark
task, so replacing a few tracks rewrites a few files; replacing keys spread over every file
rewrites the table; write tables replaced by key clustered by that key, e.g.
``repartitionByRange``/``sortWithinPartitions`` on it). Files are pruned by their key statistics
first, so keys that are new cost nothing. The commit is made on the snapshot the removes were
planned on: a concurrent commit touching the same files is a conflict (``WriteError``), never a
lost update.

Idempotence: each commit records the app transaction (``plan.app_id``, ``plan.txn_version``).
Before writing and again before committing, if the table's ``transaction_version(app_id)`` is
already >= that version, nothing is committed (``CommitResult.skipped``) and the files of this
attempt are deleted.

Every commit carries the plan's :attr:`~musim_spark.io.plan.WritePlan.commit_metadata`. Tables keep
protocol (1, 2): timestamps are tz-aware UTC (``timestamp``), never ``timestamp_ntz``.
"""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.parse
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import WriteError
from .parquet import delete_files, fs_and_root, partition_string, write_files
from .plan import WritePlan, distinct_keys
from .read import already_committed, open_table, snapshot_row_count
from .schema import check_not_null, check_table_schema

__all__ = ["CommitResult", "commit_write", "skipped_result", "keys_of_files"]


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


def skipped_result(plan: WritePlan, table, started: float) -> CommitResult | None:
    """The result of a write whose run already committed to ``table`` (a ``DeltaTable`` or None), else None.

    Parameters
    ----------
    started : float
        ``time.monotonic()`` when the write began.
    """
    if not already_committed(table, plan.app_id, plan.txn_version):
        return None
    return CommitResult(plan.table_uri, table.version(), True, 0, 0, 0, 0, time.monotonic() - started)


def keys_of_files(plan: WritePlan, records: Sequence[dict]) -> pa.Table:
    """The distinct ``plan.keys`` of the rows in the files of ``records`` (reads the key columns only)."""
    fs, root = fs_and_root(plan.table_uri)
    keys, schema = plan.keys, plan.schema
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
        parts.append(distinct_keys(pa.table(cols), keys, schema))
    if not parts:
        return pa.table({k: pa.array([], schema.field(k).type) for k in keys})
    return pa.concat_tables(parts).group_by(list(keys)).aggregate([])


def _plan_replace(table, plan: WritePlan, key_table: pa.Table, prefix: str) -> tuple[list, list[dict], int]:
    """Removes and rewritten files that drop every row whose keys are in ``key_table``."""
    from deltalake.transaction import RemoveAction

    if table is None or key_table.num_rows == 0:
        return [], [], 0
    table_uri, schema, keys, partition_by = plan.table_uri, plan.schema, plan.keys, plan.partition_by
    fs, root = fs_and_root(table_uri)
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
            size=int(act["size_bytes"]), partition_values={c: partition_string(v) for c, v in pvals.items()},
        ))
        if kept.num_rows:
            records += write_files(
                [kept], table_uri=table_uri, schema=schema, partition_by=partition_by,
                prefix=f"{prefix}rw{i:05d}-",
            )
    return removes, records, rows_removed


def _commit(table, plan: WritePlan, *, records: Sequence[dict], removes: Sequence) -> int:
    """Commit ``records`` as adds and ``removes`` in one transaction; returns the commit's version."""
    from deltalake import DeltaTable, Schema
    from deltalake.transaction import AddAction, CommitProperties, Transaction, create_table_with_add_actions

    table_uri, partition_by = plan.table_uri, plan.partition_by
    custom = plan.commit_metadata
    adds = [
        AddAction(
            path=r["path"], size=int(r["size"]), partition_values=json.loads(r["partition_values"]),
            modification_time=int(r["modification_time"]), data_change=True, stats=r["stats"],
        )
        for r in records
    ]
    props = CommitProperties(custom_metadata=custom, app_transactions=[Transaction(plan.app_id, plan.txn_version)])
    try:
        if table is None:
            create_table_with_add_actions(
                table_uri, Schema.from_arrow(plan.schema), adds, mode="error",
                partition_by=list(partition_by) or None, commit_properties=props,
            )
        else:
            # The snapshot the removes were planned on: delta-rs checks commits made since
            # against it, so a concurrent writer's change is a conflict, never a lost update.
            table.create_write_transaction(
                [*adds, *removes], "overwrite" if plan.mode == "overwrite" else "append", plan.schema,
                partition_by=list(partition_by) or None, commit_properties=props,
            )
    except Exception as exc:
        raise WriteError(f"{table_uri}: commit failed: {exc}") from exc
    # Our commit's version: the newest one carrying our app transaction (others may follow it).
    for commit in DeltaTable(table_uri).history(20):
        meta = commit.get("musim") or {}
        if meta.get("app_id") == plan.app_id and meta.get("txn_version") == str(plan.txn_version):
            return int(commit["version"])
    return DeltaTable(table_uri).version()


def commit_write(
    plan: WritePlan, records: list[dict], *, key_table: pa.Table | None, prefix: str, started: float,
) -> CommitResult:
    """Check the written files, plan the removes, commit once; delete this write's files on any failure or skip.

    Parameters
    ----------
    plan : WritePlan
    records : list of dict
        The written files (:data:`musim_spark.io.parquet.FILE_RECORD_SCHEMA` fields).
    key_table : pa.Table or None
        For ``replace``: the keys whose rows are removed (:meth:`WritePlan.replace_keys`).
    prefix : str
        The write's file prefix (:meth:`WritePlan.file_prefix`): rewritten files get it too, and
        every file carrying it that is not committed is deleted.
    started : float
        ``time.monotonic()`` when the write began.

    Raises
    ------
    WriteError
        Nulls in NOT NULL columns, a table of another schema or partitioning, a failed commit.
    """
    table_uri = plan.table_uri
    committed = False
    all_records = list(records)
    try:
        check_not_null(records, plan.schema, table_uri=table_uri)
        table = open_table(table_uri)
        if table is not None:
            check_table_schema(table, plan.schema, table_uri=table_uri)
            existing_parts = list(table.metadata().partition_columns)
            if existing_parts != list(plan.partition_by):
                raise WriteError(
                    f"{table_uri}: table is partitioned by {existing_parts}, write asked for {list(plan.partition_by)}"
                )
        done = skipped_result(plan, table, started)
        if done is not None:
            return done
        removes: list = []
        rows_removed = files_removed = 0
        if plan.mode == "replace" and key_table is not None:
            removes, rewritten, rows_removed = _plan_replace(table, plan, key_table, prefix)
            all_records += rewritten
            files_removed = len(removes)
        elif plan.mode == "overwrite" and table is not None:
            # delta-rs derives the remove actions of an overwrite itself (every current file).
            rows_removed = snapshot_row_count(table)
            files_removed = len(table.file_uris())
        version = _commit(table, plan, records=all_records, removes=removes)
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
        delete_files(table_uri, prefix, keep=[r["path"] for r in all_records] if committed else ())
