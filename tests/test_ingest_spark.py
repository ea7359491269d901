"""The ingest stage end to end on Spark: faults, reconciliation, incremental runs, zip-parts input."""

from __future__ import annotations

import csv
import dataclasses
import os
import shutil
from pathlib import Path

import pytest

import musim_spark.spark
from musim_spark import labels, layout
from musim_spark.config import load_config
from musim_spark.io.read import read_arrow, table_version
from musim_spark.io.tables import table_uri
from musim_spark.ingest.settings import IngestSettings
from musim_spark.ingest import stage
from musim_spark.ingest.stage import run_ingest
from musim_spark.runs import new_run_id

from test_ingest_fixtures import write_track, zip_parts

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parent.parent
AUDIO_TRACKS = ("Regular_Rock_00070_Org", "Regular_Dance_00071_Org")
SETTINGS = IngestSettings(require_audio=False, tracks_per_task=8)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A generated MIDI-only set with every fault and zip parts, plus hand-made tracks with audio."""
    from musim_spark.sampledata.generate import generate

    out = tmp_path_factory.mktemp("ingest") / "set"
    generate(out, songs=1, regular=1, seconds=6, seed=3, cover_types=["Rhythm_A", "Genre_A"], faults=True,
             audio=False, zip_parts=40_000, pop909_dir=REPO.parent / "shared" / "data" / "pop909", processes=1)
    for tid in AUDIO_TRACKS:
        write_track(out, tid)
    return out


def _files(root: Path) -> set[str]:
    out = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not layout.is_tooling_folder(d)]
        out.update(os.path.relpath(os.path.join(folder, f), root).replace(os.sep, "/") for f in files)
    return out


def _track_paths(warehouse) -> dict[str, set[str]]:
    rows = read_arrow(table_uri(warehouse, "tracks")).to_pylist()
    return {r["track_id"]: {r[f"{m}_path"] for m in ("wav", "mid", "xml", "json") if r[f"{m}_path"]} for r in rows}


def _quarantine(warehouse, run_id=None) -> list[dict]:
    rows = read_arrow(table_uri(warehouse, "quarantine")).to_pylist()
    return [r for r in rows if run_id is None or r["run_id"] == run_id]


def _versions(warehouse) -> dict:
    return {t: table_version(table_uri(warehouse, t)) for t in ("tracks", "labels", "notes", "quarantine")}


def _ingest(spark, root, warehouse, settings=SETTINGS):
    run_id = new_run_id()
    summary = run_ingest(spark, load_config(), root=root, warehouse=warehouse, run_id=run_id, settings=settings)
    return run_id, summary


def test_every_fault_is_quarantined_and_files_reconcile(spark, dataset, tmp_path):
    warehouse = tmp_path / "wh"
    run_id, summary = _ingest(spark, dataset, warehouse)
    quarantine = _quarantine(warehouse, run_id)
    by_path: dict[str, list[str]] = {}
    for r in quarantine:
        by_path.setdefault(r["path"], []).append(r["reason"])
    with open(dataset / "_truth" / "faults.csv", encoding="utf-8") as f:
        faults = list(csv.DictReader(f))
    reasons = {f["reason"] for f in faults}
    assert {"WAV_TRUNCATED", "WAV_NOT_AUDIO", "WAV_WRONG_FORMAT", "MIDI_EMPTY", "MIDI_CORRUPT", "LABEL_NOT_JSON",
            "LABEL_NOT_UTF8", "LABEL_MISSING_FIELDS", "LABEL_PATH_ESCAPES_ROOT", "MIDI_MISSING", "STRAY_FILE",
            "LABEL_DUPLICATE", "NAME_FOLDER_MISMATCH"} <= reasons
    for fault in faults:
        assert by_path.get(fault["path"]) == [fault["reason"]], fault
    fault_paths = {f["path"] for f in faults}
    assert {r["reason"] for r in quarantine if r["path"] not in fault_paths} == {"TRACK_REJECTED"}
    assert all(r["run_id"] == run_id and r["stage"] == "ingest" for r in quarantine)

    # reconciliation: each file under the root is in exactly one of tracks or quarantine
    tracks = _track_paths(warehouse)
    in_tracks = [p for paths in tracks.values() for p in paths]
    on_disk = _files(dataset)
    quarantined_present = {r["path"] for r in quarantine if r["file_bytes"] is not None}
    assert len(in_tracks) == len(set(in_tracks))
    assert not set(in_tracks) & quarantined_present
    assert set(in_tracks) | quarantined_present == on_disk
    assert summary.rows_in == len(on_disk) == summary.files_in_tracks + summary.files_quarantined
    missing = {r["path"] for r in quarantine if r["file_bytes"] is None}
    assert missing and not missing & on_disk

    # good tracks: every truth.csv track plus the hand-made ones, typed facts filled in
    with open(dataset / "_truth" / "truth.csv", encoding="utf-8") as f:
        truth = {row["track_id"] for row in csv.DictReader(f)}
    assert set(tracks) == truth | set(AUDIO_TRACKS)
    rows = {r["track_id"]: r for r in read_arrow(table_uri(warehouse, "tracks")).to_pylist()}
    audio = rows[AUDIO_TRACKS[0]]
    assert (audio["sample_rate"], audio["channels"], audio["sample_width"]) == (44100, 2, 2)
    assert audio["wav_sha256"] and audio["duration_s"] == pytest.approx(0.05, abs=1e-4)
    some = rows[sorted(truth)[0]]
    assert some["bpm"] > 0 and some["midi_notes"] > 0 and some["run_id"] == run_id
    notes = read_arrow(table_uri(warehouse, "notes"), columns=["track_id", "role"]).to_pylist()
    assert {n["track_id"] for n in notes} == set(tracks)
    assert {"melody", "rhythm", "chord"} <= {n["role"] for n in notes}
    lab = read_arrow(table_uri(warehouse, "labels")).to_pylist()
    assert {r["track_id"] for r in lab} == set(tracks)
    assert all(labels.load_label(r["raw_json"].encode(), path="x") for r in lab)


class _Borrowed:
    """The test session, lent to :func:`run_ingest_lazily`: records its start and stop, never stops it."""

    def __init__(self, spark):
        self.spark, self.started, self.stopped = spark, 0, 0

    def build(self, *args, **kwargs):
        self.started += 1
        return self

    def __getattr__(self, name):
        return getattr(self.spark, name)

    def stop(self):
        self.stopped += 1


def test_incremental_unchanged_changed_removed_added(spark, dataset, tmp_path, monkeypatch):
    root = tmp_path / "root"
    shutil.copytree(dataset, root, ignore=shutil.ignore_patterns("_zip"))
    warehouse = tmp_path / "wh"
    first_run, first = _ingest(spark, root, warehouse)
    before = _versions(warehouse)
    first_rows = {r["track_id"]: r for r in read_arrow(table_uri(warehouse, "tracks")).to_pylist()}

    # unchanged: nothing parsed, nothing committed
    _, again = _ingest(spark, root, warehouse)
    assert again.parsed == 0 and again.commits == () and _versions(warehouse) == before
    assert again.unchanged_good == first.good_total and again.quarantined == 0
    assert again.seconds < first.seconds
    # ... and the CLI's entry point does not even start Spark for it
    borrowed = _Borrowed(spark)
    monkeypatch.setattr(musim_spark.spark, "build_spark_session", borrowed.build)
    lazy = stage.run_ingest_lazily(load_config(), root=root, warehouse=warehouse, run_id=new_run_id(),
                                   settings=SETTINGS)
    assert lazy.parsed == 0 and lazy.commits == () and _versions(warehouse) == before and borrowed.started == 0

    # changed label of one track, one track removed, one track added
    changed, removed = sorted(t for t in first_rows if t.startswith("Similar"))[:2]
    ch = first_rows[changed]
    obj = labels.load_label((root / ch["json_path"]).read_bytes(), path=ch["json_path"])
    obj["data_Set"]["songinfo"]["title"] = "바뀐 제목 (changed)"
    (root / ch["json_path"]).write_bytes(labels.dump_label(obj))
    gone = first_rows[removed]
    for m in ("wav", "mid", "xml", "json"):
        if gone[f"{m}_path"]:
            os.remove(root / gone[f"{m}_path"])
    added = "Regular_Trot_00072_Org"
    write_track(root, added)
    third_run = new_run_id()  # through the CLI's entry point: a session of its own, started and stopped
    # one of a handful of tracks removed on purpose: over the default share a run may remove (issue 13)
    third = stage.run_ingest_lazily(load_config(), root=root, warehouse=warehouse, run_id=third_run,
                                    settings=dataclasses.replace(SETTINGS, max_removed_share=1.0))
    assert (borrowed.started, borrowed.stopped) == (1, 1)
    assert (third.parsed, third.new, third.changed, third.removed) == (2, 1, 1, 1)
    rows = {r["track_id"]: r for r in read_arrow(table_uri(warehouse, "tracks")).to_pylist()}
    assert set(rows) == (set(first_rows) - {removed}) | {added}
    assert rows[changed]["title"] == "바뀐 제목 (changed)" and rows[changed]["run_id"] == third_run
    assert rows[changed]["json_sha256"] != ch["json_sha256"] and rows[changed]["mid_sha256"] == ch["mid_sha256"]
    assert rows[added]["run_id"] == third_run
    untouched = set(rows) - {changed, added}
    assert {rows[t]["run_id"] for t in untouched} == {first_run}
    assert all(rows[t]["ingested_at"] == first_rows[t]["ingested_at"] for t in untouched)
    for table in ("labels", "notes"):
        ids = {r["track_id"] for r in read_arrow(table_uri(warehouse, table), columns=["track_id"]).to_pylist()}
        assert ids == set(rows), table
    lab = {r["track_id"]: r for r in read_arrow(table_uri(warehouse, "labels")).to_pylist()}
    assert lab[changed]["title"] == "바뀐 제목 (changed)"
    removed_rows = [r for r in _quarantine(warehouse, third_run) if r["reason"] == "REMOVED"]
    assert {r["path"] for r in removed_rows} == {gone[f"{m}_path"] for m in ("mid", "xml", "json") if gone[f"{m}_path"]}
    assert all(r["track_id"] == removed and r["path"] in r["detail"] for r in removed_rows)
    assert len(_quarantine(warehouse, third_run)) == len(removed_rows)  # no fault recorded twice

    # a good track breaks (its MIDI emptied): its rows go, its files are quarantined
    (root / rows[added]["mid_path"]).write_bytes(b"")
    fourth_run, _ = _ingest(spark, root, warehouse)
    assert added not in _track_paths(warehouse)
    got = {r["path"]: r["reason"] for r in _quarantine(warehouse, fourth_run)}
    assert got[rows[added]["mid_path"]] == "MIDI_EMPTY" and got[rows[added]["json_path"]] == "TRACK_REJECTED"


def test_zip_parts_give_the_same_tracks(spark, dataset, tmp_path):
    plain_wh, zip_wh = tmp_path / "plain", tmp_path / "zip"
    plain_root = tmp_path / "plain_root"
    shutil.copytree(dataset, plain_root, ignore=shutil.ignore_patterns("_zip", "_truth"))
    for tid in AUDIO_TRACKS:  # added after the generator zipped the set
        shutil.rmtree(plain_root / layout.track_dir(layout.parse_track_id(tid)))
    _ingest(spark, plain_root, plain_wh)
    run_id, summary = _ingest(spark, dataset / "_zip", zip_wh)
    assert summary.root == str(zip_wh / "_landing" / "set")

    def facts(wh):
        cols = ["track_id"] + [f"{m}_{k}" for m in ("wav", "mid", "xml", "json") for k in ("path", "sha256")]
        return sorted(tuple(r.values()) for r in read_arrow(table_uri(wh, "tracks"), columns=cols).to_pylist())

    assert facts(zip_wh) == facts(plain_wh) and len(facts(zip_wh)) >= 4
    plain_q = sorted((r["path"], r["reason"]) for r in _quarantine(plain_wh))
    assert sorted((r["path"], r["reason"]) for r in _quarantine(zip_wh, run_id)) == plain_q
    # unchanged parts: not even opened, nothing committed
    versions = _versions(zip_wh)
    _, again = _ingest(spark, dataset / "_zip", zip_wh)
    assert "parts unchanged" in again.landing and again.commits == () and _versions(zip_wh) == versions


def test_unsafe_zip_entries_are_refused(spark, tmp_path):
    src = tmp_path / "src"
    write_track(src, "Regular_Rock_00080_Org")
    parts_dir = tmp_path / "parts"
    zip_parts(src, parts_dir, name="delivery", extra={"../../escape.txt": b"x", "/etc/evil.wav": b"y",
                                                        "Regular/bomb.bin": b"\0" * 3_000_000})
    warehouse = tmp_path / "wh"
    settings = dataclasses.replace(SETTINGS, require_audio=True)
    run_id, summary = _ingest(spark, parts_dir, warehouse, settings)
    got = {r["path"]: r["reason"] for r in _quarantine(warehouse, run_id)}
    assert got == {"delivery.zip:../../escape.txt": "ZIP_ENTRY_UNSAFE",
                   "delivery.zip:/etc/evil.wav": "ZIP_ENTRY_UNSAFE",
                   "delivery.zip:Regular/bomb.bin": "ZIP_TOO_LARGE"}
    assert set(_track_paths(warehouse)) == {"Regular_Rock_00080_Org"}
    assert not list(tmp_path.rglob("escape.txt")) and not list(tmp_path.rglob("evil.wav"))
