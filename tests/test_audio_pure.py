"""Audio to notes (musim_spark.audio), pure: synthesized and FluidSynth-rendered audio, bad audio,
the omnizart error, chunked == unchunked. No Spark."""
from __future__ import annotations

import os

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")
pytest.importorskip("onnxruntime")
pytest.importorskip("librosa")
mir_eval = pytest.importorskip("mir_eval")

from musim_spark.audio.backends import BasicPitchBackend, choose_providers, get_backend  # noqa: E402
from musim_spark.audio.chunking import plan_windows, stitch  # noqa: E402
from musim_spark.audio.decode import load_audio  # noqa: E402
from musim_spark.audio.drums import drum_onsets  # noqa: E402
from musim_spark.audio.settings import GpuSettings, TranscribeSettings  # noqa: E402
from musim_spark.audio.transcribe import transcribe_array, transcribe_file  # noqa: E402
from musim_spark.errors import InputError, ModelError, ParameterError, QuarantineReason  # noqa: E402

try:
    BasicPitchBackend  # the model file is inside the basic-pitch package
    from musim_spark.audio.backends import basic_pitch_model_path

    basic_pitch_model_path()
except ModelError:  # pragma: no cover
    pytest.skip("basic-pitch is not installed", allow_module_level=True)

SR = 22050
NO_DRUMS = TranscribeSettings(drums=False)


def _tone(pitch, start, end, sr=SR, total=None, amp=0.25, decay=1.5):
    """A decaying harmonic tone (a plucked-string caricature) on a timeline of ``total`` s."""
    t = np.arange(int((total or end + 0.5) * sr)) / sr
    f = 440.0 * 2 ** ((pitch - 69) / 12)
    on = (t >= start) & (t < end)
    env = np.exp(-(t - start) * decay) * on
    return amp * env * sum(np.sin(2 * np.pi * k * f * t) / k for k in (1, 2, 3))


def _render(notes, total, sr=SR):
    return np.sum([_tone(p, s, e, sr, total) for p, s, e in notes], axis=0).astype(np.float32)


def _f1(ref, est, offset=False):
    """mir_eval note F1 (50 ms onsets; offsets ignored unless asked)."""
    ref = np.asarray(ref, float).reshape(-1, 3)
    est = np.asarray(est, float).reshape(-1, 3)
    if len(est) == 0:
        return 0.0
    hz = lambda p: 440.0 * 2 ** ((p - 69) / 12)  # noqa: E731
    _, _, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref[:, 1:3], hz(ref[:, 0]), est[:, 1:3], hz(est[:, 0]), onset_tolerance=0.05,
        offset_ratio=0.2 if offset else None)
    return f


def _est(cols, role=None):
    keep = ~cols["is_drum"] if role is None else cols["role"] == role
    return np.stack([cols["pitch"][keep], cols["start_s"][keep], cols["end_s"][keep]], axis=1)


MELODY = [(72, 0.5, 1.0), (74, 1.0, 1.5), (76, 1.5, 2.0), (77, 2.0, 3.0), (79, 3.0, 3.5), (76, 3.5, 4.5)]
CHORDS = [(p, 0.5, 2.5) for p in (48, 55, 60)] + [(p, 2.5, 4.5) for p in (53, 57, 60)]


# --- transcription of synthesized audio ----------------------------------------------------------

def test_sine_melody_is_transcribed_and_is_the_melody():
    y = _render(MELODY, 5.0)
    cols = transcribe_array(y, get_backend("basic-pitch"), NO_DRUMS)
    assert _f1(MELODY, _est(cols)) >= 0.9
    assert _f1(MELODY, _est(cols, "melody")) >= 0.9
    assert set(cols) == {"track_index", "track_name", "role", "program", "is_drum", "pitch", "start_s",
                         "end_s", "velocity"}
    assert np.all(cols["end_s"] > cols["start_s"]) and np.all((cols["velocity"] >= 1) & (cols["velocity"] <= 127))


