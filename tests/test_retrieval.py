"""Candidate retrieval (issue 11): shingles, inverted index, scores, settings.

Real POP909 songs (../shared/data/pop909) give the melodies and chords; the tests that need them
skip without them. Catalog-scale figures are bench/retrieval.py's (bench/results/retrieval.md).
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest

from musim_spark.config import load_config
from musim_spark.errors import ParameterError
from musim_spark.model import Note, Piece, Track
from musim_spark.retrieval import (RetrievalSettings, build_index, chord_shingles, df_limit, line_shingles,
                                   local_score, query, query_scores, shingle_kind, track_shingles)
from musim_spark.retrieval.shingles import KIND_CHORD, KIND_JOINT, KIND_PITCH
from musim_spark.similarity.features import extract_features

POP909 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pop909"
needs_pop909 = pytest.mark.skipif(not (POP909 / "001" / "001.mid").is_file(), reason="POP909 not present")
S = RetrievalSettings()
#: The catalog of the POP909 tests: the originals, and the songs the phrase is put into (not indexed).
ORIGINALS = [f"{i:03d}" for i in range(1, 21)]
HOSTS = ["030", "031"]


def _features(piece: Piece):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return extract_features(piece)


def _map(piece: Piece, fn_track) -> Piece:
    return dataclasses.replace(piece, tracks=tuple(fn_track(t) for t in piece.tracks))


def _transpose_retime(piece: Piece, semitones: int, tempo: float) -> Piece:
    """Every pitched note moved ``semitones``, every time divided by ``tempo``."""
    def tr(t: Track) -> Track:
        return dataclasses.replace(t, notes=tuple(
            Note(n.pitch + (0 if t.is_drum else semitones), round(n.start / tempo, 6), round(n.end / tempo, 6),
                 n.velocity) for n in t.notes))
    return dataclasses.replace(_map(piece, tr), tempo_bpm=piece.tempo_bpm * tempo, beats=None)


def _slips(track: Track, *, drop_every: int, octave_every: int, extra_every: int) -> Track:
    """Transcriber-like errors at fixed places: dropped notes, octave slips, extra notes."""
    out = []
    for i, n in enumerate(track.notes):
        if i % drop_every == drop_every - 1:
            continue
        pitch = n.pitch + 12 if i % octave_every == octave_every - 1 else n.pitch
        out.append(Note(pitch, n.start, n.end, n.velocity))
        if i % extra_every == extra_every - 1 and n.end - n.start > 0.2:
            mid = round(n.start + 0.5 * (n.end - n.start), 6)
            out[-1] = Note(pitch, n.start, mid, n.velocity)
            out.append(Note(pitch + 3, mid, n.end, n.velocity))
    return dataclasses.replace(track, notes=tuple(out))


@pytest.fixture(scope="module")
def songs():
    from musim_spark.sampledata.plagiarism import song_piece
    from musim_spark.sampledata.source import read_song

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src = {no: read_song(POP909, no) for no in ORIGINALS + HOSTS}
    return src, {no: song_piece(s) for no, s in src.items()}


@pytest.fixture(scope="module")
def catalog(songs):
    """Index over the originals (POP909 songs 001-020: melody, bridge, piano)."""
    _, pieces = songs
    feats = [_features(pieces[no]) for no in ORIGINALS]
    return build_index([track_shingles(f, S) for f in feats], S), feats


def _rank(index, piece_or_features, settings=S):
    f = piece_or_features if not isinstance(piece_or_features, Piece) else _features(piece_or_features)
    h, t = track_shingles(f, settings, with_times=True)
    return query_scores(index, h, t, window_s=settings.local_window_s)


# ------------------------------------------------------------------------------------ shingles
def test_line_shingles_kinds_and_counts():
    p = np.array([60, 62, 64, 65, 67, 69, 71, 72])
    on = 0.5 * np.arange(8)
    s = RetrievalSettings(pitch_gram_notes=5, joint_gram_notes=4, max_deletions=0)
    h = line_shingles(p, on, s)
    kinds = shingle_kind(h)
    assert (kinds == KIND_PITCH).sum() == 4 and (kinds == KIND_JOINT).sum() == 5
    # skip-grams: each 6-note window adds 4 (one inner note left out) -> 4 + 3 x 4; each 7-note
    # window 10 more (two of its 5 inner notes left out)
    h1 = line_shingles(p, on, dataclasses.replace(s, joint_gram_notes=0, max_deletions=1))
    assert h1.shape[0] == 4 + 3 * 4
    h2 = line_shingles(p, on, dataclasses.replace(s, joint_gram_notes=0, max_deletions=2))
    assert h2.shape[0] == 4 + 3 * 4 + 2 * 10
    # too short for a shingle: nothing, no error
    assert line_shingles(p[:3], on[:3], s).shape == (0,)


def test_octave_slip_keeps_pitch_shingles_and_wrong_interval_does_not():
    p = np.array([60, 62, 64, 65, 67, 65, 64, 62, 60, 59, 60])
    on = 0.5 * np.arange(p.shape[0])
    s = RetrievalSettings(joint_gram_notes=0, chord_gram_events=0, max_deletions=0)
    base = set(line_shingles(p, on, s).tolist())
    slipped = p.copy()
    slipped[5] += 12
    assert set(line_shingles(slipped, on, s).tolist()) == base  # octave-folded intervals
    wrong = p.copy()
    wrong[5] += 1
    assert len(base & set(line_shingles(wrong, on, s).tolist())) == 2  # only the windows not touching note 5


def test_skip_grams_survive_dropped_and_extra_notes():
    rng = np.random.default_rng(3)
    p = 60 + np.cumsum(rng.integers(-4, 5, 40))
    on = np.cumsum(rng.choice([0.25, 0.5, 0.75], 40))
    dropped = np.delete(np.arange(40), [10, 25])
    extra_p, extra_on = np.insert(p, 20, p[19] + 5), np.insert(on, 20, on[19] + 0.1)

    def coverage(x_p, x_on, y_p, y_on, deletions):
        """Share of x's plain 5-note windows found among y's shingles (which then include skip-grams)."""
        s = RetrievalSettings(max_deletions=deletions, chord_gram_events=0)
        x = set(line_shingles(x_p, x_on, dataclasses.replace(s, max_deletions=0)).tolist())
        return len(x & set(line_shingles(y_p, y_on, s).tolist())) / len(x)

    # a dropped note: the noisy line's windows over the gap are skip-grams of the clean line
    assert coverage(p[dropped], on[dropped], p, on, 0) < 0.8
    assert coverage(p[dropped], on[dropped], p, on, 1) == 1.0
    # an extra note: the clean line's windows are skip-grams of the noisy line
    assert coverage(p, on, extra_p, extra_on, 0) < 0.9
    assert coverage(p, on, extra_p, extra_on, 1) == 1.0
    # two notes dropped close together (both sides are transcribed: errors pile up): every start
    # position of the clean line keeps some shingle in common with the noisy line only with 2
    two = np.delete(np.arange(40), [20, 22])

    def positions(deletions):
        s = RetrievalSettings(max_deletions=deletions, chord_gram_events=0)
        h, t = line_shingles(p, on, s, with_times=True)
        hit = np.isin(h, line_shingles(p[two], on[two], s))
        return np.unique(t[hit]).shape[0] / np.unique(t).shape[0]

    assert positions(0) < positions(1) < positions(2) == 1.0


def test_chord_shingles_key_invariant_and_quality_sensitive():
    root = np.array([0, 7, 9, 5, 0, 7, 9, 5])
    qual = np.array([0, 0, 1, 0, 0, 0, 1, 0])
    a = chord_shingles(root, qual, S)
    assert np.all(shingle_kind(a) == KIND_CHORD)
    assert np.array_equal(a, chord_shingles((root + 5) % 12, qual, S))
    other = qual.copy()
    other[2] = 0
    assert not set(a.tolist()) <= set(chord_shingles(root, other, S).tolist())
    # no-chord events are left out, times come along when asked
    h, t = chord_shingles(np.array([-1, 0, 7, 9, 5, 0]), np.array([0, 0, 0, 1, 0, 0]),
                          dataclasses.replace(S, max_deletions=0), start=np.arange(6.0))
    assert h.shape == (1,) and t.tolist() == [1.0]


@needs_pop909
def test_transposed_and_retimed_copy_gives_the_same_shingles(songs):
    _, pieces = songs
    melody = Piece((pieces["001"].tracks[0],), tempo_bpm=120.0)
    fa = _features(melody)
    fb = _features(_transpose_retime(melody, 5, 1.3))
    s = dataclasses.replace(S, chord_gram_events=0)  # chords are estimated on the tracked beats
    a, b = track_shingles(fa, s), track_shingles(fb, s)
    assert a.shape[0] > 1200
    assert np.array_equal(a, b)
    # a different song shares some (scale runs, repeated notes: the index weighs them down), not many
    other = track_shingles(_features(Piece((pieces["002"].tracks[0],), tempo_bpm=120.0)), s)
    assert np.intersect1d(a, other).shape[0] < 0.18 * a.shape[0]  # measured 224 of 1622


# ------------------------------------------------------------------------------------ index
def _toy_docs():
    rng = np.random.default_rng(0)
    pitch = np.uint64(KIND_PITCH << 62)
    docs = [np.unique(rng.integers(0, 10_000, 300).astype(np.uint64)) | pitch for _ in range(40)]
    common = np.arange(10_000, 10_010, dtype=np.uint64) | pitch  # in every doc
    return [np.unique(np.concatenate([d, common])) for d in docs], common


def test_index_drops_common_shingles_and_query_agrees_with_the_pair_formula():
    docs, common = _toy_docs()
    s = RetrievalSettings(max_df_share=0.05)
    assert df_limit(40, s) == 10
    ix = build_index(docs, s)
    assert not np.isin(common, ix.hashes).any()
    assert ix.postings.shape[0] == sum(d.shape[0] for d in docs) - 10 * 40
    # a query: 60 shingles of doc 7 at times 0..59 s, 60 of doc 3 spread over 600 s, the common ones
    q = np.concatenate([docs[7][:60], docs[3][:60], common])
    t = np.concatenate([np.arange(60.0), 10.0 * np.arange(60), np.zeros(10)])
    ids, scores = query(ix, q, 5, t, window_s=30.0)
    assert ids[0] == 7 and scores[0] > 2 * scores[1]
    whole_ids, _ = query(ix, q, 5)
    assert set(whole_ids[:2]) == {3, 7}
    # every original's score = local_score over its shared shingles x its norm (the Spark path)
    sc = query_scores(ix, q, t, window_s=30.0)
    for o in (3, 7, 11):
        shared = np.isin(q, docs[o]) & np.isin(q, ix.hashes)
        w = ix.weights[np.searchsorted(ix.hashes, q[shared])].astype(np.float64)
        assert sc[o] == pytest.approx(local_score(t[shared], w, 30.0) * ix.doc_norm[o], rel=1e-6)  # float32 weights
    with pytest.raises(ParameterError):
        query(ix, q, 0)


def test_length_normalisation_keeps_a_long_original_from_winning_by_size():
    pitch = np.uint64(KIND_PITCH << 62)
    short = np.arange(0, 100, dtype=np.uint64) | pitch
    long_ = np.concatenate([np.arange(50, 100), np.arange(1000, 3000)]).astype(np.uint64) | pitch
    filler = [np.arange(5000 + 100 * i, 5100 + 100 * i, dtype=np.uint64) | pitch for i in range(20)]
    q = np.concatenate([np.arange(0, 60), np.arange(1000, 1070)]).astype(np.uint64) | pitch
    raw = query_scores(build_index([short, long_] + filler, RetrievalSettings(length_norm_power=0.0)), q)
    norm = query_scores(build_index([short, long_] + filler, RetrievalSettings(length_norm_power=0.5)), q)
    assert raw[1] > raw[0] and norm[0] > norm[1]


# ------------------------------------------------------------------------------------ POP909 catalog
@needs_pop909
def test_noisy_transposed_copy_ranks_its_original_first(songs, catalog):
    _, pieces = songs
    index, _ = catalog
    piece = pieces["007"]
    noisy = dataclasses.replace(piece, tracks=(_slips(piece.tracks[0], drop_every=12, octave_every=9, extra_every=15),)
                                + piece.tracks[1:])
    sc = _rank(index, _transpose_retime(noisy, -3, 0.85))
    true = ORIGINALS.index("007")
    others = np.delete(sc, true)
    assert int(np.argmax(sc)) == true
    assert sc[true] > 7 * others.max(), (sc[true], others.max())  # measured 10.1 times


@needs_pop909
def test_eight_bar_phrase_inside_another_song_finds_its_original(songs, catalog):
    from musim_spark.sampledata.plagiarism import phrase_case

    src, _ = songs
    index, _ = catalog
    found = []
    for source, host, seed in (("005", "030", 1), ("012", "031", 2), ("019", "030", 3)):
        case = phrase_case(src[source], src[host], seed, bars=(8, 8))
        sc = _rank(index, case.query)
        true = ORIGINALS.index(source)
        rank = 1 + int(np.count_nonzero(sc > sc[true]))
        found.append((rank, sc[true] / np.delete(sc, true).max()))
    # measured: rank 1 each, 6.1 / 8.1 / 9.6 times the best other original
    assert all(r == 1 and margin > 5 for r, margin in found), found


@needs_pop909
def test_unrelated_songs_score_low(songs, catalog):
    _, pieces = songs
    index, feats = catalog
    self_score = _rank(index, feats[ORIGINALS.index("007")]).max()
    for no in HOSTS:  # not in the index
        sc = _rank(index, pieces[no])
        assert sc.max() < 0.09 * self_score, (no, sc.max(), self_score)  # measured 0.066, 0.056
    # nor is any of them close to a transposed, re-timed copy's score (a few per cent of it)
    copy = _rank(index, _transpose_retime(pieces["007"], 4, 1.2))
    unrelated = max(_rank(index, pieces[no]).max() for no in HOSTS)
    assert copy.max() == copy[ORIGINALS.index("007")] > 14 * unrelated  # measured 17.4 times


# ------------------------------------------------------------------------------------ settings
def test_settings_from_config_and_defaults_agree(tmp_path):
    assert RetrievalSettings.from_config(load_config(None)) == RetrievalSettings()
    assert RetrievalSettings.from_config(None) == RetrievalSettings()
    (tmp_path / "c.yaml").write_text("retrieval:\n  local_window_s: 20\n  kind_weights: [1, 1, 0]\n")
    s = RetrievalSettings.from_config(load_config(tmp_path / "c.yaml"))
    assert s.local_window_s == 20 and s.kind_weights == (1.0, 1.0, 0.0)
    (tmp_path / "d.yaml").write_text("retrieval:\n  windw: 3\n")
    with pytest.raises(ParameterError, match="windw"):
        RetrievalSettings.from_config(load_config(tmp_path / "d.yaml"))
    with pytest.raises(ParameterError):
        RetrievalSettings(pitch_gram_notes=2)
    assert RetrievalSettings().budget(11_000) == 110 and RetrievalSettings().budget(100) == 5


def test_top_candidates_orders_like_the_spark_window_and_never_returns_the_query():
    """Best first, ties by row (the join's order by score, then original id), zero scores never,
    the excluded row dropped before the budget is filled."""
    from musim_spark.retrieval import top_candidates

    rng = np.random.default_rng(3)
    for _ in range(200):
        sc = rng.integers(0, 4, rng.integers(1, 30)).astype(np.float64)   # many ties and zeros
        k = int(rng.integers(1, 12))
        ex = int(rng.integers(-1, sc.shape[0]))
        s2 = sc.copy()
        if ex >= 0:
            s2[ex] = 0.0
        brute = sorted((i for i in range(sc.shape[0]) if s2[i] > 0), key=lambda i: (-s2[i], i))[:k]
        assert top_candidates(sc, k, exclude=ex if ex >= 0 else None).tolist() == brute
