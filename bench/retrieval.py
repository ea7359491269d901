"""Candidate retrieval at catalog scale (issue 11): shingle index vs the global embedding, one run.

The catalog (built in memory from POP909, no audio, no files)
-----------------------------------------------------------------
400 POP909 songs hold about 130,000 melody notes; a 20,000-track catalog needs some 5 million,
and must not be trivially separable. So the songs are cut and recombined:

* *pitch streams*: each song's clean melody line (:func:`monophonic_line`) under 4 geometric
  forms (as is, inverted, reversed, reversed-inverted) x 13 diatonic forms (unchanged, or every
  degree moved 1-6 steps along the major or the harmonic-minor scale of the song's key): 52
  streams per song. Diatonic siblings keep the contour and many intervals of each other (hard
  near-neighbours), geometric forms keep the interval sizes;
* the streams are cut into chunks of 24-96 notes; every chunk is used once;
* an *original* is 180-420 notes of chunks in a row (each chunk moved to continue near the
  previous pitch), with the rhythm (inter-onset intervals, note lengths) of a random stretch of
  another song at a tempo factor 0.8-1.25, that song's chord progression moved along its scale
  (1 of 7 diatonic forms) and a random key;
* every track, originals included, goes through the package's transcription noise
  (:func:`musim_spark.sampledata.noise.noisy_track`, per-note error rate ``--noise``, 0.28 = note
  F1 about 0.80 like the data set's transcriber) and the engine's melody-line reduction; chord
  events get estimation noise (10 % quality flips, 5 % relative-chord swaps, 5 % dropped).

Queries (half the catalog): ``cover`` (55 %: the whole original transposed +-1..6, tempo x0.75-1.33
with three local tempo changes of +-8 %, in 30 % a crop to 50-90 % of it, in 30 % the off-beat onsets
of a 60-100 % stretch moved by 10-25 % of their IOI), ``phrase`` (30 %: a 4-16 bar phrase of an
original, transposed +-1..6 and re-timed x0.8-1.25, 10 ms jitter, replacing the melody of a
different, uncatalogued song at a random place, whose chords stay), ``unrelated`` (15 %: another
uncatalogued song). Then noise as above.

Features are built directly (TrackFeatures: the melody line, chords, and for the baseline the
engine's :func:`embedding` with the melody's rhythm on a beat grid): the light path the issue
allows, so 20,000 tracks take minutes, not hours. No drums or accompaniment: the embedding's
rhythm block sees the melody only.

Measured
--------
Retrieval with :mod:`musim_spark.retrieval` (``RetrievalSettings()`` unless ``--ablation``):
shingling time per track, index build time and size, query time per track; the baseline =
cosine nearest neighbours of ``TrackFeatures.embedding`` (the old retrieval). Per query kind:
recall of the true original within the candidate budget (``RetrievalSettings.budget``: 1 % of the
originals per track, at least 5 = at most 1 % of all pairs at >= 500 originals), rank-1 rate, MRR.

Usage::

    python bench/retrieval.py --tracks 1000 5000 --ablation 5000 --out bench/results/retrieval.md
    python bench/retrieval.py --tracks 1000 --quick           # smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from host import describe_machine  # noqa: E402  (bench/ is on sys.path when run as a script)
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musim_spark.model import Note, Track  # noqa: E402
from musim_spark.retrieval import RetrievalSettings, build_index, query_scores, track_shingles  # noqa: E402
from musim_spark.sampledata.noise import noisy_track  # noqa: E402
from musim_spark.sampledata.source import list_songs, read_song  # noqa: E402
from musim_spark.similarity.features import RHYTHM_GROUPS, TrackFeatures, embedding, rhythm_patterns  # noqa: E402
from musim_spark.similarity.melody_line import monophonic_line  # noqa: E402

POP909 = ROOT.parent / "shared" / "data" / "pop909"
_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
_HMINOR = np.array([0, 2, 3, 5, 7, 8, 11])
# triad quality on each degree of the major scale (0 major, 1 minor; the diminished vii as minor)
_MAJOR_TRIADS = np.array([0, 1, 1, 0, 0, 1, 1])


# ----------------------------------------------------------------------------------- sources
@dataclasses.dataclass
class Src:
    pitch: np.ndarray       # clean melody line
    onset: np.ndarray
    dur: np.ndarray
    tonic: int              # major-scale tonic (relative major of a minor key)
    beat: float             # median beat period (s)
    ch_root: np.ndarray     # chords (root pc, quality, start s)
    ch_qual: np.ndarray
    ch_start: np.ndarray


def load_sources(n_songs: int | None) -> list[Src]:
    out = []
    for sid in list_songs(POP909)[:n_songs]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            song = read_song(POP909, sid)
        t = song.melody
        if len(t.notes) < 60:
            continue
        p, on, off = monophonic_line(t.pitches(), t.onsets(), t.offsets(), t.velocities())
        ch = [c for c in song.chords if c.root is not None]
        if len(ch) < 8:
            continue
        root = np.array([c.root for c in ch])
        qual = np.array([1 if (3 in c.intervals and 4 not in c.intervals) else 0 for c in ch])
        tonic = (song.key_tonic + (3 if song.key_mode == "min" else 0)) % 12
        out.append(Src(p.astype(np.int64), on - on[0], np.maximum(off - on, 0.05), tonic,
                       float(np.median(np.diff(song.beats))), root, qual, np.array([c.start for c in ch]) - on[0]))
    return out


def _degrees(pc: np.ndarray, scale: np.ndarray):
    """Scale degree (index, chromatic offset 0/1) of pitch classes relative to the tonic."""
    deg = np.searchsorted(scale, pc, side="right") - 1
    return deg, pc - scale[deg]


def diatonic_shift(pitch: np.ndarray, tonic: int, steps: int, scale: np.ndarray) -> np.ndarray:
    rel = pitch - tonic
    octv, pc = np.divmod(rel, 12)
    deg, chrom = _degrees(pc, scale)
    d2 = deg + steps
    return tonic + 12 * (octv + d2 // 7) + scale[d2 % 7] + chrom


def pitch_streams(src: Src):
    """The 52 pitch forms of one song (as arrays)."""
    p = src.pitch
    base = [p, 2 * p[0] - p, p[::-1].copy(), (2 * p[0] - p)[::-1].copy()]
    out = []
    for g in base:
        out.append(g)
        for scale in (_MAJOR, _HMINOR):
            for st in range(1, 7):
                out.append(diatonic_shift(g, src.tonic, st, scale))
    return out


def chunk_pool(srcs, rng, lo=24, hi=96):
    """Chunks of every pitch stream, shuffled; with each its origin (song, geometric form, start)."""
    pool, origin = [], []
    for si, src in enumerate(srcs):
        for vi, stream in enumerate(pitch_streams(src)):
            i = 0
            while i + lo <= stream.shape[0]:
                n = int(rng.integers(lo, hi + 1))
                pool.append(stream[i:i + n])
                origin.append((si, vi // 13, i))
                i += n
    order = rng.permutation(len(pool))
    return [pool[i] for i in order], [origin[i] for i in order]


# ----------------------------------------------------------------------------------- songs
@dataclasses.dataclass
class Song:
    pitch: np.ndarray
    onset: np.ndarray
    offset: np.ndarray
    ch_root: np.ndarray
    ch_qual: np.ndarray
    ch_start: np.ndarray
    beat: float
    bars: int = 0           # phrase queries: bars of the copied phrase
    origin: frozenset = frozenset()  # (POP909 song, geometric form) of its chunks (shared-material checks)


class Maker:
    def __init__(self, srcs, rng):
        self.srcs, self.rng = srcs, rng
        self.pool, self.origin = chunk_pool(srcs, rng)
        self.next = 0

    def _chunks(self, n_notes):
        parts, have = [], 0
        while have < n_notes:
            if self.next >= len(self.pool):
                raise RuntimeError("chunk pool exhausted: fewer tracks or more songs")
            c = self.pool[self.next]
            self.next += 1
            parts.append(c)
            self.used.append(self.origin[self.next - 1])
            have += c.shape[0]
        return parts

    def song(self) -> Song:
        rng = self.rng
        n = int(rng.integers(180, 421))
        self.used = []
        parts = self._chunks(n)
        pitch, last = [], 67
        for c in parts:
            c = c - c[0] + last + int(rng.integers(-4, 5))
            # keep the register: whole octaves (no folded interval changes)
            med = np.median(c)
            c = c - 12 * int(np.round((med - 67) / 12))
            pitch.append(c)
            last = int(c[-1])
        pitch = np.concatenate(pitch)[:n]
        # rhythm and chords of a stretch of another song (tiled when it ends)
        r = self.srcs[int(rng.integers(len(self.srcs)))]
        period = r.onset[-1] + float(np.median(np.diff(r.onset)))
        reps = int(np.ceil(2 * n / r.onset.shape[0])) + 1
        on_t = (r.onset[None, :] + period * np.arange(reps)[:, None]).reshape(-1)
        dur_t = np.tile(r.dur, reps)
        i0 = int(rng.integers(0, r.onset.shape[0]))
        tempo = float(rng.uniform(0.8, 1.25))
        t0 = on_t[i0]
        onset = (on_t[i0:i0 + n] - t0) / tempo
        ioi_next = np.append(np.diff(onset), 1.0)
        offset = onset + np.minimum(dur_t[i0:i0 + n] / tempo, np.maximum(ioi_next, 0.05))
        cs_t = (r.ch_start[None, :] + period * np.arange(reps)[:, None]).reshape(-1)
        cr_t = np.tile(r.ch_root, reps)
        sel = (cs_t >= t0 - 1e-9) & (cs_t < on_t[i0 + n - 1] + 1e-9)
        # chord progression moved along the major scale of its key (1 of 7 forms), then a new key
        st = int(rng.integers(0, 7))
        rel = (cr_t[sel] - r.tonic) % 12
        deg, chrom = _degrees(rel, _MAJOR)
        d2 = deg + st
        root = (r.tonic + _MAJOR[d2 % 7] + chrom) % 12
        qual = np.where(chrom == 0, _MAJOR_TRIADS[d2 % 7], np.tile(r.ch_qual, reps)[sel])
        key = int(rng.integers(-5, 7))
        return Song(pitch + key, onset, offset, (root + key) % 12, qual, (cs_t[sel] - t0) / tempo, r.beat / tempo,
                    origin=frozenset((a, b) for a, b, _ in self.used))


def transform(song: Song, rng, *, shift: int, tempo: float, warps: int = 0, crop=None, syncopate=False) -> Song:
    """Transposed, re-timed (global factor, ``warps`` local tempo changes), cropped, syncopated."""
    end = float(song.offset[-1])
    knots = np.linspace(0, end, warps + 2)
    rates = tempo * (rng.uniform(0.92, 1.08, warps + 1) if warps else np.ones(1))
    seg_dur = np.diff(knots) / rates
    cum = np.concatenate([[0], np.cumsum(seg_dur)])

    def tmap(t):
        k = np.clip(np.searchsorted(knots, t, side="right") - 1, 0, len(rates) - 1)
        return cum[k] + (t - knots[k]) / rates[k]

    on, off = song.onset.copy(), song.offset.copy()
    if syncopate:
        share = rng.uniform(0.6, 1.0)
        a = rng.uniform(0, 1 - share) * end
        ioi = np.append(np.diff(on), 0.0)
        m = (on >= a) & (on < a + share * end) & (np.arange(on.shape[0]) % 2 == 1)
        on[m] += rng.uniform(0.1, 0.25, m.sum()) * np.where(rng.random(m.sum()) < 0.5, -1, 1) * ioi[m]
        order = np.argsort(on, kind="stable")
        on, off = on[order], np.maximum(off[order], on[order] + 0.05)
        p = song.pitch[order]
    else:
        p = song.pitch
    ch_start = song.ch_start
    if crop is not None:
        a, b = crop
        keep = (on >= a * end) & (on < b * end)
        t0 = a * end
        p, on, off = p[keep], on[keep] - t0, off[keep] - t0
        ck = (ch_start >= t0) & (ch_start < b * end)
        return dataclasses.replace(
            transform(Song(p, on, off, song.ch_root[ck], song.ch_qual[ck], ch_start[ck] - t0, song.beat), rng,
                      shift=shift, tempo=tempo, warps=warps), beat=song.beat / tempo)
    return Song(p + shift, tmap(on), tmap(off), (song.ch_root + shift) % 12, song.ch_qual, tmap(ch_start),
                song.beat / tempo)


def phrase_query(orig: Song, host: Song, rng) -> Song:
    bars = int(rng.integers(4, 17))
    length = bars * 4 * orig.beat
    starts = np.nonzero(orig.onset + length <= orig.offset[-1])[0]
    i0 = int(starts[int(rng.integers(len(starts)))]) if len(starts) else 0
    t0 = orig.onset[i0]
    m = (orig.onset >= t0) & (orig.onset < t0 + length)
    f = float(rng.uniform(0.8, 1.25))
    shift = int(rng.choice([-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6]))
    h_starts = np.nonzero(host.onset + length / f <= host.offset[-1])[0]
    h0 = host.onset[int(h_starts[int(rng.integers(len(h_starts)))])] if len(h_starts) else 0.0
    jit = np.clip(rng.normal(0, 0.01, m.sum()), -0.025, 0.025)
    p_on = h0 + (orig.onset[m] - t0) / f + jit
    p_off = h0 + (orig.offset[m] - t0) / f + jit
    # the phrase continues near the host's pitch at h0 (the plagiarist sings it in their key)
    hk = (host.onset < h0) | (host.onset >= h0 + length / f)
    pitch = np.concatenate([host.pitch[hk], orig.pitch[m] + shift])
    onset = np.concatenate([host.onset[hk], p_on])
    offset = np.concatenate([np.minimum(host.offset[hk], np.where(host.onset[hk] < h0, h0, np.inf)), p_off])
    o = np.argsort(onset, kind="stable")
    return Song(pitch[o], onset[o], np.maximum(offset[o], onset[o] + 0.03), host.ch_root, host.ch_qual,
                host.ch_start, host.beat, bars)


# ----------------------------------------------------------------------------------- features
def noisy_melody(song: Song, rng, noise: float) -> Track:
    """The song's melody as a track, through the package's transcription noise (rate ``noise``)."""
    notes = tuple(Note(int(np.clip(p, 1, 126)), round(float(a), 6), round(float(b), 6), 90)
                  for p, a, b in zip(song.pitch, song.onset, song.offset) if b - a > 0.011 and a >= 0)
    return noisy_track(Track("Melody", notes), rate=noise, rng=rng) if noise > 0 else Track("Melody", notes)


def noisy_chords(song: Song, rng, noise: float):
    """(root pc, quality, start s) of the song's chord events with chord-estimation noise (quality
    flips 10 %, relative-chord swaps 5 %, 5 % dropped); the clean events when ``noise`` is 0 (the
    random draws are made either way, so a catalog's other draws do not depend on it)."""
    root, qual = song.ch_root.astype(np.int64).copy(), song.ch_qual.astype(np.int64).copy()
    u = rng.random(root.shape[0])
    if noise <= 0:
        return song.ch_root.astype(np.int64), song.ch_qual.astype(np.int64), song.ch_start
    flip = u < 0.10
    rel = (u >= 0.10) & (u < 0.15)
    qual[flip] = 1 - qual[flip]
    root[rel] = np.where(qual[rel] == 0, root[rel] + 9, root[rel] + 3) % 12
    qual[rel] = 1 - qual[rel]
    keep = u < 0.95
    return root[keep], qual[keep], song.ch_start[keep]


def observe(song: Song, rng, noise: float) -> TrackFeatures:
    """What the engine would see: transcription noise, the melody line, noisy chord events."""
    t = noisy_melody(song, rng, noise)
    mp, mon, moff = monophonic_line(t.pitches(), t.onsets(), t.offsets(), t.velocities())
    root, qual, cst = noisy_chords(song, rng, noise)
    if root.shape[0]:  # runs of equal chords are one event
        new = np.ones(root.shape[0], bool)
        new[1:] = (root[1:] != root[:-1]) | (qual[1:] != qual[:-1])
        root, qual, cst = root[new], qual[new], cst[new]
    end = float(mon[-1]) + 1.0 if mon.shape[0] else 1.0
    pulses = np.arange(0.0, end + song.beat, song.beat)
    groups = [np.zeros(0)] * (len(RHYTHM_GROUPS) - 1) + [mon]
    rhythm = rhythm_patterns(groups, pulses)
    emb = embedding(mp, mon, root, qual, rhythm)
    z = np.zeros(0)
    return TrackFeatures(
        melody_pitch=mp.astype(np.int16), melody_onset=mon, melody_offset=moff, beat_times=pulses[:-1],
        pulse=pulses, rhythm_pattern=rhythm.reshape(-1), rhythm_onset=z, rhythm_mask=np.zeros(0, np.uint8),
        has_drums=np.array([False]), chord_root=root.astype(np.int8), chord_quality=qual.astype(np.int8),
        chord_start=cst.astype(np.float64), chord_end=np.append(cst[1:], end).astype(np.float64),
        duration=np.array([end]), embedding=emb)


def build_catalog(n_tracks: int, srcs, seed: int, noise: float):
    rng = np.random.default_rng(seed)
    maker = Maker(srcs, rng)
    n_orig = n_tracks // 2
    n_q = n_tracks - n_orig
    kinds = np.array(["cover"] * int(round(0.55 * n_q)) + ["phrase"] * int(round(0.30 * n_q)))
    kinds = np.concatenate([kinds, np.array(["unrelated"] * (n_q - kinds.shape[0]))])
    originals = [maker.song() for _ in range(n_orig)]
    o_feat = [observe(s, rng, noise) for s in originals]
    q_feat, q_truth, q_kind, q_bars = [], [], [], []
    for kind in kinds:
        if kind == "cover":
            k = int(rng.integers(n_orig))
            crop = None
            if rng.random() < 0.3:
                share = rng.uniform(0.5, 0.9)
                a = rng.uniform(0, 1 - share)
                crop = (a, a + share)
            s = transform(originals[k], rng, shift=int(rng.choice([-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6])),
                          tempo=float(np.exp(rng.uniform(np.log(0.75), np.log(1.33)))), warps=3, crop=crop,
                          syncopate=bool(rng.random() < 0.3))
        elif kind == "phrase":
            k = int(rng.integers(n_orig))
            s = phrase_query(originals[k], maker.song(), rng)
        else:
            k = -1
            s = maker.song()
        q_feat.append(observe(s, rng, noise))
        q_truth.append(k)
        q_kind.append(str(kind))
        q_bars.append(s.bars)
    kinds = np.array(q_kind)
    bars = np.array(q_bars)
    # phrase queries by the copied phrase's length
    kinds = np.where(kinds == "phrase", np.where(bars < 8, "phrase 4-7 bars", np.where(bars < 12, "phrase 8-11 bars",
                                                                                         "phrase 12-16 bars")), kinds)
    return o_feat, q_feat, np.array(q_truth), kinds, maker.next, len(maker.pool)


# ----------------------------------------------------------------------------------- evaluation
def ranks_of_truth(score_rows, truth):
    """1-based rank of the true original (ties count against it); inf when it scored 0."""
    out = np.full(len(truth), np.inf)
    for i, (sc, k) in enumerate(zip(score_rows, truth)):
        if k >= 0 and sc[k] > 0:
            out[i] = 1 + np.count_nonzero(sc > sc[k]) + np.count_nonzero(sc == sc[k]) - 1
    return out


KINDS = ("cover", "phrase", "phrase 4-7 bars", "phrase 8-11 bars", "phrase 12-16 bars", "all true")


def summary(ranks, kinds, budget, top_scores=None):
    rows = {}
    for kind in KINDS:
        m = (kinds != "unrelated") if kind == "all true" else np.char.startswith(kinds.astype(str), kind)
        r = ranks[m]
        rows[kind] = {"n": int(m.sum()), "recall": float(np.mean(r <= budget)), "rank1": float(np.mean(r == 1)),
                      "mrr": float(np.mean(np.where(np.isfinite(r), 1.0 / r, 0.0)))}
    return rows


def _matches(ix, h):
    """Posting entries a track's shingle occurrences hit (the Spark join's rows for it)."""
    pos = np.minimum(np.searchsorted(ix.hashes, h), ix.hashes.shape[0] - 1)
    pos = pos[ix.hashes[pos] == h]
    return int((ix.indptr[pos + 1] - ix.indptr[pos]).sum())


def run_retrieval(o_feat, q_feat, truth, kinds, settings):
    t = time.perf_counter()
    o_sh = [track_shingles(f, settings) for f in o_feat]
    q_sh = [track_shingles(f, settings, with_times=True) for f in q_feat]
    t_sh = (time.perf_counter() - t) / (len(o_feat) + len(q_feat))
    t = time.perf_counter()
    ix = build_index(o_sh, settings)
    t_ix = time.perf_counter() - t
    t = time.perf_counter()
    rows = [query_scores(ix, h, t, window_s=settings.local_window_s) for h, t in q_sh]
    t_q = (time.perf_counter() - t) / len(q_sh)
    budget = settings.budget(len(o_feat))
    ranks = ranks_of_truth(rows, truth)
    top = np.array([r.max() for r in rows])
    true_sc = np.array([r[k] for r, k in zip(rows, truth) if k >= 0])
    res = summary(ranks, kinds, budget)
    res["_cost"] = {"shingle_ms": 1e3 * t_sh, "index_s": t_ix, "query_ms": 1e3 * t_q, "index_mb": ix.nbytes / 2 ** 20,
                    "postings": int(ix.postings.shape[0]), "shingles": int(ix.hashes.shape[0]),
                    "shingles_per_track": float(np.mean([x.shape[0] for x in o_sh])),
                    "matches_per_query": float(np.mean([_matches(ix, h) for h, _ in q_sh])),
                    "unrelated_top_median": float(np.median(top[kinds == "unrelated"])) if np.any(kinds == "unrelated") else float("nan"),
                    "true_median": float(np.median(true_sc))}
    return res


def run_embedding(o_feat, q_feat, truth, kinds, budget):
    E = np.stack([f.embedding for f in o_feat]).astype(np.float64)
    t = time.perf_counter()
    Q = np.stack([f.embedding for f in q_feat]).astype(np.float64)
    S = Q @ E.T + 1.0  # cosine (unit vectors) shifted to > 0 so rank ties mean equal vectors only
    t_q = (time.perf_counter() - t) / len(q_feat)
    ranks = ranks_of_truth(S, truth)
    res = summary(ranks, kinds, budget)
    res["_cost"] = {"query_ms": 1e3 * t_q, "index_mb": E.nbytes / 2 ** 20}
    return res


# ----------------------------------------------------------------------------------- report
def table(results):
    lines = ["| tracks (originals) | budget k (share of pairs) | method | query kind | n | recall@k | rank-1 | MRR |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for method in ("shingles", "embedding"):
            for kind in KINDS:
                x = r[method][kind]
                lines.append(f"| {r['tracks']} ({r['originals']}) | {r['budget']} ({r['budget'] / r['originals']:.2%}) | "
                             f"{method} | {kind} | {x['n']} | {x['recall']:.4f} | {x['rank1']:.4f} | {x['mrr']:.4f} |")
    return "\n".join(lines)


def cost_table(results):
    lines = ["| tracks | features s/track (generation, not retrieval) | shingles/original | shingling ms/track | index build s | "
             "index MiB (postings, shingles) | postings hit per track (join rows) | query ms/track | embedding query ms/track | median score: true pair / unrelated top-1 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        c, e = r["shingles"]["_cost"], r["embedding"]["_cost"]
        lines.append(f"| {r['tracks']} | {r['feature_s_per_track']:.4f} | {c['shingles_per_track']:.0f} | {c['shingle_ms']:.2f} | "
                     f"{c['index_s']:.2f} | {c['index_mb']:.1f} ({c['postings']:,}, {c['shingles']:,}) | {c['matches_per_query']:,.0f} | {c['query_ms']:.2f} | "
                     f"{e['query_ms']:.3f} | {c['true_median']:.1f} / {c['unrelated_top_median']:.1f} |")
    return "\n".join(lines)


ABLATIONS = {
    "default": {},
    "1 deletion (skip-grams of one note)": dict(max_deletions=1),
    "no skip-grams": dict(max_deletions=0),
    "pitch 5-grams only, no skip-grams, whole track": dict(joint_gram_notes=0, chord_gram_events=0,
                                                           max_deletions=0, local_window_s=0.0),
    "no local window (whole track)": dict(local_window_s=0.0),
    "kind weights 1, 1, 0 (no chord shingles)": dict(kind_weights=(1.0, 1.0, 0.0)),
    "length norm 0 (raw sum)": dict(length_norm_power=0.0),
    "df cut 5 %": dict(max_df_share=0.05),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--ablation", type=int, default=0, help="catalog size of the settings ablation (0 = none)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--noise", type=float, default=0.28)
    ap.add_argument("--songs", type=int, default=None, help="POP909 songs used (default: all)")
    ap.add_argument("--quick", action="store_true", help="60 songs, no ablation")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    t_start = time.time()
    machine = describe_machine(load=True)
    t = time.perf_counter()
    srcs = load_sources(60 if a.quick else a.songs)
    t_src = time.perf_counter() - t
    print(f"{len(srcs)} source songs in {t_src:.0f} s", flush=True)
    settings = RetrievalSettings()
    results, ablation = [], []
    for n in sorted(set(a.tracks) | ({a.ablation} if a.ablation else set())):
        t = time.perf_counter()
        o_feat, q_feat, truth, kinds, used, pool = build_catalog(n, srcs, a.seed, a.noise)
        t_feat = (time.perf_counter() - t) / n
        print(f"{n} tracks: features {t_feat * n:.0f} s, chunks {used}/{pool}", flush=True)
        budget = settings.budget(len(o_feat))
        if n in a.tracks:
            r = {"tracks": n, "originals": len(o_feat), "budget": budget, "feature_s_per_track": t_feat,
                 "chunks_used": used, "chunks": pool,
                 "shingles": run_retrieval(o_feat, q_feat, truth, kinds, settings),
                 "embedding": run_embedding(o_feat, q_feat, truth, kinds, budget)}
            results.append(r)
            print(json.dumps(r, indent=1), flush=True)
        if n == a.ablation and not a.quick:
            for name, kw in ABLATIONS.items():
                res = run_retrieval(o_feat, q_feat, truth, kinds, dataclasses.replace(settings, **kw))
                ablation.append((name, kw, res))
                print(name, json.dumps({k: v for k, v in res.items()}), flush=True)
    wall = time.time() - t_start
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    cmd = "python bench/retrieval.py " + " ".join(sys.argv[1:] if argv is None else argv)
    md = [f"# Candidate retrieval at catalog scale (issue 11): shingle index vs global embedding", "",
          f"Run: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC · machine: {machine}, "
          f"load avg {__import__('os').getloadavg()[0]:.1f} at end (shared machine) · commit {commit} (+ working tree) · "
          f"`{cmd}` · wall {wall:.0f} s · {len(srcs)} POP909 source songs read in {t_src:.0f} s · "
          f"transcription noise rate {a.noise} on every track · seed {a.seed}.", "",
          "Catalog and queries: see the docstring of bench/retrieval.py. Settings: `RetrievalSettings()` "
          f"= `{dataclasses.asdict(settings)}`.", "",
          "## Recall within the candidate budget, rank-1, MRR", "",
          "Budget k = `RetrievalSettings.budget(originals)` candidates per track = 1 % of the originals "
          "(at least 5), i.e. at most 1 % of all (track, original) pairs reach exact scoring. "
          "Ranks count ties against the true original; a true original sharing no shingle has no rank (MRR 0).", "",
          table(results), "", "## Cost", "", cost_table(results), ""]
    if ablation:
        md += [f"## Settings ablation ({a.ablation} tracks, same catalog; each row changes the default as named)", "",
               "| variant | recall@k cover | recall@k phrase (4-7 bars) | rank-1 cover | rank-1 phrase | MRR all true | shingles/original | index MiB | query ms |",
               "|---|---|---|---|---|---|---|---|---|"]
        for name, kw, res in ablation:
            c = res["_cost"]
            md.append(f"| {name} | {res['cover']['recall']:.4f} | {res['phrase']['recall']:.4f} ({res['phrase 4-7 bars']['recall']:.4f}) | {res['cover']['rank1']:.4f} | "
                      f"{res['phrase']['rank1']:.4f} | {res['all true']['mrr']:.4f} | {c['shingles_per_track']:.0f} | "
                      f"{c['index_mb']:.1f} | {c['query_ms']:.2f} |")
        md.append("")
    text = "\n".join(md)
    print(text)
    if a.out:
        a.out.write_text(text + "\n", encoding="utf-8")
    if a.json:
        a.json.write_text(json.dumps({"results": results, "ablation": [(n, k, r) for n, k, r in ablation]}, indent=1,
                                     default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
