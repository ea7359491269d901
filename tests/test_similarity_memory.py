"""Bounded memory of the alignment kernels (issue 13): above :data:`.align.TRACEBACK_MAX_CELLS` cells
a path is traced with checkpoints (DP rows kept every few rows, one block of traceback bytes
recomputed at a time), and the alignments are the same, to the bit, as from the full traceback
matrix; the checkpointed kernels' memory does not grow with ``n m``.

bench/memory.py measures whole commands on one-hour and 50,000-note files (bench/results/memory.md).
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from musim_spark.model import Note, Piece, Track
from musim_spark.similarity import SimilaritySettings, compare_features, extract_features
from musim_spark.similarity import align, logodds
from musim_spark.similarity.align import checkpoint_block, local_alignments_factored, traceback_bytes
from musim_spark.similarity.align import StreamTable
from musim_spark.similarity.logodds import best_score, joint_contexts, pair_logodds, sequence_contexts
from musim_spark.similarity.rhythm import N_SYMBOLS, step_channel
from musim_spark.similarity.melody import align_lines, align_lines_raw, interval_histogram, scoring_table

S = SimilaritySettings()
REPO = Path(__file__).resolve().parents[1]


def _key(als):
    return [(a.score, a.rows.tolist(), a.cols.tolist()) for a in als]


def _related(rng, n, m, k):
    """Symbol sequences of lengths n and m in [0, k) where b carries a noisy copy of a stretch of a
    (long paths: the traceback crosses many blocks) among random items."""
    a = rng.integers(0, k, n)
    b = rng.integers(0, k, m)
    if n >= 8 and m >= 8:
        span = min(n, m) * 3 // 4
        s0, t0 = rng.integers(0, n - span + 1), rng.integers(0, m - span + 1)
        copy = a[s0:s0 + span].copy()
        noisy = rng.random(span) < 0.15
        copy[noisy] = rng.integers(0, k, int(noisy.sum()))
        copy = np.delete(copy, rng.choice(span, size=span // 20, replace=False))     # gaps
        b[t0:t0 + copy.shape[0]] = copy
    return a, b


@pytest.mark.parametrize("shape", [(1, 1), (2, 9), (9, 2), (5, 5), (13, 17), (64, 71), (150, 120), (301, 297)])
def test_checkpointed_factored_traceback_is_the_full_one(shape, monkeypatch):
    rng = np.random.default_rng(sum(shape) + 7)
    n, m = shape
    for k, (go, ge) in enumerate(((3.0, 0.5), (1.0, 1.0), (0.0, 0.0), (2.0, 0.25))):
        table = rng.normal(-0.6, 1.2, (9, 9))
        table[np.diag_indices(9)] = np.abs(table[np.diag_indices(9)]) + 1.0     # a copy scores
        if k == 1:
            table = np.round(table)                       # ties: the same path is chosen
        ia, ib = _related(rng, n, m, 9)
        full = local_alignments_factored(table, ia, ib, gap_open=go, gap_extend=ge, max_alignments=3, min_score=0.5)
        assert full[0].rows.shape[0] > 0 or n < 8
        score = best_score((table, ia, ib), gap_open=go, gap_extend=ge)
        for block in (1, 2, 3, 7, None):
            got = local_alignments_factored(table, ia, ib, gap_open=go, gap_extend=ge, max_alignments=3,
                                            min_score=0.5, max_cells=0, block=block)
            assert _key(got) == _key(full), (go, ge, block)
        with monkeypatch.context() as mp:              # rows gathered one at a time, no profile
            mp.setattr(align, "PROFILE_MAX_CELLS", 0)
            assert _key(local_alignments_factored(table, ia, ib, gap_open=go, gap_extend=ge, max_alignments=3,
                                                  min_score=0.5)) == _key(full)
            assert best_score((table, ia, ib), gap_open=go, gap_extend=ge) == score


def _streams(rng, G, n, V, copy_of=None):
    """G streams of a sticky random walk over V symbols; b copies a's middle stretch when given."""
    x = np.empty((G, n), np.int64)
    for g in range(G):
        s0 = int(rng.integers(V))
        for i in range(n):
            if rng.random() < 0.3:
                s0 = int(rng.integers(min(V, 5))) if rng.random() < 0.7 else int(rng.integers(V))
            x[g, i] = s0
    if copy_of is not None:
        k = min(n, copy_of.shape[1]) // 2
        x[:, n // 4:n // 4 + k] = copy_of[:, :k]
    return x


@pytest.mark.parametrize("seed", range(6))
def test_stream_table_is_the_summed_table(seed, monkeypatch):
    """pair_logodds above TABLE_MAX_CELLS: an unsummed StreamTable whose cells, best score and
    alignments (with and without checkpoints) are those of the summed table, to the bit."""
    rng = np.random.default_rng(seed)
    V = [N_SYMBOLS, 24][seed % 2]
    G = int(rng.integers(1, 6))
    xa = _streams(rng, G, int(rng.integers(2, 160)), V)
    xb = _streams(rng, G, int(rng.integers(2, 160)), V, copy_of=xa)
    channel = step_channel(0.1) if V == N_SYMBOLS else rng.dirichlet(np.full(V, 0.3), size=V)
    weights = rng.uniform(0.05, 1.0, G)
    groups = np.arange(G) if seed % 3 else np.arange(G)[::2]
    weights = weights[: groups.shape[0]]
    ca, cb = sequence_contexts(xa, V), sequence_contexts(xb, V)
    args = (ca, joint_contexts(ca, groups), cb, joint_contexts(cb, groups), groups, weights, channel, 0.8)
    (table, ia, ib), sa, sb = pair_logodds(*args, context_weight=10.0)
    assert isinstance(table, np.ndarray)
    monkeypatch.setattr(logodds, "TABLE_MAX_CELLS", 0)
    (stream, ia2, ib2), sa2, sb2 = pair_logodds(*args, context_weight=10.0)
    assert isinstance(stream, StreamTable) and stream.shape == table.shape
    assert np.array_equal(stream.dense(), table) and (sa, sb) == (sa2, sb2)
    assert np.array_equal(ia, ia2) and np.array_equal(ib, ib2)
    for go, ge in ((2.0, 0.5), (0.5, 0.5)):
        assert best_score((stream, ia, ib), gap_open=go, gap_extend=ge) == \
               best_score((table, ia, ib), gap_open=go, gap_extend=ge)
        full = local_alignments_factored(table, ia, ib, gap_open=go, gap_extend=ge, max_alignments=3, min_score=0.5)
        for kw in ({}, {"max_cells": 0, "block": 3}):
            got = local_alignments_factored(stream, ia, ib, gap_open=go, gap_extend=ge, max_alignments=3,
                                            min_score=0.5, **kw)
            assert _key(got) == _key(full), kw


def _melody_pair(rng, n, m):
    """Two lines (pitches, onsets) where b copies a stretch of a, transposed, slower, a few notes dropped."""
    steps = np.array([-5, -2, -1, 0, 1, 2, 3, 7])
    iv_a, iv_b = rng.choice(steps, n), rng.choice(steps, m)
    ioi_a, ioi_b = rng.choice([0.25, 0.5, 0.75], n), rng.choice([0.25, 0.5, 0.75], m)
    if n >= 10 and m >= 10:
        span = min(n, m) * 2 // 3
        s0, t0 = rng.integers(0, n - span + 1), rng.integers(0, m - span + 1)
        keep = rng.random(span) > 0.05
        cp_iv, cp_ioi = iv_a[s0:s0 + span][keep], 1.25 * ioi_a[s0:s0 + span][keep]
        iv_b[t0:t0 + cp_iv.shape[0]] = cp_iv
        ioi_b[t0:t0 + cp_iv.shape[0]] = cp_ioi
    return 60 + np.cumsum(iv_a), np.cumsum(ioi_a), 63 + np.cumsum(iv_b), np.cumsum(ioi_b)


@pytest.mark.parametrize("shape", [(2, 2), (3, 12), (12, 3), (40, 33), (140, 160), (400, 380)])
@pytest.mark.parametrize("merge", [True, False])
def test_checkpointed_melody_traceback_is_the_full_one(shape, merge):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1] + merge)
    st = S if merge else SimilaritySettings(melody_merge_penalty=-1.0)
    pa, oa, pb, ob = _melody_pair(rng, *shape)
    full = align_lines(pa, oa, pb, ob, settings=st, max_alignments=3, min_score=1.0)
    if min(shape) >= 40:
        assert full[0].rows.shape[0] > 10                 # a long path: many blocks crossed
    for block in (1, 2, 5, None):
        got = align_lines(pa, oa, pb, ob, settings=st, max_alignments=3, min_score=1.0, max_cells=0, block=block)
        assert _key(got) == _key(full), block


