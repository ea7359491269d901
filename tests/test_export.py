"""musim export without Spark: a hand-built warehouse (tracks, labels, matches written with write_arrow)
exported to labels, matches.csv, sweep.html and manifest.json; schema failures, atomicity, refusals."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest

from musim_spark import cli
from musim_spark.export import stage as export_stage
from musim_spark.export.labels import coefficient_text, fill_label, label_match, percent_text
from musim_spark.io.plan import WritePlan
from musim_spark.io.tables import TABLES, table_uri
from musim_spark.io.write import write_arrow
from musim_spark.labels import validate_label
from musim_spark.layout import parse_track_id, track_path, windows_path
from musim_spark.runs import new_run_id

from test_status import fill

UTC = dt.timezone.utc
RUN = new_run_id(dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC))

ORG = "Similar_Trot_00001_Org"
RHY = "Similar_Trot_00001_Cover_Rhythm_A"
TEMPO = "Similar_Trot_00001_Cover_Tempo_A"
BAL = "Similar_Ballade_00002_Org"
REG = "Regular_Ballade_00003_Org"
TRACK_IDS = (ORG, RHY, TEMPO, BAL, REG)


def make_label(track_id: str, *, songinfo_key: str = "songinfo") -> dict:
    """A label in the data set's form (Korean text, every value a string), similarity fields empty."""
    tid = parse_track_id(track_id)
    return {"data_Set": {
        "version": "1.0", "date": "2022. 11. 30",
        songinfo_key: {
            "category": tid.category, "coverType": tid.cover_type, "title": f"노래 {tid.song_no}",
            "composer": "작곡가", "singer": "가수", "songGenre": tid.genre, "bpm": "120", "songKey": "C major",
            "lyricText": "가사", "similarityCoefficient": "", "melodySimilarity": "", "rhythmSimilarity": "",
            "chordSimilarity": "", "melodyTrack": "Melody", "rhythmTrack": "Rhythm", "chordTrack": "Chord"},
        "instrumentList": [{"instrumentName": "Vocal", "playingTime": "30"}],
        "melodySameSection": [], "rhythmSameSection": [], "chordSameSection": [],
        "soundFile": {"playTime": "30", "fileType": "wav", "authoringTool": "Cubase 2018",
                      "soundPath": windows_path(tid, "wav"), "midiPath": windows_path(tid, "mid")},
    }}


def sec(qs, qd, os_, od):
    return {"query_start_ms": qs, "query_duration_ms": qd, "original_start_ms": os_, "original_duration_ms": od}


def match(q, o, rank, coef, m, r, c, similar, *, sections=(), source="midi"):
    return {"query_track_id": q, "original_track_id": o, "rank": rank, "melody_similarity": m,
            "rhythm_similarity": r, "chord_similarity": c, "similarity_coefficient": coef, "is_similar": similar,
            "melody_significance": m / 10 if m is not None else None, "source": source,
            "melody_sections": list(sections), "rhythm_sections": [], "chord_sections": list(sections[:1]),
            "run_id": RUN}


#: The sweep's rows: Rhythm_A finds its original; Tempo_A ranks the wrong original first (not similar)
#: and its own second; the two Similar originals are similar to each other (one pair, two rows); the
#: Regular original matches nothing similar.
MATCHES = [
    match(RHY, ORG, 1, 0.8, 90.0, 30.0, 70.0, True, sections=(sec(1000, 4000, 1200, 4000), sec(9000, 2000, 9000, 2000))),
    match(RHY, BAL, 2, -0.7, 20.0, 10.0, 5.0, False),
    match(TEMPO, BAL, 1, -0.5, 40.0, None, 12.5, False),
    match(TEMPO, ORG, 2, 0.6, 85.0, 60.0, 55.0, True, sections=(sec(0, 6000, 0, 7200),)),
    match(ORG, BAL, 1, 0.3, 60.0, 40.0, 30.0, True, sections=(sec(500, 1000, 700, 1000),)),
    match(BAL, ORG, 1, 0.25, 58.0, 40.0, 30.0, True, sections=(sec(700, 1000, 500, 1000),)),
    match(REG, ORG, 1, -0.9, 10.0, 5.0, 1.0, False),
]


def write_table(wh, name, rows: list[dict]):
    spec = TABLES[name]
    write_arrow(pa.Table.from_pylist(rows, schema=spec.schema),
                WritePlan(table_uri(wh, name), schema=spec.schema, mode="append", run_id=RUN, app_id=f"test:{name}"))