def test_melody_over_chords_keeps_the_chords_out_of_the_melody():
    y = _render(MELODY + CHORDS, 5.0)
    cols = transcribe_array(y, get_backend("basic-pitch"), NO_DRUMS)
    f_all = _f1(MELODY + CHORDS, _est(cols))
    f_mel = _f1(MELODY, _est(cols, "melody"))
    # measured 2026-12-02 (onset threshold 0.7): all 0.86, melody 1.0, chord 0.75 (held chord tones
    # are sometimes re-struck by the model at a melody onset: split notes); pinned a little below
    assert f_all >= 0.8, f_all
    assert f_mel >= 0.9, f_mel
    # the chord tones are accompaniment, never the melody
    assert _f1(CHORDS, _est(cols, "melody")) <= 0.2
    assert _f1(CHORDS, _est(cols, "chord")) >= 0.65


def test_a_wrong_truth_scores_low():
    """The F1 check itself can fail: a transposed truth does not match."""
    y = _render(MELODY, 5.0)
    cols = transcribe_array(y, get_backend("basic-pitch"), NO_DRUMS)
    assert _f1([(p + 2, s, e) for p, s, e in MELODY], _est(cols)) < 0.2


def _fluidsynth_piece():
    from musim_spark.model import Note, Piece, Track

    mel = Track("Melody", tuple(Note(p, s, e, 100) for p, s, e in MELODY), program=0)
    chd = Track("Chord", tuple(Note(p, s, e, 70) for p, s, e in CHORDS), program=0)
    return Piece((mel, chd))


def test_fluidsynth_rendered_piano():
    from musim_spark.sampledata.render import default_soundfont, render_piece

    try:
        mix, _ = render_piece(_fluidsynth_piece(), sf2_path=default_soundfont(), fs=44100, duration=5.5)
    except Exception as exc:  # noqa: BLE001 - no libfluidsynth on this machine
        pytest.skip(f"FluidSynth rendering unavailable: {exc}")
    from musim_spark.audio.decode import resample

    y = resample(mix.mean(axis=1), 44100, SR)
    cols = transcribe_array(y, get_backend("basic-pitch"), NO_DRUMS)
    f_all = _f1(MELODY + CHORDS, _est(cols))
    f_mel = _f1(MELODY, _est(cols, "melody"))
    # measured 2026-12-02 (TimGM6mb piano, onset threshold 0.7): all 0.92, melody 0.92; pinned below
    assert f_all >= 0.85, f_all
    assert f_mel >= 0.85, f_mel


# --- drums ---------------------------------------------------------------------------------------

def test_drum_onsets_find_kicks_and_hats():
    sr = SR
    y = np.zeros(4 * sr)
    t = np.arange(int(0.3 * sr)) / sr
    kick = 0.8 * np.sin(2 * np.pi * 60 * t) * np.exp(-t * 25)
    rng = np.random.default_rng(0)
    hat = rng.normal(0, 0.2, t.size) * np.exp(-t * 120)
    from scipy.signal import butter, sosfilt

    hat = sosfilt(butter(4, 6000, "highpass", fs=sr, output="sos"), hat)
    kicks, hats = [0.5, 1.5, 2.5, 3.5], [1.0, 2.0, 3.0]
    for s in kicks:
        y[int(s * sr):int(s * sr) + t.size] += kick
    for s in hats:
        y[int(s * sr):int(s * sr) + t.size] += hat
    hits = drum_onsets(y.astype(np.float32), sr)
    got_k = hits[hits[:, 2] == 36, 0]
    got_h = hits[hits[:, 2] == 42, 0]
    ok = lambda ref, est: mir_eval.onset.f_measure(np.array(ref), np.sort(est), window=0.05)[0]  # noqa: E731
    assert ok(kicks, got_k) >= 0.85
    assert ok(hats, got_h) >= 0.85
    # no kick where there were only hats
    assert not np.any(np.abs(got_k[:, None] - np.array(hats)[None, :]).min(axis=1) < 0.03)


def test_drum_onsets_of_a_steady_tone_are_few():
    y = _tone(60, 0.0, 4.0, total=4.0).astype(np.float32)
    assert drum_onsets(y, SR).shape[0] <= 3  # at most its attack, once per band


# --- chunking ------------------------------------------------------------------------------------

