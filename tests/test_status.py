"""musim status: tables, versions, row counts (from the log), last runs, quarantine summary."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from musim_spark import cli
from musim_spark.io.plan import WritePlan
from musim_spark.io.tables import TABLES, table_uri
from musim_spark.io.write import write_arrow
from musim_spark.runs import new_run_id
from musim_spark.status import collect_status, format_status

UTC = dt.timezone.utc


def fill(schema: pa.Schema, n: int, **columns) -> pa.Table:
    """``n`` rows for any table schema: given columns as passed, others a plain value of their type."""
    arrays = []
    for f in schema:
        if f.name in columns:
            arrays.append(pa.array(columns[f.name], f.type))
            continue
        t = f.type
        if pa.types.is_string(t):
            v = [f"{f.name}-{i}" for i in range(n)]
        elif pa.types.is_integer(t):
            v = list(range(n))
        elif pa.types.is_floating(t):
            v = [0.5 * i for i in range(n)]
        elif pa.types.is_boolean(t):
            v = [i % 2 == 0 for i in range(n)]
        elif pa.types.is_timestamp(t):
            v = [dt.datetime(2026, 11, 25, 9, 0, i, tzinfo=UTC) for i in range(n)]
        else:
            v = [None] * n
        arrays.append(pa.array(v, t))
    return pa.Table.from_arrays(arrays, schema=schema)


def build_warehouse(wh):
    t0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    r1, r2 = new_run_id(t0), new_run_id(t0 + dt.timedelta(minutes=5))
    tracks = TABLES["tracks"]
    write_arrow(fill(tracks.schema, 7, run_id=[r1] * 7), WritePlan(
        table_uri(wh, "tracks"), schema=tracks.schema, mode="append", run_id=r1, app_id="ingest:tracks"))
    write_arrow(fill(tracks.schema, 2, run_id=[r2] * 2), WritePlan(
        table_uri(wh, "tracks"), schema=tracks.schema, mode="append", run_id=r2, app_id="ingest:tracks"))
    q = TABLES["quarantine"]
    reasons = ["WAV_TRUNCATED", "WAV_TRUNCATED", "MIDI_CORRUPT", "WAV_TRUNCATED"]
    write_arrow(fill(q.schema, 4, reason=reasons, stage=["ingest"] * 4, run_id=[r2] * 4), WritePlan(
        table_uri(wh, "quarantine"), schema=q.schema, mode="append", run_id=r2, app_id="ingest:q"))
    runs = TABLES["runs"]
    write_arrow(
        fill(runs.schema, 2, run_id=[r1, r2], stage=["ingest", "ingest"], status=["ok", "ok"],
             started_at=[t0, t0 + dt.timedelta(minutes=5)],
             finished_at=[t0 + dt.timedelta(seconds=30), t0 + dt.timedelta(minutes=5, seconds=12)],
             rows_in=[7, 6], rows_out=[7, 2], quarantined=[0, 4]),
        WritePlan(table_uri(wh, "runs"), schema=runs.schema, mode="append", run_id=r2, app_id="musim:runs"))
    return r1, r2


def test_collect_status(tmp_path):
    wh = str(tmp_path / "wh")
    r1, r2 = build_warehouse(wh)
    s = collect_status(wh)
    by_name = {t["name"]: t for t in s["tables"]}
    assert set(by_name) == set(TABLES)
    assert by_name["tracks"]["exists"] and by_name["tracks"]["version"] == 1
    assert by_name["tracks"]["rows"] == 9 and by_name["tracks"]["files"] == 2
    assert by_name["tracks"]["last_run_id"] == r2
    assert by_name["notes"] == {"name": "notes", "uri": table_uri(wh, "notes"), "exists": False}
    assert [r["run_id"] for r in s["runs"]] == [r2, r1]
    assert s["quarantine_total"] == 4
    assert s["quarantine"] == [
        {"stage": "ingest", "reason": "WAV_TRUNCATED", "count": 3},
        {"stage": "ingest", "reason": "MIDI_CORRUPT", "count": 1},
    ]
    text = format_status(s)
    assert "WAV_TRUNCATED" in text and "(not written yet)" in text and "12 s" in text


def test_row_count_comes_from_the_log_not_a_scan(tmp_path):
    wh = str(tmp_path / "wh")
    build_warehouse(wh)
    # Break every data file: a scan would fail, the log's statistics still answer.
    files = list((tmp_path / "wh" / "tracks").glob("*.parquet"))
    assert files
    for f in files:
        f.write_bytes(b"broken")
    s = collect_status(wh)
    assert {t["name"]: t.get("rows") for t in s["tables"]}["tracks"] == 9


def test_status_command_json_and_text(tmp_path, capsys):
    wh = str(tmp_path / "wh")
    build_warehouse(wh)
    assert cli.main(["status", "--warehouse", wh, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quarantine_total"] == 4 and len(out["runs"]) == 2
    assert cli.main(["status", "--warehouse", wh, "--runs", "1"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    start = lines.index("last runs (newest first):") + 1
    shown = lines[start:lines.index("", start)]
    assert "tracks" in text and len(shown) == 1 and out["runs"][0]["run_id"] in shown[0]


def test_status_of_an_empty_warehouse(tmp_path, capsys):
    assert cli.main(["status", "--warehouse", str(tmp_path / "none")]) == 0
    text = capsys.readouterr().out
    assert "last runs: none recorded" in text and "quarantine: empty" in text
