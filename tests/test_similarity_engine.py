"""Invariances of the similarity engine on POP909 melodies with our own transforms (numpy fixtures)."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from musim_spark.errors import ParameterError
from musim_spark.similarity import SimilaritySettings, compare_pieces, extract_features
from musim_spark.similarity import transforms as T
from musim_spark.similarity.align import local_alignments, sw_score, sw_score_numpy
from musim_spark.similarity.features import TrackFeatures
from musim_spark.similarity.melody import melody_similarity
from musim_spark.similarity.sections import sections_iou

POP909 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pop909"
pytestmark = pytest.mark.skipif(not (POP909 / "001" / "001.mid").is_file(), reason="POP909 not present")

S = SimilaritySettings()


def _load(no: str):
    from musim_spark.midi import read_midi

    return read_midi(POP909 / no / f"{no}.mid", melody="MELODY")


@pytest.fixture(scope="module")
def songs():
    return {k: _load(k) for k in ("001", "005", "012")}


@pytest.fixture(scope="module")
def original(songs):
    return songs["001"]


def _cmp(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compare_pieces(a, b, settings=S)


def test_self_match_is_100(original):
    r = _cmp(original, original)
    assert r.melody.raw_score == pytest.approx(100.0)
    assert r.chord.raw_score == pytest.approx(100.0)
    assert r.rhythm.raw_score > 95.0
    for f in (r.melody, r.rhythm, r.chord):  # calibrated: far above every decision threshold
        assert f.score > 99.0 and f.normalised > 5.0
    assert r.similar and r.coefficient > 0.9


def test_transposed_tempo_changed_rerhythmed_copy_scores_high(original, songs):
    cover = T.transpose(original, 5)
    cover = T.tempo_change(cover, 1.2)
    cover = T.partial_tempo_change(cover, 0.85, 30.0, 90.0)
    cover = T.rerhythm(cover, 60.0, 100.0, track="MELODY", seed=1)
    cover = T.ornament(cover, track="MELODY", rate=0.1, seed=2)
    r = _cmp(cover, original)
    neg = _cmp(songs["005"], original)
    assert r.melody.score > 60.0 > neg.melody.score
    assert r.chord.score > 80.0
    assert r.melody.transposition == 5
    assert r.similar and not neg.similar


def test_transcription_noise_and_crop_keep_melody_high(original, songs):
    noisy = T.transcription_noise(original, seed=3)
    part = T.crop(original, 40.0, 100.0)
    for q in (noisy, part):
        r = _cmp(q, original)
        assert r.melody.score > 40.0
        assert r.melody.score > 3 * _cmp(q, songs["012"]).melody.score
        assert r.similar


def test_crop_sections_land_in_both_timelines(original):
    part = T.crop(original, 40.0, 100.0)
    r = _cmp(part, original)
    q = [(s["query_start_ms"] / 1000, (s["query_start_ms"] + s["query_duration_ms"]) / 1000) for s in r.melody.sections]
    o = [(s["original_start_ms"] / 1000, (s["original_start_ms"] + s["original_duration_ms"]) / 1000)
         for s in r.melody.sections]
    assert sections_iou(o, [(40.0, 100.0)]) > 0.8
    assert sections_iou(q, [(0.0, 60.0)]) > 0.8


def test_same_chords_different_melody_scores_low_on_melody(original, songs):
    other = songs["005"].track("MELODY")
    fake = T.replace_track(original, "MELODY", other)
    r = _cmp(fake, original)
    assert r.melody.score < 20.0
    assert r.chord.score > 90.0
    assert not r.similar


def _arranged(no: str, genre: str = "Dance"):
    """A POP909 song (first 60 s) in the sample-data arrangement: its own Melody/SubMelody/Chord plus
    the genre's generated Bass/Pad/drum patterns (the same for every song of the genre)."""
    from musim_spark.sampledata.arrangement import arrange
    from musim_spark.sampledata.source import crop_song, read_song

    piece = arrange(crop_song(read_song(POP909, no), 60.0), genre, rng=np.random.default_rng(0))
    return piece.with_roles(melody="Melody", rhythm="Rhythm", chord="Chord")


