"""Issue 13: hostile input found in an ingest (one test or more per item; none starts Spark).

Runs of the stage that have nothing to parse never start Spark (:func:`run_ingest_lazily`), so the
stage's own rules (removals, empty tables, undecodable names, the lock) are checked end to end here
without a JVM.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import socket
import threading
import time
import zipfile

import pytest

import musim_spark.spark
from musim_spark import cli, labels, layout
from musim_spark.config import load_config
from musim_spark import errors
from musim_spark.errors import InputError, ParameterError, QuarantineReason as R
from musim_spark.ingest import incremental, parse, scan, stage, zipparts
from musim_spark.ingest.delivery import resolve_root
from musim_spark.ingest.rows import rejection_table
from musim_spark.ingest.settings import IngestSettings
from musim_spark.io.read import read_arrow, table_exists
from musim_spark.io.tables import table_uri
from musim_spark.runs import new_run_id

from test_ingest_fixtures import label_obj, midi_bytes, write_track

COVER = "Similar_Rock_00001_Cover_Rhythm_A"
SETTINGS = IngestSettings(require_audio=False)


def _zip_part(path, entries: dict) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return str(path)


def _ingest(root, warehouse, settings=SETTINGS, **kw):
    return stage.run_ingest_lazily(load_config(), root=root, warehouse=warehouse, run_id=new_run_id(),
                                   settings=settings, **kw)


def _no_spark(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("this test must not start Spark")
    monkeypatch.setattr(musim_spark.spark, "build_spark_session", refuse)


# --- 1: archive names that resolve outside the landing area ------------------------------------------

@pytest.mark.parametrize("part", ["...zip.part0", "..zip.part0"])
def test_zip_parts_named_dot_dot_never_land_in_the_warehouse(tmp_path, part):
    warehouse = tmp_path / "wh"
    log = warehouse / "tracks" / "_delta_log" / "00000000000000000000.json"
    log.parent.mkdir(parents=True)
    log.write_text('{"commitInfo": {}}\n')
    parts = tmp_path / "parts"
    parts.mkdir()
    _zip_part(parts / part, {"tracks/_delta_log/00000000000000000000.json": b"{}",
                             "_landing/x.txt": b"x"})
    with pytest.raises(ParameterError, match="archive name") as e:
        resolve_root(parts, warehouse, IngestSettings())
    assert part in str(e.value) and "\n" not in str(e.value)
    assert log.read_text() == '{"commitInfo": {}}\n'
    assert sorted(p.name for p in warehouse.iterdir()) == ["tracks"]


@pytest.mark.parametrize("landing_dir", ["..", "../x", "/tmp/elsewhere", "", ".", "a/../.."])
def test_landing_dir_must_stay_inside_the_warehouse(landing_dir):
    with pytest.raises(ParameterError, match="landing_dir"):
        IngestSettings(landing_dir=landing_dir)


# --- 4: a file entry and a folder entry of the same name ---------------------------------------------

@pytest.mark.parametrize("order", [("X.mid", "X.mid/inner.txt"), ("X.mid/inner.txt", "X.mid")])
def test_zip_entry_under_a_file_entry_is_refused(tmp_path, order):
    part = _zip_part(tmp_path / "s.zip.part0", {name: name.encode() for name in order} | {"ok.txt": b"ok"})
    landing = tmp_path / "land" / "s"
    res = zipparts.land_archive([part], landing, name="s")
    assert [(r.path, r.reason) for r in res.rejected] == [("s.zip:X.mid/inner.txt", R.ZIP_ENTRY_UNSAFE)]
    assert "X.mid" in res.rejected[0].detail
    assert (landing / "X.mid").read_bytes() == b"X.mid" and (landing / "ok.txt").read_bytes() == b"ok"
    left = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*"))
    assert left == ["X.mid", "ok.txt"]


def test_failed_first_landing_leaves_no_half_extracted_folder(tmp_path, monkeypatch):
    part = _zip_part(tmp_path / "s.zip.part0", {"a.txt": b"a", "b.txt": b"b"})
    landing = tmp_path / "land" / "s"
    calls = []

    def boom(zf, info, target):
        calls.append(info.filename)
        if len(calls) == 2:
            raise MemoryError("simulated crash mid-extraction")
        return real(zf, info, target)

    real = zipparts._stream_entry
    monkeypatch.setattr(zipparts, "_stream_entry", boom)
    with pytest.raises(MemoryError):
        zipparts.land_archive([part], landing, name="s")
    assert not landing.exists() and not (tmp_path / "land" / "s.manifest.json").exists()


# --- 3: file names that are not UTF-8 ----------------------------------------------------------------

def test_non_utf8_file_name_is_quarantined_escaped(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write_track(root, COVER, audio=False)
    bad = os.path.join(os.fsencode(str(root)), b"\xff\xfe.mid")
    with open(bad, "wb") as f:
        f.write(b"x")
    listing = scan.scan_root(root, require_audio=False)
    (rej,) = [r for r in listing.rejections if r.path.endswith(".mid")]
    assert rej.path == "\\xff\\xfe.mid" and rej.reason is R.NAME_NOT_UTF8 and rej.size == 1
    assert rejection_table(listing.rejections, run_id=new_run_id(), now_us=0).num_rows == 1
    # and the stage goes on (the listed track is unchanged and nothing else needs Spark)
    _no_spark(monkeypatch)
    (root / layout.track_dir(layout.parse_track_id(COVER))).rename(tmp_path / "moved")
    summary = _ingest(root, tmp_path / "wh")
    q = read_arrow(table_uri(tmp_path / "wh", "quarantine")).to_pylist()
    assert [(r["path"], r["reason"]) for r in q] == [("\\xff\\xfe.mid", "NAME_NOT_UTF8")]
    assert summary.files_quarantined == 1 and summary.rows_in == 1


# --- 5: one track id in two folders ------------------------------------------------------------------

def _copy_in(root, folder_version: str, track_id: str, **kw):
    """Write ``track_id``'s files into the folder ``.../<folder_version>/`` instead of its own."""
    tmp = root.parent / f"_tmp_{folder_version}"
    tid = layout.parse_track_id(track_id)
    obj = label_obj(tid)  # the label names the files where they are
    folder = f"{tid.kind}\\{tid.genre}\\{tid.song_no}\\{folder_version}\\{track_id}"
    obj["data_Set"]["soundFile"].update(soundPath=folder + ".wav", midiPath=folder + ".mid")
    written = write_track(tmp, track_id, label=labels.dump_label(obj), **kw)
    dest = root / tid.kind / tid.genre / tid.song_no / folder_version
    dest.mkdir(parents=True, exist_ok=True)
    for rel in written.values():
        (tmp / rel).rename(dest / rel.rsplit("/", 1)[1])
    return {k: f"{tid.kind}/{tid.genre}/{tid.song_no}/{folder_version}/{v.rsplit('/', 1)[1]}"
            for k, v in written.items()}


