"""Unit tests of ingest's pure parts: WAV headers, the listing, one-track parsing, split zips."""

from __future__ import annotations

import json
import os
import shutil
import zipfile

import pytest

from musim_spark import labels, layout
from musim_spark.errors import InputError, ParameterError, QuarantineReason as R
from musim_spark.ingest import parse, scan, wavheader, zipparts
from musim_spark.ingest.settings import IngestSettings

from test_ingest_fixtures import label_obj, midi_bytes, wav_bytes, write_track, zip_parts

ORG = "Similar_Rock_00001_Org"
COVER = "Similar_Rock_00001_Cover_Rhythm_A"


# --- wavheader -------------------------------------------------------------------------------------

def test_wav_header_facts_and_odd_chunk_padding():
    data = wav_bytes(seconds=0.1, extra_chunk=True)
    info = wavheader.parse_wav_header(data, path="a.wav")
    assert (info.sample_rate, info.channels, info.sample_width, info.format_tag) == (44100, 2, 2, 1)
    assert info.frames == 4410 and info.duration_s == pytest.approx(0.1)
    assert info.data_offset + info.data_bytes == len(data)
    wavheader.check_wav_format(info, wavheader.WavFormat(), path="a.wav")


@pytest.mark.parametrize("data, reason", [
    (b"this is text, not audio" * 10, R.WAV_NOT_AUDIO),
    (b"", R.WAV_NOT_AUDIO),
    (wav_bytes()[: len(wav_bytes()) // 2], R.WAV_TRUNCATED),
    (wav_bytes()[:30], R.WAV_TRUNCATED),
])
def test_wav_header_faults(data, reason):
    with pytest.raises(InputError) as e:
        wavheader.parse_wav_header(data, path="bad.wav")
    assert e.value.reason is reason and e.value.path == "bad.wav"


def test_wav_wrong_format_names_both_formats():
    info = wavheader.parse_wav_header(wav_bytes(rate=22050, channels=1), path="m.wav")
    with pytest.raises(InputError) as e:
        wavheader.check_wav_format(info, wavheader.WavFormat(), path="m.wav")
    assert e.value.reason is R.WAV_WRONG_FORMAT
    assert "22050 Hz" in e.value.detail and "44100 Hz" in e.value.detail and "1 channel" in e.value.detail


def test_wav_matches_soundfile_on_a_real_file(tmp_path):
    import numpy as np
    import soundfile

    p = tmp_path / "x.wav"
    soundfile.write(p, np.zeros((1234, 2), dtype=np.int16), 44100, subtype="PCM_16")
    info = wavheader.wav_info_from_file(p)
    assert info.frames == soundfile.info(p).frames == 1234


# --- scan ------------------------------------------------------------------------------------------

def test_scan_groups_and_classifies(tmp_path):
    write_track(tmp_path, ORG)
    write_track(tmp_path, COVER, skip=("mid",))
    # range-less folder, xml delivered as .musicxml
    tid = layout.parse_track_id("Similar_Rock_00001_Cover_Tempo_C")
    folder = tmp_path / "Similar/Rock/00001/Cover_Tempo"
    folder.mkdir(parents=True)
    for ext, data in (("wav", wav_bytes()), ("mid", b"x"), ("musicxml", b"<a/>"), ("json", b"{}")):
        (folder / f"{tid.track_id}.{ext}").write_bytes(data)
    (tmp_path / "Similar/Rock/00001/Org/notes.txt").write_text("hi")
    (tmp_path / "Regular").mkdir()
    (tmp_path / "Regular/readme.md").write_text("hi")
    mism = tmp_path / "Regular/Ballade/90001/Org"
    mism.mkdir(parents=True)
    (mism / "Regular_Ballade_90002_Org.mid").write_bytes(b"x")
    copy = labels.dump_label(label_obj(layout.parse_track_id(ORG)))
    (tmp_path / f"Similar/Rock/00001/Org/{ORG}_copy.json").write_bytes(copy)
    (tmp_path / "_truth").mkdir()
    (tmp_path / "_truth/faults.csv").write_text("ignored")

    lst = scan.scan_root(tmp_path)
    assert sorted(lst.tracks) == sorted([ORG, COVER, tid.track_id])
    assert lst.tracks[ORG].complete and lst.tracks[tid.track_id].complete
    assert lst.tracks[tid.track_id].members["xml"].path.endswith(".musicxml")
    cover = lst.tracks[COVER]
    assert cover.missing == (("mid", f"Similar/Rock/00001/Cover_Rhythm_A/{COVER}.mid"),)
    rows = cover.missing_rejections()
    assert rows[0].reason is R.MIDI_MISSING and rows[0].size is None
    assert {r.reason for r in rows[1:]} == {R.TRACK_REJECTED} and len(rows) == 4
    by_path = {r.path: r.reason for r in lst.rejections}
    assert by_path == {
        "Similar/Rock/00001/Org/notes.txt": R.STRAY_FILE,
        "Regular/readme.md": R.STRAY_FILE,
        "Regular/Ballade/90001/Org/Regular_Ballade_90002_Org.mid": R.NAME_FOLDER_MISMATCH,
        f"Similar/Rock/00001/Org/{ORG}_copy.json": R.LABEL_DUPLICATE,
    }
    # reconciliation of the listing itself: every file is a member or a rejection, once
    members = [f.path for t in lst.tracks.values() for f in t.members.values()]
    loose = [r.path for r in lst.rejections]
    assert len(members) + len(loose) == lst.n_files == len(set(members) | set(loose))
    assert not any(p.startswith("_truth") for p in members + loose)


def test_scan_no_audio_mode(tmp_path):
    write_track(tmp_path, ORG, audio=False)
    assert scan.scan_root(tmp_path, require_audio=False).tracks[ORG].complete
    assert scan.scan_root(tmp_path).tracks[ORG].missing[0][0] == "wav"


def test_scan_copy_claiming_track_without_label_is_stray(tmp_path):
    write_track(tmp_path, ORG, skip=("json",))
    copy = labels.dump_label(label_obj(layout.parse_track_id(ORG)))
    (tmp_path / f"Similar/Rock/00001/Org/{ORG}_copy.json").write_bytes(copy)
    lst = scan.scan_root(tmp_path)
    assert [r.reason for r in lst.rejections] == [R.STRAY_FILE]
    assert lst.tracks[ORG].missing[0][0] == "json"


# --- parse -----------------------------------------------------------------------------------------

def _parse(root, track_id, **kw):
    lst = scan.scan_root(root, require_audio=kw.pop("require_audio", True))
    return parse.parse_track(str(lst.root), lst.tracks[track_id], settings=IngestSettings(**kw))


def test_parse_good_track(tmp_path):
    write_track(tmp_path, COVER)
    p = _parse(tmp_path, COVER)
    assert not p.rejections
    t = p.track
    assert (t["kind"], t["genre"], t["song_no"], t["version"], t["cover_type"], t["cover_range"]) == (
        "Similar", "Rock", "00001", "Cover_Rhythm_A", "Rhythm_A", "A")
    assert t["original_track_id"] == ORG
    assert t["sample_rate"] == 44100 and t["channels"] == 2 and t["frames"] == int(0.05 * 44100)
    import hashlib
    wav = (tmp_path / t["wav_path"]).read_bytes()
    assert t["wav_sha256"] == hashlib.sha256(wav).hexdigest() and t["wav_bytes"] == len(wav)
    assert t["bpm"] == 92.0 and t["similarity_coefficient"] == 0.85 and t["rhythm_similarity"] == 75.5
    assert t["melody_similarity"] is None and t["play_time_s"] == 2.0
    assert t["midi_tracks"] == 3 and t["midi_notes"] == 4 + 1 + 2 and t["midi_end_s"] == pytest.approx(2.0)
    roles = dict(zip(p.notes["track_name"], p.notes["role"]))
    assert roles == {"Melody": "melody", "Chord": "chord", "Rhythm": "rhythm"}
    assert len(p.notes["pitch"]) == 7
    lab = p.label
    assert lab["bpm"] == "92" and lab["title"] == "노래" and json.loads(lab["raw_json"]) == label_obj(
        layout.parse_track_id(COVER))
    assert lab["sound_path"] == layout.windows_path(layout.parse_track_id(COVER), "wav")


def test_parse_accepts_bom_and_songInfo(tmp_path):
    obj = label_obj(layout.parse_track_id(ORG))
    obj["data_Set"]["songInfo"] = obj["data_Set"].pop("songinfo")
    raw = b"\xef\xbb\xbf" + json.dumps(obj, ensure_ascii=False).encode()
    write_track(tmp_path, ORG, label=raw)
    p = _parse(tmp_path, ORG)
    assert not p.rejections and p.track["title"] == "노래"


def _label_with(track_id, **sound):
    obj = label_obj(layout.parse_track_id(track_id))
    obj["data_Set"]["soundFile"].update(sound)
    return labels.dump_label(obj)


@pytest.mark.parametrize("kind, make, reason", [
    ("wav", lambda t: wav_bytes()[:40], R.WAV_TRUNCATED),
    ("wav", lambda t: b"not audio at all", R.WAV_NOT_AUDIO),
    ("wav", lambda t: wav_bytes(rate=22050, channels=1), R.WAV_WRONG_FORMAT),
    ("mid", lambda t: b"", R.MIDI_EMPTY),
    ("mid", lambda t: midi_bytes(t, empty=True), R.MIDI_EMPTY),
    ("mid", lambda t: b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0" + b"\xff\x13garbage" * 20, R.MIDI_CORRUPT),
    ("json", lambda t: b"{not json", R.LABEL_NOT_JSON),
    ("json", lambda t: labels.dump_label(label_obj(layout.parse_track_id(ORG))).replace(
        "노래".encode(), "노래".encode("cp949")), R.LABEL_NOT_UTF8),
    ("json", lambda t: labels.dump_label({"data_Set": {
        k: v for k, v in label_obj(layout.parse_track_id(ORG))["data_Set"].items() if k != "songinfo"}}),
     R.LABEL_MISSING_FIELDS),
    ("json", lambda t: _label_with(ORG, soundPath="..\\..\\etc\\x.wav"), R.LABEL_PATH_ESCAPES_ROOT),
    ("json", lambda t: _label_with(ORG, midiPath=layout.windows_path(layout.parse_track_id(COVER), "mid")),
     R.LABEL_INVALID),
    ("xml", lambda t: b"<score-partwise><part>", R.XML_CORRUPT),
])
def test_parse_faults_reject_the_track(tmp_path, kind, make, reason):
    override = {"wav": "wav", "mid": "midi", "json": "label", "xml": "xml"}[kind]
    files = write_track(tmp_path, ORG, **{override: make(tmp_path)})
    p = _parse(tmp_path, ORG)
    assert p.track is None and p.label is None and p.notes is None
    got = {r.path: r.reason for r in p.rejections}
    assert got[files[kind]] is reason
    others = {v for k, v in got.items() if k != files[kind]}
    assert others == {R.TRACK_REJECTED} and len(got) == 4
    sibling = next(r for r in p.rejections if r.reason is R.TRACK_REJECTED)
    assert files[kind] in sibling.detail and reason.value in sibling.detail


def test_parse_two_bad_files_both_reported(tmp_path):
    files = write_track(tmp_path, ORG, wav=b"text", xml=b"<a>")
    got = {r.path: r.reason for r in _parse(tmp_path, ORG).rejections}
    assert got[files["wav"]] is R.WAV_NOT_AUDIO and got[files["xml"]] is R.XML_CORRUPT


def test_parse_no_audio_track(tmp_path):
    write_track(tmp_path, ORG, audio=False)
    p = _parse(tmp_path, ORG, require_audio=False)
    assert not p.rejections and p.track["wav_path"] is None and p.track["sample_rate"] is None


def test_quarantine_row_shape():
    r = scan.Rejection("a/b.wav", R.WAV_TRUNCATED, "cut", "T", 10, 5)
    row = parse.quarantine_row(r, run_id="r1", now_us=7)
    assert row["reason"] == "WAV_TRUNCATED" and row["file_bytes"] == 10 and row["stage"] == "ingest"


# --- zip parts -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["/etc/passwd", "..\\..\\x.wav", "Similar/../../x", "C:\\x.wav", "c:/x"])
def test_unsafe_entry_names(name):
    with pytest.raises(InputError) as e:
        zipparts.safe_entry_name(name)
    assert e.value.reason is R.ZIP_ENTRY_UNSAFE


def test_concatenated_parts_read_and_seek(tmp_path):
    blob = bytes(range(256)) * 40
    paths = []
    for i in range(0, len(blob), 999):
        p = tmp_path / f"a.zip.part{i // 999}"
        p.write_bytes(blob[i:i + 999])
        paths.append(str(p))
    with zipparts.ConcatenatedParts(paths) as s:
        assert s.read() == blob
        s.seek(998)
        assert s.read(5) == blob[998:1003]
        s.seek(-3, 2)
        assert s.read() == blob[-3:]


def test_find_zip_parts_numeric_order_and_gap(tmp_path):
    for i in (0, 1, 2, 10, 3, 4, 5, 6, 7, 8, 9):
        (tmp_path / f"n.zip.part{i}").write_bytes(b"x")
    assert [os.path.basename(p) for p in zipparts.find_zip_parts(tmp_path)["n"]][-2:] == ["n.zip.part9",
                                                                                           "n.zip.part10"]
    os.remove(tmp_path / "n.zip.part3")
    with pytest.raises(ParameterError, match=r"\[3\]"):
        zipparts.find_zip_parts(tmp_path)


def test_land_archive_safe_incremental(tmp_path):
    src = tmp_path / "src"
    write_track(src, ORG)
    bomb = b"\x00" * 2_000_000
    parts = zip_parts(src, tmp_path / "zip", extra={"../evil.txt": b"x", "/abs.txt": b"y", "big.bin": bomb})
    landing = tmp_path / "land" / "set"
    res = zipparts.land_archive(parts, landing, name="set", bounds=zipparts.ZipBounds(max_ratio=100))
    assert not res.skipped and res.extracted == 4
    reasons = sorted((r.path, r.reason.value) for r in res.rejected)
    assert reasons == [("set.zip:../evil.txt", "ZIP_ENTRY_UNSAFE"), ("set.zip:/abs.txt", "ZIP_ENTRY_UNSAFE"),
                       ("set.zip:big.bin", "ZIP_TOO_LARGE")]
    assert not (tmp_path / "land" / "evil.txt").exists() and not (landing / "big.bin").exists()
    wav = landing / layout.track_path(layout.parse_track_id(ORG), "wav")
    assert wav.read_bytes() == (src / layout.track_path(layout.parse_track_id(ORG), "wav")).read_bytes()
    # unchanged parts: nothing read
    again = zipparts.land_archive(parts, landing, name="set")
    assert again.skipped
    # a changed entry: only it is rewritten, the others keep their mtime
    mtime_wav = wav.stat().st_mtime_ns
    (src / layout.track_path(layout.parse_track_id(ORG), "xml")).write_bytes(b"<changed/>")
    for p in parts:
        os.remove(p)
    parts = zip_parts(src, tmp_path / "zip")
    third = zipparts.land_archive(parts, landing, name="set")
    assert (third.extracted, third.kept) == (1, 3)
    assert wav.stat().st_mtime_ns == mtime_wav


def test_land_archive_total_bound_and_corrupt(tmp_path):
    src = tmp_path / "src"
    write_track(src, ORG)
    parts = zip_parts(src, tmp_path / "zip")
    with pytest.raises(InputError) as e:
        zipparts.land_archive(parts, tmp_path / "l", name="set", bounds=zipparts.ZipBounds(max_total_bytes=100))
    assert e.value.reason is R.ZIP_TOO_LARGE
    with pytest.raises(InputError) as e:
        zipparts.land_archive(parts[1:], tmp_path / "l2", name="set")
    assert e.value.reason is R.ZIP_CORRUPT


def test_land_archive_refuses_symlink_entry(tmp_path):
    p = tmp_path / "s.zip.part0"
    with zipfile.ZipFile(p, "w") as zf:
        info = zipfile.ZipInfo("Similar/link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    res = zipparts.land_archive([str(p)], tmp_path / "l", name="s")
    assert [r.reason for r in res.rejected] == [R.ZIP_ENTRY_UNSAFE]
    assert not os.path.lexists(tmp_path / "l" / "Similar" / "link")


def _config(**sections):
    from musim_spark.config import Config, SparkSettings

    return Config(path="test.yaml", spark=SparkSettings(), sections=sections)


def test_settings_from_config_refuses_typos():
    with pytest.raises(ParameterError, match="tracks_per_tsk"):
        IngestSettings.from_config(_config(ingest={"tracks_per_tsk": 3}))
    with pytest.raises(ParameterError, match="max_ratoi"):
        IngestSettings.from_config(_config(ingest={"zip": {"max_ratoi": 50}}))
    s = IngestSettings.from_config(_config(ingest={"zip": {"max_ratio": 50}, "wav_format": {"channels": 1}}))
    assert s.zip.max_ratio == 50 and s.wav_format.channels == 1 and s.wav_format.sample_rate == 44100
    assert IngestSettings.from_config(_config()) == IngestSettings() == IngestSettings.from_config(None)


def test_settings_defaults_match_the_packaged_configuration():
    from musim_spark.config import default_conf_path, load_config

    assert IngestSettings.from_config(load_config(default_conf_path())) == IngestSettings()


def test_pure_modules_do_not_import_pyspark():
    import subprocess
    import sys

    modules = ", ".join(f"musim_spark.ingest.{m}" for m in (
        "parse", "scan", "zipparts", "incremental", "wavheader", "settings", "rows", "delivery", "stage", "command"))
    code = f"import sys, {modules}; assert 'pyspark' not in sys.modules, 'pyspark imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- rows: the batches of the Spark tasks ----------------------------------------------------------

def test_descriptor_slices_are_contiguous_and_byte_balanced(tmp_path):
    from musim_spark.ingest import rows

    ids = [ORG, COVER, "Similar_Rock_00002_Org", "Similar_Rock_00003_Org"]
    for tid in ids:
        write_track(tmp_path, tid)
    lst = scan.scan_root(tmp_path)
    slices = rows.descriptor_slices(reversed(list(lst.tracks.values())), 2)
    assert [r[0] for s in slices for r in s] == sorted(ids)  # sorted by id, contiguous
    assert [len(s) for s in slices] == [2, 2]  # four tracks of equal size: two and two
    assert all(len(r) == len(rows.DESCRIPTOR_SCHEMA) for s in slices for r in s)
    first = dict(zip(rows.DESCRIPTOR_SCHEMA.names, slices[0][0]))
    track = lst.tracks[first["track_id"]]
    assert (first["mid_path"], first["mid_bytes"], first["mid_mtime"]) == (
        track.members["mid"].path, track.members["mid"].size, track.members["mid"].mtime_us)
    assert rows.descriptor_slices([], 3) == [[], [], []]


def test_parse_descriptors_nests_the_four_tables(tmp_path):
    import pyarrow as pa

    from musim_spark.ingest import rows

    write_track(tmp_path, ORG)
    write_track(tmp_path, COVER, midi=b"")
    lst = scan.scan_root(tmp_path)
    (slice_,) = rows.descriptor_slices(lst.tracks.values(), 1)
    batch = pa.RecordBatch.from_pylist([dict(zip(rows.DESCRIPTOR_SCHEMA.names, r)) for r in slice_],
                                       schema=rows.DESCRIPTOR_SCHEMA)
    out = rows.parse_descriptors(batch, root=str(lst.root), settings=IngestSettings(), run_id="r1", now_us=7)
    assert out.schema == rows.PARSED_SCHEMA
    by_id = {r["track_id"]: r for r in out.to_pylist()}
    good, bad = by_id[ORG], by_id[COVER]
    expected = _parse(tmp_path, ORG)
    assert good["track"]["midi_notes"] == expected.track["midi_notes"] == len(good["notes"])
    assert (good["track"]["root"], good["track"]["run_id"], good["label"]["run_id"]) == (str(lst.root), "r1", "r1")
    assert good["track"]["ingested_at"] == pa.scalar(7, pa.timestamp("us", tz="UTC")).as_py()
    assert {n["run_id"] for n in good["notes"]} == {"r1"} and good["quarantine"] == []
    assert [n["pitch"] for n in good["notes"]] == expected.notes["pitch"]
    assert bad["track"] is None and bad["label"] is None and bad["notes"] == []
    assert sorted(q["reason"] for q in bad["quarantine"]) == ["MIDI_EMPTY"] + ["TRACK_REJECTED"] * 3


def test_parse_descriptors_quarantines_a_crash(tmp_path, monkeypatch):
    import pyarrow as pa

    from musim_spark.ingest import rows

    write_track(tmp_path, ORG)
    lst = scan.scan_root(tmp_path)
    (slice_,) = rows.descriptor_slices(lst.tracks.values(), 1)
    batch = pa.RecordBatch.from_pylist([dict(zip(rows.DESCRIPTOR_SCHEMA.names, r)) for r in slice_],
                                       schema=rows.DESCRIPTOR_SCHEMA)

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(rows, "parse_track", boom)
    (row,) = rows.parse_descriptors(batch, root=str(lst.root), settings=IngestSettings(), run_id="r1",
                                    now_us=7).to_pylist()
    assert row["track"] is None and {q["reason"] for q in row["quarantine"]} == {"PARSE_ERROR"}


def test_rejection_table_and_timestamps():
    import pyarrow as pa

    from musim_spark.ingest import rows

    t = rows.rejection_table([scan.Rejection("a/b.wav", R.WAV_TRUNCATED, "cut", "T", 10, 5)], run_id="r1", now_us=7)
    assert t.num_rows == 1 and t.column("reason").to_pylist() == ["WAV_TRUNCATED"]
    back = rows.timestamps_to_us(t, ["file_mtime", "no_such_column"])
    assert back.column("file_mtime").type == pa.int64() and back.column("file_mtime").to_pylist() == [5]


# --- delivery: plain root or zip parts -------------------------------------------------------------

def test_resolve_root_plain_zip_and_errors(tmp_path):
    from musim_spark.ingest.delivery import describe_landing, resolve_root

    data = tmp_path / "set"
    write_track(data, ORG)
    assert resolve_root(data, tmp_path / "wh", IngestSettings()) == (str(data), None)
    with pytest.raises(ParameterError, match="not a directory"):
        resolve_root(tmp_path / "absent", tmp_path / "wh", IngestSettings())
    parts_dir = tmp_path / "parts"
    zip_parts(data, parts_dir, name="set", part_size=300)
    root, landing = resolve_root(parts_dir, tmp_path / "wh", IngestSettings(landing_dir="_in"))
    assert root == str(tmp_path / "wh" / "_in" / "set") and landing.extracted == 4
    assert scan.scan_root(root).tracks[ORG].complete
    assert describe_landing(landing) == f"{root}: 4 extracted, 0 kept, 0 deleted, 0 refused"
    assert describe_landing(None) is None
    (parts_dir / "other.zip.part0").write_bytes(b"x")
    with pytest.raises(ParameterError, match="2 archives"):
        resolve_root(parts_dir, tmp_path / "wh", IngestSettings())



# --- incremental planning --------------------------------------------------------------------------

def test_plan_run_rules(tmp_path):
    from musim_spark.ingest import incremental

    write_track(tmp_path, ORG)
    write_track(tmp_path, COVER, skip=("json",))
    (tmp_path / "Regular").mkdir()
    (tmp_path / "Regular/readme.md").write_text("x")
    lst = scan.scan_root(tmp_path)
    first = incremental.plan_run(lst, good={}, rejected={}, loose={})
    assert [t.track_id for t in first.to_parse] == [ORG] and first.new == 2
    assert {r.reason for r in first.rejections} == {R.LABEL_MISSING, R.TRACK_REJECTED, R.STRAY_FILE}

    # what a first run would have recorded
    good = {ORG: lst.tracks[ORG].state()}
    q_rows = [dict(parse.quarantine_row(r, run_id="r1", now_us=0), file_mtime=r.mtime_us) for r in first.rejections]
    rejected, loose = incremental.previous_quarantine_state(q_rows)
    again = incremental.plan_run(lst, good=good, rejected=rejected, loose=loose)
    assert (again.to_parse, again.rejections, again.unchanged_good, again.unchanged_rejected) == ([], [], 1, 1)

    # the cover gets its label (changed: parsed), the original loses everything (removed)
    write_track(tmp_path, COVER)
    shutil.rmtree(tmp_path / "Similar/Rock/00001/Org")
    lst2 = scan.scan_root(tmp_path)
    third = incremental.plan_run(lst2, good=good, rejected=rejected, loose=loose, run_label={ORG: "r1"})
    assert [t.track_id for t in third.to_parse] == [COVER] and third.changed == 1 and third.removed == 1
    assert third.delete_track_ids == [ORG]
    removed = [r for r in third.rejections if r.reason is R.REMOVED]
    assert sorted(r.path for r in removed) == sorted(good[ORG]) and "r1" in removed[0].detail


def test_unexpected_failure_quarantines_every_member(tmp_path):
    write_track(tmp_path, ORG)
    track = scan.scan_root(tmp_path).tracks[ORG]
    rows = parse.unexpected_failure(track, RuntimeError("boom"))
    assert len(rows) == 4 and {r.reason for r in rows} == {R.PARSE_ERROR} and "boom" in rows[0].detail
