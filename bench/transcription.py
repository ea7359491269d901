"""Benchmark of audio to notes (``musim transcribe``'s library, :mod:`musim_spark.audio`).

On a few generated songs rendered with FluidSynth (``musim sample-data OUT --songs N --seconds S``,
which writes the WAV and the MIDI it was rendered from), per track:

1. Note F1 (mir_eval.transcription, onset-only, 50 ms) of all pitched transcribed notes against
   the audible truth (all pitched notes of the MIDI, unisons of two tracks merged:
   :func:`audible_truth`), and of the transcribed melody line against the ``Melody`` track; the
   same for a baseline in the same run (basic-pitch with its own defaults, :data:`BASELINE`; its
   melody: :func:`skyline`), on a development set (where settings are chosen) and a held-out set.
2. Drum onset F1 (mir_eval.onset, 50 ms) of the transcribed drum hits against the ``Rhythm`` track.
3. Real-time factor per CPU core: transcription seconds (decode excluded, model with one ONNX
   thread, drums and the stereo centre's melody pass included) over audio seconds, after one
   warm-up (model load, numba compile).

Usage::

    .venv/bin/python bench/transcription.py [--dev-songs 2 --dev-seed 0 --held-songs 4 --held-seed 5] [--write]

Scratch data goes to bench/_work/transcription/ (ignored by git); ``--write`` rewrites
bench/results/transcription.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import host  # bench/host.py

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work" / "transcription"
POP909 = ROOT / ".." / "shared" / "data" / "pop909"


def _hz(p):
    return 440.0 * 2 ** ((np.asarray(p, float) - 69) / 12)


def note_prf(ref: np.ndarray, est: np.ndarray) -> tuple[float, float, float]:
    """(precision, recall, F1) of notes (rows pitch, start, end), onset-only, 50 ms."""
    import mir_eval

    if len(ref) == 0 or len(est) == 0:
        return 0.0, 0.0, 0.0
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref[:, 1:3], _hz(ref[:, 0]), est[:, 1:3], _hz(est[:, 0]), onset_tolerance=0.05, offset_ratio=None)
    return p, r, f


def onset_prf(ref: np.ndarray, est: np.ndarray) -> tuple[float, float, float]:
    import mir_eval

    if len(ref) == 0 or len(est) == 0:
        return 0.0, 0.0, 0.0
    f, p, r = mir_eval.onset.f_measure(np.unique(np.round(ref, 3)), np.unique(np.round(est, 3)), window=0.05)
    return p, r, f


#: A program whose rendered note needs longer than this to rise to -6 dB of its peak has no onset a
#: 50 ms tolerance can find (the "slow attack" diagnostic; measured per program, :func:`attack_ms`).
SLOW_ATTACK_MS = 100.0
_ATTACK: dict[int, float] = {}


def attack_ms(program: int) -> float:
    """Milliseconds from note-on until a rendered C5 (velocity 100, TimGM6mb) reaches -6 dB of its peak."""
    if program not in _ATTACK:
        from musim_spark.model import Note, Track
        from musim_spark.sampledata.render import default_soundfont, render_track

        y = render_track(Track("x", (Note(72, 1.0, 2.0, 100),), program=int(program)), sf2_path=default_soundfont())
        env = np.convolve(np.abs(y), np.ones(441) / 441, mode="same")[: 2 * 44100]
        _ATTACK[program] = 1000 * (np.argmax(env > 0.5 * env.max()) / 44100 - 1.0)
    return _ATTACK[program]


def without_slow(ref_raw: np.ndarray, slow: np.ndarray, est: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The truth less its slow-attack notes, and the transcription less the notes that stand for
    them (same pitch, onset from 50 ms before to 500 ms after): the diagnostic F1 without them."""
    gone = ref_raw[slow]
    drop = np.zeros(len(est), dtype=bool)
    for p, s, _ in gone:
        drop |= (est[:, 0] == p) & (est[:, 1] >= s - 0.05) & (est[:, 1] <= s + 0.5)
    return audible_truth(ref_raw[~slow]), est[~drop]


