"""Issue 10, cause 2: undefined is not similar.

A facet that cannot be computed is no evidence: an undefined melody (too few notes) leaves the pair
not decided (coefficient NaN / null, ``isSimilar`` false, a reason), and a missing rhythm or chord
facet leaves the decision to the defined facets (weights renormalised, :mod:`musim_spark.similarity.combine`).
On the engine before this change a 2-note intro got coefficient +0.42 and ``isSimilar`` true against
any song, and a missing facet entered the combination at 50.
"""

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest

from musim_spark.cli import main
from musim_spark.midi import write_midi
from musim_spark.model import Note, Piece, Track
from musim_spark.similarity import SimilaritySettings, compare_features, compare_pieces, extract_features
from musim_spark.similarity.combine import similarity_coefficient
from musim_spark.similarity.compare import PairResult
from musim_spark.similarity.facet import nan_result

from test_compare_cli import _song

S = SimilaritySettings()
#: Explicit combination weights, so the pinned coefficients do not move when the defaults are recalibrated.
S_FIX = SimilaritySettings(combine_bias=-6.0, combine_melody_weight=8.0, combine_rhythm_weight=2.0,
                           combine_chord_weight=2.0, coefficient_threshold=0.0)
NAN = float("nan")


def _two_notes() -> Piece:
    return Piece((Track("Melody", (Note(60, 0.0, 0.5), Note(64, 0.5, 1.0))),), tempo_bpm=120.0)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


# --- the combination rule (pure) -------------------------------------------------------------

def test_undefined_melody_is_not_decided_whatever_the_other_facets_say():
    for rhythm, chord in ((NAN, NAN), (100.0, 100.0), (None, 90.0), (0.0, 0.0)):
        assert math.isnan(similarity_coefficient(NAN, rhythm, chord, settings=S))
    from musim_spark.similarity.combine import decide

    for rhythm, chord in ((NAN, NAN), (100.0, 100.0), (None, 90.0), (0.0, 0.0)):
        d = decide((None, rhythm, chord), ("melody of A has 2 notes", "", ""), settings=S)
        assert math.isnan(d.coefficient) and d.similar is False and not d.decided
        assert d.reason.startswith("not enough material: melody of A has 2 notes")


def test_missing_facets_renormalise_the_weights_pinned():
    # chord missing: z = -6 + (12 / 10) (8 x 0.8 + 2 x 0.3) = 2.4 -> 2 sigmoid(2.4) - 1 = 0.83365
    assert similarity_coefficient(80.0, 30.0, NAN, settings=S_FIX) == pytest.approx(0.833655, abs=1e-6)
    # before: chord entered at 50 -> z = -6 + 6.4 + 0.6 + 1.0 = 2.0 -> 0.76159
    assert similarity_coefficient(80.0, 30.0, 50.0, settings=S_FIX) == pytest.approx(0.761594, abs=1e-6)
    # rhythm and chord missing: melody alone carries all the weight, z = -6 + 12 x 0.45 = -0.6
    assert similarity_coefficient(45.0, None, None, settings=S_FIX) == pytest.approx(-0.291313, abs=1e-6)
    # a pair at every defined facet's threshold stays at the full model's threshold point
    at_50 = similarity_coefficient(50.0, 50.0, 50.0, settings=S)
    assert similarity_coefficient(50.0, NAN, 50.0, settings=S) == pytest.approx(at_50, abs=1e-12)
    from musim_spark.similarity.combine import decide

    d = decide((80.0, 30.0, NAN), ("", "", "no chords"), settings=S_FIX)
    assert d.similar and d.reason == "decided on melody and rhythm only (chord: no chords)"


def test_all_facets_defined_is_the_plain_logistic_and_has_no_reason():
    z = S.combine_bias + (S.combine_melody_weight * 0.8 + S.combine_rhythm_weight * 0.3
                          + S.combine_chord_weight * 0.6)
    assert similarity_coefficient(80.0, 30.0, 60.0, settings=S) == pytest.approx(math.tanh(z / 2), abs=1e-12)
    from musim_spark.similarity.combine import decide

    d = decide((80.0, 30.0, 60.0), ("", "", ""), settings=S)
    assert d.reason == "" and d.decided


