"""Run ids (musim_spark.runs) and the runs table (musim_spark.io.runs_table)."""

import datetime as dt
import re

import pytest

from musim_spark.errors import ParameterError
from musim_spark.runs import new_run_id, run_started_at, run_txn_version

UTC = dt.timezone.utc


def test_run_id_format_and_time():
    t = dt.datetime(2026, 11, 25, 9, 35, 12, 123456, tzinfo=UTC)
    rid = new_run_id(t)
    assert rid.startswith("r20261125T093512123Z-") and len(rid) == len("r20261125T093512123Z-1a2b3c")
    assert run_started_at(rid) == t.replace(microsecond=123000)
    assert run_txn_version(rid) == int(t.replace(microsecond=123000).timestamp() * 1000)


def test_naive_and_other_zones_are_utc():
    naive = dt.datetime(2026, 1, 1, 0, 0)
    seoul = dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert new_run_id(naive)[:21] == new_run_id(seoul)[:21] == "r20260101T000000000Z-"


def test_ids_sort_by_time_and_versions_are_monotone():
    t0 = dt.datetime(2026, 3, 1, tzinfo=UTC)
    ids = [new_run_id(t0 + dt.timedelta(milliseconds=k * 7)) for k in range(50)]
    assert sorted(ids) == ids
    versions = [run_txn_version(i) for i in ids]
    assert all(b > a for a, b in zip(versions, versions[1:]))


def test_same_millisecond_differs():
    # 1000 runs started in the same millisecond: the suffix (6 random hex digits, 16.7 M values)
    # tells them apart. Expected collisions ~0.03, so more than 2 means far fewer than 16.7 M
    # values (a 2-value, 1-byte or 2-byte suffix all fail here).
    t = dt.datetime(2026, 3, 1, tzinfo=UTC)
    ids = [new_run_id(t) for _ in range(1000)]
    assert all(re.fullmatch(r"r20260301T000000000Z-[0-9a-f]{6}", i) for i in ids)
    assert len(set(ids)) >= len(ids) - 2
    # every hex digit shows up in every suffix position (a fixed or narrowed position would not)
    for pos in range(6):
        assert len({i[-6 + pos] for i in ids}) == 16


@pytest.mark.parametrize("bad", ["", "run-1", "r20261125T093512123Z", "r20261325T093512123Z-1a2b3c",
                                 "r20261125T093512123Z-XYZ123", None])
def test_malformed_ids_are_refused(bad):
    with pytest.raises(ParameterError, match="malformed run id"):
        run_txn_version(bad)


def test_record_run_one_row_per_stage(tmp_path):
    from musim_spark.io.read import read_arrow
    from musim_spark.io.runs_table import record_run
    from musim_spark.io.tables import table_uri
    from musim_spark.spark import StageSummary
    from musim_spark.status import collect_status

    wh = str(tmp_path / "wh")
    t = dt.datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    rid = new_run_id(t)
    record_run(wh, run_id=rid, summary=StageSummary("ingest", 10, 8, 2, 12.5), status="failed",
               finished_at=t + dt.timedelta(seconds=20), conf_fingerprint="abc")
    again = record_run(wh, run_id=rid, summary=StageSummary("ingest", 10, 8, 2, 12.5), status="failed")
    assert again.skipped
    record_run(wh, run_id=rid, summary=StageSummary("ingest", 10, 9, 1, 3.0), status="ok",
               finished_at=t + dt.timedelta(seconds=60))
    rows = read_arrow(table_uri(wh, "runs")).to_pylist()
    assert len(rows) == 1
    assert (rows[0]["status"], rows[0]["rows_out"], rows[0]["finished_at"]) == ("ok", 9, t + dt.timedelta(seconds=60))
    assert rows[0]["started_at"] == t + dt.timedelta(seconds=57)
    assert collect_status(wh)["runs"][0]["run_id"] == rid
    with pytest.raises(ParameterError, match="status"):
        record_run(wh, run_id=rid, summary=StageSummary("ingest", 1, 1, 0, 1.0), status="done")


def test_record_run_of_a_stage_that_failed_before_counting(tmp_path):
    from musim_spark.io.read import read_arrow
    from musim_spark.io.runs_table import record_run
    from musim_spark.io.tables import table_uri

    wh = str(tmp_path / "wh")
    t = dt.datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    rid = new_run_id(t)
    record_run(wh, run_id=rid, summary=None, stage="ingest", status="failed", started_at=t,
               finished_at=t + dt.timedelta(seconds=5), metadata={"conf_fingerprint": "abc"})
    row, = read_arrow(table_uri(wh, "runs")).to_pylist()
    assert (row["stage"], row["status"], row["rows_in"], row["rows_out"], row["quarantined"]) == (
        "ingest", "failed", None, None, None)
    assert (row["started_at"], row["finished_at"]) == (t, t + dt.timedelta(seconds=5))
    with pytest.raises(ParameterError, match="summary or a stage"):
        record_run(wh, run_id=rid, summary=None, status="failed")