def truth_notes(mid: Path, *, slow: bool = False):
    from musim_spark.midi import read_midi

    piece = read_midi(mid)
    pitched = [(n.pitch, n.start, n.end) for t in piece.tracks if not t.is_drum for n in t.notes]
    if slow:
        return np.array([attack_ms(t.program) > SLOW_ATTACK_MS for t in piece.tracks if not t.is_drum
                         for n in t.notes], dtype=bool)
    melody = [(n.pitch, n.start, n.end) for t in piece.tracks if t.name == "Melody" for n in t.notes]
    drums = [n.start for t in piece.tracks if t.is_drum for n in t.notes]
    return np.array(pitched, float).reshape(-1, 3), np.array(melody, float).reshape(-1, 3), np.array(drums, float)


def audible_truth(ref: np.ndarray, tol_s: float = 0.05) -> np.ndarray:
    """``ref`` (rows pitch, start, end) with unisons merged: notes of one pitch starting within
    ``tol_s`` of each other (two instruments doubling a note) sound as one note, and a transcription
    can report only one; the merged note keeps the earliest start and the latest end."""
    if len(ref) == 0:
        return ref
    ref = ref[np.lexsort((ref[:, 1], ref[:, 0]))]
    out = [ref[0].copy()]
    for row in ref[1:]:
        last = out[-1]
        if row[0] == last[0] and row[1] - last[1] < tol_s:
            last[2] = max(last[2], row[2])
        else:
            out.append(row.copy())
    out = np.array(out)
    return out[np.argsort(out[:, 1], kind="stable")]


def chroma(notes: np.ndarray) -> np.ndarray:
    """Notes (rows pitch, start, end) folded to one octave (a diagnostic of octave errors)."""
    out = np.array(notes, float, copy=True)
    out[:, 0] = 60 + np.mod(out[:, 0], 12)
    return out


def skyline(notes: np.ndarray) -> np.ndarray:
    """The baseline melody: each note that is the highest one sounding at its onset (rows pitch, start, end)."""
    keep = [not np.any((notes[:, 0] > p) & (notes[:, 1] <= s) & (notes[:, 2] > s)) for p, s, _ in notes]
    return notes[np.array(keep, dtype=bool)] if len(notes) else notes


def onset_lag(ref: np.ndarray, est: np.ndarray, tol_s: float = 0.25) -> float:
    """Median (est - ref) onset of same-pitch pairs within ``tol_s`` (each truth note to its
    nearest transcribed onset): a constant lag would show here, not only as lost matches."""
    d = []
    for p, s, _ in ref:
        c = est[est[:, 0] == p, 1] - s
        if c.size and np.min(np.abs(c)) <= tol_s:
            d.append(c[np.argmin(np.abs(c))])
    return float(np.median(d)) if d else float("nan")


