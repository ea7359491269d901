"""The interval 3-gram Jaccard baseline (issue 10's floor): values pinned by hand."""

import numpy as np
import pytest

from musim_spark.errors import ParameterError
from musim_spark.model import Note, Piece, Track
from musim_spark.similarity.baseline import (interval_ngram_jaccard, interval_ngrams, intervals, melody_line,
                                              ngram_jaccard)

# a scale up and down: intervals 2 2 1 2 -2 -1 -2 -2 -> six distinct 3-grams
UPDOWN = np.array([60, 62, 64, 65, 67, 65, 64, 62, 60])


def test_identical_lines_score_one():
    rng = np.random.default_rng(0)
    a = rng.integers(50, 80, 60)
    assert interval_ngram_jaccard(a, a) == 1.0


@pytest.mark.parametrize("shift", [-12, -5, 1, 7])
def test_transposition_does_not_change_the_score(shift):
    rng = np.random.default_rng(1)
    a, b = rng.integers(55, 75, 40), rng.integers(55, 75, 40)
    b[10:25] = a[5:20]  # share a stretch so the value is not 0
    assert interval_ngram_jaccard(a, a + shift) == 1.0
    assert interval_ngram_jaccard(a + shift, b) == interval_ngram_jaccard(a, b) > 0.0


def test_disjoint_interval_sets_score_zero():
    chromatic = np.arange(60, 72)          # intervals all +1
    thirds = np.array([60, 63, 66, 69, 72, 75])  # intervals all +3
    assert interval_ngram_jaccard(chromatic, thirds) == 0.0


def test_hand_example_is_pinned():
    # UPDOWN 3-grams: (2,2,1) (2,1,2) (1,2,-2) (2,-2,-1) (-2,-1,-2) (-1,-2,-2)        -> 6
    # major scale C4..C5, intervals 2 2 1 2 2 2 1: (2,2,1) (2,1,2) (1,2,2) (2,2,2)   -> 4 distinct
    # shared (2,2,1) (2,1,2) = 2; union 6 + 4 - 2 = 8 -> 2 / 8
    scale = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    assert interval_ngrams(UPDOWN).shape == (6,)
    assert interval_ngrams(scale).shape == (4,)
    assert interval_ngram_jaccard(UPDOWN, scale) == pytest.approx(0.25)
    # 2-grams: UPDOWN {(2,2) (2,1) (1,2) (2,-2) (-2,-1) (-1,-2) (-2,-2)} = 7, scale {(2,2) (2,1) (1,2)} = 3,
    # shared 3 -> 3 / 7
    assert interval_ngram_jaccard(UPDOWN, scale, n=2) == pytest.approx(3 / 7)


def test_sets_not_counts_and_order_free():
    # repeating a motif adds no new 3-gram; the order of the motifs does not matter
    a = np.array([60, 62, 64, 60, 67, 65, 64, 62])
    twice = np.concatenate([a, a])
    assert interval_ngram_jaccard(a, np.concatenate([a[4:], a[:4]])) < 1.0
    assert set(interval_ngrams(a).tolist()) <= set(interval_ngrams(twice).tolist())
    assert ngram_jaccard(interval_ngrams(a), interval_ngrams(a)[::-1]) == 1.0


def test_too_short_lines_share_nothing():
    assert interval_ngram_jaccard(np.array([60, 62, 64]), np.array([60, 62, 64])) == 0.0
    assert interval_ngram_jaccard(np.zeros(0, int), np.zeros(0, int)) == 0.0
    assert intervals(np.array([60])).shape == (0,)


def test_bad_input_is_a_parameter_error():
    with pytest.raises(ParameterError):
        interval_ngram_jaccard(np.array([60, 200, 61, 62]), UPDOWN)
    with pytest.raises(ParameterError):
        interval_ngram_jaccard(np.array([[60, 61]]), UPDOWN)
    with pytest.raises(ParameterError):
        interval_ngram_jaccard(np.array([60.5, 61, 62, 63]), UPDOWN)
    with pytest.raises(ParameterError):
        interval_ngrams(UPDOWN, n=0)
    assert interval_ngram_jaccard(UPDOWN.astype(float), UPDOWN) == 1.0  # integral floats are pitches


def test_melody_line_is_the_highest_note_per_onset_of_the_melody_track():
    """The line the issue's baseline read: the melody track (by name here), highest note per onset."""
    mel = tuple(Note(60 + (i * 5) % 12, 0.5 * i, 0.5 * i + 0.45) for i in range(24))
    partials = tuple(Note(n.pitch + 19, n.start + 0.01, n.end, 50) for n in mel[::3])  # within 30 ms
    bass = tuple(Note(40 + i % 5, 1.0 * i, 1.0 * i + 0.9) for i in range(12))
    pad = tuple(Note(96, 2.0 * i, 2.0 * i + 1.9) for i in range(6))                    # higher, not named
    piece = Piece((Track("Bass", bass, 33), Track("Pad", pad, 89), Track("Melody", mel + partials, 53)), 120.0)
    want = [60 + (i * 5) % 12 + (19 if i % 3 == 0 else 0) for i in range(24)]
    assert melody_line(piece).tolist() == want
    assert melody_line(Piece((Track("Track 1", mel),))).tolist() == [n.pitch for n in mel]
    assert melody_line(Piece(())).shape == (0,)