def test_checkpointed_melody_on_blocked_spans_and_ties():
    """Integer scores (ties everywhere) and Waterman-Eggert repeats (blocked rows and columns)."""
    rng = np.random.default_rng(5)
    iv_a = rng.choice([-2, 0, 2], 300)
    iv_b = np.concatenate([iv_a[200:290], rng.choice([-2, 0, 2], 80), iv_a[50:150]])     # crossed: two paths
    r_a, r_b = np.zeros(iv_a.shape[0]), np.zeros(iv_b.shape[0])
    T = np.round(scoring_table(interval_histogram(iv_a, 12), interval_histogram(iv_b, 12), settings=S))
    ag, dis = 1.0, -1.0
    full = align_lines_raw(iv_a, r_a, iv_b, r_b, T, ag, dis, settings=S, max_alignments=4, min_score=0.0)
    assert len(full) >= 2
    for block in (1, 3, 16, None):
        got = align_lines_raw(iv_a, r_a, iv_b, r_b, T, ag, dis, settings=S, max_alignments=4, min_score=0.0,
                              max_cells=0, block=block)
        assert _key(got) == _key(full), block


def _song(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    t, mel, acc = 0.0, [], []
    for k in range(n):
        d = float(rng.choice([0.25, 0.5]))
        mel.append(Note(int(60 + rng.integers(-5, 8)), t, t + d * 0.9))
        if k % 4 == 0:
            root = int(rng.choice([48, 53, 55, 57]))
            acc += [Note(root + iv, t, t + 0.9) for iv in (0, 4, 7)]
        t += d
    return mel, acc


def test_whole_pairs_are_the_same_with_checkpoints(monkeypatch):
    """compare_features of related and unrelated pairs: every facet's alignments and sections the
    same when every path is traced with checkpoints."""
    mel, acc = _song(1)
    other_mel, other_acc = _song(2)
    fa = extract_features(Piece((Track("Melody", tuple(mel)), Track("Piano", tuple(acc))), tempo_bpm=120.0))
    cover = tuple(Note(n.pitch + 2, n.start * 1.1, n.end * 1.1) for n in mel[40:300])
    fb = extract_features(Piece((Track("Melody", cover + tuple(other_mel[300:])),
                                 Track("Piano", tuple(Note(n.pitch + 2, n.start * 1.1, n.end * 1.1)
                                                      for n in acc))), tempo_bpm=120.0))
    fc = extract_features(Piece((Track("Melody", tuple(other_mel)), Track("Piano", tuple(other_acc))),
                                tempo_bpm=120.0))

    def run():
        out = []
        for x, y in ((fa, fb), (fb, fa), (fa, fc)):
            r = compare_features(x, y, settings=S)
            for f in (r.melody, r.rhythm, r.chord):
                out.append((f.raw_score, f.share, [(s.start_ms, s.end_ms) for s in f.sections], _key(f.alignments)))
            x.clear_derived()
            y.clear_derived()
        return out

    full = run()
    assert any(len(k[3]) and k[3][0][1] for k in full)         # some paths were traced
    monkeypatch.setattr(align, "TRACEBACK_MAX_CELLS", 0)
    monkeypatch.setattr(align, "PROFILE_MAX_CELLS", 0)
    assert run() == full
    monkeypatch.setattr(logodds, "TABLE_MAX_CELLS", 0)          # and no summed joint table
    assert run() == full


def test_traceback_memory_does_not_grow_with_n_times_m():
    assert traceback_bytes(200, 300) == 201 * 301                       # the fast path: the full matrix
    assert traceback_bytes(200, 300, max_cells=0) < 201 * 301
    for n in (10_000, 50_000, 200_000):
        est = traceback_bytes(n, n)
        assert est < 10 * np.sqrt(n) * (n + 1)                          # O(sqrt(n) m), not O(n m)
        assert est < n * n / 10
    assert traceback_bytes(200_000, 200_000) / traceback_bytes(50_000, 50_000) < 4 * 2.1   # 16 for n m
    assert traceback_bytes(40_000, 40_000, rows_kept=3) < 500e6
    assert checkpoint_block(0) == 1 and checkpoint_block(10_000) == 400


_PROBE = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from musim_spark.similarity import align, logodds
    from musim_spark.similarity.align import local_alignments_factored
    from musim_spark.similarity.melody import align_lines_raw
    from musim_spark.similarity import SimilaritySettings

    n = int(sys.argv[1])
    max_cells = int(sys.argv[2])
    S = SimilaritySettings()
    rng = np.random.default_rng(0)
    table = rng.normal(-0.6, 1.0, (16, 16)); table[np.diag_indices(16)] = 2.0
    a = rng.integers(0, 16, n); b = a.copy(); b[rng.random(n) < 0.1] = 3
    T = np.where(np.eye(25) > 0, 2.0, -1.0)
    iv_a = rng.integers(-12, 13, n); iv_b = iv_a.copy(); iv_b[rng.random(n) < 0.1] = 0
    r = np.zeros(n)

    def both(k):
        x = local_alignments_factored(table, a[:k], b[:k], gap_open=3.0, gap_extend=0.5, max_alignments=2,
                                      max_cells=max_cells)
        y = align_lines_raw(iv_a[:k], r[:k], iv_b[:k], r[:k], T, 0.5, -0.5, settings=S, max_alignments=2,
                            max_cells=max_cells)
        return x[0].rows.shape[0], y[0].rows.shape[0]

    both(50)                       # compiled (or loaded) and warmed up at a size that fits either way
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lens = both(n)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"grew_mb": (peak - base) / 1024.0, "lens": lens}))
""")


def test_a_long_alignment_runs_in_bounded_memory():
    """A 12,000 x 12,000 alignment with a path over the whole length (rhythm/chord kernel and
    melody's, two Waterman-Eggert alignments each) in a fresh process: its peak RSS grows by far
    less than the 144 MB one full traceback matrix takes (with checkpoints: about 2 x 7 MB)."""
    n = 12_000
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(n), str(align.TRACEBACK_MAX_CELLS)], capture_output=True,
                          text=True, cwd=REPO, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert min(got["lens"]) > n // 2                       # the paths span most of both sequences
    assert got["grew_mb"] < 60, got