def dataset(songs: int, seconds: float, seed: int) -> Path:
    """The generated set of ``songs`` originals (each with a Timbre_C and a Tempo_A cover), made once."""
    out = WORK / f"songs{songs}_s{int(seconds)}_seed{seed}"
    if (out / "_truth" / "truth.csv").exists():
        return out
    cmd = [sys.executable, "-m", "musim_spark.cli", "sample-data", str(out), "--songs", str(songs), "--regular", "0",
           "--seconds", str(seconds), "--seed", str(seed), "--cover-types", "Timbre_C,Tempo_A", "--processes", "1"]
    if POP909.is_dir():
        cmd += ["--pop909", str(POP909)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return out


#: basic-pitch with its own defaults (``basic_pitch.inference.predict``: onset 0.5, frame 0.3,
#: minimum note 127.7 ms), on the mono mix, nothing of ours after it: the floor beside every result.
BASELINE = dict(onset_threshold=0.5, frame_threshold=0.3, min_note_ms=127.7, note_filter=0.0, onset_shift_ms=0.0,
                overtone_ratio=0.0)


def run_set(name: str, out: Path, backend, settings) -> list[dict]:
    from musim_spark.audio.decode import load_audio
    from musim_spark.audio.transcribe import transcribe_array

    base = dataclasses.replace(settings, **BASELINE)
    rows = []
    for mid in sorted((out / "_truth" / "midi").glob("*.mid")):
        wav = next(out.rglob(f"{mid.stem}.wav"))
        ref_raw, ref_mel, ref_drum = truth_notes(mid)
        ref_all = audible_truth(ref_raw)
        slow = truth_notes(mid, slow=True)
        y = load_audio(wav, settings, sample_rate=backend.sample_rate, mono=False)
        t0 = time.process_time(), time.perf_counter()
        cols = transcribe_array(y, backend, settings)
        cpu, wall = time.process_time() - t0[0], time.perf_counter() - t0[1]
        dur = y.shape[0] / backend.sample_rate
        # the baseline, also the cost of one plain model pass over the mono mix
        t1 = time.process_time()
        b = backend.notes(y.mean(axis=1) if y.ndim == 2 else y, base)
        model_cpu = time.process_time() - t1
        base_notes = b[:, [2, 0, 1]] if len(b) else np.zeros((0, 3))
        est = np.stack([cols["pitch"], cols["start_s"], cols["end_s"]], axis=1).astype(float)
        pitched, mel = est[~cols["is_drum"]], est[cols["role"] == "melody"]
        drums = est[cols["is_drum"], 1]
        rows.append(dict(set=name, track=mid.stem, seconds=dur, all=note_prf(ref_all, pitched),
                         all_raw=note_prf(ref_raw, pitched)[2], melody=note_prf(ref_mel, mel),
                         all_fast=note_prf(*without_slow(ref_raw, slow, pitched))[2], slow=float(slow.mean()),
                         melody_chroma=note_prf(chroma(ref_mel), chroma(mel))[2],
                         base_all=note_prf(ref_all, base_notes)[2], base_melody=note_prf(ref_mel, skyline(base_notes))[2],
                         drums=onset_prf(ref_drum, drums), rtf_cpu=cpu / dur, rtf_wall=wall / dur,
                         rtf_model=model_cpu / dur, lag_ms=1000 * onset_lag(ref_all, pitched),
                         merged=1 - len(ref_all) / max(len(ref_raw), 1)))
        r = rows[-1]
        print(f"[{name}] {r['track']}: {dur:.1f} s, notes F1 {r['all'][2]:.3f} (P {r['all'][0]:.3f} R {r['all'][1]:.3f}; "
              f"raw truth {r['all_raw']:.3f}; baseline {r['base_all']:.3f}), melody F1 {r['melody'][2]:.3f} "
              f"(chroma {r['melody_chroma']:.3f}; baseline {r['base_melody']:.3f}), drums F1 {r['drums'][2]:.3f}, "
              f"RTF/core {r['rtf_cpu']:.3f} (model pass {r['rtf_model']:.3f}), onset lag {r['lag_ms']:+.0f} ms",
              flush=True)
    return rows


def summary(rows: list[dict]) -> dict:
    mean = lambda key, i=None: float(np.mean([r[key] if i is None else r[key][i] for r in rows]))  # noqa: E731
    secs = np.sum([r["seconds"] for r in rows])
    return dict(P=mean("all", 0), R=mean("all", 1), F1=mean("all", 2), raw=mean("all_raw"), mel=mean("melody", 2),
                mel_chroma=mean("melody_chroma"), base=mean("base_all"), base_mel=mean("base_melody"),
                drums=mean("drums", 2), lag=float(np.median([r["lag_ms"] for r in rows])),
                merged=mean("merged"), fast=mean("all_fast"), slow=mean("slow"),
                rtf=float(np.sum([r["rtf_cpu"] * r["seconds"] for r in rows]) / secs),
                rtf_model=float(np.sum([r["rtf_model"] * r["seconds"] for r in rows]) / secs))


def table(rows: list[dict]) -> list[str]:
    lines = ["| track | audio s | notes P | notes R | notes F1 | F1 raw truth | F1 w/o slow attacks (share) | baseline F1 "
             "| melody F1 | melody chroma F1 | baseline melody F1 | drums F1 | onset lag ms | RTF/core | RTF model | RTF wall |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['track']} | {r['seconds']:.1f} | {r['all'][0]:.3f} | {r['all'][1]:.3f} | {r['all'][2]:.3f} | "
                     f"{r['all_raw']:.3f} | {r['all_fast']:.3f} ({r['slow']:.0%}) | {r['base_all']:.3f} | "
                     f"{r['melody'][2]:.3f} | {r['melody_chroma']:.3f} | "
                     f"{r['base_melody']:.3f} | {r['drums'][2]:.3f} | {r['lag_ms']:+.0f} | {r['rtf_cpu']:.3f} | "
                     f"{r['rtf_model']:.3f} | {r['rtf_wall']:.3f} |")
    s = summary(rows)
    lines.append(f"| **mean** | | {s['P']:.3f} | {s['R']:.3f} | **{s['F1']:.3f}** | {s['raw']:.3f} | "
                 f"{s['fast']:.3f} ({s['slow']:.0%}) | {s['base']:.3f} | "
                 f"**{s['mel']:.3f}** | {s['mel_chroma']:.3f} | {s['base_mel']:.3f} | {s['drums']:.3f} | {s['lag']:+.0f} | "
                 f"**{s['rtf']:.3f}** | {s['rtf_model']:.3f} | |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev-songs", type=int, default=2)
    ap.add_argument("--dev-seed", type=int, default=0)
    ap.add_argument("--held-songs", type=int, default=4)
    ap.add_argument("--held-seed", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--write", action="store_true", help="rewrite the tables of bench/results/transcription.md")
    args = ap.parse_args()
    from musim_spark.audio.backends import get_backend
    from musim_spark.audio.decode import load_audio
    from musim_spark.audio.settings import TranscribeSettings
    from musim_spark.audio.transcribe import transcribe_array

    machine = host.describe_machine(load=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    sets = [("dev", dataset(args.dev_songs, args.seconds, args.dev_seed)),
            ("held-out", dataset(args.held_songs, args.seconds, args.held_seed))]
    settings = TranscribeSettings(onnx_threads=1)
    backend = get_backend(settings.backend)
    # warm-up: model load and numba compilation are once per process, not per song
    transcribe_array(load_audio(next(sets[0][1].rglob("*_Org.wav")))[: 22050 * 3], backend, settings)
    results = {name: run_set(name, out, backend, settings) for name, out in sets}
    for name, rows in results.items():
        s = summary(rows)
        print(f"{name} mean: notes F1 {s['F1']:.3f} (raw truth {s['raw']:.3f}, baseline {s['base']:.3f}), melody F1 "
              f"{s['mel']:.3f} (chroma {s['mel_chroma']:.3f}, baseline {s['base_mel']:.3f}), drums F1 {s['drums']:.3f}, "
              f"RTF per core {s['rtf']:.3f} (one model pass {s['rtf_model']:.3f}), median onset lag {s['lag']:+.0f} ms, "
              f"unisons merged {s['merged']:.3f}, F1 without slow attacks {s['fast']:.3f} ({s['slow']:.3f} of notes)")
    if not args.write:
        return
    s = dataclasses.asdict(settings)
    dev, held = summary(results["dev"]), summary(results["held-out"])
    met = lambda v, t: f"{v:.3f} {'>=' if v >= t else '<'} {t} ({'met' if v >= t else 'not met'})"  # noqa: E731
    head = [
        "# Transcription benchmark (`bench/transcription.py`)",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine} (2 cores shared with other jobs)",
        f"- Command: `python bench/transcription.py --dev-songs {args.dev_songs} --dev-seed {args.dev_seed} "
        f"--held-songs {args.held_songs} --held-seed {args.held_seed} --seconds {args.seconds:g} --write`",
        f"- Data: `musim sample-data --songs N --seed S --regular 0 --seconds {args.seconds:g} "
        "--cover-types Timbre_C,Tempo_A` (POP909 songs, FluidSynth with the TimGM6mb soundfont; truth = the MIDI "
        f"each WAV was rendered from). Development set: seed {args.dev_seed}, {args.dev_songs} songs "
        f"({len(results['dev'])} tracks), on which every setting and the note filter were chosen; held-out set: seed "
        f"{args.held_seed}, {args.held_songs} other songs ({len(results['held-out'])} tracks), read only by this run.",
        f"- Ours: basic-pitch 0.4.0 (ONNX, CPU, 1 thread), onset {s['onset_threshold']}, frame "
        f"{s['frame_threshold']}, min note {s['min_note_ms']:g} ms, note filter {s['note_filter']} "
        f"(`musim_spark/audio/notefilter.py`, fit by `bench/fit_note_filter.py` on the dev set), onsets "
        f"{s['onset_shift_ms']:g} ms earlier, overtone ratio {s['overtone_ratio']}, windows {s['chunk_s']:g} s / "
        f"{s['overlap_s']:g} s; melody from the stereo centre ({s['melody_from_center']}, width {s['center_width']}), "
        f"highest salient line >= MIDI {s['melody_min_pitch']}.",
        "- Baseline (same run, same audio): basic-pitch with its own defaults (onset 0.5, frame 0.3, min note "
        "127.7 ms) on the mono mix; baseline melody: of those notes, each one that is the highest sounding at its onset.",
        "- Note F1: mir_eval.transcription, onset only, 50 ms, every pitched transcribed note against the audible "
        "truth: the pitched notes of every MIDI track with unisons merged (the same pitch started within 50 ms by "
        f"two tracks sounds as one note; {dev['merged']:.1%} of the dev and {held['merged']:.1%} of the held-out truth "
        "notes); `F1 raw truth` scores against the unmerged notes. Melody: the transcribed melody line against the "
        "`Melody` track (no unisons inside one track); `chroma`: both folded to one octave (octave errors would "
        "show as a gap). Drums: mir_eval.onset (50 ms) of drum hits against the `Rhythm` track's onsets.",
        f"- F1 w/o slow attacks (a diagnostic, never the headline): the same without the truth notes of programs whose "
        f"rendered note takes over {SLOW_ATTACK_MS:g} ms to rise to -6 dB (measured per program: "
        f"{', '.join(f'{p} {a:.0f} ms' for p, a in sorted(_ATTACK.items()) if a > SLOW_ATTACK_MS)}), and without the "
        "transcribed notes standing for them (same pitch, onset -50..+500 ms); in brackets the share of truth notes "
        "left out.",
        "- Onset lag: median over tracks of the median (transcribed - truth) onset of same-pitch pairs within 250 ms.",
        "- RTF/core: CPU seconds of `transcribe_array` (decode excluded; both model passes, note filter, HPSS drums, "
        "stitching) per second of audio, after a warm-up; RTF model: one plain model pass over the mono mix (the "
        "baseline); RTF wall: wall-clock on this shared machine.",
        "",
        "## Targets (issue 12)",
        "",
        f"- Melody note F1 >= 0.80: held-out {met(held['mel'], 0.80)}; dev {dev['mel']:.3f}.",
        f"- All-notes F1 >= 0.76 (Omnizart's 0.758): held-out {met(held['F1'], 0.76)}; dev {dev['F1']:.3f}.",
        f"- Baseline beside them: all-notes held-out {held['base']:.3f} / dev {dev['base']:.3f}, melody held-out "
        f"{held['base_mel']:.3f} / dev {dev['base_mel']:.3f}.",
        f"- Cost: {held['rtf']:.3f} CPU-s per audio second on the held-out set (before this work 0.178; one model "
        f"pass {held['rtf_model']:.3f}).",
        "",
        f"## Development set (seed {args.dev_seed}; settings chosen here)",
        "",
        *table(results["dev"]),
        "",
        f"## Held-out set (seed {args.held_seed}, other songs)",
        "",
        *table(results["held-out"]),
        "",
    ]
    path = ROOT / "bench" / "results" / "transcription.md"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    # The hand-written analysis below the tables stays (from "## Findings" on).
    tail = old[old.index("## Findings"):] if "## Findings" in old else ""
    path.write_text("\n".join(head) + "\n" + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
