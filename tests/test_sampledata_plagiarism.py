"""Plagiarism-like cases (issue 10): each case has the properties its truth promises."""

from pathlib import Path

import numpy as np
import pytest

from musim_spark.errors import ParameterError
from musim_spark.midi import read_midi
from musim_spark.model import Note, Track
from musim_spark.sampledata import plagiarism as P
from musim_spark.sampledata.source import read_song

POP909 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pop909"


@pytest.fixture(scope="module")
def songs():
    return {s: read_song(POP909, s) for s in ("001", "002", "003", "004")}


def _sec(case, i=0):
    s = case.truth["sections"][i]
    return (s["startMilliSec"] / 1000, s["durationMilliSec"] / 1000,
            s["originalStartMilliSec"] / 1000, s["originalDurationMilliSec"] / 1000)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_phrase_is_in_the_host_at_the_truth_section_with_the_stated_shift(songs, seed):
    src, host = songs["001"], songs["002"]
    name = P.file_track_name("旋律", "utf-8")
    case = P.phrase_case(src, host, seed, melody_name=name, jitter_ms=10.0)
    t = case.truth
    h0, hdur, s0, sdur = _sec(case)
    shift, f = t["transpose_semitones"], t["tempo_ratio"]
    assert t["kind"] == "phrase" and t["positive"] and t["counterpart_id"] == "pop909-001"
    assert shift != 0 and -6 <= shift <= 6 and 0.8 <= f <= 1.25 and 4 <= t["params"]["bars"] <= 16
    assert hdur == pytest.approx(sdur / f, abs=2e-3)
    # the source phrase, mapped into the host timeline, is the host melody inside the section
    src_notes = [n for n in src.melody.notes if s0 - 1e-3 <= n.start < s0 + sdur - 1e-3]
    mel = case.query.track(name)
    tol = 2.5 * 0.010 + 2e-3  # jitter clip + rounding of the section to ms
    inside = [n for n in mel.notes if h0 - tol <= n.start < h0 + hdur - tol]
    assert len(inside) == len(src_notes) == t["params"]["n_phrase_notes"] >= 4
    assert [n.pitch - shift for n in inside] == [n.pitch for n in src_notes]
    back = np.array([(n.start - h0) * f + s0 for n in inside])
    assert np.abs(back - np.array([n.start for n in src_notes])).max() <= tol * f
    # outside the section the host's melody is untouched; its other parts are the host's
    outside = [(n.pitch, n.start) for n in mel.notes if not h0 - tol <= n.start < h0 + hdur - tol]
    host_out = [(n.pitch, n.start) for n in host.melody.notes if not h0 - tol <= n.start < h0 + hdur]
    assert outside == host_out
    assert case.query.track("Piano").notes == host.piano.notes
    assert case.counterpart.track("Melody").notes == src.melody.notes


def test_single_line_file_has_one_track_and_the_requested_artefact_rates():
    # a synthetic line whose notes are easy to tell apart: one every 0.5 s, no repeated pitch
    src = Track("x", tuple(Note(50 + (7 * i) % 24, 0.5 * i, 0.5 * i + 0.4, 100) for i in range(200)))
    noisy, c = P.transcription_artefacts(src, 3, partial_rate=0.1, split_rate=0.05, drop_rate=0.15)
    assert (c["partials"], c["split"], c["dropped"]) == (20, 10, 30)
    assert c["partial_12"] + c["partial_19"] == 20 and c["partial_12"] > 0 and c["partial_19"] > 0
    assert len(noisy.notes) == 200 - 30 + 10 + 20
    by_onset = {}
    for n in noisy.notes:
        by_onset.setdefault(n.start, []).append(n)
    orig_onsets = {n.start for n in src.notes}
    kept = [o for o in orig_onsets if o in by_onset]
    assert len(kept) == 170                                             # 30 dropped
    chords = [sorted(by_onset[o], key=lambda n: n.pitch) for o in kept if len(by_onset[o]) == 2]
    assert sorted(b.pitch - a.pitch for a, b in chords) == [12] * c["partial_12"] + [19] * c["partial_19"]
    halves = [o for o in by_onset if o not in orig_onsets]              # second halves of split notes
    assert len(halves) == 10
    for o in halves:
        (second,) = by_onset[o]
        first = by_onset[round(np.floor(o / 0.5) * 0.5, 6)][0]
        assert first.pitch == second.pitch and first.end == pytest.approx(second.start, abs=1e-6)


