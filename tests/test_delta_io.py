"""musim_spark.io without Spark: WritePlan, write_arrow (parquet + commit), the readers, DeltaSettings."""

from __future__ import annotations

import datetime as dt
import json
import os

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from musim_spark.errors import ParameterError, WriteError
from musim_spark.io import commit
from musim_spark.io.parquet import write_files
from musim_spark.io.plan import WritePlan
from musim_spark.io.read import history, read_arrow, run_committed, table_exists, table_row_count, table_version
from musim_spark.io.settings import DeltaSettings
from musim_spark.io.write import write_arrow
from musim_spark.runs import new_run_id

UTC = dt.timezone.utc
SCHEMA = pa.schema(
    [
        pa.field("track_id", pa.string(), nullable=False),
        pa.field("part", pa.string()),
        pa.field("pitch", pa.int32(), nullable=False),
        pa.field("start_s", pa.float64()),
        pa.field("at", pa.timestamp("us", tz="UTC")),
        pa.field("run_id", pa.string(), nullable=False),
    ]
)


class Runs:
    """Run ids in strictly increasing start order (a fresh millisecond each)."""

    def __init__(self):
        self.t = dt.datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

    def __call__(self) -> str:
        self.t += dt.timedelta(seconds=1)
        return new_run_id(self.t)


@pytest.fixture
def runs():
    return Runs()


def rows(track_ids, run_id, *, pitch0=60, part="a b"):
    n = len(track_ids)
    return pa.table(
        {
            "track_id": list(track_ids),
            "part": [part] * n,
            "pitch": pa.array([pitch0 + i for i in range(n)], pa.int32()),
            "start_s": [0.5 * i for i in range(n)],
            "at": pa.array([dt.datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)] * n, pa.timestamp("us", tz="UTC")),
            "run_id": [run_id] * n,
        },
        schema=SCHEMA,
    )


def write(tbl, uri, run_id, mode="append", **kw):
    kw.setdefault("app_id", "test:notes")
    return write_arrow(tbl, WritePlan(uri, schema=SCHEMA, mode=mode, run_id=run_id, **kw))


def sort(t: pa.Table) -> pa.Table:
    return t.select(SCHEMA.names).sort_by([("track_id", "ascending"), ("pitch", "ascending")])


def data_files(uri):
    out = set()
    for root, dirs, files in os.walk(uri):
        dirs[:] = [d for d in dirs if d != "_delta_log"]
        out |= {os.path.relpath(os.path.join(root, f), uri) for f in files}
    return out


def test_append_reads_back_identically_and_records_metadata(tmp_path, runs):
    uri = str(tmp_path / "t")
    run = runs()
    t = rows(["a", "a", "b"], run)
    res = write(t, uri, run, metadata={"stage": "ingest", "conf_fingerprint": "abc123"})
    assert (res.version, res.skipped, res.rows_added, res.files_added) == (0, False, 3, 1)
    assert sort(read_arrow(uri)).equals(sort(t))
    # deltalake on its own (not through our module) sees the same rows
    assert sort(DeltaTable(uri).to_pyarrow_table()).cast(SCHEMA).equals(sort(t))
    proto = DeltaTable(uri).protocol()
    assert (proto.min_reader_version, proto.min_writer_version) == (1, 2)
    commit = history(uri, 1)[0]
    meta = json.loads(commit["userMetadata"])
    assert meta["run_id"] == run and meta["stage"] == "ingest" and meta["conf_fingerprint"] == "abc123"
    assert commit["musim"]["app_id"] == "test:notes"
    assert table_row_count(uri) == 3
    # Statistics are in the log (status and file pruning rely on them).
    actions = pa.table(DeltaTable(uri).get_add_actions(flatten=True)).to_pylist()
    assert actions[0]["num_records"] == 3 and actions[0]["min.track_id"] == "a" and actions[0]["max.pitch"] == 62


def test_same_run_id_twice_commits_once(tmp_path, runs):
    uri = str(tmp_path / "t")
    run = runs()
    assert not run_committed(uri, app_id="test:notes", run_id=run)
    write(rows(["a"], run), uri, run)
    again = write(rows(["a"], run), uri, run)
    assert again.skipped and again.version == 0
    assert table_version(uri) == 0 and read_arrow(uri).num_rows == 1
    assert run_committed(uri, app_id="test:notes", run_id=run)
    assert len(data_files(uri)) == 1  # the skipped attempt's file is gone
    # another app id (another stage writing the same table) is independent
    other = write(rows(["b"], run), uri, run, app_id="test:other")
    assert not other.skipped and other.version == 1