def test_rhythm_is_song_specific_not_genre_drums():
    """Two different songs over the same drum/bass/pad patterns share little rhythm (their melody and
    comping rhythms differ); a song and its re-instrumented copy share all of it."""
    import dataclasses

    from musim_spark.model import Piece
    from musim_spark.similarity.rhythm import rhythm_similarity

    a, b = _arranged("012"), _arranged("005")
    copy = Piece(tuple(t if t.is_drum else dataclasses.replace(t, program=(t.program + 5) % 128) for t in b.tracks),
                 b.tempo_bpm, None)
    fa, fb, fc = (extract_features(p) for p in (a, b, copy))
    other = rhythm_similarity(fa, fb, settings=S).score
    own = rhythm_similarity(fc, fb, settings=S).score
    assert own > 95.0
    assert other < 50.0  # drums + accompaniment only (before the melody/comping groups): 58


def test_rhythm_smoothing_tolerates_a_one_step_shift():
    from musim_spark.similarity.rhythm import smooth_patterns, window_similarity

    p = np.zeros((4, 1, 4), np.float32)
    p[:, 0, 0] = 1.0                      # an onset on every pulse
    q = np.roll(p, 1, axis=2)             # every onset one step late
    def window(x):                        # the 4 pulses as one window, shape (1, G=1, 16)
        return x.transpose(1, 0, 2).reshape(1, 1, 16)

    assert window_similarity(window(p), window(q), [1.0])[0, 0] == pytest.approx(0.0)
    sp, sq = smooth_patterns(p, 0.5), smooth_patterns(q, 0.5)
    assert window_similarity(window(sp), window(sq), [1.0])[0, 0] > 0.5
    np.testing.assert_array_equal(smooth_patterns(p, 0.0), p)


def test_features_round_trip_and_embedding(original):
    f = extract_features(original)
    back = TrackFeatures.from_dict({k: v.tolist() for k, v in f.to_dict().items()})
    for k, v in f.to_dict().items():
        np.testing.assert_array_equal(getattr(back, k), v)
    g = extract_features(T.transpose(original, 3))
    h = extract_features(_load("005"))
    assert float(f.embedding @ g.embedding) > float(f.embedding @ h.embedding)


def test_numba_kernel_equals_numpy_baseline():
    rng = np.random.default_rng(0)
    for n, m in ((1, 1), (7, 3), (60, 80)):
        M = rng.normal(-0.4, 1.5, (n, m))
        a = sw_score(M, gap_open=2.0, gap_extend=0.5)
        assert a.score == pytest.approx(sw_score_numpy(M, gap_open=2.0, gap_extend=0.5))
        # the path's own score never exceeds the optimum and uses matched cells only
        assert np.all(np.diff(a.rows) > 0) and np.all(np.diff(a.cols) > 0)


def test_multiple_alignments_do_not_overlap():
    M = np.full((40, 40), -2.0)
    M[np.arange(10), np.arange(10)] = 2.0
    M[np.arange(25, 35), np.arange(25, 35)] = 2.0
    als = local_alignments(M, gap_open=3.0, gap_extend=1.0, max_alignments=3, min_score=5.0)
    assert len(als) == 2
    spans = sorted((int(a.rows[0]), int(a.rows[-1])) for a in als)
    assert spans == [(0, 9), (25, 34)]


def test_validate_and_empty_input():
    f = extract_features(_load("001"))
    bad = TrackFeatures(**{**f.to_dict(), "melody_onset": f.melody_onset[:-1]})
    with pytest.raises(ParameterError):
        melody_similarity(bad, f, settings=S)
    empty = TrackFeatures(**{**f.to_dict(), "melody_pitch": f.melody_pitch[:3],
                             "melody_onset": f.melody_onset[:3], "melody_offset": f.melody_offset[:3]})
    with pytest.warns(UserWarning, match="too few notes"):
        r = melody_similarity(empty, f, settings=S)
    assert np.isnan(r.score) and r.sections == []
    with pytest.raises(ParameterError):
        sw_score(np.array([[np.nan]]), gap_open=1.0, gap_extend=0.5)


def test_similarity_imports_without_pyspark():
    import subprocess
    import sys

    code = ("import sys, musim_spark.similarity, musim_spark.similarity.report, musim_spark.similarity.command; "
            "sys.exit(1 if 'pyspark' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_library_defaults_are_the_calibrated_conf():
    """Library users without conf/ must get the same decisions as `musim compare`: a recalibration
    that updates conf/local.yaml but not SimilaritySettings' defaults (or the reverse) fails here."""
    import dataclasses

    from musim_spark.config import load_config
    from musim_spark.similarity.settings import SimilaritySettings, settings_from_config

    from_conf = settings_from_config(load_config())
    defaults = SimilaritySettings()
    differ = [f.name for f in dataclasses.fields(defaults)
              if getattr(from_conf, f.name) != getattr(defaults, f.name)]
    assert differ == []