def test_jitter_has_the_requested_spread_and_no_outliers():
    src = Track("x", tuple(Note(60, 0.5 * i + 0.1, 0.5 * i + 0.4) for i in range(2000)))
    noisy, _ = P.transcription_artefacts(src, 5, jitter_ms=20.0)
    d = np.array([b.start - a.start for a, b in zip(src.notes, noisy.notes)])
    assert d.std() == pytest.approx(0.020, rel=0.1)
    assert np.abs(d).max() <= 0.050 + 1e-9


def test_melody_file_case_is_one_track_under_a_mis_encoded_name(songs):
    ph = P.phrase_case(songs["001"], songs["002"], 4)
    mel = P.melody_file_case(ph, 5, name="멜로디", encoding="cp949", partial_rate=0.1, split_rate=0.1,
                             drop_rate=0.1, jitter_ms=20)
    n = len(ph.query.track("Melody").notes)
    p = mel.truth["params"]
    assert len(mel.query.tracks) == 1
    assert (p["partials"], p["split"], p["dropped"]) == (round(0.1 * n),) * 3
    assert len(mel.query.tracks[0].notes) == n + p["split"] + p["partials"] - p["dropped"]
    assert mel.truth["sections"] == ph.truth["sections"] and mel.truth["counterpart_id"] == "pop909-001"
    back = read_midi(P.midi_bytes(mel.query))
    assert len(back.tracks) == 1 and back.tracks[0].name.encode("latin-1") == "멜로디".encode("cp949")
    # the phrase alone: starts at 0, same section length, notes = the phrase's
    phr = P.melody_file_case(ph, 6, phrase_only=True, name="Track 1", encoding="ascii")
    h0, hdur, s0, sdur = _sec(phr)
    assert h0 == 0 and (hdur, s0, sdur) == _sec(ph)[1:]
    assert len(phr.query.tracks[0].notes) == ph.truth["params"]["n_phrase_notes"]
    assert phr.query.end_time <= hdur + 0.05
    # its first 3 s only: the section shrinks in both timelines (source side by the tempo ratio)
    short = P.melody_file_case(ph, 7, phrase_only=True, max_seconds=3.0)
    s = short.truth["sections"][0]
    assert (s["durationMilliSec"], s["originalDurationMilliSec"]) == (3000, round(3000 * ph.truth["tempo_ratio"]))
    assert s["originalStartMilliSec"] == ph.truth["sections"][0]["originalStartMilliSec"]
    notes = short.query.tracks[0].notes
    assert notes and max(n.end for n in notes) <= 3.0 + 1e-6
    assert [n.pitch for n in notes] == [n.pitch for n in phr.query.tracks[0].notes[:len(notes)]]