def test_replace_by_key_in_one_commit(tmp_path, runs):
    uri = str(tmp_path / "t")
    r1, r2 = runs(), runs()
    write(rows(["a", "a", "b", "c"], r1), uri, r1)
    write(rows(["d"], r1), uri, r1, app_id="test:second")  # a second file the replace must not touch
    d_file = [a["path"] for a in pa.table(DeltaTable(uri).get_add_actions(flatten=True)).to_pylist()
              if a["min.track_id"] == "d"]
    res = write(rows(["b", "e"], r2, pitch0=10), uri, r2, mode="replace", keys=["track_id"])
    assert res.version == 2 and res.rows_added == 2 and res.rows_removed == 1
    got = sort(read_arrow(uri)).to_pylist()
    assert [(r["track_id"], r["pitch"], r["run_id"]) for r in got] == [
        ("a", 60, r1), ("a", 61, r1), ("b", 10, r2), ("c", 63, r1), ("d", 60, r1), ("e", 11, r2)
    ]
    # one commit: the version before still has the old b row and no e
    before = sort(read_arrow(uri, version=1)).to_pylist()
    assert [(r["track_id"], r["pitch"]) for r in before] == [("a", 60), ("a", 61), ("b", 62), ("c", 63), ("d", 60)]
    # the file holding only "d" was pruned by its statistics, not rewritten
    assert res.files_removed == 1
    assert d_file[0] in pa.table(DeltaTable(uri).get_add_actions(flatten=True)).column("path").to_pylist()


def test_replace_with_delete_keys_only(tmp_path, runs):
    uri = str(tmp_path / "t")
    r1, r2 = runs(), runs()
    write(rows(["a", "b", "c"], r1), uri, r1)
    gone = pa.table({"track_id": ["b", "zz"]})
    res = write(rows([], r2), uri, r2, mode="replace", keys=["track_id"], delete_keys=gone)
    assert res.rows_removed == 1 and res.rows_added == 0
    assert sorted(read_arrow(uri).column("track_id").to_pylist()) == ["a", "c"]


def test_replace_by_two_keys(tmp_path, runs):
    uri = str(tmp_path / "t")
    r1, r2 = runs(), runs()
    write(rows(["a", "a", "b"], r1), uri, r1)  # pitches 60, 61, 62
    new = rows(["a"], r2, pitch0=61)  # replaces (a, 61) only
    write(new, uri, r2, mode="replace", keys=["track_id", "pitch"])
    got = sorted((r["track_id"], r["pitch"], r["run_id"]) for r in read_arrow(uri).to_pylist())
    assert got == [("a", 60, r1), ("a", 61, r2), ("b", 62, r1)]


def test_overwrite_and_time_travel(tmp_path, runs):
    uri = str(tmp_path / "t")
    r1, r2 = runs(), runs()
    write(rows(["a", "b"], r1), uri, r1)
    res = write(rows(["c"], r2), uri, r2, mode="overwrite")
    assert res.rows_removed == 2 and res.files_removed == 1
    assert read_arrow(uri).column("track_id").to_pylist() == ["c"]
    assert sorted(read_arrow(uri, version=0).column("track_id").to_pylist()) == ["a", "b"]
    assert read_arrow(uri, version=0, columns=["pitch"]).column_names == ["pitch"]


def test_partitioned_write_replace_and_read(tmp_path, runs):
    uri = str(tmp_path / "t")
    r1, r2 = runs(), runs()
    t = pa.concat_tables([rows(["a", "b"], r1, part="x y"), rows(["c"], r1, part="z:1"), rows(["n"], r1, part=None)])
    write(t, uri, r1, partition_by=["part"])
    dirs = {p.split("/")[0] for p in data_files(uri)}
    assert dirs == {"part=x y", "part=z%3A1", "part=__HIVE_DEFAULT_PARTITION__"}
    assert DeltaTable(uri).metadata().partition_columns == ["part"]
    assert sort(read_arrow(uri)).equals(sort(t))
    write(rows(["b"], r2, pitch0=1, part="z:1"), uri, r2, mode="replace", keys=["track_id"], partition_by=["part"])
    got = sorted((r["track_id"], r["part"], r["pitch"]) for r in read_arrow(uri).to_pylist())
    assert got == [("a", "x y", 60), ("b", "z:1", 1), ("c", "z:1", 60), ("n", None, 60)]
    with pytest.raises(WriteError, match="partitioned by"):
        write(rows(["q"], runs()), uri, runs(), partition_by=[])


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda t: t.drop_columns(["start_s"]), "start_s"),
        (lambda t: t.append_column("extra", pa.array([1] * t.num_rows)), "extra"),
        (lambda t: t.set_column(2, "pitch", t.column("pitch").cast(pa.int64())), "pitch"),
        (lambda t: t.set_column(4, "at", t.column("at").cast(pa.timestamp("us"))), "at"),
    ],
)
def test_schema_mismatch_is_a_clear_error_and_writes_nothing(tmp_path, runs, change, named):
    uri = str(tmp_path / "t")
    run = runs()
    with pytest.raises(WriteError, match=named):
        write(change(rows(["a"], run)), uri, run)
    assert not table_exists(uri)
    assert data_files(uri) == set()


