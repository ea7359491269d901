"""musim_spark.io.delta with Spark: write_dataframe / read_dataframe (no Delta jars here)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from musim_spark.errors import WriteError
from musim_spark.io import delta
from musim_spark.io.tables import spark_schema
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
    assert conf.get("spark.master") == "local[2]"
    assert os.environ["PYSPARK_PYTHON"]
    assert not delta_jars_available(spark)  # no Maven here; True on a cluster with delta-spark


def test_written_table_reads_back_identically_everywhere(spark, tmp_path):
    uri = str(tmp_path / "notes")
    run = next_run()
    expected = arrow_rows(1000, run)
    res = delta.write_dataframe(
        to_df(spark, expected), uri, schema=SCHEMA, mode="append", run_id=run, app_id="test:notes",
        metadata={"stage": "test"},
    )
    assert (res.version, res.skipped, res.rows_added, res.files_added) == (0, False, 1000, 2)
    assert canonical(DeltaTable(uri).to_pyarrow_table()) == canonical(expected)
    back = delta.read_dataframe(spark, uri)
    # Spark reads Parquet columns as nullable whatever the schema says: compare names and types.
    assert back.schema.simpleString() == spark_schema(SCHEMA).simpleString()
    assert canonical(back.toArrow()) == canonical(expected)


def _duckdb_read(duckdb, uri):
    """DuckDB reads the table: natively with its delta extension where it is installed, else through
    delta-rs's Arrow dataset (the log's current files only; the extension cannot be downloaded here)."""
    con = duckdb.connect()
    try:
        con.sql("LOAD delta")
        return con.sql(f"SELECT * FROM delta_scan('{uri}')").to_arrow_table()
    except duckdb.Error:
        dataset = DeltaTable(uri).to_pyarrow_dataset()  # noqa: F841  (DuckDB scans it by name)
        return con.sql("SELECT * FROM dataset").to_arrow_table()


def test_written_table_reads_back_in_duckdb(spark, tmp_path):
    duckdb = pytest.importorskip("duckdb", reason="duckdb not installed")
    uri = str(tmp_path / "notes")
    run = next_run()
    expected = arrow_rows(100, run)
    delta.write_dataframe(to_df(spark, expected), uri, schema=SCHEMA, mode="append", run_id=run, app_id="t")
    assert canonical(_duckdb_read(duckdb, uri)) == canonical(expected)
    # After a replace, the removed files are still on disk: a reader that globbed the Parquet files
    # would count the replaced rows twice. DuckDB must see exactly the table's current rows.
    run2 = next_run()
    again = arrow_rows(100, run2)
    delta.write_dataframe(to_df(spark, again), uri, schema=SCHEMA, mode="replace", keys=["track_id"],
                          run_id=run2, app_id="t")
    assert len(list(Path(uri).rglob("*.parquet"))) > len(DeltaTable(uri).file_uris())
    assert canonical(_duckdb_read(duckdb, uri)) == canonical(again)


def test_failing_stage_leaves_old_version_and_no_files(spark, tmp_path, monkeypatch):
    uri = str(tmp_path / "notes")
    r1, r2 = next_run(), next_run()
    delta.write_dataframe(to_df(spark, arrow_rows(100, r1)), uri, schema=SCHEMA, mode="append",
                          run_id=r1, app_id="test:notes")
    before = files_on_disk(uri)

    def stage(batches):  # the last task fails after the others wrote their files
        import time

        from pyspark import TaskContext

        if TaskContext.get().partitionId() == 3:
            time.sleep(1.0)
            raise RuntimeError("stage blew up")
        yield from batches

    deleted = []
    real_delete = delta._delete_files

    def counting_delete(*args, **kwargs):
        deleted.append(real_delete(*args, **kwargs))
        return deleted[-1]

    monkeypatch.setattr(delta, "_delete_files", counting_delete)
    failing = to_df(spark, arrow_rows(400, r2, prefix="u"), partitions=4).mapInArrow(stage, spark_schema(SCHEMA))
    with pytest.raises(Exception, match="stage blew up"):
        delta.write_dataframe(failing, uri, schema=SCHEMA, mode="append", run_id=r2, app_id="test:notes")
    assert sum(deleted) >= 3  # tasks 0-2 had written files: they were there, and are gone
    assert delta.table_version(uri) == 0
    assert delta.read_dataframe(spark, uri).filter("track_id LIKE 'u%'").count() == 0
    assert delta.read_dataframe(spark, uri).count() == 100
    assert files_on_disk(uri) == before


def test_same_run_id_twice_gives_one_commit(spark, tmp_path):
    uri = str(tmp_path / "notes")
    run = next_run()
    df = to_df(spark, arrow_rows(200, run))
    first = delta.write_dataframe(df, uri, schema=SCHEMA, mode="append", run_id=run, app_id="test:notes")
    second = delta.write_dataframe(df, uri, schema=SCHEMA, mode="append", run_id=run, app_id="test:notes")
    assert not first.skipped and second.skipped
    assert delta.table_version(uri) == 0 and len(delta.history(uri)) == 1
    assert delta.read_dataframe(spark, uri).count() == 200


def test_partitioned_write_and_replace_by_key(spark, tmp_path):
    uri = str(tmp_path / "notes")
    r1, r2 = next_run(), next_run()
    old = arrow_rows(300, r1, tracks=30)
    delta.write_dataframe(to_df(spark, old), uri, schema=SCHEMA, mode="append", run_id=r1,
                          app_id="test:notes", partition_by=["genre"])
    folders = {p.split("/")[0] for p in files_on_disk(uri)}
    assert folders == {"genre=Rock", "genre=Trot", "genre=R&B%3A x", "genre=__HIVE_DEFAULT_PARTITION__"}
    assert canonical(delta.read_dataframe(spark, uri).toArrow()) == canonical(old)
    assert canonical(delta.read_arrow(uri)) == canonical(old)

    new = arrow_rows(6, r2, tracks=3)  # tracks t000..t002 re-processed: 6 rows replace their 30
    res = delta.write_dataframe(to_df(spark, new), uri, schema=SCHEMA, mode="replace", keys=["track_id"],
                                run_id=r2, app_id="test:notes", partition_by=["genre"])
    assert res.version == 1 and res.rows_added == 6 and res.rows_removed == 30
    kept = [r for r in canonical(old) if r["track_id"] not in {"t000", "t001", "t002"}]
    assert canonical(delta.read_dataframe(spark, uri).toArrow()) == sorted(
        kept + canonical(new), key=lambda r: (r["track_id"], r["start_s"]))
    assert canonical(delta.read_dataframe(spark, uri, version=0).toArrow()) == canonical(old)


def test_dataframe_schema_mismatch_names_the_column(spark, tmp_path):
    uri = str(tmp_path / "notes")
    run = next_run()
    from pyspark.sql import functions as F

    df = to_df(spark, arrow_rows(10, run)).withColumn("pitch", F.col("pitch").cast("bigint"))
    with pytest.raises(WriteError, match=r"pitch \(got bigint, table has int\)"):
        delta.write_dataframe(df, uri, schema=SCHEMA, mode="append", run_id=run, app_id="test:notes")
    assert not delta.table_exists(uri)


def test_empty_table_reads_as_empty_dataframe_with_schema(spark, tmp_path):
    uri = str(tmp_path / "notes")
    run = next_run()
    delta.write_arrow(arrow_rows(0, run), uri, schema=SCHEMA, mode="append", run_id=run, app_id="test:notes")
    back = delta.read_dataframe(spark, uri)
    assert back.count() == 0 and back.schema.simpleString() == spark_schema(SCHEMA).simpleString()


def test_format_delta_path(spark, tmp_path):
    if not delta_jars_available(spark):
        pytest.skip("Delta jars not on the classpath (no Maven here)")
    uri = str(tmp_path / "notes")
    run = next_run()
    res = delta.write_dataframe(to_df(spark, arrow_rows(20, run)), uri, schema=SCHEMA, mode="append",
                                run_id=run, app_id="test:notes", engine="spark")
    again = delta.write_dataframe(to_df(spark, arrow_rows(20, run)), uri, schema=SCHEMA, mode="append",
                                  run_id=run, app_id="test:notes", engine="spark")
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
