import pytest

from musim_spark import layout
from musim_spark.errors import ParameterError


def test_parse_and_rebuild_every_cover_type():
    for ct in ("Org",) + layout.COVER_TYPES:
        tid = layout.make_track_id("Similar", "Rock", 12, ct)
        again = layout.parse_track_id(tid.track_id)
        assert again == tid
        assert again.cover_type == ct
        path = layout.track_path(tid, "mid")
        assert layout.parse_relative_path(path) == (tid, "mid")


def test_dataset_cover_types_are_a_subset_of_all():
    assert set(layout.DATASET_COVER_TYPES) <= set(layout.COVER_TYPES)
    assert len(layout.COVER_TYPES) == 20 and len(layout.DATASET_COVER_TYPES) == 9


def test_category_follows_version():
    assert layout.parse_track_id("Regular_Trot_00007_Org").category == "추가원곡"
    assert layout.parse_track_id("Similar_Trot_00007_Org").category == "원곡"
    assert layout.parse_track_id("Similar_Trot_00007_Cover_Tempo_C").category == "템포변경"


def test_folder_without_range_is_accepted():
    tid, ext = layout.parse_relative_path(
        "Similar/Trot/00268/Cover_Rhythm/Similar_Trot_00268_Cover_Rhythm_A.musicxml")
    assert tid.cover_type == "Rhythm_A" and ext == "xml"


@pytest.mark.parametrize("path", [
    "Similar/Trot/00268/Org/Similar_Trot_00269_Org.mid",      # song number disagrees
    "Similar/Rock/00268/Org/Similar_Trot_00268_Org.mid",      # genre disagrees
    "Regular/Trot/00268/Org/Similar_Trot_00268_Org.mid",      # kind disagrees
    "Similar/Trot/00268/Cover_Tempo_A/Similar_Trot_00268_Cover_Tempo_C.mid",
])
def test_name_folder_mismatch_is_refused(path):
    with pytest.raises(ParameterError, match="disagrees"):
        layout.parse_relative_path(path)


@pytest.mark.parametrize("path", ["Similar/Trot/00268/Org/notes.txt", "readme.md",
                                  "Similar/Trot/Org/Similar_Trot_00268_Org.mid"])
def test_paths_outside_the_layout_are_refused(path):
    with pytest.raises(ParameterError):
        layout.parse_relative_path(path)


@pytest.mark.parametrize("bad", ["..\\..\\etc\\passwd", "Similar\\..\\..\\x.wav", "/etc/passwd", "C:\\x.wav", ".."])
def test_label_paths_never_leave_the_root(bad):
    with pytest.raises(ParameterError):
        layout.normalize_label_path(bad)


def test_label_path_inner_dotdot_that_stays_inside_is_normalised():
    assert layout.normalize_label_path("Similar\\Rock\\..\\Rock\\a.wav") == "Similar/Rock/a.wav"


@pytest.mark.parametrize("name, tooling", [
    ("_truth", True), ("_zip", True), (".git", True), ("Similar", False), ("Regular", False), ("Org", False),
    ("Cover_Rhythm_A", False), ("a_b", False),
])
def test_tooling_folders(name, tooling):
    assert layout.is_tooling_folder(name) is tooling


def test_generator_zip_and_ingest_listing_hold_the_same_files(tmp_path):
    """One rule of which files belong to a data set: the zip writer and the ingest listing agree."""
    from musim_spark.ingest.scan import list_files
    from musim_spark.sampledata.zipparts import dataset_files

    for rel in ("Similar/Rock/00001/Org/a.mid", "Regular/readme.md", "_root_note.txt", "_truth/faults.csv",
                "_zip/set.zip.part0", ".git/HEAD", "Similar/.cache/x", "Similar/Rock/_old/y.mid"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    listed = [f.path for f in list_files(tmp_path)]
    assert listed == dataset_files(tmp_path) == ["Regular/readme.md", "Similar/Rock/00001/Org/a.mid",
                                                  "_root_note.txt"]