def test_nulls_in_not_null_column_are_refused_and_cleaned_up(tmp_path, runs):
    uri = str(tmp_path / "t")
    r1, r2 = runs(), runs()
    write(rows(["a"], r1), uri, r1)
    before = data_files(uri)
    bad = rows(["a", "b"], r2)
    bad = bad.set_column(0, pa.field("track_id", pa.string()), pa.array(["x", None]))
    with pytest.raises(WriteError, match=r"track_id \(1 rows\)"):
        write(bad, uri, r2)
    assert table_version(uri) == 0 and data_files(uri) == before


def test_existing_table_with_other_schema_is_refused(tmp_path, runs):
    uri = str(tmp_path / "t")
    r1 = runs()
    write(rows(["a"], r1), uri, r1)
    other = pa.schema([*SCHEMA, pa.field("new_col", pa.string())])
    t = rows(["b"], r1).append_column("new_col", pa.array(["v"]))
    with pytest.raises(WriteError, match="new_col"):
        write_arrow(t, WritePlan(uri, schema=other, mode="append", run_id=runs(), app_id="x"))


def test_failed_commit_leaves_table_and_disk_unchanged(tmp_path, runs, monkeypatch):
    uri = str(tmp_path / "t")
    r1, r2 = runs(), runs()
    write(rows(["a", "b"], r1), uri, r1)
    before = data_files(uri)

    def refuse(*args, **kwargs):
        raise WriteError("simulated conflict")

    monkeypatch.setattr(commit, "_commit", refuse)
    with pytest.raises(WriteError, match="simulated"):
        write(rows(["b", "c"], r2), uri, r2, mode="replace", keys=["track_id"])
    assert table_version(uri) == 0 and data_files(uri) == before


def test_bad_arguments(tmp_path, runs):
    uri = str(tmp_path / "t")
    with pytest.raises(ParameterError, match="keys"):
        write(rows(["a"], runs()), uri, runs(), mode="replace")
    with pytest.raises(ParameterError, match="mode"):
        write(rows(["a"], runs()), uri, runs(), mode="upsert")
    with pytest.raises(ParameterError, match="malformed run id"):
        write(rows(["a"], "run-1"), uri, "run-1")
    with pytest.raises(WriteError, match="no Delta table"):
        read_arrow(uri)
    assert table_version(uri) is None and history(uri) == [] and table_row_count(uri) is None


def test_write_plan_is_validated_once_before_anything_is_written(tmp_path, runs):
    uri = str(tmp_path / "t")
    run = runs()
    plan = dict(schema=SCHEMA, run_id=run, app_id="a")
    with pytest.raises(ParameterError, match="only meaningful with mode='replace'"):
        WritePlan(uri, mode="append", delete_keys=pa.table({"track_id": ["x"]}), **plan)
    with pytest.raises(WriteError, match=r"lacks key column\(s\) \['track_id'\]"):
        WritePlan(uri, mode="replace", keys=["track_id"], delete_keys=pa.table({"id": ["x"]}), **plan)
    with pytest.raises(WriteError, match="track_id"):
        WritePlan(uri, mode="replace", keys=["track_id"], delete_keys=pa.table({"track_id": [1]}), **plan)
    with pytest.raises(ParameterError, match=r"\['nope'\] not in the schema"):
        WritePlan(uri, mode="replace", keys=["nope"], **plan)
    with pytest.raises(ParameterError, match="app_id"):
        WritePlan(uri, mode="append", **{**plan, "app_id": ""})
    good = WritePlan(uri, mode="replace", keys=["track_id"], delete_keys=pa.table({"track_id": ["x", "x", "y"]}),
                     metadata={"stage": 1}, **plan)
    assert good.keys == ("track_id",) and sorted(good.delete_keys.column("track_id").to_pylist()) == ["x", "y"]
    assert sorted(good.replace_keys(rows(["y", "b", "b"], run)).column("track_id").to_pylist()) == ["b", "x", "y"]
    # every attempt gets its own file names, even with the same plan
    assert good.file_prefix() != good.file_prefix() and good.file_prefix().startswith(f"part-{run}-")
    assert good.commit_metadata["musim"] == {"stage": "1", "run_id": run, "app_id": "a",
                                             "txn_version": str(good.txn_version), "mode": "replace"}
    assert json.loads(good.commit_metadata["userMetadata"]) == good.commit_metadata["musim"]
    assert not os.path.exists(uri)