def test_chunked_equals_unchunked():
    # 20 s: a melody, then one organ-like note held 5-11 s across the seam at 8 s, then a melody again
    notes = [(72 + i % 5, 0.3 + i, 1.0 + i) for i in range(4)] + [(72 + i % 5, 12.3 + i, 13.0 + i) for i in range(8)]
    y = _render(notes, 21.0) + _tone(60, 5.0, 11.0, total=21.0, decay=0.05).astype(np.float32)
    whole = transcribe_array(y, get_backend("basic-pitch"), NO_DRUMS)
    chunked = transcribe_array(y, get_backend("basic-pitch"), TranscribeSettings(drums=False, chunk_s=8.0,
                                                                                 overlap_s=2.0))
    windows = plan_windows(y.size, sr=SR, chunk_s=8.0, overlap_s=2.0)
    assert len(windows) == 4 and windows[0].stop == 8 * SR
    a, b = _est(whole), _est(chunked)
    assert _f1(a, b, offset=True) >= 0.95
    assert _f1(notes, b) >= 0.9
    # the held note is one note in both, not two pieces cut at the seam
    for est in (a, b):
        held = est[est[:, 0] == 60]
        assert len(held) == 1 and abs(held[0, 1] - 5.0) < 0.05 and held[0, 2] > 10.5, held


def test_stitch_does_not_extend_without_a_continuation():
    w = plan_windows(70, sr=1, chunk_s=30, overlap_s=4)
    a = np.array([[20.0, 30.0, 60, 0.5]])
    b = np.array([[26.0, 40.0, 62, 0.5]])  # another pitch: no continuation
    assert stitch([a, b, np.zeros((0, 4))], w, sr=1).tolist() == [[20.0, 30.0, 60.0, 0.5]]


def test_windows_tile_the_recording():
    for n in (1, 29, 30, 31, 57, 1000):
        w = plan_windows(n, sr=1, chunk_s=30, overlap_s=4)
        assert w[0].own_start == 0 and w[-1].own_stop == n
        assert all(x.own_stop == y.own_start for x, y in zip(w, w[1:]))
        assert all(x.start <= x.own_start < x.own_stop <= x.stop for x in w)
        assert all(x.stop - x.start <= 30 for x in w[:-1]) and w[-1].stop - w[-1].start <= 30 + 4


# --- bad audio -----------------------------------------------------------------------------------

def _wav(tmp_path, name, y, sr=44100, subtype="PCM_16"):
    p = tmp_path / name
    sf.write(str(p), y, sr, subtype=subtype)
    return p


@pytest.mark.parametrize("case, reason", [
    ("silence", QuarantineReason.AUDIO_SILENT),
    ("clipped", QuarantineReason.AUDIO_CLIPPED),
    ("low_rate", QuarantineReason.AUDIO_BAD_RATE),
    ("garbage", QuarantineReason.AUDIO_UNDECODABLE),
    ("empty_file", QuarantineReason.AUDIO_UNDECODABLE),
    ("too_long", QuarantineReason.AUDIO_TOO_LONG),
    ("too_short", QuarantineReason.AUDIO_TOO_SHORT),
    ("nan", QuarantineReason.AUDIO_NONFINITE),
    ("missing", QuarantineReason.AUDIO_UNDECODABLE),
])
def test_bad_audio_is_an_input_error_with_its_reason(tmp_path, case, reason):
    s = TranscribeSettings(max_seconds=60.0)
    t = np.arange(44100 * 2) / 44100
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    if case == "silence":
        p = _wav(tmp_path, "s.wav", np.zeros((t.size, 2)))
    elif case == "clipped":
        p = _wav(tmp_path, "c.wav", np.clip(tone * 20, -1, 1))
    elif case == "low_rate":
        p = _wav(tmp_path, "r.wav", tone[:8000], sr=4000)
    elif case == "garbage":
        p = tmp_path / "g.wav"
        p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10)
    elif case == "empty_file":
        p = tmp_path / "e.wav"
        p.write_bytes(b"")
    elif case == "too_long":
        p = _wav(tmp_path, "l.wav", np.zeros(8000 * 61, np.int16), sr=8000)
    elif case == "too_short":
        p = _wav(tmp_path, "t.wav", tone[:100])
    elif case == "nan":
        y = tone.copy()
        y[1000] = np.nan
        p = _wav(tmp_path, "n.wav", y, subtype="FLOAT")
    else:
        p = tmp_path / "absent.wav"
    with pytest.raises(InputError) as info:
        transcribe_file(p, get_backend("basic-pitch"), s, name=f"x/{case}.wav")
    assert info.value.reason is reason
    assert info.value.path == f"x/{case}.wav"
    assert "\n" not in str(info.value)


