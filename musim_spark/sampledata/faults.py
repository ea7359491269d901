"""Bad inputs for ``--faults``, each listed in ``_truth/faults.csv`` with the reason ingest must give.

Faults go into EXTRA Regular originals made just for them (song numbers from 90001), so the good
set is unchanged, except LABEL_DUPLICATE (a copy of a good track's label beside it) and
STRAY_FILE (files that belong to no track). ``faults.csv`` columns: ``path`` (relative to the
data-set root, ``/`` separators), ``reason`` (a :class:`~musim_spark.errors.QuarantineReason`
code), ``track_id``, ``detail``. Good sibling files of a rejected track are quarantined by ingest
as TRACK_REJECTED and are not listed.

Without audio (``--no-audio``) the WAV faults still get a WAV to corrupt: a 1 s synthetic tone.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np

from ..errors import QuarantineReason as Q
from ..labels import dump_label
from ..layout import track_dir, track_path
from ..model import Piece, Track
from .plan import SeedPurpose, TrackJob, build_originals, map_jobs, plan_originals, seeded_rng, track_job
from .render import wav_bytes
from .writer import midi_bytes, write_track

__all__ = ["FAULT_KINDS", "write_faults", "FAULT_COLUMNS"]

#: faults that get a track of their own, in song-number order from ``first_song_no``
FAULT_KINDS = (
    Q.WAV_TRUNCATED, Q.WAV_NOT_AUDIO, Q.WAV_WRONG_FORMAT, Q.MIDI_EMPTY, Q.MIDI_CORRUPT,
    Q.LABEL_NOT_JSON, Q.LABEL_NOT_UTF8, Q.LABEL_MISSING_FIELDS, Q.LABEL_PATH_ESCAPES_ROOT,
    Q.MIDI_MISSING, Q.NAME_FOLDER_MISMATCH,
)
FAULT_COLUMNS = ("path", "reason", "track_id", "detail")


def _tone_wav(*, fs: int = 44100, channels: int = 2, seconds: float = 1.0) -> bytes:
    t = np.arange(int(fs * seconds)) / fs
    a = 0.3 * np.sin(2 * np.pi * 440.0 * t)
    return wav_bytes(np.stack([a] * channels, axis=1) if channels > 1 else a, fs=fs)


def _corrupt_midi(rng: np.random.Generator) -> bytes:
    # a valid-looking header promising 6 tracks, then a track chunk whose length overruns the file
    header = (b"MThd" + (6).to_bytes(4, "big") + (1).to_bytes(2, "big") + (6).to_bytes(2, "big")
              + (480).to_bytes(2, "big"))
    garbage = bytes(rng.integers(0, 256, size=300, dtype=np.uint8))
    return header + b"MTrk" + (100000).to_bytes(4, "big") + b"\xff\x7f\xff\xff\xff\xff" + garbage


def write_faults(out, *, good: list[TrackJob], seed: int, song_ids: list[str], pop909_dir: str,
                 first_song_no: int = 90001, seconds: float = 8.0, audio: bool = True,
                 soundfont: str | None = None, min_melody_notes: int = 16, pool=None) -> int:
    """Write the fault files and ``_truth/faults.csv``; returns the number of rows.

    Parameters
    ----------
    out : path-like
        The data-set root (already holding the good set).
    good : list of TrackJob
        The good tracks' write jobs: LABEL_DUPLICATE and STRAY_FILE use the first.
    seed : int
    song_ids, pop909_dir, seconds, audio, soundfont, min_melody_notes
        As for :func:`~musim_spark.sampledata.generate.generate` (the fault tracks are short
        Regular originals built the same way, with clean MIDI).
    pool : concurrent.futures.Executor or None
        Where to run the per-track work (None: in this process).
    """
    out = Path(out)
    rng = seeded_rng(seed, SeedPurpose.FAULT)
    # a plan seed of its own, not the good set's: another seeded song order
    plans = plan_originals(song_ids, songs=0, regular=len(FAULT_KINDS), seed=seed + 7919,
                           first_regular_no=first_song_no)
    versions = build_originals(plans, pool=pool, pop909_dir=pop909_dir, seconds=seconds,
                               min_melody_notes=min_melody_notes, cover_types=(), seed=seed)
    jobs = [track_job(v, out=out, seed=seed, audio=audio, soundfont=soundfont, midi_noise=0.0) for v in versions]
    map_jobs(write_track, jobs, pool)

    rows: list[dict] = []

    def row(path: str, reason: Q, tid: str, detail: str) -> None:
        rows.append({"path": path, "reason": reason.value, "track_id": tid, "detail": detail})

    for kind, job in zip(FAULT_KINDS, jobs):
        tid = job.tid
        # fault tracks are not good tracks: keep no truth for them
        (out / "_truth" / "midi" / f"{tid.track_id}.mid").unlink(missing_ok=True)
        shutil.rmtree(out / "_truth" / "stems" / tid.track_id, ignore_errors=True)
        wav, mid, js = (out / track_path(tid, e) for e in ("wav", "mid", "json"))
        rel = {e: track_path(tid, e) for e in ("wav", "mid", "xml", "json")}
        if kind in (Q.WAV_TRUNCATED, Q.WAV_NOT_AUDIO, Q.WAV_WRONG_FORMAT) and not wav.exists():
            wav.write_bytes(_tone_wav())
        if kind == Q.WAV_TRUNCATED:
            data = wav.read_bytes()
            wav.write_bytes(data[: len(data) // 2])
            row(rel["wav"], kind, tid.track_id, f"cut to {len(data) // 2} of {len(data)} bytes")
        elif kind == Q.WAV_NOT_AUDIO:
            wav.write_bytes("이것은 오디오가 아닙니다 (this is not audio)\n".encode("utf-8") * 20)
            row(rel["wav"], kind, tid.track_id, "text bytes, no RIFF header")
        elif kind == Q.WAV_WRONG_FORMAT:
            wav.write_bytes(_tone_wav(fs=22050, channels=1))
            row(rel["wav"], kind, tid.track_id, "mono 22050 Hz 16-bit")
        elif kind == Q.MIDI_EMPTY:
            empty = Piece(tuple(Track(t.name, (), t.program, t.is_drum) for t in job.result.piece.tracks),
                          job.result.piece.tempo_bpm)
            mid.write_bytes(midi_bytes(empty))
            row(rel["mid"], kind, tid.track_id, "valid MIDI with named tracks and a tempo, no notes")
        elif kind == Q.MIDI_CORRUPT:
            mid.write_bytes(_corrupt_midi(rng))
            row(rel["mid"], kind, tid.track_id, "MThd header then a track chunk of garbage that overruns the file")
        elif kind == Q.LABEL_NOT_JSON:
            js.write_bytes(dump_label(job.label)[:-40] + b"\n<<< not json")
            row(rel["json"], kind, tid.track_id, "truncated JSON with trailing text")
        elif kind == Q.LABEL_NOT_UTF8:
            text = json.dumps(job.label, ensure_ascii=False, indent=2)
            data = text.encode("cp949", errors="replace")  # the POP909 title may be Chinese
            try:
                data.decode("utf-8")
                raise AssertionError("cp949 label happens to be valid UTF-8")  # pragma: no cover
            except UnicodeDecodeError:
                pass
            js.write_bytes(data)
            row(rel["json"], kind, tid.track_id, "label encoded as cp949 (EUC-KR), not UTF-8")
        elif kind == Q.LABEL_MISSING_FIELDS:
            label = json.loads(json.dumps(job.label))
            del label["data_Set"]["songinfo"]["title"]
            del label["data_Set"]["songinfo"]["bpm"]
            js.write_bytes(dump_label(label))
            row(rel["json"], kind, tid.track_id, "songinfo.title and songinfo.bpm removed")
        elif kind == Q.LABEL_PATH_ESCAPES_ROOT:
            label = json.loads(json.dumps(job.label))
            label["data_Set"]["soundFile"]["soundPath"] = "Regular\\..\\..\\..\\etc\\passwd.wav"
            js.write_bytes(dump_label(label))
            row(rel["json"], kind, tid.track_id, "soundPath Regular\\..\\..\\..\\etc\\passwd.wav leaves the root")
        elif kind == Q.MIDI_MISSING:
            mid.unlink()
            row(rel["mid"], kind, tid.track_id, ".mid removed, the other files kept")
        elif kind == Q.NAME_FOLDER_MISMATCH:
            other = f"{int(tid.song_no) + 900:05d}"
            wrong = tid.track_id.replace(f"_{tid.song_no}_", f"_{other}_")
            folder = out / track_dir(tid)
            for f in sorted(folder.iterdir()):
                new = folder / f.name.replace(tid.track_id, wrong)
                f.rename(new)
                row(new.relative_to(out).as_posix(), kind, tid.track_id,
                    f"file named for song {other} inside folder of song {tid.song_no}")

    # faults inside the good set: a duplicate label and stray files
    first = good[0]
    t = first.tid
    copy = out / track_dir(t) / f"{t.track_id}_copy.json"
    copy.write_bytes(dump_label(first.label))
    row(copy.relative_to(out).as_posix(), Q.LABEL_DUPLICATE, t.track_id,
        f"copy of {t.track_id}.json whose soundPath claims the same track")
    stray = out / track_dir(t) / "notes.txt"
    stray.write_text("작업 메모: 믹스 다시 확인할 것\n", encoding="utf-8")
    row(stray.relative_to(out).as_posix(), Q.STRAY_FILE, "", "a text file that belongs to no track")
    readme = out / "Regular" / "readme.md"
    readme.parent.mkdir(parents=True, exist_ok=True)
    readme.write_text("# 납품 데이터\n", encoding="utf-8")
    row("Regular/readme.md", Q.STRAY_FILE, "", "a file outside any track folder")

    rows.sort(key=lambda r: r["path"])
    with open(out / "_truth" / "faults.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FAULT_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return len(rows)
