"""Cohort normalisation (S-norm) and metrical-level matching of the rhythm facet."""

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest

from musim_spark.errors import ParameterError
from musim_spark.similarity import SimilaritySettings, compare_features, extract_features
from musim_spark.similarity import cohort as C
from musim_spark.similarity import rhythm as R
from musim_spark.similarity import transforms as T
from musim_spark.similarity.compare import track_statistics
from musim_spark.similarity.features import RHYTHM_GROUPS, rhythm_patterns

POP909 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pop909"
needs_pop909 = pytest.mark.skipif(not (POP909 / "001" / "001.mid").is_file(), reason="POP909 not present")
S = SimilaritySettings()


def _features(no: str, **transforms):
    from musim_spark.midi import read_midi

    piece = read_midi(POP909 / no / f"{no}.mid", melody="MELODY")
    if transforms.get("noise"):
        piece = T.transcription_noise(piece, seed=transforms["noise"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return extract_features(piece)


def test_statistics_trim_the_highest_eighth_and_floor_the_spread():
    scores = np.array([[10.0, 20.0, np.nan]] * 6 + [[30.0, 20.0, np.nan]] * 2 + [[95.0, 20.0, 5.0]] * 2)
    st = C.statistics_from_scores(scores, min_spread=np.array([5.0, 2.0, 2.0]))
    # 10 members: the single highest (95) is left out, the rest is 6 x 10 + 2 x 30 + 1 x 95
    kept = np.array([10.0] * 6 + [30.0] * 2 + [95.0])
    assert st.center[0] == pytest.approx(kept.mean())
    assert st.spread[0] == pytest.approx(kept.std())
    assert st.center[1] == 20.0 and st.spread[1] == 2.0          # constant scores: the floor
    assert np.isnan(st.center[2]) and np.isnan(st.spread[2])     # fewer than half comparable
    assert C.CohortStats.from_list(st.to_list()).to_list() == pytest.approx(st.to_list(), nan_ok=True)
    with pytest.raises(ParameterError):
        C.CohortStats.from_list([1.0, 2.0])


def test_stats_from_a_table_column_are_floats_and_an_empty_cohort_is_refused():
    st = C.CohortStats.from_list([1, 2, 3, 4, 5, 6])          # ints, as a column may hold them
    assert st.center.dtype == np.float64 and st.spread.dtype == np.float64
    assert st.center.tolist() == [1.0, 2.0, 3.0] and st.spread.tolist() == [4.0, 5.0, 6.0]
    with pytest.raises(ParameterError, match="cohort_statistics: empty cohort"):
        C.cohort_statistics(None, C.Cohort((), (), {}), settings=S)


def test_s_norm_is_symmetric_and_calibration_puts_the_threshold_at_50():
    a = C.CohortStats(np.array([10.0, 40.0, 20.0]), np.array([5.0, 4.0, 10.0]))
    b = C.CohortStats(np.array([20.0, 30.0, 20.0]), np.array([5.0, 8.0, 5.0]))
    raw = np.array([50.0, 70.0, 20.0])
    np.testing.assert_allclose(C.normalised_scores(raw, a, b), C.normalised_scores(raw, b, a))
    np.testing.assert_allclose(C.normalised_scores(raw, a, b), [7.0, 6.25, 0.0])
    assert C.calibrated_score(3.0, 3.0, 1.0) == 50.0
    vals = [C.calibrated_score(z, 3.0, 1.0) for z in (-5.0, 0.0, 3.0, 6.0, 60.0)]
    assert vals == sorted(vals) and 0.0 <= vals[0] and vals[-1] <= 100.0
    assert np.isnan(C.calibrated_score(float("nan"), 3.0, 1.0))


def test_cohort_file_round_trip_and_clear_errors(tmp_path):
    packaged = C.load_cohort()
    assert len(packaged) == 16 and packaged.provenance["generator_seed"] == 909
    small = C.Cohort(packaged.features[:2], packaged.names[:2], {"note": "test"})
    C.save_cohort(small, tmp_path / "c.npz")
    back = C.load_cohort(tmp_path / "c.npz")
    assert back.names == small.names and back.provenance == {"note": "test"}
    for x, y in zip(back.features, small.features):
        for k, v in x.to_dict().items():
            np.testing.assert_array_equal(v, y.to_dict()[k])
    with pytest.raises(ParameterError, match="missing.npz"):
        C.load_cohort(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a cohort")
    with pytest.raises(ParameterError, match="bad.npz"):
        C.load_cohort(tmp_path / "bad.npz")


@needs_pop909
def test_normalised_scores_separate_noisy_copies_from_other_songs():
    """A transcription-noisy copy and an unrelated song, both read against their own chance level:
    the copy is far above chance on every facet, the other song is not above the melody threshold."""
    f, noisy, other = _features("001"), _features("001", noise=4), _features("005")
    st = {k: track_statistics(x, settings=S) for k, x in (("f", f), ("noisy", noisy), ("other", other))}
    copy = compare_features(noisy, f, settings=S, stats=(st["noisy"], st["f"]))
    diff = compare_features(other, f, settings=S, stats=(st["other"], st["f"]))
    assert copy.melody.normalised > S.melody_threshold > diff.melody.normalised
    assert copy.chord.normalised > S.chord_threshold
    assert copy.melody.score > 50.0 > diff.melody.score
    assert copy.similar and not diff.similar
    # rhythm and chord (issue 10): significances too (log-odds alignments, -log10 P), pinned near the
    # measured values; the noisy copy far above chance, the other song at chance
    raw = [[f.raw_score for f in (r.rhythm, r.chord)] for r in (copy, diff)]
    assert raw == [pytest.approx([37.547, 8.320], abs=0.5), pytest.approx([0.031, 0.0], abs=0.5)]
    assert copy.chord.normalised == copy.chord.raw_score and copy.rhythm.normalised == copy.rhythm.raw_score
    for k in st:
        assert st[k].center.tolist() == [0.0, 0.0, 0.0] and st[k].spread.tolist() == [1.0, 1.0, 1.0]
    # melody (issue 10): its raw score is a significance, -log10 P given both lengths (measured
    # 130.56 for the noisy copy, 0.05 = chance for the other song); the cohort leaves it as it is
    assert [copy.melody.raw_score, diff.melody.raw_score] == pytest.approx([130.556, 0.048], abs=0.5)
    for k in st:
        assert (st[k].center[0], st[k].spread[0]) == (0.0, 1.0)
    assert [copy.melody.normalised, diff.melody.normalised] == [copy.melody.raw_score, diff.melody.raw_score]
    # the z-score is the S-norm of the raw score against both tracks' statistics, by hand
    (ca, sa), (cb, sb) = ((st[k].center[0], st[k].spread[0]) for k in ("noisy", "f"))
    by_hand = 0.5 * ((copy.melody.raw_score - ca) / sa + (copy.melody.raw_score - cb) / sb)
    assert copy.melody.normalised == pytest.approx(by_hand, abs=1e-12)
    assert copy.melody.score == pytest.approx(C.calibrated_score(by_hand, S.melody_threshold, S.score_slope))
    # stats passed in or computed inside: the same result
    again = compare_features(noisy, f, settings=S)
    assert again.melody.score == pytest.approx(copy.melody.score)


def _regrid(f, factor: int):
    """The same track with its pulse grid at ``factor`` x the rate (every pulse split in two)."""
    groups = [f.rhythm_onset[(f.rhythm_mask >> g) & 1 == 1] for g in range(len(RHYTHM_GROUPS))]
    pulse = f.pulse
    for _ in range(factor // 2):
        mid = 0.5 * (pulse[:-1] + pulse[1:])
        pulse = np.insert(pulse, np.arange(1, pulse.shape[0]), mid)
    return dataclasses.replace(f, pulse=pulse, rhythm_pattern=rhythm_patterns(groups, pulse).reshape(-1))


@needs_pop909
def test_rhythm_holds_when_pulse_tracking_picks_another_metrical_level(monkeypatch):
    f = _features("012")
    double = _regrid(f, 2)
    assert R.pulse_ratio(double.pulse, f.pulse) == pytest.approx(0.5, rel=0.05)
    both_ways = [R.rhythm_similarity(double, f, settings=S), R.rhythm_similarity(f, double, settings=S)]
    # significances (-log10 P) and aligned shares, measured (issue 10: log-odds rhythm): the grids
    # re-matched, nearly every beat aligns
    assert [r.raw_score for r in both_ways] == pytest.approx([205.006, 133.620], abs=0.5)
    assert min(r.share for r in both_ways) > 85.0
    # without matching the levels the same pair falls to chance
    monkeypatch.setattr(R, "regrid", lambda track, other_pulse, phase=0: (track.rhythm_matrix(), track.pulse))
    assert R.rhythm_similarity(double, f, settings=S).raw_score < S.rhythm_threshold