def build_warehouse(wh, *, root="/nonexistent-root", labels: dict | None = None, matches=MATCHES,
                    with_matches=True):
    """tracks + labels (+ matches) for :data:`TRACK_IDS`; ``labels`` overrides some label dicts."""
    tids = [parse_track_id(t) for t in TRACK_IDS]
    n = len(tids)
    tracks = fill(TABLES["tracks"].schema, n,
                  track_id=[t.track_id for t in tids], kind=[t.kind for t in tids], genre=[t.genre for t in tids],
                  song_no=[t.song_no for t in tids], version=[t.version for t in tids],
                  cover_type=[None if t.is_original else t.cover_type for t in tids],
                  json_path=[track_path(t, "json") for t in tids], mid_path=[track_path(t, "mid") for t in tids],
                  root=[str(root)] * n, run_id=[RUN] * n)
    write_arrow(tracks, WritePlan(table_uri(wh, "tracks"), schema=tracks.schema, mode="append", run_id=RUN,
                                  app_id="test:tracks"))
    given = labels or {}
    raw = {t: json.dumps(given.get(t) or make_label(t, songinfo_key="songInfo" if t == REG else "songinfo"),
                         ensure_ascii=False) for t in TRACK_IDS}
    lab = fill(TABLES["labels"].schema, n, track_id=list(TRACK_IDS), raw_json=[raw[t] for t in TRACK_IDS],
               run_id=[RUN] * n)
    write_arrow(lab, WritePlan(table_uri(wh, "labels"), schema=lab.schema, mode="append", run_id=RUN,
                               app_id="test:labels"))
    if with_matches:
        write_table(wh, "matches", list(matches))


def exported(out: Path, track_id: str) -> dict:
    return json.loads((out / track_path(parse_track_id(track_id), "json")).read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------- pure
def test_number_texts_fit_the_schema_patterns():
    assert [coefficient_text(x) for x in (1.0, -1.0, 0.004, -0.004, 2.0, float("nan"), None)] == \
        ["1.00", "-1.00", "0.00", "0.00", "1.00", "", ""]
    assert [percent_text(x) for x in (100.0, 0.0, 99.96, -3.0, 250.0, None)] == \
        ["100.0", "0.0", "100.0", "0.0", "100.0", ""]


def test_label_match_covers_always_originals_only_when_similar():
    rows = [match(RHY, BAL, 2, 0.9, 90.0, 1.0, 1.0, True), match(RHY, ORG, 1, -0.2, 40.0, 1.0, 1.0, False)]
    assert label_match(rows, is_original=False)["original_track_id"] == ORG   # rank 1, even not similar
    assert label_match(rows, is_original=True) is None                       # an original: only when similar
    assert label_match([], is_original=False) is None


def test_fill_label_keeps_everything_else_and_validates():
    raw = make_label(RHY)
    label = fill_label(json.dumps(raw, ensure_ascii=False), MATCHES[0], path="x.json")
    validate_label(label, path="x.json")
    info = label["data_Set"]["songinfo"]
    assert (info["similarityCoefficient"], info["melodySimilarity"], info["rhythmSimilarity"],
            info["chordSimilarity"]) == ("0.80", "90.0", "30.0", "70.0")
    assert label["data_Set"]["melodySameSection"] == [{"startMilliSec": 1000, "durationMilliSec": 4000},
                                                      {"startMilliSec": 9000, "durationMilliSec": 2000}]
    assert label["data_Set"]["chordSameSection"] == [{"startMilliSec": 1000, "durationMilliSec": 4000}]
    # nothing else changed
    before, after = copy.deepcopy(raw), copy.deepcopy(label)
    for d in (before, after):
        for k in ("similarityCoefficient", "melodySimilarity", "rhythmSimilarity", "chordSimilarity"):
            d["data_Set"]["songinfo"].pop(k)
        for k in ("melodySameSection", "rhythmSameSection", "chordSameSection"):
            d["data_Set"].pop(k)
    assert before == after
    # no match: emptied, even where the delivered label had values
    raw["data_Set"]["songinfo"]["melodySimilarity"] = "77.0"
    raw["data_Set"]["melodySameSection"] = [{"startMilliSec": 0, "durationMilliSec": 5}]
    empty = fill_label(json.dumps(raw), None, path="x.json")["data_Set"]
    assert empty["songinfo"]["melodySimilarity"] == "" and empty["melodySameSection"] == []


# --------------------------------------------------------------------------------------- the CLI
def test_export_writes_labels_csv_page_and_manifest(tmp_path, capsys):
    wh, out = tmp_path / "wh", tmp_path / "out"
    build_warehouse(wh)
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(out), "--reports", "0"]) == 0
    line = capsys.readouterr().out
    assert "5 labels, 7 matches, 3 similar pairs, 0 reports" in line

    # every track's label, in the data set's layout, valid, filled as the module says
    for t in TRACK_IDS:
        validate_label(exported(out, t), path=t)
    rhy = exported(out, RHY)["data_Set"]
    assert rhy["songinfo"]["similarityCoefficient"] == "0.80" and rhy["songinfo"]["title"] == "노래 00001"
    assert rhy["melodySameSection"][0] == {"startMilliSec": 1000, "durationMilliSec": 4000}
    tempo = exported(out, TEMPO)["data_Set"]          # rank 1 (the wrong original, not similar) fills it
    assert tempo["songinfo"]["similarityCoefficient"] == "-0.50" and tempo["songinfo"]["rhythmSimilarity"] == ""
    assert exported(out, ORG)["data_Set"]["songinfo"]["similarityCoefficient"] == "0.30"   # similar original
    reg = exported(out, REG)["data_Set"]
    assert "songinfo" in reg and "songInfo" not in reg   # written as songinfo
    assert reg["songinfo"]["similarityCoefficient"] == "" and reg["melodySameSection"] == []

    # matches.csv: every row, sections as JSON
    with open(out / "matches.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(MATCHES) and list(rows[0]) == TABLES["matches"].schema.names
    first = next(r for r in rows if r["query_track_id"] == RHY and r["rank"] == "1")
    assert json.loads(first["melody_sections"])[1] == sec(9000, 2000, 9000, 2000)
    assert first["is_similar"] == "true" and next(r for r in rows if r["query_track_id"] == TEMPO
                                                  and r["rank"] == "1")["rhythm_similarity"] == ""

    # sweep.html: similar pairs by coefficient, the two originals once
    page = (out / "sweep.html").read_text(encoding="utf-8")
    order = [page.index(f'data-query="{q}" data-original="{o}"') for q, o in ((RHY, ORG), (TEMPO, ORG), (ORG, BAL))]
    assert order == sorted(order)
    assert f'data-query="{BAL}" data-original="{ORG}"' not in page
    assert page.count('<svg class="dist"') == 4 and 'data-group="Rhythm_A"' in page and 'data-group="Trot"' in page
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")

    # manifest: every file with its hash
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["labels"] == 5 and manifest["table_versions"]["matches"] == 0
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    assert len(manifest["files"]) == 5 + 2


def test_label_failing_the_schema_names_file_and_field_and_writes_nothing(tmp_path, capsys):
    wh, out = tmp_path / "wh", tmp_path / "out"
    bad = make_label(TEMPO)
    bad["data_Set"]["songinfo"]["bpm"] = "fast"
    build_warehouse(wh, labels={TEMPO: bad})
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert track_path(parse_track_id(TEMPO), "json") in err and "songinfo/bpm" in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wh"]    # no temporary directory left either


def test_without_matches_says_to_run_similarity_first(tmp_path, capsys):
    wh = tmp_path / "wh"
    build_warehouse(wh, with_matches=False)
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run `musim similarity` first" in err and "matches" in err
    # rows of the other source only: the same, naming the source
    build_warehouse(tmp_path / "wh2", matches=[dict(MATCHES[0], source="midi")])
    assert cli.main(["export", "--warehouse", str(tmp_path / "wh2"), "--out", str(tmp_path / "o2"),
                     "--source", "audio"]) == 1
    assert "musim similarity --source audio" in capsys.readouterr().err


def test_refuses_a_directory_it_did_not_write(tmp_path, capsys):
    wh, out = tmp_path / "wh", tmp_path / "out"
    build_warehouse(wh)
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(out), "--reports", "0"]) == 1
    assert "not a previous export" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


