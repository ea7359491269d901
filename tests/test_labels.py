import copy
import json

import pytest

from musim_spark import labels
from musim_spark.errors import InputError, QuarantineReason


def good_label():
    return {"data_Set": {
        "version": "1.0", "date": "2022. 11. 30",
        "songinfo": {
            "category": "원곡", "coverType": "Org", "title": "노래", "composer": "a", "lyricist": "", "arranger": "",
            "adaptor": "", "singer": "b", "country": "KR", "agency": "", "publicYear": "2022", "album": "",
            "songGenre": "Ballade", "bpm": "92", "songKey": "C major", "lyricText": "가사",
            "similarityCoefficient": "", "melodySimilarity": "", "rhythmSimilarity": "", "chordSimilarity": "",
            "melodyTrack": "Melody", "rhythmTrack": "Rhythm", "chordTrack": "Chord"},
        "instrumentList": [{"instrumentName": "Vocal", "playingTime": "30.0"}],
        "melodySameSection": [], "rhythmSameSection": [], "chordSameSection": [],
        "soundFile": {"playTime": "30.0", "fileType": "wav", "authoringTool": "Cubase 2018",
                      "soundPath": "Similar\\Ballade\\00001\\Org\\Similar_Ballade_00001_Org.wav",
                      "midiPath": "Similar\\Ballade\\00001\\Org\\Similar_Ballade_00001_Org.mid"}}}


def test_good_label_round_trips_and_validates():
    obj = good_label()
    labels.validate_label(obj)
    again = labels.load_label(labels.dump_label(obj), path="x.json")
    assert again == obj
    assert "노래".encode() in labels.dump_label(obj)  # Korean stays text, not \u escapes


def test_bom_and_songInfo_are_accepted():
    obj = good_label()
    obj["data_Set"]["songInfo"] = obj["data_Set"].pop("songinfo")
    raw = b"\xef\xbb\xbf" + json.dumps(obj, ensure_ascii=False).encode()
    got = labels.load_label(raw, path="x.json")
    assert got["data_Set"]["songinfo"]["title"] == "노래"


def test_not_utf8():
    raw = json.dumps(good_label(), ensure_ascii=False).encode("utf-8").replace("노래".encode(), "노래".encode("cp949"))
    with pytest.raises(InputError) as e:
        labels.load_label(raw, path="bad.json")
    assert e.value.reason is QuarantineReason.LABEL_NOT_UTF8 and "bad.json" in str(e.value)


def test_not_json():
    with pytest.raises(InputError) as e:
        labels.load_label(b'{"data_Set": {', path="bad.json")
    assert e.value.reason is QuarantineReason.LABEL_NOT_JSON
    assert "line 1" in e.value.detail


def test_missing_fields_are_all_named():
    obj = good_label()
    del obj["data_Set"]["songinfo"]["title"], obj["data_Set"]["songinfo"]["bpm"]
    with pytest.raises(InputError) as e:
        labels.load_label(json.dumps(obj).encode(), path="m.json")
    assert e.value.reason is QuarantineReason.LABEL_MISSING_FIELDS
    assert "songinfo.title" in e.value.detail and "songinfo.bpm" in e.value.detail
    with pytest.raises(InputError) as e2:
        labels.validate_label(obj)
    assert e2.value.reason is QuarantineReason.LABEL_MISSING_FIELDS


def test_schema_violation_is_invalid():
    obj = good_label()
    obj["data_Set"]["songinfo"]["bpm"] = "fast"
    with pytest.raises(InputError) as e:
        labels.validate_label(obj)
    assert e.value.reason is QuarantineReason.LABEL_INVALID and "bpm" in e.value.detail


def test_paths_escaping_root():
    obj = good_label()
    assert labels.label_file_paths(obj, path="x")[0] == "Similar/Ballade/00001/Org/Similar_Ballade_00001_Org.wav"
    obj["data_Set"]["soundFile"]["soundPath"] = "..\\..\\etc\\x.wav"
    with pytest.raises(InputError) as e:
        labels.label_file_paths(obj, path="x")
    assert e.value.reason is QuarantineReason.LABEL_PATH_ESCAPES_ROOT


def test_numbers_are_typed():
    obj = copy.deepcopy(good_label())
    obj["data_Set"]["songinfo"].update(melodySimilarity="87.5", similarityCoefficient="-0.25")
    n = labels.songinfo_numbers(obj)
    assert n == {"bpm": 92.0, "similarity_coefficient": -0.25, "melody_similarity": 87.5,
                 "rhythm_similarity": None, "chord_similarity": None}


def test_packaged_schema_matches_shared_spec():
    import pathlib
    shared = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "spec" / "label.schema.json"
    if not shared.exists():
        pytest.skip("../shared/spec not beside this checkout")
    assert json.loads(shared.read_text("utf-8")) == dict(labels.SCHEMA)


@pytest.mark.parametrize("value, number", [
    ("92", 92.0), (" 183.25 ", 183.25), (92, 92.0), (-0.5, -0.5), ("", None), ("  ", None), (None, None),
    ("abc", None), ("nan", None), ("inf", None), (float("nan"), None), (True, None), (["1"], None), (10 ** 400, None),
])
def test_field_number_is_the_one_reading_of_numbers(value, number):
    assert labels.field_number(value) == number


def test_play_time_and_songinfo_numbers_read_alike():
    obj = copy.deepcopy(good_label())
    obj["data_Set"]["songinfo"]["bpm"] = " 30.0 "
    assert labels.songinfo_numbers(obj)["bpm"] == labels.field_number(obj["data_Set"]["soundFile"]["playTime"])


def test_track_roles_from_the_label():
    obj = copy.deepcopy(good_label())
    assert labels.track_roles(obj) == {"melody": "Melody", "rhythm": "Rhythm", "chord": "Chord"}
    obj["data_Set"]["songinfo"].update(rhythmTrack="", chordTrack=None)
    del obj["data_Set"]["songinfo"]["melodyTrack"]
    assert labels.track_roles(obj) == {"melody": None, "rhythm": None, "chord": None}
    assert labels.track_roles({}) == labels.track_roles({"data_Set": {"songinfo": None}})
    assert set(labels.ROLE_FIELDS) == {"melody", "rhythm", "chord"}


def test_track_roles_feed_read_midi(tmp_path):
    from musim_spark.midi import read_midi, write_midi
    from musim_spark.model import Note, Piece, Track

    path = tmp_path / "a.mid"
    write_midi(Piece((Track("Lead", (Note(60, 0.0, 0.5),)), Track("Pads", (Note(48, 0.0, 1.0),)))), path)
    obj = copy.deepcopy(good_label())
    obj["data_Set"]["songinfo"].update(melodyTrack="lead", chordTrack="Pads", rhythmTrack="")
    piece = read_midi(path, **labels.track_roles(obj))
    assert [(t.name, t.role) for t in piece.tracks] == [("Lead", "melody"), ("Pads", "chord")]


def test_field_text_keeps_strings_and_writes_other_values_as_json():
    assert labels.field_text("노래") == "노래" and labels.field_text("") == ""
    assert labels.field_text(None) is None and labels.field_text({"a": "가"}) == '{"a": "가"}'
