"""`musim sample-data` end to end without audio: layout, labels, truth, faults, zip parts, seeds."""
from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from musim_spark import labels
from musim_spark.errors import InputError, ParameterError, QuarantineReason
from musim_spark.layout import COVER_TYPES, DATASET_COVER_TYPES, parse_relative_path, track_path, parse_track_id
from musim_spark.midi import read_midi
from musim_spark.sampledata.generate import TRUTH_COLUMNS, generate
from musim_spark.sampledata.noise import note_f1
from musim_spark.sampledata.zipparts import dataset_files, join_parts

POP909 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pop909"


@pytest.fixture(scope="module")
def full_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "demo"
    summary = generate(out, songs=3, regular=1, seconds=12, seed=7, cover_types="all", faults=True,
                       audio=False, zip_parts=64 * 1024, pop909_dir=POP909, processes=2)
    return out, summary


def _truth(out):
    with open(out / "_truth" / "truth.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _tree_hashes(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_summary_and_truth_table(full_set):
    out, summary = full_set
    assert summary["originals"] == 4 and summary["covers"] == 3 * len(COVER_TYPES)
    rows = _truth(out)
    assert list(rows[0].keys()) == list(TRUTH_COLUMNS)
    assert len(rows) == summary["tracks"] == 4 + 3 * len(COVER_TYPES) == 64
    ids = [r["track_id"] for r in rows]
    assert len(set(ids)) == len(ids)
    songs = {(r["kind"], r["song_no"]) for r in rows}
    assert songs == {("Similar", "00001"), ("Similar", "00002"), ("Similar", "00003"), ("Regular", "00004")}
    for r in rows:
        tid = parse_track_id(r["track_id"])
        assert tid.cover_type == r["cover_type"]
        assert r["original_track_id"] == ("" if tid.is_original else tid.original_track_id)
        for col in ("melody_sections", "rhythm_sections", "chord_sections"):
            for s in json.loads(r[col]):
                assert set(s) == {"startMilliSec", "durationMilliSec", "originalStartMilliSec",
                                  "originalDurationMilliSec"}
        json.loads(r["params"])
    # distinct POP909 sources per original
    assert len({r["source_song"] for r in rows if r["cover_type"] == "Org"}) == 4


def test_layout_and_labels(full_set):
    out, _ = full_set
    rows = {r["track_id"]: r for r in _truth(out)}
    for tid_s, row in rows.items():
        tid = parse_track_id(tid_s)
        for ext in ("mid", "xml", "json"):
            rel = track_path(tid, ext)
            assert (out / rel).is_file(), rel
            assert parse_relative_path(rel)[0] == tid
        assert not (out / track_path(tid, "wav")).exists()  # --no-audio
        label = labels.read_label_file(out / track_path(tid, "json"))
        labels.validate_label(label)
        info = label["data_Set"]["songinfo"]
        assert info["coverType"] == tid.cover_type and info["songGenre"] == tid.genre
        assert (info["melodyTrack"], info["rhythmTrack"], info["chordTrack"]) == ("Melody", "Rhythm", "Chord")
        assert info["melodySimilarity"] == "" and info["similarityCoefficient"] == ""
        assert labels.label_file_paths(label, path="x") == (track_path(tid, "wav"), track_path(tid, "mid"))
        ds = label["data_Set"]
        if tid.is_original:
            assert ds["melodySameSection"] == [] == ds["rhythmSameSection"]
        else:
            for col, key in (("melody_sections", "melodySameSection"), ("rhythm_sections", "rhythmSameSection"),
                             ("chord_sections", "chordSameSection")):
                want = [{"startMilliSec": s["startMilliSec"], "durationMilliSec": s["durationMilliSec"]}
                        for s in json.loads(row[col])]
                assert ds[key] == want
        # delivered MIDI = the truth MIDI (no noise), tracks named as the label says
        assert (out / track_path(tid, "mid")).read_bytes() == (out / "_truth" / "midi" / f"{tid_s}.mid").read_bytes()
        assert len(ds["instrumentList"]) >= 5


def test_midi_tracks_and_musicxml(full_set):
    out, _ = full_set
    row = next(r for r in _truth(out) if r["cover_type"] == "Instrument_A")
    tid = parse_track_id(row["track_id"])
    piece = read_midi(out / track_path(tid, "mid"), melody="Melody", rhythm="Rhythm", chord="Chord")
    names = [t.name for t in piece.tracks]
    assert {"Melody", "Rhythm", "Chord", "Bass"} <= set(names) and len(names) >= 5
    assert piece.track("Rhythm").is_drum
    orig = read_midi(out / track_path(parse_track_id(tid.original_track_id), "mid"))
    changed = json.loads(row["instruments_changed"])
    assert len(changed) == 5
    for t in piece.tracks:
        assert (t.program != orig.track(t.name).program) == (t.name in changed)
    xml = (out / track_path(tid, "xml")).read_bytes()
    assert b"<score-partwise" in xml and b"<part-name>Melody</part-name>" in xml


def test_cover_timelines_match_truth(full_set):
    """A Tempo cover's notes sit where its truth's section mapping puts the original's notes."""
    out, _ = full_set
    for row in _truth(out):
        if not row["cover_type"].startswith("Tempo"):
            continue
        cover = read_midi(out / "_truth" / "midi" / f"{row['track_id']}.mid").track("Melody")
        orig = read_midi(out / "_truth" / "midi" / f"{row['original_track_id']}.mid").track("Melody")
        secs = json.loads(row["melody_sections"])
        assert len(secs) >= 2 and abs(float(row["tempo_ratio"]) - 1) >= 0.1
        mapped = []
        for n in orig.notes:
            s = next(s for s in secs if s["originalStartMilliSec"] <= n.start * 1000
                     < s["originalStartMilliSec"] + s["originalDurationMilliSec"] + 1)
            scale = s["durationMilliSec"] / s["originalDurationMilliSec"]
            mapped.append((s["startMilliSec"] + (n.start * 1000 - s["originalStartMilliSec"]) * scale) / 1000)
        # ms-rounded sections and MIDI ticks: within 5 ms
        assert np.allclose(cover.onsets(), mapped, atol=0.005)


def test_faults_csv_reasons_are_what_the_readers_say(full_set):
    out, _ = full_set
    with open(out / "_truth" / "faults.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    reasons = {r["reason"] for r in rows}
    need = {"WAV_TRUNCATED", "WAV_NOT_AUDIO", "WAV_WRONG_FORMAT", "MIDI_EMPTY", "MIDI_CORRUPT", "LABEL_NOT_JSON",
            "LABEL_NOT_UTF8", "LABEL_MISSING_FIELDS", "LABEL_PATH_ESCAPES_ROOT", "MIDI_MISSING", "STRAY_FILE",
            "LABEL_DUPLICATE", "NAME_FOLDER_MISMATCH"}
    assert need <= reasons and reasons <= {q.value for q in QuarantineReason}
    good = {r["track_id"] for r in _truth(out)}
    import soundfile as sf

    for r in rows:
        path = out / r["path"]
        reason = r["reason"]
        assert r["track_id"] not in good or reason == "LABEL_DUPLICATE"
        if reason == "MIDI_MISSING":
            assert not path.exists() and path.with_suffix(".json").exists()
            continue
        assert path.is_file(), r["path"]
        if reason.startswith("LABEL_") and reason != "LABEL_DUPLICATE":
            with pytest.raises(InputError) as e:
                obj = labels.read_label_file(path)
                labels.validate_label(obj)
                labels.label_file_paths(obj, path=str(path))
            assert e.value.reason.value == reason
        elif reason in ("MIDI_EMPTY", "MIDI_CORRUPT"):
            with pytest.raises(InputError) as e:
                read_midi(path)
            assert e.value.reason.value == reason
        elif reason == "WAV_NOT_AUDIO":
            assert not path.read_bytes().startswith(b"RIFF")
        elif reason == "WAV_WRONG_FORMAT":
            info = sf.info(str(path))
            assert (info.samplerate, info.channels) == (22050, 1)
        elif reason == "WAV_TRUNCATED":
            data = path.read_bytes()
            assert data.startswith(b"RIFF") and int.from_bytes(data[4:8], "little") + 8 > len(data)
        elif reason == "NAME_FOLDER_MISMATCH":
            with pytest.raises(ParameterError, match="disagrees"):
                parse_relative_path(r["path"])
        elif reason == "LABEL_DUPLICATE":
            copy = labels.read_label_file(path)
            own = labels.read_label_file(path.parent / f"{r['track_id']}.json")
            assert labels.label_file_paths(copy, path="c") == labels.label_file_paths(own, path="o")
        elif reason == "STRAY_FILE":
            with pytest.raises(ParameterError):
                parse_relative_path(r["path"])
    # fault tracks keep no truth
    assert not any("_900" in p.name for p in (out / "_truth" / "midi").iterdir())


def test_zip_parts_rebuild_the_tree(full_set, tmp_path):
    out, summary = full_set
    parts = [Path(p) for p in summary["zip_parts"]]
    assert len(parts) >= 2 and all(p.name.startswith("demo.zip.part") for p in parts)
    assert all(p.stat().st_size == 64 * 1024 for p in parts[:-1])
    whole = join_parts(list(reversed(parts)), tmp_path / "demo.zip")
    with zipfile.ZipFile(whole) as zf:
        names = zf.namelist()
        assert names == dataset_files(out)
        assert not any(n.startswith("_") for n in names)
        assert any(n.startswith("Similar/") for n in names) and any(n.startswith("Regular/") for n in names)
        for n in names[::17]:
            assert zf.read(n) == (out / n).read_bytes()


def test_same_seed_same_bytes_and_noise(tmp_path):
    kw = dict(songs=1, regular=1, seconds=8, cover_types=["Rhythm_A", "Genre_A", "Tempo_C"], audio=False,
              midi_noise=0.3, pop909_dir=POP909, processes=1, faults=True, zip_parts=100_000,
              fault_seconds=4)
    generate(tmp_path / "a", seed=3, **kw)
    generate(tmp_path / "b", seed=3, **kw)
    generate(tmp_path / "c", seed=4, **kw)
    ha, hb, hc = (_tree_hashes(tmp_path / x) for x in "abc")
    ha = {k.replace("a.zip", "Z"): v for k, v in ha.items()}
    hb = {k.replace("b.zip", "Z"): v for k, v in hb.items()}
    assert ha == hb
    assert ha != {k.replace("c.zip", "Z"): v for k, v in hc.items()}
    # noisy delivered MIDI: differs from the clean truth, F1 in the calibrated band
    out = tmp_path / "a"
    for row in _truth(out):
        tid = parse_track_id(row["track_id"])
        clean = read_midi(out / "_truth" / "midi" / f"{row['track_id']}.mid")
        noisy = read_midi(out / track_path(tid, "mid"))
        assert clean != noisy
        assert 0.55 < note_f1(clean, noisy) < 0.95
    # regenerating into a previous set replaces it; a foreign non-empty folder is refused
    generate(tmp_path / "a", seed=3, **kw)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "x.txt").write_text("mine")
    with pytest.raises(ParameterError, match="refusing"):
        generate(tmp_path / "foreign", seed=3, **kw)


def test_cli(tmp_path, capsys):
    from musim_spark.cli import main

    rc = main(["sample-data", str(tmp_path / "s"), "--songs", "1", "--regular", "0", "--seconds", "6",
               "--no-audio", "--processes", "1", "--cover-types", "dataset", "--pop909", str(POP909)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "10 tracks" in printed and "truth" in printed
    rows = _truth(tmp_path / "s")
    assert sorted(r["cover_type"] for r in rows) == sorted(("Org",) + DATASET_COVER_TYPES)
    assert main(["sample-data", str(tmp_path / "t"), "--seconds", "1", "--no-audio"]) == 1


def test_settings_from_config(tmp_path, monkeypatch):
    from musim_spark.config import load_config
    from musim_spark.sampledata.command import parse_size
    from musim_spark.sampledata.settings import SampleDataSettings

    conf = tmp_path / "conf" / "c.yaml"
    conf.parent.mkdir()
    conf.write_text("sample_data:\n  pop909_dir: rel/pop\n  soundfont: ~/gm.sf2\n  midi_noise: 0.28\n",
                    encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    s = SampleDataSettings.from_config(load_config(conf))
    # relative to the working directory, not to the conf file, the package or a checkout
    assert s.pop909_dir == str((work / "rel" / "pop").resolve()) and s.midi_noise == 0.28
    assert s.soundfont == str(Path("~/gm.sf2").expanduser().resolve())
    assert SampleDataSettings.from_config(None).pop909_dir == str((work / ".." / "shared" / "data" / "pop909").resolve())
    conf.write_text("sample_data:\n  midi_nosie: 0.28\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="midi_nosie"):
        SampleDataSettings.from_config(load_config(conf))
    with pytest.raises(ParameterError):
        parse_size("5Q")


def test_settings_defaults_are_the_packaged_defaults():
    """The dataclass defaults (``from_config(None)``) equal the packaged default configuration."""
    import dataclasses

    from musim_spark.config import load_config
    from musim_spark.sampledata.settings import SampleDataSettings

    packaged = dict(load_config(None).section("sample_data"))
    assert set(packaged) == {f.name for f in dataclasses.fields(SampleDataSettings)}
    defaults = SampleDataSettings()
    for name, value in packaged.items():
        assert getattr(defaults, name) == (dict(value) if name == "genre_mix" else value), name
    assert SampleDataSettings.from_config(None) == SampleDataSettings.from_config(load_config(None))


def test_build_tracks_is_what_generate_writes(tmp_path):
    """The in-memory builder (benchmarks, null-model fits) gives the same truth rows and the same
    clean and delivered MIDI bytes as the files ``generate`` writes, seed for seed."""
    from musim_spark.sampledata.generate import build_tracks
    from musim_spark.sampledata.plan import plan_originals
    from musim_spark.sampledata.writer import midi_bytes
    from musim_spark.sampledata.source import list_songs

    kw = dict(seconds=8, cover_types=["Rhythm_A", "Tempo_C"], midi_noise=0.3, pop909_dir=POP909)
    generate(tmp_path / "g", songs=2, regular=0, seed=5, audio=False, processes=1, **kw)
    rows = {r["track_id"]: r for r in _truth(tmp_path / "g")}
    plans = plan_originals(list_songs(POP909), songs=2, regular=0, seed=5)
    built = [t for p in plans for t in build_tracks(p, seed=5, **kw)]
    assert sorted(t.track_id for t in built) == sorted(rows)
    for t in built:
        assert t.truth == rows[t.track_id]
        tid = parse_track_id(t.track_id)
        assert midi_bytes(t.clean) == (tmp_path / "g" / "_truth" / "midi" / f"{t.track_id}.mid").read_bytes()
        assert midi_bytes(t.delivered) == (tmp_path / "g" / track_path(tid, "mid")).read_bytes()
