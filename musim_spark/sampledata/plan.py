"""Planning a generated data set: which originals, from which POP909 songs, with which seeds.

The shared part of :mod:`.generate` (the good set) and :mod:`.faults` (the extra fault tracks):

* :func:`plan_originals` picks song numbers, genres and POP909 sources of the originals;
* :func:`build_original` reads, arranges and covers one of them, in memory (:class:`Version` each);
* :func:`track_job` turns a version into the :class:`TrackJob` that :func:`.writer.write_track`
  executes (its label, its noise seed);
* :func:`seeded_rng` derives every random stream from ``(seed, purpose, song, version)``
  (:class:`SeedPurpose`), so streams never overlap and the same seed gives the same bytes;
* :func:`process_pool` and :func:`map_jobs` run the per-original and per-track work in worker
  processes, results in input order.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import enum
import functools
import multiprocessing
import os
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..layout import COVER_TYPES, GENRES, TrackId, make_track_id
from .arrangement import arrange
from .covers import CoverResult, make_cover, original_result
from .labeling import build_label
from .source import SourceSong, crop_song, read_song, transpose_song

__all__ = ["DEFAULT_GENRE_MIX", "SeedPurpose", "seeded_rng", "TrackPlan", "plan_originals", "SourceInfo",
           "Version", "build_original", "build_originals", "TrackJob", "track_job", "process_pool", "map_jobs"]

#: the data set's genre mix (shared/spec/dataset.md), share of originals
DEFAULT_GENRE_MIX = {"Ballade": 0.3, "Dance": 0.2, "Hiphop": 0.1, "RnB": 0.1, "Rock": 0.1, "Trot": 0.2}
# transpositions used when there are more originals than POP909 songs (one per wrap-around)
_WRAP_TRANSPOSE = (0, 2, -3, 5, -1, 3, -5, 1, -2, 4, -4, 6)
_MAX_TRIES = 40  # songs tried per original before taking the fullest melody


class SeedPurpose(enum.IntEnum):
    """What a random stream is for: the second element of every seed tuple (values are fixed:
    changing one changes every generated set)."""

    PLAN = 1
    ARRANGE = 2
    COVER = 3
    NOISE = 4
    FAULT = 5


def seeded_rng(seed: int, *keys: int) -> np.random.Generator:
    """The numpy generator of ``(seed, *keys)``, e.g. ``(seed, SeedPurpose.COVER, song_no, k)``.

    Only the low 32 bits of ``seed`` count.

    Examples
    --------
    >>> a = seeded_rng(7, SeedPurpose.NOISE, 1, 0).integers(1000, size=3)
    >>> b = seeded_rng(7, SeedPurpose.NOISE, 1, 0).integers(1000, size=3)
    >>> bool((a == b).all())
    True
    """
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *[int(k) for k in keys]])


@dataclasses.dataclass(frozen=True)
class TrackPlan:
    """An original to build: where it goes and what it is made of."""

    kind: str
    song_no: int
    genre: str
    source_song: str
    transpose: int
    #: POP909 songs to fall back on, in order, when the source's melody is too thin; disjoint
    #: between the originals of one plan so their sources stay distinct
    alternates: tuple[str, ...] = ()


def plan_originals(song_ids: list[str], *, songs: int, regular: int, seed: int,
                   genre_mix: Mapping[str, float] | None = None, first_regular_no: int | None = None
                   ) -> list[TrackPlan]:
    """Song numbers, genres and POP909 sources of the originals (seeded).

    Similar originals are 1..songs, Regular ones follow (songs+1..songs+regular, or from
    ``first_regular_no``). Sources are distinct songs in a seeded order; past the end the order
    repeats with a transposition. Each plan also carries up to ``_MAX_TRIES - 1`` alternates (every
    n-th song of the order after its own, n the number of originals), used when its source's melody
    is too thin.

    Raises
    ------
    ParameterError
        On an unknown genre in ``genre_mix`` or an empty ``song_ids``.

    Examples
    --------
    >>> [(p.kind, p.song_no) for p in plan_originals(["001", "002", "003"], songs=1, regular=1, seed=0)]
    [('Similar', 1), ('Regular', 2)]
    """
    mix = dict(genre_mix or DEFAULT_GENRE_MIX)
    unknown = set(mix) - set(GENRES)
    if unknown:
        raise ParameterError(f"genre_mix has unknown genres {sorted(unknown)}; known: {list(GENRES)}")
    if not song_ids:
        raise ParameterError("no POP909 songs found")
    genres = [g for g in GENRES if mix.get(g, 0) > 0]
    weights = np.array([float(mix[g]) for g in genres])
    rng = seeded_rng(seed, SeedPurpose.PLAN)
    order = [song_ids[i] for i in rng.permutation(len(song_ids))]
    plans = []
    first_regular_no = songs + 1 if first_regular_no is None else first_regular_no
    numbers = [("Similar", i + 1) for i in range(songs)] + [("Regular", first_regular_no + i) for i in range(regular)]
    for i, (kind, no) in enumerate(numbers):
        genre = str(rng.choice(genres, p=weights / weights.sum()))
        wrap = i // len(order)
        alternates = tuple(order[j % len(order)] for j in range(i + len(numbers), i + len(numbers) * _MAX_TRIES,
                                                                len(numbers)))
        plans.append(TrackPlan(kind, no, genre, order[i % len(order)], _WRAP_TRANSPOSE[wrap % len(_WRAP_TRANSPOSE)],
                               alternates))
    return plans


@dataclasses.dataclass(frozen=True)
class SourceInfo:
    """The POP909 song an original was built from, as it went into labels and truth.

    Attributes
    ----------
    source_song : str
        POP909 song id actually used (the plan's source or an alternate).
    source_title : str
    key_tonic : int
    key_mode : str
    tempo_bpm : float
    source_transpose : int
        Semitones the song was transposed by (the plan's wrap-around transposition).
    """

    source_song: str
    source_title: str
    key_tonic: int
    key_mode: str
    tempo_bpm: float
    source_transpose: int


@dataclasses.dataclass(frozen=True)
class Version:
    """One track of an original in memory: the original itself or one of its covers."""

    plan: TrackPlan
    result: CoverResult
    source: SourceInfo

    @property
    def tid(self) -> TrackId:
        return make_track_id(self.plan.kind, self.plan.genre, self.plan.song_no, self.result.cover_type)

    @property
    def version_no(self) -> int:
        """0 for the original, 1 + the cover type's index in :data:`~musim_spark.layout.COVER_TYPES`."""
        return 0 if self.result.cover_type == "Org" else 1 + COVER_TYPES.index(self.result.cover_type)

    def noise_seed(self, seed: int) -> tuple[int, ...]:
        """The :func:`seeded_rng` key of this track's transcription-like noise."""
        return (seed, SeedPurpose.NOISE, self.plan.song_no, self.version_no)


def _load_song(pop909_dir: str, plan: TrackPlan, seconds: float | None, min_notes: int) -> tuple[SourceSong, str]:
    """Read and crop the planned song; if its melody is too thin, try the plan's alternates.

    A crop of S seconds needs at most one melody note per second; if no candidate has enough,
    the one with the most melody notes is taken (short crops of sparse songs must not scan all).
    """
    need = min(min_notes, int(np.ceil(seconds))) if seconds is not None else min_notes
    best = None
    for sid in (plan.source_song,) + plan.alternates:
        song = crop_song(read_song(pop909_dir, sid), seconds)
        if len(song.melody.notes) >= need and song.duration > 2.0:
            return transpose_song(song, plan.transpose), sid
        if song.duration > 2.0 and (best is None or len(song.melody.notes) > len(best[0].melody.notes)):
            best = (song, sid)
    if best is None or not best[0].melody.notes:
        raise ParameterError(f"no POP909 song near {plan.source_song} has a melody within {seconds} s")
    return transpose_song(best[0], plan.transpose), best[1]


def build_original(plan: TrackPlan, *, pop909_dir: str | os.PathLike, seconds: float | None,
                   min_melody_notes: int, cover_types: Sequence[str], seed: int) -> list[Version]:
    """One original and its covers (for a Similar plan) in memory; nothing is written.

    Parameters
    ----------
    plan : TrackPlan
    pop909_dir : path-like
        The POP909 songs.
    seconds : float or None
        Crop to this many seconds (None: the whole song).
    min_melody_notes : int
        Fewer melody notes in the crop: try the plan's alternates.
    cover_types : sequence of str
        Covers to make of a Similar original (Regular ones get none).
    seed : int

    Returns
    -------
    list of Version
        The original first, then the covers in the order of ``cover_types``.
    """
    song, sid = _load_song(str(pop909_dir), plan, seconds, min_melody_notes)
    piece = arrange(song, plan.genre, rng=seeded_rng(seed, SeedPurpose.ARRANGE, plan.song_no))
    results = [original_result(piece, song.duration, plan.genre)]
    if plan.kind == "Similar":
        for ct in cover_types:
            results.append(make_cover(ct, song, plan.genre, piece,
                                      rng=seeded_rng(seed, SeedPurpose.COVER, plan.song_no, COVER_TYPES.index(ct))))
    source = SourceInfo(source_song=sid, source_title=song.title, key_tonic=song.key_tonic, key_mode=song.key_mode,
                        tempo_bpm=song.tempo_bpm, source_transpose=song.transpose)
    return [Version(plan, r, source) for r in results]


@dataclasses.dataclass(frozen=True)
class TrackJob:
    """What :func:`~musim_spark.sampledata.writer.write_track` writes for one track.

    Attributes
    ----------
    out : str
        The data-set root.
    tid : TrackId
    result : CoverResult
        The clean piece and its truth.
    label : dict
        The label JSON (as a dict).
    audio : bool
        Render the WAV and stems.
    soundfont : str or None
    midi_noise : float
        Per-note transcription-error rate of the delivered ``.mid``.
    noise_seed : tuple of int
        The :func:`seeded_rng` key of that noise.
    """

    out: str
    tid: TrackId
    result: CoverResult
    label: dict
    audio: bool
    soundfont: str | None
    midi_noise: float
    noise_seed: tuple[int, ...]


def track_job(version: Version, *, out: str | os.PathLike, seed: int, audio: bool, soundfont: str | None,
              midi_noise: float) -> TrackJob:
    """The write job of one version: its label and its noise seed."""
    src = version.source
    label = build_label(version.tid, version.result, source_song=src.source_song, source_title=src.source_title,
                        key_tonic=src.key_tonic, key_mode=src.key_mode, tempo_bpm=src.tempo_bpm)
    return TrackJob(out=str(out), tid=version.tid, result=version.result, label=label, audio=audio,
                    soundfont=soundfont, midi_noise=midi_noise, noise_seed=version.noise_seed(seed))


def process_pool(processes: int):
    """A context manager giving an executor of ``processes`` spawned workers, or None for 1."""
    if processes <= 1:
        return contextlib.nullcontext(None)
    # spawn, not fork: callers may hold a Spark JVM gateway or threads that fork would copy
    ctx = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(max_workers=processes, mp_context=ctx)


def map_jobs(fn: Callable, jobs: Iterable, pool) -> list:
    """``fn`` over ``jobs`` in order, on ``pool`` (an executor) or here when it is None.

    ``fn`` must be picklable for a pool: a module-level function or a :func:`functools.partial` of one.
    """
    jobs = list(jobs)
    if pool is None or len(jobs) <= 1:
        return [fn(j) for j in jobs]
    return list(pool.map(fn, jobs))


def build_originals(plans: Sequence[TrackPlan], *, pool=None, **kwargs) -> list[Version]:
    """:func:`build_original` over ``plans`` (on ``pool``), flattened in plan order."""
    built = map_jobs(functools.partial(build_original, **kwargs), plans, pool)
    return [v for group in built for v in group]
