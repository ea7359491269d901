"""musim_spark.io.spark_io: write_dataframe / read_dataframe with Spark (no Delta jars here)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from musim_spark.errors import ParameterError, WriteError
from musim_spark.io import spark_io
from musim_spark.io.plan import WritePlan
from musim_spark.io.read import history, read_arrow, table_exists, table_version
from musim_spark.io.spark_io import read_dataframe, spark_schema, write_dataframe
from musim_spark.io.write import write_arrow
from musim_spark.runs import new_run_id
from musim_spark.spark import StageSummary, delta_jars_available, spark_conf_pairs

pytestmark = pytest.mark.spark

UTC = dt.timezone.utc
SCHEMA = pa.schema(
    [
        pa.field("track_id", pa.string(), nullable=False),
        pa.field("genre", pa.string()),
        pa.field("pitch", pa.int32(), nullable=False),
        pa.field("start_s", pa.float64()),
        pa.field("at", pa.timestamp("us", tz="UTC")),
        pa.field("sections", pa.list_(pa.struct([pa.field("start_ms", pa.int64()), pa.field("dur_ms", pa.int64())]))),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)

_T0 = [dt.datetime(2026, 11, 25, 8, 0, tzinfo=UTC)]


def next_run() -> str:
    _T0[0] += dt.timedelta(seconds=1)
    return new_run_id(_T0[0])


def arrow_rows(n: int, run_id: str, *, prefix: str = "t", tracks: int = 50) -> pa.Table:
    return pa.table(
        {
            "track_id": [f"{prefix}{i % tracks:03d}" for i in range(n)],
            "genre": [("Rock", "Trot", "R&B: x", None)[i % 4] for i in range(n)],
            "pitch": pa.array([i % 128 for i in range(n)], pa.int32()),
            "start_s": [i * 0.25 for i in range(n)],
            "at": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
            "sections": [[{"start_ms": i, "dur_ms": 10}] if i % 2 else [] for i in range(n)],
            "run_id": [run_id] * n,
        },
        schema=SCHEMA,
    )


def plan(uri: str, run_id: str, mode: str = "append", app_id: str = "test:notes", **kw) -> WritePlan:
    return WritePlan(uri, schema=SCHEMA, mode=mode, run_id=run_id, app_id=app_id, **kw)


def to_df(spark, table: pa.Table, partitions: int = 2):
    return spark.createDataFrame(table.to_pandas(), spark_schema(SCHEMA)).repartition(partitions)


def canonical(table: pa.Table) -> list[dict]:
    cols = [c for c in SCHEMA.names]
    return sorted(table.select(cols).cast(SCHEMA).to_pylist(), key=lambda r: (r["track_id"], r["start_s"]))


def files_on_disk(uri):
    out = set()
    for root, dirs, files in os.walk(uri):
        dirs[:] = [d for d in dirs if d != "_delta_log"]
        out |= {os.path.relpath(os.path.join(root, f), uri) for f in files}
    return out


def test_session_settings(spark):
    conf = spark.sparkContext.getConf()
    assert spark.conf.get("spark.sql.parquet.outputTimestampType") == "TIMESTAMP_MICROS"
    assert spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch") == "1000"
    assert conf.get("spark.master") == "local[2,3]"  # failed tasks retried, as on a cluster (conftest)
    assert os.environ["PYSPARK_PYTHON"]
    assert not delta_jars_available(spark)  # no Maven here; True on a cluster with delta-spark


def test_written_table_reads_back_identically_everywhere(spark, tmp_path):
    uri = str(tmp_path / "notes")
    run = next_run()
    expected = arrow_rows(1000, run)
    res = write_dataframe(to_df(spark, expected), plan(uri, run, metadata={"stage": "test"}))
    assert (res.version, res.skipped, res.rows_added, res.files_added) == (0, False, 1000, 2)
    assert canonical(DeltaTable(uri).to_pyarrow_table()) == canonical(expected)
    back = read_dataframe(spark, uri)
    # Spark reads Parquet columns as nullable whatever the schema says: compare names and types.
    assert back.schema.simpleString() == spark_schema(SCHEMA).simpleString()
    assert canonical(back.toArrow()) == canonical(expected)


def _replaced_table(spark, uri):
    """A table written, then replaced by key: its old files stay on disk, out of the log."""
    run, run2 = next_run(), next_run()
    write_dataframe(to_df(spark, arrow_rows(100, run)), plan(uri, run, app_id="t"))
    again = arrow_rows(100, run2)
    write_dataframe(to_df(spark, again), plan(uri, run2, "replace", app_id="t", keys=["track_id"]))
    assert len(list(Path(uri).rglob("*.parquet"))) > len(DeltaTable(uri).file_uris())
    return again


def test_duckdb_parquet_reader_reads_the_files_the_delta_log_lists(spark, tmp_path):
    """DuckDB's own Parquet reader (not delta-rs's) reads the files we wrote (UTC timestamps, lists
    of structs...), and the log's file list is what a reader needs: the removed files are still on
    disk, so globbing the folder would count the replaced rows twice."""
    duckdb = pytest.importorskip("duckdb", reason="duckdb not installed")
    uri = str(tmp_path / "notes")
    current = _replaced_table(spark, uri)
    con = duckdb.connect()
    listed = DeltaTable(uri).file_uris()
    got = con.sql("SELECT * FROM read_parquet(?)", params=[listed]).to_arrow_table()
    assert canonical(got) == canonical(current)
    everything, = con.sql("SELECT count(*) FROM read_parquet(?)", params=[f"{uri}/*.parquet"]).fetchall()[0]
    assert everything == 200  # the 100 replaced rows are on disk too


def test_duckdb_delta_extension_reads_the_table(spark, tmp_path):
    """DuckDB's delta extension (``delta_scan``) reads the table, where the extension can be loaded
    (it is downloaded on first use: not possible here, so this is skipped offline)."""
    duckdb = pytest.importorskip("duckdb", reason="duckdb not installed")
    con = duckdb.connect()
    try:
        con.sql("LOAD delta")
    except duckdb.Error as exc:
        pytest.skip(f"DuckDB delta extension not available: {str(exc).splitlines()[0]}")
    uri = str(tmp_path / "notes")
    current = _replaced_table(spark, uri)
    assert canonical(con.sql(f"SELECT * FROM delta_scan('{uri}')").to_arrow_table()) == canonical(current)


def test_failing_stage_leaves_old_version_and_no_files(spark, tmp_path, monkeypatch):
    uri = str(tmp_path / "notes")
    r1, r2 = next_run(), next_run()
    write_dataframe(to_df(spark, arrow_rows(100, r1)), plan(uri, r1))
    before = files_on_disk(uri)

    def stage(batches):  # the last task fails after the others wrote their files
        import time

        from pyspark import TaskContext

        if TaskContext.get().partitionId() == 3:
            time.sleep(1.0)
            raise RuntimeError("stage blew up")
        yield from batches

    deleted = []
    real_delete = spark_io.delete_files

    def counting_delete(*args, **kwargs):
        deleted.append(real_delete(*args, **kwargs))
        return deleted[-1]

    monkeypatch.setattr(spark_io, "delete_files", counting_delete)
    failing = to_df(spark, arrow_rows(400, r2, prefix="u"), partitions=4).mapInArrow(stage, spark_schema(SCHEMA))
    with pytest.raises(Exception, match="stage blew up"):
        write_dataframe(failing, plan(uri, r2))
    assert sum(deleted) >= 3  # tasks 0-2 had written files: they were there, and are gone
    assert table_version(uri) == 0
    assert read_dataframe(spark, uri).filter("track_id LIKE 'u%'").count() == 0
    assert read_dataframe(spark, uri).count() == 100
    assert files_on_disk(uri) == before


def test_same_run_id_twice_gives_one_commit(spark, tmp_path):
    uri = str(tmp_path / "notes")
    run = next_run()
    df = to_df(spark, arrow_rows(200, run))
    first = write_dataframe(df, plan(uri, run))
    second = write_dataframe(df, plan(uri, run))
    assert not first.skipped and second.skipped
    assert table_version(uri) == 0 and len(history(uri)) == 1
    assert read_dataframe(spark, uri).count() == 200


def test_partitioned_write_and_replace_by_key(spark, tmp_path):
    uri = str(tmp_path / "notes")
    r1, r2 = next_run(), next_run()
    old = arrow_rows(300, r1, tracks=30)
    write_dataframe(to_df(spark, old), plan(uri, r1, partition_by=["genre"]))
    folders = {p.split("/")[0] for p in files_on_disk(uri)}
    assert folders == {"genre=Rock", "genre=Trot", "genre=R&B%3A x", "genre=__HIVE_DEFAULT_PARTITION__"}
    assert canonical(read_dataframe(spark, uri).toArrow()) == canonical(old)
    assert canonical(read_arrow(uri)) == canonical(old)

    new = arrow_rows(6, r2, tracks=3)  # tracks t000..t002 re-processed: 6 rows replace their 30
    res = write_dataframe(to_df(spark, new), plan(uri, r2, "replace", keys=["track_id"], partition_by=["genre"]))
    assert res.version == 1 and res.rows_added == 6 and res.rows_removed == 30
    kept = [r for r in canonical(old) if r["track_id"] not in {"t000", "t001", "t002"}]
    assert canonical(read_dataframe(spark, uri).toArrow()) == sorted(
        kept + canonical(new), key=lambda r: (r["track_id"], r["start_s"]))
    assert canonical(read_dataframe(spark, uri, version=0).toArrow()) == canonical(old)


def test_dataframe_schema_mismatch_names_the_column(spark, tmp_path):
    uri = str(tmp_path / "notes")
    run = next_run()
    from pyspark.sql import functions as F

    df = to_df(spark, arrow_rows(10, run)).withColumn("pitch", F.col("pitch").cast("bigint"))
    with pytest.raises(WriteError, match=r"pitch \(got bigint, table has int\)"):
        write_dataframe(df, plan(uri, run))
    with pytest.raises(ParameterError, match="engine"):
        write_dataframe(df, plan(uri, run), engine="fast")
    assert not table_exists(uri)


def test_empty_table_reads_as_empty_dataframe_with_schema(spark, tmp_path):
    uri = str(tmp_path / "notes")
    run = next_run()
    write_arrow(arrow_rows(0, run), plan(uri, run))
    back = read_dataframe(spark, uri)
    assert back.count() == 0 and back.schema.simpleString() == spark_schema(SCHEMA).simpleString()


def test_format_delta_path(spark, tmp_path):
    if not delta_jars_available(spark):
        pytest.skip("Delta jars not on the classpath (no Maven here)")
    uri = str(tmp_path / "notes")
    run = next_run()
    res = write_dataframe(to_df(spark, arrow_rows(20, run)), plan(uri, run), engine="spark")
    again = write_dataframe(to_df(spark, arrow_rows(20, run)), plan(uri, run), engine="spark")
    assert not res.skipped and again.skipped
    assert canonical(DeltaTable(uri).to_pyarrow_table()) == canonical(arrow_rows(20, run))


def test_conf_pairs_and_stage_summary():
    from musim_spark.config import SparkSettings

    pairs = spark_conf_pairs(SparkSettings(master="local[3]", shuffle_partitions=7, arrow_batch_size=5,
                                           event_log_dir="/tmp/ev", conf={"spark.sql.shuffle.partitions": "9"}))
    assert pairs["spark.sql.shuffle.partitions"] == "9"  # explicit conf wins
    assert pairs["spark.eventLog.enabled"] == "true" and pairs["spark.eventLog.dir"] == "/tmp/ev"
    assert "spark.sql.extensions" not in pairs
    with_jars = spark_conf_pairs(SparkSettings(conf={"spark.jars.packages": "io.delta:delta-spark_2.13:4.0.0"}))
    assert with_jars["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert str(StageSummary("ingest", 10, 8, 2, 1.26)) == "ingest: rows in 10, rows out 8, quarantined 2, 1.3 s"
