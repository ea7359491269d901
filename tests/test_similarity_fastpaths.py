"""The per-pair fast paths of issue 10 (exact scoring of one pair, <= 3 ms) give the same numbers,
to the bit, as the straightforward code they replaced, which stays as the reference:

- :func:`.logodds.pair_logodds` (per-track Markov contexts, compiled) = :func:`.logodds.context_probabilities`
  + :func:`.logodds.logodds_tables` + :func:`.logodds.self_match_score`;
- the four-row score-only kernel :func:`.logodds.best_score` and the factored traceback
  :func:`.align.local_alignments_factored` = :func:`.align.local_alignments` on the dense matrix;
- :func:`.melody.scoring_table` (compiled copy model) = its numpy expressions;
- per-track data kept by :meth:`.features.TrackFeatures.derived` is a cache, never a field.

bench/pair_speed.py checks whole results (every field of ``compare_features``) against the engine
before these changes on POP909 songs and their noisy and tempo-changed copies.
"""

import dataclasses
import pickle

import numpy as np
import pytest

from musim_spark.errors import ParameterError
from musim_spark.model import Note, Piece, Track
from musim_spark.similarity import SimilaritySettings, compare_features, extract_features
from musim_spark.similarity.align import local_alignments, local_alignments_factored, sw_score
from musim_spark.similarity.logodds import (best_score, context_probabilities, joint_contexts, logodds_tables,
                                            pair_logodds, self_match_score, sequence_contexts)
from musim_spark.similarity.melody import scoring_table
from musim_spark.similarity.rhythm import N_SYMBOLS, step_channel

S = SimilaritySettings()


def _reference(xa, xb, weights, channel, rho, cw, perm=None):
    """The facets' code before issue 10's speed work: context probabilities, factored table, diagonals."""
    xb = xb if perm is None else perm[xb]
    pa, pb = [], []
    for g in range(xa.shape[0]):
        with np.errstate(invalid="ignore"):       # context_weight 0: rows never seen are 0/0, then replaced
            qa, qb = context_probabilities([xa[g], xb[g]], channel.shape[0], context_weight=cw)
        pa.append(qa)
        pb.append(qb)
    pa, pb = np.array(pa).reshape(xa.shape), np.array(pb).reshape(xb.shape)
    chan = np.broadcast_to(channel, (xa.shape[0],) + channel.shape)
    table, ia, ib = logodds_tables(xa, pa, xb, pb, chan, weights, rho)
    w = np.asarray(weights, dtype=np.float64)[:, None]
    diag_a = np.sum(w * np.log(rho * channel[xa, xa] / pa + 1.0 - rho), axis=0)
    diag_b = np.sum(w * np.log(rho * channel[xb, xb] / pb + 1.0 - rho), axis=0)
    return table[ia[:, None], ib[None, :]], self_match_score(diag_a), self_match_score(diag_b)


def _markov(rng, G, n, V):
    """G streams of a sticky random walk over V symbols (few contexts, as beat patterns have)."""
    x = np.empty((G, n), np.int64)
    for g in range(G):
        s = int(rng.integers(V))
        for i in range(n):
            if rng.random() < 0.3:
                s = int(rng.integers(min(V, 5))) if rng.random() < 0.7 else int(rng.integers(V))
            x[g, i] = s
    return x


@pytest.mark.parametrize("seed", range(12))
def test_pair_logodds_is_the_reference_to_the_bit(seed):
    rng = np.random.default_rng(seed)
    V = [N_SYMBOLS, 24, 5][seed % 3]
    G = int(rng.integers(1, 5))
    xa, xb = _markov(rng, G, int(rng.integers(1, 90)), V), _markov(rng, G, int(rng.integers(1, 90)), V)
    channel = step_channel(0.1) if V == N_SYMBOLS else rng.dirichlet(np.full(V, 0.3), size=V)
    weights = rng.uniform(0.05, 1.0, G)
    cw = [10.0, 0.0, 1000.0][seed % 3]
    perm = rng.permutation(V) if seed % 2 else None
    ca, cb = sequence_contexts(xa, V), sequence_contexts(xb, V)
    groups = np.arange(G)
    (table, ia, ib), self_a, self_b = pair_logodds(ca, joint_contexts(ca, groups), cb, joint_contexts(cb, groups),
                                                   groups, weights, channel, 0.8, context_weight=cw, perm_b=perm)
    ref_S, ref_a, ref_b = _reference(xa, xb, weights, channel, 0.8, cw, perm)
    S_fast = table[ia[:, None], ib[None, :]]
    assert np.array_equal(S_fast, ref_S)                # bit-identical, not approximately
    assert (self_a, self_b) == (ref_a, ref_b)
    assert best_score((table, ia, ib), gap_open=2.0, gap_extend=0.5) == sw_score(ref_S, gap_open=2.0,
                                                                                 gap_extend=0.5).score


