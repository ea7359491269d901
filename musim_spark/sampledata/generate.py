"""Write a generated data set: originals from POP909, covers, labels, truth, audio, faults, zips.

``generate(out, ...)`` is the orchestrator behind ``musim sample-data``. The data-set root is
``out`` itself (``out/Similar/...``, ``out/Regular/...``); tooling output lives in folders whose
names start with ``_`` (``out/_truth/``, ``out/_zip/``), which ingest skips.

Every random choice comes from a numpy generator seeded by ``(seed, purpose, song, version)``,
and every writer is byte-stable, so the same seed and options give byte-identical files.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import dataclasses
import io
import json
import multiprocessing
import os
import shutil
import time
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import ParameterError
from ..labels import dump_label
from ..layout import COVER_TYPES, DATASET_COVER_TYPES, GENRES, TrackId, make_track_id, track_path
from ..midi import piece_to_pretty_midi
from ..model import Piece
from .arrangement import arrange
from .covers import CoverResult, make_cover, original_result
from .labeling import build_label
from .noise import add_transcription_noise
from .source import SourceSong, crop_song, list_songs, read_song, transpose_song

__all__ = ["BuiltTrack", "build_tracks", "SampleDataSettings", "DEFAULT_GENRE_MIX", "DEFAULT_POP909_DIR", "TRUTH_COLUMNS", "TrackPlan",
           "plan_originals", "generate", "write_track", "midi_bytes"]

#: the data set's genre mix (shared/spec/dataset.md), share of originals
DEFAULT_GENRE_MIX = {"Ballade": 0.3, "Dance": 0.2, "Hiphop": 0.1, "RnB": 0.1, "Rock": 0.1, "Trot": 0.2}
#: the POP909 copy next to this checkout (``<repo>/../shared/data/pop909``)
DEFAULT_POP909_DIR = str((Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pop909").resolve())
#: columns of ``_truth/truth.csv`` in order
TRUTH_COLUMNS = ("track_id", "original_track_id", "kind", "genre", "song_no", "cover_type", "source_song",
                 "duration_s", "transpose_semitones", "tempo_ratio", "params", "melody_sections",
                 "rhythm_sections", "chord_sections", "instruments_changed")
# transpositions used when there are more originals than POP909 songs (one per wrap-around)
_WRAP_TRANSPOSE = (0, 2, -3, 5, -1, 3, -5, 1, -2, 4, -4, 6)
# numpy seed purposes (part of every seed tuple, so streams never overlap)
_PLAN, _ARRANGE, _COVER, _NOISE, _FAULT = 1, 2, 3, 4, 5
_MAX_TRIES = 40  # songs tried per original before taking the fullest melody


@dataclasses.dataclass(frozen=True)
class SampleDataSettings:
    """The ``sample_data`` section of the configuration.

    Attributes
    ----------
    pop909_dir : str
        The POP909 songs (relative paths are resolved against the repository root by the CLI).
    soundfont : str or None
        A General MIDI ``.sf2``; None means the TimGM6mb.sf2 inside pretty_midi.
    processes : int
        Worker processes for writing/rendering tracks (1 = in this process).
    midi_noise : float
        Default per-note error rate of the delivered MIDI (0 = clean).
    genre_mix : Mapping[str, float]
        Share of originals per genre (normalised).
    min_melody_notes : int
        POP909 songs whose (cropped) melody has fewer notes are skipped.
    fault_seconds : float
        Length of the extra tracks made for ``--faults``.
    songs, regular, seed : int
        Defaults of the CLI options.
    """

    pop909_dir: str = "../shared/data/pop909"
    soundfont: str | None = None
    processes: int = 2
    midi_noise: float = 0.0
    genre_mix: Mapping[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_GENRE_MIX))
    min_melody_notes: int = 16
    fault_seconds: float = 8.0
    songs: int = 3
    regular: int = 2
    seed: int = 0


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


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *[int(k) for k in keys]])


def plan_originals(song_ids: list[str], *, songs: int, regular: int, seed: int,
                   genre_mix: Mapping[str, float] | None = None, first_regular_no: int | None = None
                   ) -> list[TrackPlan]:
    """Song numbers, genres and POP909 sources of the originals (seeded).

    Similar originals are 1..songs, Regular ones follow (songs+1..songs+regular). Sources are
    distinct songs in a seeded order; past the end the order repeats with a transposition.
    Each plan also carries up to ``_MAX_TRIES - 1`` alternates (every n-th song of the order after
    its own, n the number of originals), used when its source's melody is too thin.
    """
    mix = dict(genre_mix or DEFAULT_GENRE_MIX)
    unknown = set(mix) - set(GENRES)
    if unknown:
        raise ParameterError(f"genre_mix has unknown genres {sorted(unknown)}; known: {list(GENRES)}")
    if not song_ids:
        raise ParameterError("no POP909 songs found")
    genres = [g for g in GENRES if mix.get(g, 0) > 0]
    weights = np.array([float(mix[g]) for g in genres])
    rng = _rng(seed, _PLAN)
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


def midi_bytes(piece) -> bytes:
    """Standard MIDI File bytes of a Piece (pretty_midi writer; deterministic)."""
    buf = io.BytesIO()
    piece_to_pretty_midi(piece).write(buf)
    return buf.getvalue()


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


def _build_original(args) -> list[dict]:
    """Worker: one original and its covers as track records (pieces and truth, nothing written)."""
    plan, pop909_dir, seconds, min_notes, cover_types, seed = args
    song, sid = _load_song(pop909_dir, plan, seconds, min_notes)
    piece = arrange(song, plan.genre, rng=_rng(seed, _ARRANGE, plan.song_no))
    results = [original_result(piece, song.duration, plan.genre)]
    if plan.kind == "Similar":
        for ct in cover_types:
            results.append(make_cover(ct, song, plan.genre, piece,
                                      rng=_rng(seed, _COVER, plan.song_no, COVER_TYPES.index(ct))))
    meta = {"source_song": sid, "source_title": song.title, "key_tonic": song.key_tonic,
            "key_mode": song.key_mode, "tempo_bpm": song.tempo_bpm, "source_transpose": song.transpose}
    return [{"plan": plan, "result": r, "meta": meta} for r in results]


@dataclasses.dataclass(frozen=True)
class BuiltTrack:
    """One generated track in memory (what :func:`generate` would write, without files).

    Attributes
    ----------
    track_id : str
    truth : dict
        Its row of ``_truth/truth.csv`` (strings, as written).
    clean : Piece
        The arrangement (``_truth/midi``).
    delivered : Piece
        With transcription-like noise at ``midi_noise`` (the delivered ``.mid``); ``clean`` at 0.
    """

    track_id: str
    truth: dict
    clean: Piece
    delivered: Piece


def build_tracks(plan: TrackPlan, *, pop909_dir: str | os.PathLike | None = None, seconds: float | None = None,
                 cover_types="dataset", seed: int = 0, midi_noise: float = 0.0,
                 min_melody_notes: int = 16) -> list[BuiltTrack]:
    """One original of :func:`plan_originals` and its covers, in memory, with the same seeds as
    :func:`generate` (same arrangement, covers, truth rows and noise), for benchmarks and the
    similarity cohort: no MusicXML, labels or audio, which dominate :func:`generate`'s run time.

    Examples
    --------
    >>> from musim_spark.sampledata.source import list_songs   # doctest: +SKIP
    >>> plan = plan_originals(list_songs(DEFAULT_POP909_DIR), songs=1, regular=0, seed=7)[0]  # doctest: +SKIP
    >>> [t.track_id for t in build_tracks(plan, seconds=30, cover_types=["Tempo_A"], seed=7)]  # doctest: +SKIP
    ['Similar_Dance_00001_Org', 'Similar_Dance_00001_Cover_Tempo_A']
    """
    if not 0.0 <= midi_noise <= 1.0:
        raise ParameterError(f"midi_noise {midi_noise}: must be in [0, 1]")
    pop = str(pop909_dir or DEFAULT_POP909_DIR)
    out = []
    for rec in _build_original((plan, pop, seconds, min_melody_notes, _cover_list(cover_types), seed)):
        result, meta = rec["result"], rec["meta"]
        tid = make_track_id(plan.kind, plan.genre, plan.song_no, result.cover_type)
        version_no = 0 if tid.is_original else 1 + COVER_TYPES.index(result.cover_type)
        delivered = result.piece
        if midi_noise > 0:
            delivered = add_transcription_noise(result.piece, rate=midi_noise,
                                                rng=_rng(seed, _NOISE, plan.song_no, version_no))
        out.append(BuiltTrack(tid.track_id, _truth_row(tid, plan, result, meta), result.piece, delivered))
    return out


def _sections_json(sections) -> str:
    return json.dumps([s.to_truth() for s in sections], separators=(",", ":"))


def _truth_row(tid: TrackId, plan: TrackPlan, result: CoverResult, meta: dict) -> dict:
    params = dict(result.params)
    if tid.is_original:
        params.update(source_transpose=meta["source_transpose"])
    return {
        "track_id": tid.track_id,
        "original_track_id": "" if tid.is_original else tid.original_track_id,
        "kind": tid.kind,
        "genre": tid.genre,
        "song_no": tid.song_no,
        "cover_type": tid.cover_type,
        "source_song": meta["source_song"],
        "duration_s": f"{result.duration:.6f}",
        "transpose_semitones": str(result.transpose_semitones),
        "tempo_ratio": f"{result.tempo_ratio:.6f}",
        "params": json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        "melody_sections": _sections_json(result.melody_sections),
        "rhythm_sections": _sections_json(result.rhythm_sections),
        "chord_sections": _sections_json(result.chord_sections),
        "instruments_changed": json.dumps(list(result.instruments_changed)),
    }


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_track(job: dict) -> dict:
    """Worker: write one track's MIDI, MusicXML, label, truth MIDI and (optionally) audio + stems.

    Returns facts about what was written (``audio_s``: seconds of audio rendered).
    """
    from .musicxml import midi_to_musicxml
    from .render import SAMPLE_RATE, TAIL_S, render_piece, wav_bytes

    out = Path(job["out"])
    tid: TrackId = job["tid"]
    result: CoverResult = job["result"]
    clean = midi_bytes(result.piece)
    _write(out / "_truth" / "midi" / f"{tid.track_id}.mid", clean)
    if job["midi_noise"] > 0:
        delivered = midi_bytes(add_transcription_noise(result.piece, rate=job["midi_noise"],
                                                       rng=_rng(*job["noise_seed"])))
    else:
        delivered = clean
    mid_path = out / track_path(tid, "mid")
    _write(mid_path, delivered)
    _write(out / track_path(tid, "xml"), midi_to_musicxml(mid_path, title=f"생성곡 {tid.song_no}"))
    _write(out / track_path(tid, "json"), dump_label(job["label"]))
    audio_s = 0.0
    if job["audio"]:
        mix, stems = render_piece(result.piece, sf2_path=job["soundfont"],
                                  duration=round(result.duration + TAIL_S, 2))
        _write(out / track_path(tid, "wav"), wav_bytes(mix))
        for name, stem in stems.items():
            _write(out / "_truth" / "stems" / tid.track_id / f"{name}.wav", wav_bytes(stem))
        audio_s = len(mix) / SAMPLE_RATE
    return {"track_id": tid.track_id, "audio_s": audio_s}


def _map(fn, jobs: list, pool) -> list:
    """``fn`` over ``jobs`` in order, on ``pool`` (an executor) or here when it is None."""
    if pool is None or len(jobs) <= 1:
        return [fn(j) for j in jobs]
    return list(pool.map(fn, jobs))


def _pool(processes: int):
    if processes <= 1:
        return contextlib.nullcontext(None)
    # spawn, not fork: callers may hold a Spark JVM gateway or threads that fork would copy
    ctx = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(max_workers=processes, mp_context=ctx)


def _prepare_out(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / "_truth").is_dir():
            raise ParameterError(f"{out} exists, is not empty and is not a generated set (no _truth/): "
                                 "refusing to write into it")
        for sub in out.iterdir():  # a previous generation: start clean so no stale file survives
            if sub.is_dir():
                shutil.rmtree(sub)
            else:
                sub.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _cover_list(cover_types) -> tuple[str, ...]:
    if cover_types in (None, "dataset"):
        return DATASET_COVER_TYPES
    if cover_types == "all":
        return COVER_TYPES
    if isinstance(cover_types, str):
        cover_types = [c.strip() for c in cover_types.split(",") if c.strip()]
    bad = [c for c in cover_types if c not in COVER_TYPES]
    if bad:
        raise ParameterError(f"unknown cover types {bad}: use 'dataset', 'all' or names from {list(COVER_TYPES)}")
    return tuple(c for c in COVER_TYPES if c in cover_types)


def generate(out: str | os.PathLike, *, songs: int = 3, regular: int = 0, seconds: float | None = None,
             seed: int = 0, cover_types="dataset", faults: bool = False, audio: bool = True,
             zip_parts: int | None = None, midi_noise: float = 0.0,
             pop909_dir: str | os.PathLike | None = None, processes: int = 2,
             soundfont: str | None = None, genre_mix: Mapping[str, float] | None = None,
             min_melody_notes: int = 16, fault_seconds: float = 8.0) -> dict:
    """Generate a data set in the layout of shared/spec/dataset.md.

    Parameters
    ----------
    out : path-like
        The data-set root to create (must be empty, absent, or a previous generated set, which
        is replaced).
    songs : int
        Similar originals (each with its covers), song numbers 1..songs.
    regular : int
        Regular originals, numbered after the Similar ones.
    seconds : float or None
        Crop every song to this many seconds (None: whole songs, 45-470 s).
    seed : int
        Same seed and options give byte-identical outputs.
    cover_types : {"dataset", "all"} or sequence of str
        ``dataset``: the data set's 9 types; ``all``: the 20 of the spec's table.
    faults : bool
        Also write the bad inputs of :mod:`~musim_spark.sampledata.faults`, listed in
        ``_truth/faults.csv``.
    audio : bool
        Render WAVs (and stems); False writes MIDI, MusicXML and labels only.
    zip_parts : int or None
        Also deliver the set as split zip parts of this many bytes under ``out/_zip/``.
    midi_noise : float
        Per-note transcription-error rate of the delivered ``.mid`` (0: the clean MIDI).
    pop909_dir : path-like, optional
        POP909 songs (``NNN/NNN.mid`` plus annotations); default :data:`DEFAULT_POP909_DIR`.
    processes : int
        Worker processes (1: all in this process). They are spawned, so a script that calls
        this at top level needs the usual ``if __name__ == "__main__":`` guard.
    soundfont : str or None
        GM soundfont; None: TimGM6mb.sf2 from pretty_midi.
    genre_mix : mapping, optional
        Share of originals per genre (default the data set's mix).

    Returns
    -------
    dict
        ``tracks``, ``originals``, ``covers``, ``faults``, ``audio_seconds``, ``elapsed_s``,
        ``out``, ``truth`` (paths as str), ``zip_parts`` (list of paths).

    Raises
    ------
    ParameterError
        On bad options, a missing POP909 directory or soundfont, or a non-empty ``out``.
    """
    from .render import default_soundfont

    started = time.monotonic()
    if songs < 0 or regular < 0 or songs + regular == 0:
        raise ParameterError(f"need at least one original (songs={songs}, regular={regular})")
    if seconds is not None and seconds <= 2:
        raise ParameterError(f"--seconds {seconds}: must be more than 2")
    if not 0.0 <= midi_noise <= 1.0:
        raise ParameterError(f"--midi-noise {midi_noise}: must be in [0, 1]")
    if zip_parts is not None and zip_parts <= 0:
        raise ParameterError(f"--zip-parts {zip_parts}: must be a positive size in bytes")
    covers = _cover_list(cover_types)
    sf2 = str(soundfont or default_soundfont())
    if audio and not os.path.isfile(sf2):
        raise ParameterError(f"soundfont not found: {sf2}")
    pop909_dir = str(pop909_dir or DEFAULT_POP909_DIR)
    song_ids = list_songs(pop909_dir)
    out = Path(out)
    _prepare_out(out)

    with _pool(processes) as pool:
        plans = plan_originals(song_ids, songs=songs, regular=regular, seed=seed, genre_mix=genre_mix)
        built = _map(_build_original, [(p, pop909_dir, seconds, min_melody_notes, covers, seed)
                                       for p in plans], pool)
        records = [r for group in built for r in group]
        jobs, rows = [], []
        for rec in records:
            plan, result, meta = rec["plan"], rec["result"], rec["meta"]
            tid = make_track_id(plan.kind, plan.genre, plan.song_no, result.cover_type)
            label = build_label(tid, result, source_song=meta["source_song"], source_title=meta["source_title"],
                                key_tonic=meta["key_tonic"], key_mode=meta["key_mode"], tempo_bpm=meta["tempo_bpm"])
            version_no = 0 if tid.is_original else 1 + COVER_TYPES.index(result.cover_type)
            jobs.append({"out": str(out), "tid": tid, "result": result, "label": label, "audio": audio,
                         "soundfont": sf2, "midi_noise": midi_noise,
                         "noise_seed": (seed, _NOISE, plan.song_no, version_no)})
            rows.append(_truth_row(tid, plan, result, meta))
        written = _map(write_track, jobs, pool)

        truth_dir = out / "_truth"
        truth_dir.mkdir(parents=True, exist_ok=True)
        with open(truth_dir / "truth.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)

        n_faults = 0
        if faults:
            from .faults import write_faults

            n_faults = write_faults(out, good=jobs, seed=seed, song_ids=song_ids, pop909_dir=pop909_dir,
                                    first_song_no=90001, seconds=fault_seconds, audio=audio, soundfont=sf2,
                                    min_melody_notes=min_melody_notes, pool=pool)
        parts: list[str] = []
        if zip_parts:
            from .zipparts import write_zip_parts

            parts = [str(p) for p in write_zip_parts(out, part_size=zip_parts)]
    n_orig = sum(1 for j in jobs if j["tid"].is_original)
    return {
        "tracks": len(jobs),
        "originals": n_orig,
        "covers": len(jobs) - n_orig,
        "faults": n_faults,
        "audio_seconds": round(sum(w["audio_s"] for w in written), 3),
        "elapsed_s": round(time.monotonic() - started, 3),
        "out": str(out),
        "truth": str(truth_dir),
        "zip_parts": parts,
    }
