"""Write a generated data set: originals from POP909, covers, labels, truth, audio, faults, zips.

``generate(out, ...)`` is the orchestrator behind ``musim sample-data``. The data-set root is
``out`` itself (``out/Similar/...``, ``out/Regular/...``); tooling output lives in folders whose
names start with ``_`` (``out/_truth/``, ``out/_zip/``), which ingest skips.

The planning and building of originals lives in :mod:`.plan` (shared with :mod:`.faults`), the
writing of one track in :mod:`.writer`. Every random choice comes from a numpy generator seeded by
``(seed, purpose, song, version)``, and every writer is byte-stable, so the same seed and options
give byte-identical files.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import time
from pathlib import Path
from typing import Mapping

from ..errors import ParameterError
from ..layout import COVER_TYPES, DATASET_COVER_TYPES
from ..model import Piece
from ..sections import truth_json
from .faults import write_faults
from .noise import add_transcription_noise
from .plan import TrackPlan, Version, build_originals, map_jobs, plan_originals, process_pool, seeded_rng, track_job
from .render import default_soundfont
from .source import list_songs
from .writer import write_track
from .zipparts import write_zip_parts

__all__ = ["BuiltTrack", "build_tracks", "TRUTH_COLUMNS", "generate"]

#: columns of ``_truth/truth.csv`` in order
TRUTH_COLUMNS = ("track_id", "original_track_id", "kind", "genre", "song_no", "cover_type", "source_song",
                 "duration_s", "transpose_semitones", "tempo_ratio", "params", "melody_sections",
                 "rhythm_sections", "chord_sections", "instruments_changed")


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


def build_tracks(plan: TrackPlan, *, pop909_dir: str | os.PathLike, seconds: float | None = None,
                 cover_types="dataset", seed: int = 0, midi_noise: float = 0.0,
                 min_melody_notes: int = 16) -> list[BuiltTrack]:
    """One original of :func:`~musim_spark.sampledata.plan.plan_originals` and its covers, in
    memory, with the same seeds as :func:`generate` (same arrangement, covers, truth rows and
    noise), for benchmarks and null-model fits: no MusicXML, labels or audio, which dominate
    :func:`generate`'s run time.

    Examples
    --------
    >>> from musim_spark.sampledata.plan import plan_originals
    >>> from musim_spark.sampledata.source import list_songs
    >>> pop909 = "../shared/data/pop909"   # relative to the repository root (run from there)
    >>> plan = plan_originals(list_songs(pop909), songs=1, regular=0, seed=7)[0]
    >>> [t.track_id for t in build_tracks(plan, pop909_dir=pop909, seconds=30, cover_types=["Tempo_A"],
    ...                                   seed=7)]
    ['Similar_Dance_00001_Org', 'Similar_Dance_00001_Cover_Tempo_A']
    """
    if not 0.0 <= midi_noise <= 1.0:
        raise ParameterError(f"midi_noise {midi_noise}: must be in [0, 1]")
    out = []
    for v in build_originals([plan], pop909_dir=pop909_dir, seconds=seconds, min_melody_notes=min_melody_notes,
                             cover_types=_cover_list(cover_types), seed=seed):
        delivered = v.result.piece
        if midi_noise > 0:
            delivered = add_transcription_noise(v.result.piece, rate=midi_noise, rng=seeded_rng(*v.noise_seed(seed)))
        out.append(BuiltTrack(v.tid.track_id, _truth_row(v), v.result.piece, delivered))
    return out


def _truth_row(version: Version) -> dict:
    tid, result, source = version.tid, version.result, version.source
    params = dict(result.params)
    if tid.is_original:
        params.update(source_transpose=source.source_transpose)
    return {
        "track_id": tid.track_id,
        "original_track_id": "" if tid.is_original else tid.original_track_id,
        "kind": tid.kind,
        "genre": tid.genre,
        "song_no": tid.song_no,
        "cover_type": tid.cover_type,
        "source_song": source.source_song,
        "duration_s": f"{result.duration:.6f}",
        "transpose_semitones": str(result.transpose_semitones),
        "tempo_ratio": f"{result.tempo_ratio:.6f}",
        "params": json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        "melody_sections": truth_json(result.melody_sections),
        "rhythm_sections": truth_json(result.rhythm_sections),
        "chord_sections": truth_json(result.chord_sections),
        "instruments_changed": json.dumps(list(result.instruments_changed)),
    }


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
             pop909_dir: str | os.PathLike, processes: int = 2,
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
    pop909_dir : path-like
        POP909 songs (``NNN/NNN.mid`` plus annotations); the CLI takes it from ``--pop909`` or the
        configuration (:class:`~musim_spark.sampledata.settings.SampleDataSettings`).
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
    pop909_dir = str(pop909_dir)
    song_ids = list_songs(pop909_dir)
    out = Path(out)
    _prepare_out(out)

    with process_pool(processes) as pool:
        plans = plan_originals(song_ids, songs=songs, regular=regular, seed=seed, genre_mix=genre_mix)
        versions = build_originals(plans, pool=pool, pop909_dir=pop909_dir, seconds=seconds,
                                   min_melody_notes=min_melody_notes, cover_types=covers, seed=seed)
        jobs = [track_job(v, out=out, seed=seed, audio=audio, soundfont=sf2, midi_noise=midi_noise)
                for v in versions]
        rows = [_truth_row(v) for v in versions]
        written = map_jobs(write_track, jobs, pool)

        truth_dir = out / "_truth"
        truth_dir.mkdir(parents=True, exist_ok=True)
        with open(truth_dir / "truth.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)

        n_faults = 0
        if faults:
            n_faults = write_faults(out, good=jobs, seed=seed, song_ids=song_ids, pop909_dir=pop909_dir,
                                    first_song_no=90001, seconds=fault_seconds, audio=audio, soundfont=sf2,
                                    min_melody_notes=min_melody_notes, pool=pool)
        parts: list[str] = []
        if zip_parts:
            parts = [str(p) for p in write_zip_parts(out, part_size=zip_parts)]
    n_orig = sum(1 for j in jobs if j.tid.is_original)
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