def test_pair_logodds_on_a_subset_of_streams():
    rng = np.random.default_rng(7)
    xa, xb = _markov(rng, 5, 70, N_SYMBOLS), _markov(rng, 5, 50, N_SYMBOLS)
    ca, cb = sequence_contexts(xa, N_SYMBOLS), sequence_contexts(xb, N_SYMBOLS)
    groups = np.array([1, 3, 4])
    w = np.array([0.25, 1.0, 0.1])
    (table, ia, ib), sa, sb = pair_logodds(ca, joint_contexts(ca, groups), cb, joint_contexts(cb, groups), groups, w,
                                           step_channel(0.1), 0.7, context_weight=10.0)
    ref_S, ra, rb = _reference(xa[groups], xb[groups], w, step_channel(0.1), 0.7, 10.0)
    assert np.array_equal(table[ia[:, None], ib[None, :]], ref_S) and (sa, sb) == (ra, rb)
    with pytest.raises(ParameterError):
        sequence_contexts(np.array([[0, N_SYMBOLS]]), N_SYMBOLS)


@pytest.mark.parametrize("shape", [(1, 1), (3, 9), (4, 4), (5, 3), (8, 5), (13, 17), (64, 71), (0, 4), (7, 0)])
def test_score_kernel_and_factored_traceback_are_the_dense_ones(shape):
    rng = np.random.default_rng(sum(shape))
    n, m = shape
    for k, (go, ge) in enumerate(((3.0, 0.5), (1.0, 1.0), (0.0, 0.0))):
        table = rng.normal(-0.4, 1.5, (9, 7))
        if k == 1:
            table = np.round(table)                       # ties: the same path is chosen
        ia, ib = rng.integers(0, 9, n), rng.integers(0, 7, m)
        dense = table[ia[:, None], ib[None, :]]
        ref = local_alignments(dense, gap_open=go, gap_extend=ge, max_alignments=3, min_score=0.5)
        got = local_alignments_factored(table, ia, ib, gap_open=go, gap_extend=ge, max_alignments=3, min_score=0.5)
        assert [(a.score, a.rows.tolist(), a.cols.tolist()) for a in got] == \
               [(a.score, a.rows.tolist(), a.cols.tolist()) for a in ref]
        assert best_score((table, ia, ib), gap_open=go, gap_extend=ge) == ref[0].score


def test_scoring_table_is_the_numpy_expression():
    rng = np.random.default_rng(3)
    C = 2 * int(S.melody_interval_clip) + 1
    ha, hb = rng.integers(0, 40, C).astype(float), rng.integers(0, 40, C).astype(float)
    cnt = ha + hb
    p = (cnt + S.melody_pseudo_count / C) / (cnt.sum() + S.melody_pseudo_count)
    x = np.arange(C)
    d = np.abs(x[:, None] - x[None, :])
    near = (d == 1) | (d == 12)
    n_near = near.sum(axis=1, keepdims=True)
    rho, nu = float(S.melody_same_rate), float(S.melody_near_rate)
    rest_p = 1.0 - p - (near * p[None, :]).sum(axis=1)
    q = np.where(d == 0, rho, np.where(near, nu / n_near, (1.0 - rho - nu) * p[None, :] / rest_p[:, None]))
    Q = 0.5 * (p[:, None] * q + (p[:, None] * q).T)
    T = np.log2(Q / (p[:, None] * p[None, :]))
    np.fill_diagonal(T, np.maximum(np.diag(T), 0.0))
    assert np.array_equal(scoring_table(ha, hb, settings=S), T)


def _track(seed: int):
    rng = np.random.default_rng(seed)
    t, notes = 0.0, []
    for _ in range(80):
        d = float(rng.choice([0.25, 0.5]))
        notes.append(Note(int(60 + rng.integers(-5, 8)), t, t + d * 0.9))
        t += d
    return extract_features(Piece((Track("Melody", tuple(notes)),), tempo_bpm=120.0))


def test_derived_data_is_a_cache_not_a_field():
    f, g = _track(1), _track(2)
    calls = []
    assert f.derived("k", lambda: calls.append(1) or 5) == 5 and f.derived("k", lambda: calls.append(1) or 6) == 5
    assert calls == [1]
    first = compare_features(f, g, settings=S)                  # fills the facets' per-track data
    assert "_derived" in f.__dict__ and set(f.to_dict()) == {x.name for x in dataclasses.fields(f)}
    again = compare_features(f, g, settings=S)
    cold = compare_features(pickle.loads(pickle.dumps(f)), g, settings=S)
    assert "_derived" not in pickle.loads(pickle.dumps(f)).__dict__
    assert dataclasses.replace(f).__dict__.get("_derived") is None
    for r in (again, cold):
        for a, b in zip((first.melody, first.rhythm, first.chord), (r.melody, r.rhythm, r.chord)):
            assert np.array_equal([a.raw_score, a.score, a.share, a.transposition],
                                  [b.raw_score, b.score, b.share, b.transposition], equal_nan=True)
    assert np.isfinite(first.melody.raw_score) and np.isfinite(first.rhythm.raw_score)
    f.clear_derived()
    assert "_derived" not in f.__dict__