def test_duplicate_track_keeps_the_complete_copy_in_the_canonical_folder(tmp_path):
    root = tmp_path / "root"
    broken = _copy_in(root, "Cover_Rhythm", COVER, audio=False, skip=("xml",))   # sorts first, incomplete
    good = _copy_in(root, "Cover_Rhythm_A", COVER, audio=False)
    listing = scan.scan_root(root, require_audio=False)
    track = listing.tracks[COVER]
    assert track.complete and {f.path for f in track.members.values()} == set(good.values())
    dup = {r.path: r for r in listing.rejections}
    assert set(dup) == set(broken.values())
    assert all(r.reason is R.DUPLICATE and "Cover_Rhythm_A" in r.detail and r.track_id == COVER
               for r in dup.values())


def test_duplicate_track_a_copy_that_parses_wins(tmp_path):
    root = tmp_path / "root"
    ok = _copy_in(root, "Cover_Rhythm", COVER, audio=False)
    _copy_in(root, "Cover_Rhythm_A", COVER, audio=False, midi=b"MThd garbage")      # canonical, but corrupt
    listing = scan.scan_root(root, require_audio=False,
                             parses=parse.track_parses(str(root), settings=SETTINGS))
    assert {f.path for f in listing.tracks[COVER].members.values()} == set(ok.values())
    assert {r.reason for r in listing.rejections} == {R.DUPLICATE}
    # without a parse check (both complete): the canonical folder wins
    plain = scan.scan_root(root, require_audio=False)
    assert all("/Cover_Rhythm_A/" in f.path for f in plain.tracks[COVER].members.values())


def test_duplicate_rows_are_loose_rows_for_the_planner():
    assert R.DUPLICATE.value not in incremental.TRACK_REASONS
    assert R.NAME_NOT_UTF8.value not in incremental.TRACK_REASONS


# --- 2: a root that lost its files -------------------------------------------------------------------

def _good_state(n):
    return {f"Regular_Rock_{i:05d}_Org": {f"Regular/Rock/{i:05d}/Org/Regular_Rock_{i:05d}_Org.mid": (1, 1)}
            for i in range(n)}