def test_good_audio_at_another_rate_is_resampled_not_rejected(tmp_path):
    y = _render(MELODY, 5.0, sr=44100)
    p = _wav(tmp_path, "ok.wav", np.stack([y, y], axis=1))
    assert load_audio(p).size == pytest.approx(5.0 * SR, abs=2)
    cols = transcribe_file(p, get_backend("basic-pitch"), NO_DRUMS)
    assert _f1(MELODY, _est(cols, "melody")) >= 0.9


class _Deaf:
    """A backend that hears nothing (basic-pitch finds notes even in faint noise: it normalizes)."""
    name, sample_rate = "deaf", SR

    def notes(self, y, settings):
        return np.zeros((0, 4))


def test_audible_audio_without_notes_is_an_empty_transcription():
    y = (np.random.default_rng(1).normal(0, 0.05, SR * 3)).astype(np.float32)
    with pytest.raises(InputError) as info:
        transcribe_array(y, _Deaf(), NO_DRUMS, path="hiss.wav")
    assert info.value.reason is QuarantineReason.EMPTY_TRANSCRIPTION
    assert "hiss.wav" in str(info.value)


# --- backends ------------------------------------------------------------------------------------

def test_omnizart_is_one_clear_error_naming_the_checkpoints():
    with pytest.raises(ModelError) as info:
        get_backend("omnizart")
    msg = str(info.value)
    assert "\n" not in msg
    assert "checkpoints/music/music_piano" in msg and "download-checkpoints" in msg
    assert "basic-pitch" in msg  # says what to use instead; it does not switch by itself


def test_unknown_backend_and_bad_settings():
    with pytest.raises(ParameterError, match="known: basic-pitch, omnizart"):
        get_backend("spleeter")
    with pytest.raises(ParameterError):
        TranscribeSettings(frame_threshold=0.0)
    with pytest.raises(ParameterError):
        GpuSettings(task_gpu_amount=1.5)
    assert GpuSettings(task_gpu_amount=2).task_gpu_amount == 2


def test_providers_prefer_the_assigned_cuda_device():
    assert choose_providers(["CUDAExecutionProvider", "CPUExecutionProvider"], 3)[0] == (
        "CUDAExecutionProvider", {"device_id": 3})
    assert choose_providers(["CPUExecutionProvider"], 3) == ["CPUExecutionProvider"]


def test_model_session_is_loaded_once_per_process():
    from musim_spark.audio import backends

    a = backends.onnx_session(basic_pitch_model_path())
    b = backends.onnx_session(basic_pitch_model_path())
    assert a is b


# --- the melody of a stereo mix ------------------------------------------------------------------

PAD = [(84, 0.5, 2.5), (86, 2.5, 4.5)]  # a high sustained part, panned hard right


def _stereo_mix():
    lead = _render(MELODY, 5.0)
    pad = np.sum([_tone(p, s, e, total=5.0, decay=0.3) for p, s, e in PAD], axis=0).astype(np.float32)
    return np.stack([lead, lead + 0.8 * pad], axis=1) * 0.8


def test_stereo_melody_comes_from_the_centre_not_the_top():
    x = _stereo_mix()
    cols = transcribe_array(x, get_backend("basic-pitch"), NO_DRUMS)
    assert _f1(MELODY, _est(cols, "melody")) >= 0.8  # measured 0.86
    assert _f1(PAD, _est(cols, "melody")) == 0.0
    assert {84, 86} <= set(cols["pitch"][cols["role"] == "chord"].tolist())  # the pad is accompaniment
    # the same mix folded to mono: the top line is the pad, the skyline takes it (why the centre is used)
    mono = transcribe_array(x.mean(axis=1), get_backend("basic-pitch"), NO_DRUMS)
    assert _f1(MELODY, _est(mono, "melody")) < _f1(MELODY, _est(cols, "melody"))


def test_dual_mono_stereo_skips_the_centre_pass():
    y = _render(MELODY, 5.0)
    calls = []

    class Counting:
        name, sample_rate = "counting", SR

        def notes(self, seg, settings):
            calls.append(seg.size)
            return get_backend("basic-pitch").notes(seg, settings)

    cols = transcribe_array(np.stack([y, y], axis=1), Counting(), NO_DRUMS)
    assert len(calls) == 1 and _f1(MELODY, _est(cols, "melody")) >= 0.9


# --- note filter and onset lag (pure, synthetic activations) -------------------------------------

from musim_spark.audio import notefilter  # noqa: E402
from musim_spark.audio.backends import shift_onsets  # noqa: E402