# --- end to end -------------------------------------------------------------------------------

def test_two_note_query_against_an_unrelated_song_is_not_similar():
    r = _quiet(compare_pieces, _two_notes(), _song(seed=9, n=160), settings=S)
    assert math.isnan(r.melody.score) and "notes" in r.melody.reason
    assert math.isnan(r.coefficient) and r.similar is False and not r.decided
    assert r.reason.startswith("not enough material") and "2 notes" in r.reason
    # the other way round, too
    r = _quiet(compare_pieces, _song(n=160), _two_notes(), settings=S)
    assert not r.similar and math.isnan(r.coefficient) and "2 notes" in r.reason


def test_two_note_query_json_is_null_with_reasons(tmp_path, capsys):
    q, c = tmp_path / "intro.mid", tmp_path / "song.mid"
    write_midi(_two_notes(), q)
    write_midi(_song(seed=9, n=160), c)
    assert main(["compare", str(q), str(c), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["similarityCoefficient"] is None and out["isSimilar"] is False
    assert out["melodySimilarity"] is None and "notes" in out["melodyReason"]
    assert out["reason"].startswith("not enough material") and "2 notes" in out["reason"]
    # the text output says it too
    assert main(["compare", str(q), str(c)]) == 0
    text = capsys.readouterr().out
    assert "coefficient n/a" in text and "similar: no" in text and "reason: not enough material" in text


def test_pair_without_a_chord_facet_is_decided_by_the_defined_facets():
    """Single-line melody files: no chord events (here removed, so the test does not depend on the
    chord estimator); the coefficient is the melody + rhythm model, not chord-at-50."""
    empty = dict(chord_root=np.zeros(0, np.int8), chord_quality=np.zeros(0, np.int8),
                 chord_start=np.zeros(0), chord_end=np.zeros(0))
    line = Piece((_song().tracks[0],), tempo_bpm=120.0)
    other = Piece((_song(seed=9).tracks[0],), tempo_bpm=120.0)
    fa = dataclasses.replace(_quiet(extract_features, line), **empty)
    fb = dataclasses.replace(_quiet(extract_features, other), **empty)
    r = _quiet(compare_features, fa, fb, settings=S)
    assert math.isnan(r.chord.score) and r.chord.reason
    assert np.isfinite(r.melody.score) and np.isfinite(r.rhythm.score) and r.decided
    assert r.coefficient == similarity_coefficient(r.melody.score, r.rhythm.score, None, settings=S)
    assert r.coefficient != pytest.approx(similarity_coefficient(r.melody.score, r.rhythm.score, 50.0, settings=S),
                                          abs=1e-9)
    assert r.reason.startswith("decided on melody and rhythm only (chord")
    # the same pair with the chord facet: no reason
    r_full = _quiet(compare_features, *(_quiet(extract_features, _song(seed=s)) for s in (0, 9)), settings=S)
    assert np.isfinite(r_full.chord.score) and r_full.reason == "" and r_full.chord.reason == ""


# --- ranking ----------------------------------------------------------------------------------

def _res(z, coef, similar):
    mel = dataclasses.replace(nan_result(), score=50.0, raw_score=z)
    return PairResult(mel, nan_result(), nan_result(), coef, similar)


def test_rank_order_similar_first_then_melody_significance_then_coefficient():
    from musim_spark.similarity.compare import rank_order

    undecided = PairResult(nan_result("2 notes"), nan_result(), nan_result(), NAN, False, "not enough material")
    results = [_res(2.0, -0.5, False), undecided, None, _res(9.0, 0.2, True), _res(5.0, 0.9, True),
               _res(2.0, -0.1, False)]
    assert rank_order(results) == [4, 5, None, 1, 2, 3]
    assert rank_order([]) == []
