"""Spark DataFrames in and out of Delta tables.

Spark module: imports pyspark (inside functions, so importing it costs nothing). It is one of the
modules listed as such in ``tests/test_purity.py``; no other module of :mod:`musim_spark.io` does.

Two engines, same table and semantics (:class:`~musim_spark.io.settings.DeltaSettings`):

``spark`` (the Delta jars are on the classpath: a cluster with delta-spark via
``spark.jars.packages`` / ``spark.jars``)
    ``df.write.format("delta")`` with ``txnAppId`` / ``txnVersion`` / ``userMetadata``;
    ``mode="replace"`` is one ``MERGE`` (delete the matched keys, insert the new rows).

``delta-rs`` (no jars, e.g. here: no Maven)
    Spark tasks (``mapInArrow``) write Parquet files under the table directory, each with a
    unique name ``part-<run id>-<write id>-<task>-<n>.parquet`` (in ``col=value/`` folders when
    partitioned), and return each file's path, size and statistics (``numRecords``, min/max,
    ``nullCount``). The driver then commits ALL of them with ``deltalake`` in ONE transaction
    (:mod:`musim_spark.io.commit`). A file enters the table only through that commit, so files of
    a failed stage (an exception before the commit) or of a failed task attempt are never
    visible; they are deleted. For ``replace``, the replaced keys are read back from the files
    just written (key columns only), so the stage's DataFrame is evaluated once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterator, Sequence

import pyarrow as pa

from ..errors import ParameterError, WriteError
from .commit import CommitResult, commit_write, keys_of_files, skipped_result
from .parquet import FILE_RECORD_SCHEMA, delete_files, write_files
from .plan import WritePlan
from .read import history, open_table, table_version
from .schema import schema_differences
from .settings import ENGINES, Engine
from .tables import table_spec

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

__all__ = ["spark_schema", "write_dataframe", "read_dataframe"]


def spark_schema(name_or_schema: str | pa.Schema) -> "StructType":
    """The Spark ``StructType`` of a table (or of any Arrow schema), nullability included.

    Uses pyspark's own Arrow-to-Spark conversion, so the types match what ``mapInArrow`` and
    ``createDataFrame`` produce.

    Parameters
    ----------
    name_or_schema : str or pa.Schema
        A table name of :data:`musim_spark.io.tables.TABLES`, or an Arrow schema.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = table_spec(name_or_schema).schema if isinstance(name_or_schema, str) else name_or_schema
    return from_arrow_schema(schema)


def _check_spark_schema(got: "StructType", want: pa.Schema, *, table_uri: str) -> None:
    want_spark = spark_schema(want)
    problems = schema_differences(
        {f.name: f.dataType.simpleString() for f in got.fields},
        {f.name: f.dataType.simpleString() for f in want_spark.fields},
    )
    if problems:
        raise WriteError(f"{table_uri}: DataFrame does not match the table schema: " + "; ".join(problems))


def _spark_task_writer(table_uri: str, schema: pa.Schema, partition_by: Sequence[str], prefix: str):
    """The ``mapInArrow`` function: each task writes its rows, yields one record per file."""

    def write_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        task = TaskContext.get().partitionId()
        records = write_files(
            batches, table_uri=table_uri, schema=schema, partition_by=partition_by,
            prefix=f"{prefix}{task:05d}-",
        )
        yield pa.RecordBatch.from_pylist(records, schema=FILE_RECORD_SCHEMA)

    return write_partition


