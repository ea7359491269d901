"""Separation (issue 12): the SDR helper and the ``stereo`` split on synthesized signals, no Spark."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musim_spark.audio.separate import METHODS, SeparateSettings, separate
from musim_spark.config import load_config
from musim_spark.errors import ParameterError
from musim_spark.evaluate.separation import score_stems, sdr, summarize_sdr, truth_for

SR = 22050


def test_sdr_of_a_perfect_estimate_is_infinite_and_of_an_equal_energy_error_about_zero():
    rng = np.random.default_rng(1)
    s = rng.standard_normal((SR, 2))
    assert sdr(s, s) == math.inf
    assert sdr(s, s + 1e-3 * rng.standard_normal(s.shape)) > 55
    # the estimate is the true stem plus an independent stem of the same energy (a two-part mix)
    assert abs(sdr(s, s + rng.standard_normal(s.shape))) < 0.2
    # half the amplitude: the error is half the signal, 20 log10(2)
    assert sdr(s, 0.5 * s) == pytest.approx(6.0206, abs=1e-3)
    # nothing: 0 dB
    assert sdr(s, np.zeros_like(s)) == pytest.approx(0.0)


def test_sdr_broadcasts_mono_cuts_lengths_and_rejects_bad_input():
    s = np.sin(np.arange(1000.0))[:, None] * np.array([[1.0, 1.0]])
    assert sdr(s, s[:, 0]) == math.inf                       # mono estimate of a centred stereo stem
    assert sdr(s, s[:-3]) == math.inf                        # a few samples short
    assert math.isnan(sdr(np.zeros((100, 2)), np.ones((100, 2))))   # silent reference: undefined
    with pytest.raises(ParameterError):
        sdr(s, np.ones((1000, 3)))
    with pytest.raises(ParameterError):
        sdr(s, np.full((1000, 2), np.nan))


def test_truth_groups_give_the_rest_to_the_accompaniment():
    parts = ["Bass", "Chord", "Melody", "Pad", "Rhythm", "SubMelody"]
    split = METHODS["stereo"]
    assert truth_for("drums", split, parts) == ["Rhythm"]
    assert truth_for("melody", split, parts) == ["Melody"]
    assert truth_for("accompaniment", split, parts) == ["Bass", "Chord", "Pad", "SubMelody"]
    assert truth_for("harmonic", METHODS["hpss"], parts) == ["Bass", "Chord", "Melody", "Pad", "SubMelody"]
    with pytest.raises(ParameterError):
        truth_for("vocals", split, parts)
    summ = summarize_sdr([{"drums": 1.0, "melody": math.nan}, {"drums": 3.0, "melody": 2.0}])
    assert summ == {"drums": {"median": 2.0, "mean": 2.0, "n": 2}, "melody": {"median": 2.0, "mean": 2.0, "n": 1}}


def _pan(a: np.ndarray, pan: float) -> np.ndarray:
    theta = (pan + 1.0) * np.pi / 4
    return np.stack([a * np.cos(theta), a * np.sin(theta)], axis=1)


def _harmonic_tone(freqs_s: list[tuple[float, float]], seconds: float, partials: int = 4) -> np.ndarray:
    """Notes (Hz, duration s) one after the other, each with a few decaying partials and a soft envelope."""
    out = []
    for f0, dur in freqs_s:
        t = np.arange(int(dur * SR)) / SR
        env = np.minimum(1.0, t / 0.02) * np.minimum(1.0, (dur - t) / 0.02)
        out.append(env * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, partials + 1)))
    y = np.concatenate(out)
    return np.pad(y, (0, max(0, int(seconds * SR) - y.size)))[: int(seconds * SR)]


def _synthetic_mix(seconds: float = 6.0):
    rng = np.random.default_rng(7)
    n = int(seconds * SR)
    drums = np.zeros(n)
    for start in np.arange(0, seconds, 0.25):                # noise bursts, 16th notes at 60 bpm
        i = int(start * SR)
        burst = rng.standard_normal(int(0.04 * SR)) * np.exp(-np.arange(int(0.04 * SR)) / (0.008 * SR))
        drums[i:i + burst.size] += burst[: n - i]
    melody = _harmonic_tone([(440.0, 0.5), (494.0, 0.5), (523.0, 1.0), (587.0, 0.5), (523.0, 0.5)] * 2, seconds)
    chords = _harmonic_tone([(262.0, 2.0), (220.0, 2.0), (175.0, 2.0)], seconds)
    truth = {"Rhythm": _pan(0.5 * drums, -0.1), "Melody": _pan(0.3 * melody, 0.0), "Chord": _pan(0.3 * chords, 0.5)}
    return truth, sum(truth.values())


def test_stereo_split_beats_the_mix_on_a_synthetic_drums_lead_and_chords_mix():
    truth, x = _synthetic_mix()
    stems = separate(x.astype(np.float32), SR, settings=SeparateSettings())
    assert sorted(stems) == sorted(METHODS["stereo"]) and all(v.shape == x.shape for v in stems.values())
    # the three stems add up to the mix (the cascade subtracts; the Wiener pass re-splits drums and accompaniment only)
    assert np.allclose(sum(stems.values()), x, atol=1e-4)
    ours = score_stems(truth, stems)
    floor = score_stems(truth, {k: x for k in stems})
    for stem in stems:
        assert ours[stem] > floor[stem] + 6.0, (stem, ours, floor)
    assert ours["drums"] > 5.0 and ours["melody"] > 5.0, ours


def test_the_centre_mask_is_what_keeps_a_panned_part_out_of_the_melody():
    truth, x = _synthetic_mix()
    narrow = score_stems(truth, separate(x, SR, settings=SeparateSettings(center_width=0.05)))
    wide = score_stems(truth, separate(x, SR, settings=SeparateSettings(center_width=5.0)))  # no pan cue at all
    assert narrow["melody"] > wide["melody"] + 3.0, (narrow, wide)


def test_mono_audio_gives_mono_stems():
    truth, x = _synthetic_mix(3.0)
    stems = separate(x.mean(axis=1), SR, method="stereo")
    assert all(v.shape == (x.shape[0],) for v in stems.values())


def test_separate_settings_defaults_equal_the_packaged_file_and_are_checked():
    assert SeparateSettings.from_config(load_config()) == SeparateSettings()
    with pytest.raises(ParameterError, match="separate.method"):
        SeparateSettings(method="spleeter")
    with pytest.raises(ParameterError, match="center_width"):
        SeparateSettings(center_width=0.0)
    with pytest.raises(ParameterError, match="unknown separation method"):
        separate(np.zeros(SR, np.float32), SR, method="demucs")


def test_audio_features_follow_the_transcription_digest(tmp_path):
    """A re-transcription (same WAV, new settings) changes the audio sweep's feature digest; MIDI's stays."""
    from musim_spark.io.plan import WritePlan
    from musim_spark.io.tables import TABLES, table_uri
    from musim_spark.io.write import write_arrow
    from musim_spark.sweep.stage import _driver_state

    from test_status import fill

    run = "r20261202T160000000Z-aaaaaa"
    tid = "Similar_Trot_00001_Org"

    def digests(name: str, transcription: str | None) -> dict:
        wh = str(tmp_path / name)
        tracks = fill(TABLES["tracks"].schema, 1, track_id=[tid], version=["Org"], wav_sha256=["w"],
                      mid_sha256=["m"], json_sha256=["j"], run_id=[run])
        write_arrow(tracks, WritePlan(table_uri(wh, "tracks"), schema=tracks.schema, mode="append", run_id=run,
                                      app_id="test:tracks"))
        if transcription is not None:
            t = fill(TABLES["transcriptions"].schema, 1, track_id=[tid], digest=[transcription], run_id=[run])
            write_arrow(t, WritePlan(table_uri(wh, "transcriptions"), schema=t.schema, mode="append", run_id=run,
                                     app_id="test:transcriptions"))
        return {src: _driver_state(wh, src, "fp", None)[0][tid] for src in ("midi", "audio")}

    none, first, second = digests("a", None), digests("b", "d1"), digests("c", "d2")
    assert none["midi"] == first["midi"] == second["midi"]
    assert len({none["audio"], first["audio"], second["audio"]}) == 3
