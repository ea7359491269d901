"""The sweep's pure parts: the incremental plan, stored features, scoring one query, merging ranks."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from musim_spark.errors import ParameterError
from musim_spark.io.tables import TABLES
from musim_spark.similarity import SimilaritySettings
from musim_spark.similarity import transforms as T
from musim_spark.sweep.features import (decode_features, encode_features, feature_digest, features_of_track,
                                        piece_from_notes)
from musim_spark.sweep.plan import plan_sweep
from musim_spark.sweep.scoring import MATCH_SCHEMA, merge_ranked, score_query

POP909 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pop909"
needs_pop909 = pytest.mark.skipif(not (POP909 / "001" / "001.mid").is_file(), reason="POP909 not present")
S = SimilaritySettings()


# --- plan --------------------------------------------------------------------------------------

def test_plan_first_run_does_everything_and_a_rerun_nothing():
    tracks = {"o1": ("a", True), "o2": ("b", True), "c1": ("c", False)}
    p = plan_sweep(tracks, stored={}, matched={})
    assert p.compute == ("c1", "o1", "o2") and p.queries_full == ("c1", "o1", "o2")
    assert p.new_originals == ("o1", "o2") and p.queries_partial == () and not p.nothing_to_do
    again = plan_sweep(tracks, stored=dict(tracks), matched={"c1": ["o1"], "o1": ["o2"], "o2": ["o1"]})
    assert again.nothing_to_do and again.compute == () and again.queries_full == ()


def test_plan_new_original_scores_every_other_query_against_it_only():
    before = {"o1": ("a", True), "c1": ("c", False)}
    now = {**before, "o2": ("b", True)}
    p = plan_sweep(now, stored=before, matched={"c1": ["o1"]})
    assert p.compute == ("o2",) and p.queries_full == ("o2",)
    assert p.queries_partial == ("c1", "o1") and p.new_originals == ("o2",)


def test_plan_removed_or_changed_original_rescores_the_queries_that_kept_it():
    stored = {"o1": ("a", True), "o2": ("b", True), "c1": ("c", False), "c2": ("d", False)}
    matched = {"c1": ["o1"], "c2": ["o2"], "o1": ["o2"], "o2": ["o1"]}
    gone = plan_sweep({k: v for k, v in stored.items() if k != "o2"}, stored=stored, matched=matched)
    assert gone.removed == ("o2",) and set(gone.queries_full) == {"c2", "o1"}
    assert gone.compute == () and gone.queries_partial == ()
    changed = plan_sweep({**stored, "o1": ("a2", True)}, stored=stored, matched=matched)
    # o1 itself (changed) and the queries that kept it; the rest only against the new o1
    assert set(changed.queries_full) == {"o1", "c1", "o2"} and changed.queries_partial == ("c2",)
    demoted = plan_sweep({**stored, "o2": ("b", False)}, stored=stored, matched=matched)   # no longer an original
    assert set(demoted.queries_full) == {"c2", "o1", "o2"}          # o2 itself: its row changes


def test_plan_full_redoes_everything():
    tracks = {"o1": ("a", True), "c1": ("c", False)}
    p = plan_sweep(tracks, stored=dict(tracks), matched={"c1": ["o1"]}, full=True)
    assert p.compute == ("c1", "o1") and p.queries_full == ("c1", "o1")


def test_feature_digest_names_source_settings_and_version():
    base = feature_digest(["midi", "sha1", "json1"], "s")
    assert base != feature_digest(["midi", "sha2", "json1"], "s")
    assert base != feature_digest(["midi", "sha1", "json2"], "s")       # label roles changed
    assert base != feature_digest(["midi", "sha1", "json1"], "t")       # other feature settings
    assert base != feature_digest(["audio", "sha1", "json1"], "s")


# --- stored features -----------------------------------------------------------------------------

def _notes_table(piece) -> pa.Table:
    cols = {k: [] for k in ("track_index", "track_name", "role", "program", "is_drum", "pitch", "start_s", "end_s",
                            "velocity")}
    for i, t in enumerate(piece.tracks):
        for n in t.notes:
            for k, v in zip(cols, (i, t.name, t.role, t.program, t.is_drum, n.pitch, n.start, n.end, n.velocity)):
                cols[k].append(v)
    return pa.table(cols)


@needs_pop909
def test_features_from_notes_rows_equal_features_from_the_file_and_survive_storage():
    from musim_spark.midi import read_midi
    from musim_spark.similarity.compare import piece_features

    piece = read_midi(POP909 / "003" / "003.mid", melody="MELODY")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = piece_features(piece, settings=S)
        f, keys, times = features_of_track(_notes_table(piece), settings=S)
    for k, v in direct.to_dict().items():
        np.testing.assert_array_equal(v, f.to_dict()[k], err_msg=k)
    back = decode_features(encode_features(f))
    for k, v in f.to_dict().items():
        np.testing.assert_array_equal(v, back.to_dict()[k], err_msg=k)
        assert v.dtype == back.to_dict()[k].dtype
    assert keys.size == 0 and times.size == 0                     # no retrieval settings, no keys
    with pytest.raises(ParameterError, match="stored features cannot be read"):
        decode_features(b"not an npz")
    with pytest.raises(ParameterError, match="no notes"):
        features_of_track(_notes_table(piece).slice(0, 0), settings=S)


def test_piece_from_notes_keeps_track_order_roles_and_drums():
    t = pa.table({"track_index": [2, 0, 0], "track_name": ["Drums", "Lead", "Lead"], "role": ["rhythm", "bogus", "bogus"],
                  "program": [0, 81, 81], "is_drum": [True, False, False], "pitch": [36, 64, 62],
                  "start_s": [0.0, 1.0, 0.0], "end_s": [0.1, 1.5, 0.5], "velocity": [100, None, 70]})
    p = piece_from_notes(t)
    assert [(x.name, x.role, x.is_drum, x.program) for x in p.tracks] == [("Lead", "other", False, 81),
                                                                         ("Drums", "rhythm", True, 0)]
    assert [n.pitch for n in p.tracks[0].notes] == [62, 64] and p.tracks[0].notes[1].velocity == 80


# --- scoring one query ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def blobs():
    from musim_spark.midi import read_midi
    from musim_spark.similarity.compare import piece_features

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for no in ("001", "002", "004", "006"):
            piece = read_midi(POP909 / no / f"{no}.mid", melody="MELODY")
            out[no] = encode_features(piece_features(piece, settings=S))
        cover = T.transcription_noise(T.tempo_change(T.transpose(read_midi(POP909 / "002" / "002.mid", melody="MELODY"), 3),
                                              1.2), seed=5)
        out["cover"] = encode_features(piece_features(cover, settings=S))
    return out


@needs_pop909
def test_score_query_ranks_the_true_original_first_and_never_matches_itself(blobs):
    cands = [(k, blobs[k]) for k in ("001", "002", "004", "006")] + [("cover", blobs["cover"]), ("002", blobs["002"])]
    t = score_query("cover", blobs["cover"], cands, settings=S, top_k=3, source="midi", run_id="r1")
    assert t.schema == MATCH_SCHEMA
    rows = t.to_pylist()
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["original_track_id"] == "002" and rows[0]["is_similar"]
    assert all(r["original_track_id"] != "cover" for r in rows)                  # never itself
    assert len({r["original_track_id"] for r in rows}) == 3                      # a repeated candidate once
    assert not any(r["is_similar"] for r in rows[1:])
    assert rows[0]["melody_sections"] and rows[0]["melody_significance"] > 10


@needs_pop909
def test_merging_new_rows_equals_scoring_everything_at_once(blobs):
    """A partial query (scored against new originals only, merged with its stored rows) gets the
    rows a full rescoring gives."""
    ids = ("001", "002", "004", "006")
    full = score_query("cover", blobs["cover"], [(k, blobs[k]) for k in ids], settings=S, top_k=3, source="midi",
                       run_id="r").to_pylist()
    old = score_query("cover", blobs["cover"], [(k, blobs[k]) for k in ("001", "004", "006")], settings=S, top_k=3,
                      source="midi", run_id="r").to_pylist()
    new = score_query("cover", blobs["cover"], [("002", blobs["002"])], settings=S, top_k=3, source="midi", run_id="r")
    merged = merge_ranked(new, old, top_k=3).to_pylist()
    assert [(r["original_track_id"], r["rank"]) for r in merged] == [(r["original_track_id"], r["rank"]) for r in full]
    # an original scored again replaces its stored row
    again = merge_ranked(pa.Table.from_pylist([dict(full[0], run_id="r2")], schema=MATCH_SCHEMA), full, top_k=3)
    assert again.num_rows == 3 and again.to_pylist()[0]["run_id"] == "r2"


def test_matches_schema_is_the_table_contract():
    assert MATCH_SCHEMA == TABLES["matches"].schema
    spec = (Path(__file__).resolve().parents[1].parent / "shared" / "spec" / "interface.md").read_text(encoding="utf-8")
    for name in ("query_track_id", "original_track_id", "rank", "melody_similarity", "similarity_coefficient",
                 "is_similar", "source", "melody_sections", "run_id"):
        assert f"`{name}`" in spec and name in MATCH_SCHEMA.names


@needs_pop909
def test_melody_first_scoring_gives_the_rows_of_scoring_every_candidate(blobs, monkeypatch):
    """Scoring all three facets only of the candidates the melody facet selects gives the same
    rows (every field) as scoring every candidate, with fewer full comparisons."""
    import musim_spark.similarity.compare as compare

    calls = []
    real = compare.compare_features

    def counted(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(compare, "compare_features", counted)
    ids = ("001", "002", "004", "006", "cover")
    for q in ids:
        cands = [(k, blobs[k]) for k in ids if k != q]
        for top_k in (1, 2, 3):
            calls.clear()
            full = score_query(q, blobs[q], cands, settings=S, top_k=top_k, source="midi", run_id="r").to_pylist()
            n_full = len(calls)
            calls.clear()
            first = score_query(q, blobs[q], cands, settings=S, top_k=top_k, source="midi", run_id="r",
                                melody_first=True).to_pylist()
            assert first == full, (q, top_k)
            assert len(calls) <= n_full
            if top_k == 1:
                assert len(calls) < n_full        # fewer full comparisons (unrelated ones are skipped)


def test_could_be_similar_bounds_every_coefficient_the_other_facets_can_give():
    import math

    import numpy as np

    from musim_spark.similarity.combine import similarity_coefficient
    from musim_spark.sweep.scoring import could_be_similar

    grid = [0.0, 10.0, 50.0, 90.0, 100.0, math.nan]
    for settings in (S, dataclasses.replace(S, combine_chord_weight=-2.0, combine_rhythm_weight=5.0)):
        flips = 0
        for m in np.linspace(0, 100, 201):
            bound = could_be_similar(float(m), settings=settings)
            reached = any(similarity_coefficient(float(m), r, c, settings=settings) >= settings.coefficient_threshold
                          for r in grid for c in grid)
            assert bound == reached, m         # the bound is reached (tight) and never exceeded
            flips += bound
        assert 0 < flips < 201                 # low melody scores are never similar, high ones can be
    assert not could_be_similar(math.nan, settings=S)


def test_melody_first_selection_keeps_ties_and_fills_with_undecided_pairs():
    from types import SimpleNamespace as R

    from musim_spark.sweep.scoring import melody_first_selection

    nan = float("nan")
    m = [R(score=1.0, raw_score=0.5), R(score=2.0, raw_score=1.0), R(score=2.0, raw_score=1.0),
         R(score=nan, raw_score=nan), R(score=0.5, raw_score=0.1), R(score=99.9, raw_score=12.0)]
    # the similar-capable one, and the best 1 other (both tied at 1.0 kept)
    assert melody_first_selection(m, settings=S, top_k=1) == [1, 2, 5]
    assert melody_first_selection(m, settings=S, top_k=3) == [0, 1, 2, 5]
    # fewer decided candidates than top_k: the undecided one is needed too
    assert melody_first_selection(m, settings=S, top_k=6) == [0, 1, 2, 3, 4, 5]
    assert melody_first_selection(m, settings=S, top_k=0) == [5]


# --- the worker's cache of decoded candidates ----------------------------------------------------

def test_worker_cache_keeps_at_most_its_size_and_is_reset_by_a_new_run():
    from musim_spark.sweep import scoring

    c = scoring.worker_cache("run-1", 3)
    for i in range(10):
        c[f"o{i}"] = i
        c.get("o0")                      # used again and again: stays
    assert len(c) == 3 and "o0" in c and "o9" in c and "o1" not in c
    assert scoring.worker_cache("run-1", 3) is c
    fresh = scoring.worker_cache("run-2", 3)
    assert fresh is not c and len(fresh) == 0
    with pytest.raises(ParameterError):
        scoring.BoundedCache(-1)
    none = scoring.BoundedCache(0)
    none["x"] = 1
    assert len(none) == 0


@needs_pop909
def test_score_query_with_a_one_track_cache_gives_the_rows_of_an_unbounded_one(blobs):
    from musim_spark.sweep.scoring import BoundedCache

    cands = [(k, blobs[k]) for k in ("001", "002", "004", "006")]
    free = score_query("cover", blobs["cover"], cands, settings=S, top_k=3, source="midi", run_id="r", cache={})
    small = BoundedCache(1)
    for _ in range(2):                   # the second query finds at most one candidate decoded
        bounded = score_query("cover", blobs["cover"], cands, settings=S, top_k=3, source="midi", run_id="r",
                              cache=small)
        assert bounded.to_pylist() == free.to_pylist()
        assert len(small) == 1


def test_sweep_settings_refuse_a_negative_cache():
    from musim_spark.sweep.settings import SweepSettings

    with pytest.raises(ParameterError, match="decoded_cache_tracks"):
        SweepSettings(decoded_cache_tracks=-1)