def test_same_seed_same_bytes(songs, tmp_path):
    def build(seed):
        ph = P.phrase_case(songs["003"], songs["004"], seed, melody_name=P.file_track_name("主旋律", "gbk"))
        return [ph, P.melody_file_case(ph, seed, partial_rate=0.2, split_rate=0.1, jitter_ms=15),
                P.excerpt_case(songs["001"], seed, bars=8, transpose=-3, tempo_ratio=1.1, jitter_ms=5),
                P.cliche_case(songs["002"], songs["001"], seed),
                P.chord_groove_case(songs["001"], songs["003"], seed)]

    a, b, c = build(11), build(11), build(12)
    assert [P.midi_bytes(x.query) for x in a] == [P.midi_bytes(x.query) for x in b]
    assert P.midi_bytes(a[0].query) != P.midi_bytes(c[0].query)
    P.write_cases(a, tmp_path / "a")
    P.write_cases(b, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 5 + 3 + 1  # queries, distinct counterparts (001, 003 phrase source, cliche partner), truth
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_chord_groove_negative_keeps_chords_and_groove_not_melody(songs):
    acc, other = songs["001"], songs["003"]
    case = P.chord_groove_case(acc, other, 0)
    t = case.truth
    assert not t["positive"] and t["counterpart_id"] == "pop909-001" and t["params"]["melody_from"] == "003"
    assert case.query.track("Piano").notes == acc.piano.notes
    assert [x.name for x in case.query.tracks] == ["Melody", "Piano"]  # no bridge: the second melody
    # the melody is the other song's contour (same intervals except where re-fitted), not acc's
    mel = case.query.track("Melody").pitches()
    assert t["params"]["refitted"] > 0
    from musim_spark.similarity.baseline import interval_ngram_jaccard
    assert interval_ngram_jaccard(mel, acc.melody.pitches()) < 0.3
    # re-fitting moved on-beat notes onto chord tones: fewer on-beat non-chord tones than without it
    plain = P.chord_groove_case(acc, other, 0, refit=False).query.track("Melody")

    def off_chord(track):
        beats = np.asarray(acc.beats)
        k = 0
        for n in track.notes:
            if np.abs(beats - n.start).min() < 0.02:
                tones = next(({(c.root + i) % 12 for i in c.intervals} for c in acc.chords
                              if c.start <= n.start < c.end and c.root is not None), None)
                k += int(tones is not None and n.pitch % 12 not in tones)
        return k

    assert off_chord(case.query.track("Melody")) < off_chord(plain)


def test_cliche_is_the_same_scale_run_in_both_songs_and_nothing_else(songs):
    case = P.cliche_case(songs["002"], songs["004"], 3, bars=2)
    x0, xd, y0, yd = _sec(case)
    assert not case.truth["positive"] and case.truth["counterpart_id"] == "cliche-004-002"

    def run(piece, t0, d):
        return [n.pitch for n in piece.track("Melody").notes if t0 - 1e-3 <= n.start < t0 + d - 1e-3]

    qx, py = run(case.query, x0, xd), run(case.counterpart, y0, yd)
    assert len(qx) == len(py) == 16
    assert np.diff(qx).tolist() == np.diff(py).tolist()
    assert max(qx) - min(qx) == 12  # up an octave and back
    # outside the motif each song's melody is its own
    rest = [n for n in case.query.track("Melody").notes if not x0 - 1e-3 <= n.start < x0 + xd]
    own = [n for n in songs["002"].melody.notes if not x0 - 1e-3 <= n.start < x0 + xd]
    assert [(n.pitch, n.start) for n in rest] == [(n.pitch, n.start) for n in own]


@pytest.mark.parametrize("bars", [8, 16, 32])
def test_excerpts_exact_and_transposed_retimed(songs, bars):
    song = songs["001"]
    ex = P.excerpt_case(song, 0, bars=bars)
    q0, qd, _, sd = _sec(ex)
    assert q0 == 0 and qd == sd and ex.truth["params"]["exact"]
    b0 = ex.truth["params"]["start_bar"]
    s0, s1 = P.bar_lines(song)[b0], P.bar_lines(song)[b0 + bars]
    assert (s0, s1 - s0) == pytest.approx((_sec(ex)[2], sd), abs=1e-3)
    want = [(n.pitch, n.start - s0) for n in song.melody.notes if s0 <= n.start < s1]
    got = [(n.pitch, n.start) for n in ex.query.track("Melody").notes]
    assert [p for p, _ in got] == [p for p, _ in want] and len(got) > 8
    assert np.allclose([t for _, t in got], [t for _, t in want], atol=1e-5)
    tr = P.excerpt_case(song, 0, bars=bars, start_bar=b0, transpose=5,
                        tempo_ratio=1.25)
    assert tr.truth["sections"][0]["durationMilliSec"] == pytest.approx(sd * 1000 / 1.25, abs=1)
    got_t = [(n.pitch - 5, n.start * 1.25) for n in tr.query.track("Melody").notes]
    assert [p for p, _ in got_t] == [p for p, _ in want]
    assert np.allclose([t for _, t in got_t], [t for _, t in want], atol=2e-3)


def test_bad_requests_are_parameter_errors(songs):
    with pytest.raises(ParameterError, match="different songs"):
        P.phrase_case(songs["001"], songs["001"], 0)
    with pytest.raises(ParameterError):
        P.phrase_case(songs["001"], songs["002"], 0, bars=(8, 4))
    with pytest.raises(ParameterError):
        P.transcription_artefacts(Track("x", ()), 0, partial_rate=0.7, drop_rate=0.5)
    with pytest.raises(ParameterError):
        P.excerpt_case(songs["001"], 0, bars=8, start_bar=10 ** 6)
    with pytest.raises(ParameterError):
        P.file_track_name("旋律", "latin-1")