def test_reexport_replaces_the_previous_export_whole(tmp_path, capsys):
    wh, out = tmp_path / "wh", tmp_path / "out"
    build_warehouse(wh)
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(out), "--reports", "0"]) == 0
    (out / "stale.txt").write_text("from an older export")
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(out), "--reports", "0"]) == 0
    assert not (out / "stale.txt").exists() and (out / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "wh"]


def test_a_failure_midway_leaves_the_previous_export_untouched(tmp_path, monkeypatch, capsys):
    wh, out = tmp_path / "wh", tmp_path / "out"
    build_warehouse(wh)
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(out), "--reports", "0"]) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_stage, "render_sweep", boom)   # after the labels and the CSV were written
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(out), "--reports", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left" in err and str(out) in err
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "wh"]


def test_missing_midi_gives_no_report_but_says_why(tmp_path, capsys):
    wh, out = tmp_path / "wh", tmp_path / "out"
    build_warehouse(wh, root=tmp_path / "gone")
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(out), "--reports", "2"]) == 0
    cap = capsys.readouterr()
    assert "0 reports" in cap.out
    assert cap.err.count("musim export: warning: report of") == 2 and "MIDI file not found" in cap.err
    page = (out / "sweep.html").read_text(encoding="utf-8")
    assert 'class="report"' not in page and page.count("MIDI file not found") == 2
    assert "beyond the first 2" in page
    assert list((out / "reports").iterdir()) == []
