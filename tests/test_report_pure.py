"""The pair report's pure parts (musim_spark/report): matched notes, the time map, chords, sentences, audio."""

import base64
import dataclasses
import io

import numpy as np
import pytest

from musim_spark.model import Note, Piece
from musim_spark.report.audio import data_uri, synth_excerpt, wav_beside
from musim_spark.report.chords import chord_agreement, chord_rows, estimate_key, parse_key, roman_numeral
from musim_spark.report.explain import coverage, melody_sentence, score_phrase
from musim_spark.report.page import render_report
from musim_spark.report.warp import matched_notes, monotone_pairs, time_map, warp_times
from musim_spark.similarity.compare import compare_pieces, piece_features
from musim_spark.similarity.facet import nan_result
from musim_spark.similarity.settings import SimilaritySettings

from test_compare_cli import _song

S = SimilaritySettings()


def _cover(song, factor=1.2, shift=3):
    return Piece(tuple(dataclasses.replace(t, notes=tuple(
        Note(n.pitch + (0 if t.is_drum else shift), n.start * factor, n.end * factor, n.velocity) for n in t.notes))
        for t in song.tracks), tempo_bpm=song.tempo_bpm / factor)


@pytest.fixture(scope="module")
def tempo_pair():
    a, b = _song(n=160), _cover(_song(n=160))
    fa, fb = piece_features(a, settings=S), piece_features(b, settings=S)
    from musim_spark.similarity.compare import compare_features

    return compare_features(fa, fb, settings=S), fa, fb, a, b


def test_warp_times_lands_anchors_exactly_and_extrapolates_at_the_mean_slope():
    src, dst = np.array([1.2, 2.4, 6.0]), np.array([1.0, 2.0, 5.0])
    assert np.array_equal(warp_times(src, src, dst), dst)
    assert np.allclose(warp_times(np.array([0.0, 7.2]), src, dst), [0.0, 6.0])
    t = np.array([0.0, 3.0])
    assert np.array_equal(warp_times(t, np.zeros(0), np.zeros(0)), t)        # no anchors: identity
    assert np.allclose(warp_times(t, np.array([1.0]), np.array([3.0])), [2.0, 5.0])  # one: a shift


def test_monotone_pairs_keeps_the_longest_chain_that_runs_forward_in_both():
    rows = np.array([0, 1, 2, 3, 4, 5])
    cols = np.array([10, 11, 0, 1, 2, 12])
    keep = monotone_pairs(rows, cols)
    assert cols[keep].tolist() in ([0, 1, 2, 12],) and np.all(np.diff(rows[keep]) > 0)
    assert monotone_pairs(np.zeros(0, int), np.zeros(0, int)).shape == (0,)


def test_matched_notes_of_a_tempo_cover(tempo_pair):
    result, fa, fb, _, _ = tempo_pair
    m = matched_notes(result.melody, fa, fb)
    assert m.n_matched >= 150 and m.same.all() and m.shift == -3
    assert np.allclose(m.onset_b[m.cols], 1.2 * m.onset_a[m.rows], atol=1e-3)
    ta, tb = time_map(m)
    assert np.all(np.diff(ta) > 0) and np.all(np.diff(tb) > 0)
    # the report reads the result; it does not change it
    again = compare_pieces(_song(n=160), _cover(_song(n=160)), settings=S)
    assert again.melody.score == result.melody.score and again.coefficient == result.coefficient


def test_a_facet_without_a_path_matches_nothing(tempo_pair):
    _, fa, fb, _, _ = tempo_pair
    m = matched_notes(nan_result("melody of A has 2 notes; at least 8 are needed"), fa, fb)
    assert m.n_matched == 0 and m.shift == 0
    assert time_map(m)[0].shape == (0,)