_T = 300
_TIMES = np.arange(_T) * 256 / 22050


def _acts():
    return np.zeros((_T, 88)), np.zeros((_T, 88))


def _cand(f0, f1, pitch, amp=0.7):
    return [_TIMES[f0], _TIMES[f1], pitch, amp]


def test_note_features_see_a_restrike_and_a_chord():
    note, onset = _acts()
    note[20:200, 60 - 21] = 0.8; onset[20, 60 - 21] = 0.9        # a held C4 ...
    onset[120, 60 - 21] = 0.4                                     # ... "struck" again at frame 120
    for p in (64, 67):                                            # a chord starting with the C4
        note[20:60, p - 21] = 0.7; onset[20, p - 21] = 0.9
    cands = np.array([_cand(20, 118, 60), _cand(120, 200, 60), _cand(20, 60, 64), _cand(20, 60, 67)])
    f = notefilter.note_features(cands, note, onset, times=_TIMES)
    col = {name: i for i, name in enumerate(notefilter.FEATURES)}
    assert f[0, col["before"]] == 0.0 and f[1, col["before"]] == pytest.approx(0.8)   # already sounding
    assert f[1, col["continues"]] == 1.0 and f[0, col["continues"]] == 0.0
    assert f[0, col["onsets_with"]] == 2 and f[1, col["onsets_with"]] == 0
    assert f[0, col["onset_peak"]] == pytest.approx(0.9) and f[1, col["onset_peak"]] == pytest.approx(0.4)
    assert f[0, col["pitch"]] == 0.0 and f[2, col["pitch"]] == pytest.approx(4 / 24)
    keep = notefilter.keep_mask(cands, note, onset, times=_TIMES, threshold=0.3)
    assert keep.tolist() == [True, False, True, True]
    # threshold 0: the filter is off
    assert notefilter.keep_mask(cands, note, onset, times=_TIMES, threshold=0.0).all()


def test_note_probability_rises_with_the_onset_peak_and_falls_when_already_sounding():
    base = np.tile([notefilter.COEF[f][0] for f in notefilter.FEATURES], (3, 1))
    i, j = notefilter.FEATURES.index("onset_peak"), notefilter.FEATURES.index("before")
    base[1, i] += 0.3
    base[2, j] += 0.3
    p = notefilter.note_probability(base)
    assert p[1] > p[0] > p[2]
    assert np.all((p > 0) & (p < 1))


def test_dropped_restrikes_extend_the_note_they_continue():
    notes = np.array([[0.0, 1.0, 60, 0.8],
                      [1.03, 2.0, 60, 0.5],    # a false re-strike, continues the first
                      [2.02, 2.5, 60, 0.5],    # and again: continues the merged note
                      [1.03, 1.5, 64, 0.5],    # dropped, no kept 64 before it: gone
                      [3.0, 4.0, 60, 0.8],     # a real new note
                      [4.5, 5.0, 60, 0.5]])    # dropped, 0.5 s after the last 60 ended: gone
    keep = np.array([True, False, False, False, True, False])
    out = notefilter.merge_dropped(notes, keep)
    assert out.tolist() == [[0.0, 2.5, 60.0, 0.8], [3.0, 4.0, 60.0, 0.8]]
    assert notefilter.merge_dropped(notes, np.ones(6, bool)).tolist() == notes.tolist()


def test_shift_onsets_moves_starts_earlier_within_bounds():
    notes = np.array([[1.0, 2.0, 60, 0.5], [0.005, 0.5, 62, 0.5], [3.0, 3.01, 64, 0.5]])
    out = shift_onsets(notes, 0.02)
    assert out[:, 0].tolist() == pytest.approx([0.98, 0.0, 2.98])
    assert out[:, 1].tolist() == notes[:, 1].tolist()
    assert shift_onsets(notes, 0.0).tolist() == notes.tolist()
    assert np.all(shift_onsets(notes, 0.1)[:, 0] <= notes[:, 1])


def test_note_filter_settings_are_checked():
    with pytest.raises(ParameterError, match="note_filter"):
        TranscribeSettings(note_filter=1.0)
    with pytest.raises(ParameterError, match="onset_shift_ms"):
        TranscribeSettings(onset_shift_ms=-5)
    assert TranscribeSettings(note_filter=0.0).note_filter == 0.0
