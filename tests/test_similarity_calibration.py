"""Significance -> calibrated score, end to end on real melodies, and metrical-level matching of the
rhythm facet (formerly the cohort tests: the cohort was dropped once every facet scored by
significance, issue 10)."""

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest

from musim_spark.similarity import SimilaritySettings, compare_features, extract_features
from musim_spark.similarity import rhythm as R
from musim_spark.similarity import transforms as T
from musim_spark.similarity.calibration import calibrated_score
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


def test_calibration_puts_the_threshold_at_50_and_is_monotonic():
    assert calibrated_score(3.0, 3.0, 1.0) == 50.0
    vals = [calibrated_score(z, 3.0, 1.0) for z in (-5.0, 0.0, 3.0, 6.0, 60.0)]
    assert vals == sorted(vals) and len(set(vals)) == 5 and 0.0 <= vals[0] and vals[-1] <= 100.0
    assert calibrated_score(4.0, 3.0, 2.0) > calibrated_score(4.0, 3.0, 1.0)   # slope sharpens
    assert np.isnan(calibrated_score(float("nan"), 3.0, 1.0))
    assert np.isnan(calibrated_score(None, 3.0, 1.0))


@needs_pop909
def test_significances_separate_noisy_copies_from_other_songs():
    """A transcription-noisy copy and an unrelated song: the copy is far above chance on every facet,
    the other song is at chance; the reported score is the calibrated significance, and the result
    depends on the two tracks only (no per-track statistics)."""
    f, noisy, other = _features("001"), _features("001", noise=4), _features("005")
    copy = compare_features(noisy, f, settings=S)
    diff = compare_features(other, f, settings=S)
    assert copy.melody.raw_score > S.melody_threshold > diff.melody.raw_score
    assert copy.chord.raw_score > S.chord_threshold
    assert copy.melody.score > 50.0 > diff.melody.score
    assert copy.similar and not diff.similar
    # -log10 P, pinned near the measured values: the noisy copy far above chance, the other at chance
    raw = [[x.raw_score for x in (r.melody, r.rhythm, r.chord)] for r in (copy, diff)]
    assert raw == [pytest.approx([130.556, 37.547, 8.320], abs=0.5), pytest.approx([0.048, 0.031, 0.0], abs=0.5)]
    for r in (copy, diff):
        for x, t in ((r.melody, S.melody_threshold), (r.rhythm, S.rhythm_threshold), (r.chord, S.chord_threshold)):
            assert x.score == pytest.approx(calibrated_score(x.raw_score, t, S.score_slope))


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
