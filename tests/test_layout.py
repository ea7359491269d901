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
