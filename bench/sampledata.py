"""Benchmark of ``musim sample-data``: rendering speed and the MIDI-noise calibration.

1. Seconds of wall time per rendered track-minute: the same set generated with and without
   audio (same seed, same options) in one run, so the ratio isolates rendering.
2. Note F1 (mir_eval.transcription, onset-only 50 ms, pitched tracks; and the Melody track alone)
   of noisy vs clean MIDI as a function of the noise rate P, over several POP909 songs, and the
   P that gives F1 = 0.8 (linear interpolation).

Usage::

    .venv/bin/python bench/sampledata.py [--songs 2] [--seconds 60] [--processes 2] [--f1-songs 8]

Scratch data goes to bench/_work/sampledata/ (ignored by git).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from musim_spark.sampledata.arrangement import arrange
from musim_spark.sampledata.generate import generate
from musim_spark.sampledata.noise import add_transcription_noise, note_f1
from musim_spark.sampledata.source import crop_song, list_songs, read_song

ROOT = Path(__file__).resolve().parents[1]
POP909 = ROOT / ".." / "shared" / "data" / "pop909"
WORK = ROOT / "bench" / "_work" / "sampledata"


def machine() -> str:
    try:
        model = [l for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                 if l.startswith("Model name")][0].split(":", 1)[1].strip()
    except Exception:
        model = platform.processor()
    load = os.getloadavg()[0]
    return f"{platform.machine()}, nproc={os.cpu_count()}, {model}, load avg {load:.1f} at start"


def bench_render(songs: int, seconds: float, processes: int) -> dict:
    kw = dict(songs=songs, regular=0, seconds=seconds, seed=0, cover_types="dataset", pop909_dir=POP909,
              processes=processes)
    t0 = time.monotonic()
    s_audio = generate(WORK / "audio", audio=True, **kw)
    t_audio = time.monotonic() - t0
    t0 = time.monotonic()
    s_midi = generate(WORK / "noaudio", audio=False, **kw)
    t_midi = time.monotonic() - t0
    minutes = s_audio["audio_seconds"] / 60.0
    size = sum(p.stat().st_size for p in (WORK / "audio").rglob("*") if p.is_file())
    return {
        "tracks": s_audio["tracks"], "track_minutes": round(minutes, 2),
        "wall_audio_s": round(t_audio, 1), "wall_no_audio_s": round(t_midi, 1),
        "s_per_track_minute_all": round(t_audio / minutes, 2),
        "s_per_track_minute_rendering": round((t_audio - t_midi) / minutes, 2),
        "ratio_audio_over_no_audio": round(t_audio / t_midi, 2),
        "bytes_per_track_minute_incl_stems": int(size / minutes),
    }


def bench_noise(n_songs: int, seconds: float) -> dict:
    rates = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5]
    ids = list_songs(POP909)
    rng = np.random.default_rng(0)
    chosen = [ids[i] for i in rng.choice(len(ids), size=n_songs, replace=False)]
    f1_all = {p: [] for p in rates}
    f1_mel = {p: [] for p in rates}
    for k, sid in enumerate(chosen):
        song = crop_song(read_song(POP909, sid), seconds)
        piece = arrange(song, ("Ballade", "Dance", "Hiphop", "RnB", "Rock", "Trot")[k % 6],
                        rng=np.random.default_rng(k))
        for p in rates:
            noisy = add_transcription_noise(piece, rate=p, rng=np.random.default_rng([k, int(p * 1000)]))
            f1_all[p].append(note_f1(piece, noisy))
            mel_ref = piece.__class__((piece.track("Melody"),))
            mel_est = piece.__class__((noisy.track("Melody"),))
            f1_mel[p].append(note_f1(mel_ref, mel_est))
    table = [{"P": p, "f1_mean": round(float(np.mean(f1_all[p])), 4), "f1_sd": round(float(np.std(f1_all[p])), 4),
              "melody_f1_mean": round(float(np.mean(f1_mel[p])), 4)} for p in rates]
    means = np.array([r["f1_mean"] for r in table])
    p_at_08 = float(np.interp(0.8, means[::-1], np.array(rates)[::-1]))
    return {"songs": chosen, "seconds": seconds, "table": table, "P_for_f1_0.8": round(p_at_08, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=1, help="Similar originals in the render benchmark")
    ap.add_argument("--seconds", type=float, default=60.0, help="crop of each song (s); 0 = whole songs")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--f1-songs", type=int, default=12)
    ap.add_argument("--skip-render", action="store_true")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="minutes"),
              "machine": machine()}
    seconds = args.seconds or None
    if args.f1_songs:
        result["noise"] = bench_noise(args.f1_songs, seconds)
    if not args.skip_render:
        result["render"] = bench_render(args.songs, seconds, args.processes)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