def write_dataframe(df: "DataFrame", plan: WritePlan, *, engine: Engine = "auto") -> CommitResult:
    """Write a Spark DataFrame to a Delta table in ONE commit.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Rows to write; its columns must be exactly ``plan.schema``'s (any order), with the same
        types (``spark_schema(plan.schema)``). Evaluating ``df`` runs the stage: an exception
        raised there leaves the table unchanged and this write's files deleted.
    plan : WritePlan
        Where and how (mode, keys, delete keys, partitioning, run id, app id, metadata).
    engine : {"auto", "spark", "delta-rs"}
        ``auto``: ``spark`` when the Delta jars are on the classpath, else ``delta-rs``
        (``DeltaSettings.engine``).

    Returns
    -------
    CommitResult

    Raises
    ------
    WriteError
        Schema mismatch (names the columns), nulls in NOT NULL columns, failed commit.
    ParameterError
        Bad engine.
    """
    started = time.monotonic()
    if engine not in ENGINES:
        raise ParameterError(f"engine must be auto, spark or delta-rs, got {engine!r}")
    _check_spark_schema(df.schema, plan.schema, table_uri=plan.table_uri)
    df = df.select(*plan.schema.names)
    if engine == "auto":
        from ..spark import delta_jars_available

        engine = "spark" if delta_jars_available(df.sparkSession) else "delta-rs"
    if engine == "spark":
        return _write_with_delta_spark(df, plan, started=started)
    done = skipped_result(plan, open_table(plan.table_uri), started)
    if done is not None:
        return done

    prefix = plan.file_prefix()
    records: list[dict] = []
    key_table = None
    try:
        written = df.mapInArrow(
            _spark_task_writer(plan.table_uri, plan.schema, plan.partition_by, prefix),
            spark_schema(FILE_RECORD_SCHEMA),
        ).toArrow()
        records = written.to_pylist()
        if plan.mode == "replace":
            # The keys come from the files just written (key columns only), so the stage's rows
            # are computed once, by the writing job, and a non-deterministic df cannot disagree.
            key_table = plan.replace_keys(keys_of_files(plan, records))
    except BaseException:
        delete_files(plan.table_uri, prefix)
        # Tasks Spark is still cancelling may finish a file after the first sweep.
        time.sleep(1.0)
        delete_files(plan.table_uri, prefix)
        raise
    return commit_write(plan, records, key_table=key_table, prefix=prefix, started=started)


def _write_with_delta_spark(df: "DataFrame", plan: WritePlan, *, started: float) -> CommitResult:
    """The ``format("delta")`` path (Delta jars on the classpath).

    Not exercised in this repository's CI (no Maven, so no jars): ``tests/test_delta_spark.py::
    test_format_delta_path`` runs it where the jars are present. Row and file counts come from the
    commit's ``operationMetrics``.
    """
    table_uri, keys, app_id, txn_version = plan.table_uri, plan.keys, plan.app_id, plan.txn_version
    before = table_version(table_uri)
    done = skipped_result(plan, open_table(table_uri), started)
    if done is not None:
        return done
    spark = df.sparkSession
    user_metadata = plan.commit_metadata["userMetadata"]
    if plan.mode in ("append", "overwrite") or before is None:
        writer = (
            df.write.format("delta").mode("overwrite" if plan.mode == "overwrite" else "append")
            .option("txnAppId", app_id).option("txnVersion", str(txn_version))
            .option("userMetadata", user_metadata)
        )
        if plan.partition_by:
            writer = writer.partitionBy(*plan.partition_by)
        writer.save(table_uri)
    else:
        # replace = one MERGE: delete-marker rows (keys only) delete the matches, the new rows
        # never match (their marker flag is false) and are inserted.
        from delta.tables import DeltaTable as SparkDeltaTable
        from pyspark.sql import functions as F

        key_df = df.select(*keys)
        if plan.delete_keys is not None:
            key_df = key_df.unionByName(spark.createDataFrame(plan.delete_keys.select(list(keys)).to_pandas()))
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

    Raises
    ------
    WriteError
        If there is no table (and no Delta jars to ask).
    """
    from ..spark import delta_jars_available

    if delta_jars_available(spark):
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", int(version))
        return reader.load(table_uri)
    table = open_table(table_uri, version)
    if table is None:
        raise WriteError(f"{table_uri}: no Delta table there")
    arrow_schema = schema if schema is not None else pa.schema(table.schema().to_arrow())
    struct = spark_schema(arrow_schema)
    uris = table.file_uris()
    if not uris:
        return spark.createDataFrame([], struct)
    base = table.table_uri.rstrip("/")
    return spark.read.schema(struct).option("basePath", base).parquet(*uris).select(*arrow_schema.names)