def test_check_removals_rule():
    plan = incremental.Plan(delete_track_ids=["a", "b"])
    incremental.check_removals(plan, stored=20, max_share=0.1, root="r")          # 10 %: allowed
    with pytest.raises(ParameterError, match="--allow-removals") as e:
        incremental.check_removals(plan, stored=19, max_share=0.1, root="/data/set")
    assert "/data/set" in str(e.value) and "2 of 19" in str(e.value) and "\n" not in str(e.value)
    incremental.check_removals(plan, stored=2, max_share=1.0, root="r")


@pytest.mark.parametrize("text, share", [("10%", 0.1), ("100%", 1.0), ("0", 0.0), ("2.5%", 0.025)])
def test_allow_removals_option_parses(text, share):
    from musim_spark.ingest.command import parse_share

    assert parse_share(text) == pytest.approx(share)


def test_empty_root_on_a_populated_warehouse_is_refused(tmp_path, monkeypatch, capsys):
    _no_spark(monkeypatch)
    monkeypatch.setattr(stage, "_previous_state", lambda wh: (_good_state(10), {}, {}, {}))
    empty = tmp_path / "empty"
    empty.mkdir()
    wh = tmp_path / "wh"
    rc = cli.main(["ingest", "--root", str(empty), "--warehouse", str(wh)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "10 of 10" in err and "--allow-removals" in err
    assert not table_exists(table_uri(wh, "tracks"))
    # the user says so: it goes on
    rc = cli.main(["ingest", "--root", str(empty), "--warehouse", str(wh), "--allow-removals", "100%"])
    assert rc == 0
    removed = read_arrow(table_uri(wh, "quarantine")).to_pylist()
    assert len(removed) == 10 and {r["reason"] for r in removed} == {"REMOVED"}


# --- 6: unknown top-level section ----------------------------------------------------------------------

def test_unknown_top_level_section_is_an_error(tmp_path):
    conf = tmp_path / "c.yaml"
    conf.write_text("sparkk:\n  master: local\n")
    with pytest.raises(ParameterError) as e:
        load_config(conf)
    msg = str(e.value)
    assert str(conf) in msg and "'sparkk'" in msg and "did you mean 'spark'" in msg and "\n" not in msg


# --- 7: messages of the contract -----------------------------------------------------------------------

def test_status_on_an_unreadable_log_is_one_line(tmp_path, capsys):
    log = tmp_path / "wh" / "tracks" / "_delta_log" / "00000000000000000000.json"
    log.parent.mkdir(parents=True)
    log.write_text("{not json\n")
    rc = cli.main(["status", "--warehouse", str(tmp_path / "wh")])
    out, err = capsys.readouterr()
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert str(tmp_path / "wh" / "tracks") in err and "unexpected" in err
    assert "notes" in out  # the rest of the warehouse is still shown


def test_bad_yaml_is_one_line_with_its_position(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("spark:\n  master: [a\n")
    rc = cli.main(["status", "--conf", str(bad), "--warehouse", str(tmp_path / "wh")])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and str(bad) in err and "line 2" in err


def test_truncated_midi_has_a_detail(tmp_path):
    from musim_spark.midi import read_midi

    data = midi_bytes(tmp_path)
    with pytest.raises(InputError) as e:
        read_midi(data[: len(data) // 2], name="t.mid")
    assert e.value.reason is R.MIDI_CORRUPT and not e.value.detail.rstrip().endswith(":")
    assert "ends" in e.value.detail or "EOF" in e.value.detail


def test_ten_hour_note_has_its_own_reason(tmp_path):
    from musim_spark.midi import read_midi, write_midi
    from musim_spark.model import Note, Piece, Track

    write_midi(Piece((Track("Melody", (Note(60, 0.0, 36000.0, 90),), 0),), 120.0), tmp_path / "long.mid")
    with pytest.raises(InputError) as e:
        read_midi(str(tmp_path / "long.mid"), name="long.mid")
    assert e.value.reason is R.MIDI_TOO_LONG and "36000" in e.value.detail.replace(",", "")
    # a long but sane file still reads (1 hour)
    write_midi(Piece((Track("Melody", (Note(60, 0.0, 3600.0, 90),), 0),), 120.0), tmp_path / "hour.mid")
    assert read_midi(str(tmp_path / "hour.mid")).n_notes == 1


def test_deeply_nested_label_is_label_not_json_on_the_label_only(tmp_path):
    root = tmp_path / "root"
    files = write_track(root, COVER, audio=False, label=b"[" * 100_000 + b"]" * 100_000)
    track = scan.scan_root(root, require_audio=False).tracks[COVER]
    got = {r.path: r.reason for r in parse.parse_track(str(root), track, settings=SETTINGS).rejections}
    assert got[files["json"]] is R.LABEL_NOT_JSON
    assert {got[files[k]] for k in ("mid", "xml")} == {R.TRACK_REJECTED}


# --- 8: one writer per warehouse -----------------------------------------------------------------------

def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    from musim_spark.io import lock

    wh = tmp_path / "wh"
    with lock.warehouse_lock(wh, run_id="r1", command="ingest"):
        with pytest.raises(errors.WarehouseLockedError) as e:
            with lock.warehouse_lock(wh, run_id="r2", command="ingest"):
                pass
        msg = str(e.value)
        assert all(s in msg for s in (socket.gethostname(), str(os.getpid()), "r1", "since")) and "\n" not in msg
    assert not os.path.exists(lock.lock_path(wh))
    with lock.warehouse_lock(wh, run_id="r3", command="ingest"):  # free again
        pass


def test_lock_waits_for_the_holder(tmp_path):
    from musim_spark.io import lock

    wh = tmp_path / "wh"
    first = lock.acquire(wh, run_id="r1", command="ingest")
    threading.Timer(0.5, lambda: lock.release(first)).start()
    started = time.monotonic()
    with lock.warehouse_lock(wh, run_id="r2", command="ingest", wait_s=10, poll_s=0.05):
        assert time.monotonic() - started >= 0.4


def _write_holder(wh, **fields):
    from musim_spark.io import lock

    os.makedirs(wh, exist_ok=True)
    holder = {"host": socket.gethostname(), "pid": os.getpid(), "run_id": "old", "command": "ingest",
              "since": time.time()} | fields
    with open(lock.lock_path(wh), "w") as f:
        json.dump(holder, f)


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    from musim_spark.io import lock

    wh = tmp_path / "wh"
    dead = 2 ** 22 + 12345  # above pid_max on a default Linux: no such process
    _write_holder(wh, pid=dead)
    with pytest.warns(UserWarning, match="stale"):
        with lock.warehouse_lock(wh, run_id="new", command="ingest"):
            assert lock.read_holder(wh)["run_id"] == "new"


def test_stale_lock_by_age_is_taken_over(tmp_path):
    from musim_spark.io import lock

    wh = tmp_path / "wh"
    _write_holder(wh, host="elsewhere", since=time.time() - 10_000)
    with pytest.warns(UserWarning, match="stale"):
        with lock.warehouse_lock(wh, run_id="new", command="ingest", stale_after_s=3600):
            pass
    _write_holder(wh, host="elsewhere", since=time.time() - 10)
    with pytest.raises(errors.WarehouseLockedError, match="elsewhere"):
        lock.acquire(wh, run_id="new", command="ingest", stale_after_s=3600)


def test_ingest_command_holds_the_lock(tmp_path, monkeypatch, capsys):
    from musim_spark.io import lock

    _no_spark(monkeypatch)
    empty = tmp_path / "empty"
    empty.mkdir()
    wh = tmp_path / "wh"
    _write_holder(wh, run_id="rHOLD")
    rc = cli.main(["ingest", "--root", str(empty), "--warehouse", str(wh)])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and "rHOLD" in err and len(err.splitlines()) == 1
    seen = []
    monkeypatch.setattr(stage, "_previous_state",
                        lambda w: (seen.append(lock.read_holder(w)), ({}, {}, {}, {}))[1])
    os.remove(lock.lock_path(wh))
    assert cli.main(["ingest", "--root", str(empty), "--warehouse", str(wh), "--run-id", new_run_id()]) == 0
    assert seen and seen[0]["command"] == "ingest" and not os.path.exists(lock.lock_path(wh))
    # a lock left by a killed run is taken over, with a one-line warning
    _write_holder(wh, run_id="rDEAD", pid=2 ** 22 + 12345)
    capsys.readouterr()
    assert cli.main(["ingest", "--root", str(empty), "--warehouse", str(wh)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning" in err[0] and "stale" in err[0] and "rDEAD" in err[0]


# --- 9: the stage's tables exist after its first run ---------------------------------------------------

def test_first_run_creates_every_table_it_owns(tmp_path, monkeypatch):
    _no_spark(monkeypatch)
    empty = tmp_path / "empty"
    empty.mkdir()
    wh = tmp_path / "wh"
    summary = _ingest(empty, wh)
    for name in ("tracks", "labels", "notes", "quarantine", "runs"):
        assert table_exists(table_uri(wh, name)), name
    assert read_arrow(table_uri(wh, "quarantine")).num_rows == 0
    assert read_arrow(table_uri(wh, "tracks")).num_rows == 0
    again = _ingest(empty, wh)
    assert again.commits == () and len(summary.commits) == 4