def test_small_batches_make_one_row_group_and_long_strings_keep_bounded_stats(tmp_path, runs):
    import pyarrow.parquet as pq

    uri = str(tmp_path / "t")
    run = runs()
    pieces = [rows([f"k{i:03d}"], run) for i in range(200)]
    long_text = "x" * 500
    pieces.append(rows(["zz" + long_text], run))
    records = write_files(
        (b for p in pieces for b in p.to_batches()), table_uri=uri, schema=SCHEMA, partition_by=(), prefix="part-t-"
    )
    assert len(records) == 1 and records[0]["num_records"] == 201
    assert pq.ParquetFile(os.path.join(uri, records[0]["path"])).num_row_groups == 1
    stats = json.loads(records[0]["stats"])
    assert stats["minValues"]["track_id"] == "k000"
    assert "track_id" not in stats["maxValues"]  # a cut maximum would not be an upper bound
    assert stats["maxValues"]["pitch"] == 60 and stats["nullCount"]["part"] == 0


def test_delta_settings_from_config(tmp_path):
    from musim_spark.config import load_config

    assert DeltaSettings.from_config(None) == DeltaSettings.from_config(load_config(None)) == DeltaSettings("auto")
    (tmp_path / "c.yaml").write_text("delta:\n  engine: delta-rs\n")
    assert DeltaSettings.from_config(load_config(tmp_path / "c.yaml")).engine == "delta-rs"
    (tmp_path / "d.yaml").write_text("delta:\n  engine: fast\n")
    with pytest.raises(ParameterError, match="engine"):
        DeltaSettings.from_config(load_config(tmp_path / "d.yaml"))
    (tmp_path / "e.yaml").write_text("delta:\n  engin: spark\n")
    with pytest.raises(ParameterError, match="unknown setting"):
        DeltaSettings.from_config(load_config(tmp_path / "e.yaml"))


def test_concurrent_replace_is_a_conflict_not_a_lost_update(tmp_path, runs, monkeypatch):
    uri = str(tmp_path / "t")
    r1, r_other, r2 = runs(), runs(), runs()
    write(rows(["a", "b"], r1), uri, r1)
    r1_file, = data_files(uri)
    real_commit = commit._commit

    def other_writer_first(table, plan, **kwargs):
        monkeypatch.setattr(commit, "_commit", real_commit)
        write(rows(["a"], r_other, pitch0=1), uri, r_other, mode="replace", keys=["track_id"], app_id="other")
        return real_commit(table, plan, **kwargs)

    monkeypatch.setattr(commit, "_commit", other_writer_first)
    with pytest.raises(WriteError, match="commit failed"):
        write(rows(["a"], r2, pitch0=7), uri, r2, mode="replace", keys=["track_id"])
    assert sorted((r["track_id"], r["pitch"]) for r in read_arrow(uri).to_pylist()) == [("a", 1), ("b", 61)]
    live = {p for p in pa.table(DeltaTable(uri).get_add_actions(flatten=True)).column("path").to_pylist()}
    # The table is the other writer's: its new row and its rewrite of the file holding "b"...
    assert len(live) == 2 and all(p.startswith(f"part-{r_other}-") for p in live)
    # ... and on disk besides only the file that commit removed (kept for time travel): the
    # losing write's files (its new row and its own rewrite of that file) are all gone.
    assert data_files(uri) == live | {r1_file}
    assert not any(r2 in p for p in data_files(uri))


def test_a_process_that_read_a_table_exits_cleanly(tmp_path):
    """deltalake's default reader leaves a thread that aborts the interpreter at exit ("terminate
    called without an active exception", status 134) in about two of three runs here; a command that
    read a table must exit 0, or a scheduler reports a failed night."""
    import subprocess
    import sys

    from deltalake import write_deltalake

    uri = tmp_path / "t"
    write_deltalake(str(uri), pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}))
    write_deltalake(str(uri), pa.table({"a": [4], "b": ["w"]}), mode="append")
    code = ("import sys; from musim_spark.io.read import read_arrow; "
            "t = read_arrow(sys.argv[1], filter=[('a', '>', 1)]); "
            "print(t.num_rows, read_arrow(sys.argv[1], version=0).num_rows)")
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", code, f"file://{uri}"], capture_output=True, text=True,
                              timeout=120)
        assert (done.returncode, done.stdout.strip()) == (0, "3 3"), done.stderr[-500:]


def test_local_filesystem_only_for_local_tables(tmp_path):
    from musim_spark.io.read import local_filesystem

    assert local_filesystem("s3://bucket/warehouse/tracks") is None
    assert local_filesystem("abfss://c@a.dfs.core.windows.net/t") is None
    for uri in (str(tmp_path), f"file://{tmp_path}", tmp_path):
        fs = local_filesystem(uri)
        assert fs is not None and fs.base_path.rstrip("/") == str(tmp_path)