def test_keys_numerals_and_chord_agreement():
    assert parse_key("Db major") == (1, "major") and parse_key("Bb:min") == (10, "minor") and parse_key("") is None
    assert [roman_numeral(r, q, 0, "major") for r, q in ((0, 0), (5, 0), (7, 0), (9, 1), (10, 0), (2, 1))] == \
        ["I", "IV", "V", "vi", "bVII", "ii"]
    assert roman_numeral(9, 1, 9, "minor") == "i" and roman_numeral(-1, 0, 0, "major") == "-"
    assert chord_agreement(3, 0, 0, 0, 3) == "same"            # Eb against C moved up 3
    assert chord_agreement(0, 0, 9, 1, 0) == "near"            # C against Am: relative
    assert chord_agreement(0, 0, 2, 0, 0) == "differs" and chord_agreement(-1, 0, 0, 0, 0) == "none"


def test_chord_rows_of_a_tempo_cover_agree(tempo_pair):
    result, fa, fb, _, _ = tempo_pair
    ta, tb = time_map(matched_notes(result.melody, fa, fb))
    cells = chord_rows(fa, fb, lambda t: warp_times(t, ta, tb), result.chord.transposition)
    beats = sum(c.beats for c in cells)
    assert beats == fa.beat_times.shape[0]
    assert sum(c.beats for c in cells if c.agreement == "same") >= 0.8 * beats
    assert estimate_key(fa)[:2] == (0, "major") and estimate_key(fb)[:2] == (3, "major")


def test_sentences(tempo_pair):
    result, fa, fb, _, _ = tempo_pair
    text = melody_sentence(result.melody, matched_notes(result.melody, fa, fb), float(fa.duration[0]))
    assert "B 3 semitones higher" in text and "every aligned note is the same" in text and "above the threshold" in text
    missing = melody_sentence(nan_result("melody of A has 2 notes; at least 8 are needed"), None, 10.0)
    assert missing == "Melody: not enough material to judge (melody of A has 2 notes; at least 8 are needed)."
    assert coverage([(0, 5), (4, 10), (20, 30)], 40) == 0.5
    assert "1 unrelated pair in 1,000" in score_phrase(dataclasses.replace(nan_result(), score=60.0, raw_score=3.0))


def test_audio_excerpts(tmp_path):
    import soundfile as sf

    uri = data_uri(np.sin(np.linspace(0, 2000, 22050)))
    head, b64 = uri.split(",", 1)
    x, fs = sf.read(io.BytesIO(base64.b64decode(b64)))
    assert head.startswith("data:audio/") and abs(len(x) / fs - 1.0) < 0.05
    midi = tmp_path / "song.mid"
    midi.write_bytes(b"")
    assert wav_beside(midi) is None
    (tmp_path / "song.wav").write_bytes(b"")
    assert wav_beside(midi) == tmp_path / "song.wav"
    y = synth_excerpt(_song(), 4.0, 6.0)          # FluidSynth, only the notes of the window
    assert abs(y.shape[0] / 22050 - 2.0) < 0.01 and np.abs(y).max() > 0.01


def test_a_page_from_features_alone(tempo_pair):
    """The sweep's stored features (no files): no listening, estimated keys, still one whole page."""
    result, fa, fb, _, _ = tempo_pair
    page = render_report(result, fa, fb, name_a="q", name_b="o", settings=S)
    assert "No files given" in page and "(estimated)" in page and page.rstrip().endswith("</html>")
    assert page.count('class="connector') >= 2 * 150


def test_time_map_falls_back_on_aligned_chords_when_no_notes_match(tempo_pair):
    _, fa, fb, _, _ = tempo_pair
    m = matched_notes(nan_result(), fa, fb)
    ta, tb = time_map(m, (np.array([0.0, 2.0, 2.0, 4.0]), np.array([0.0, 2.4, 2.5, 4.8])))
    assert ta.tolist() == [0.0, 2.0, 4.0] and tb.tolist() == [0.0, 2.4, 4.8]   # strictly increasing both sides
    assert time_map(m, (np.array([1.0]), np.array([2.0])))[0].shape == (0,)   # one pair: no map
