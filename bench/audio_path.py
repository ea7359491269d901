"""Benchmark of the audio path's decisions against the MIDI path's, on one rendered generated set.

Runs the commands a user would, in one warehouse::

    musim sample-data SET --songs N --regular R --seconds S --seed SEED   (covers + unrelated originals, audio)
    musim ingest --root SET
    musim transcribe                      # audio -> transcribed_notes
    musim similarity --source midi        # the sweep on the data set's MIDI
    musim similarity --source audio       # the same sweep on our transcription
    musim evaluate --truth SET --source both --json

and records the decision F1 per facet and combined of both paths, and the audio path's F1 minus the
MIDI path's (issue 12's target: within 0.03). To say *why* they differ it also scores, per track,
the transcription that fed the audio sweep against the MIDI notes the sweep read
(mir_eval.transcription onset-only, 50 ms: the melody line against the MIDI's melody-role track, all
pitched notes; mir_eval.onset for drums), from the warehouse's ``notes`` and
``transcribed_notes`` tables.

Commands that find nothing new do nothing (the pipeline is incremental), so a rerun on the same
warehouse only re-evaluates; ``--fresh`` deletes the warehouse first.

Usage::

    python bench/audio_path.py [--songs 4] [--regular 4] [--seconds 30] [--seed 3] [--work DIR] [--write]
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import host  # bench/host.py

ROOT = Path(__file__).resolve().parents[1]
POP909 = ROOT / ".." / "shared" / "data" / "pop909"
DECISIONS = ("melody", "rhythm", "chord", "combined")
#: what the run showed, kept with the script so --write reproduces the file (edit after a rerun)
NOTES = [
    "## Why the audio path falls short (2026-12-02, this run)",
    "",
    "- Transcription: main at 4771659 (the note filter of the transcribe branch). The first measurement, with the "
    "transcription before it (74d38d1), gave audio F1 melody 0.820, rhythm 0.316, chord 0.691, combined 0.820 "
    "(same MIDI figures); the new transcription gains 0.07 melody / combined, 0.12 rhythm, 0.05 chord.",
    "- Found on the way and fixed on this branch: `musim similarity --source audio` kept the features of the old "
    "transcription after a re-transcription (its feature digest named the WAV and label hashes only); it now "
    "includes the transcription's digest (musim_spark/sweep/stage.py), and this run recomputed them.",
    "- First run on this set (s, machine load 4-10): sample-data 634, ingest 141, transcribe 801 (old) / 304 (new "
    "transcription; 44 tracks, 1338 s of audio), similarity midi 222, similarity audio 162.",
    "- Every miss is a recall miss: no pair of different songs is decided similar on any facet (melody, chord and "
    "combined precision 1.0; rhythm's 0.53 counts covers of the own original whose groove truly changed, as the "
    "MIDI path's 0.75 does); the audio path's scores of true pairs are lower. Positives' audio melody scores: "
    "10th / 25th percentile 9.9 / 92.8, median 100; negatives' highest 18.2. Audio rhythm: positives' median "
    "24.3 (25th percentile 6.3), negatives' highest 9.2. Audio chord: positives' median 71.7 (25th 36.8), "
    "negatives' highest 32.7.",
    "- By cover type: covers that keep the instruments (Arrangement_A, Rhythm_A, Tempo_A, Tempo_C) and Timbre_C "
    "decide as from MIDI; covers that change the lead's sound are the misses (Timbre_A 0.40, Genre_A 0.67, "
    "Instrument_A/C 0.86). The transcription's errors depend on the timbre: the same melody played by another "
    "instrument is transcribed with other missing and extra notes (melody line F1 against the MIDI 0.715 on average, "
    "0.37-0.49 on three of the four Timbre_A tracks), so original and cover no longer align note for note.",
    "- Rhythm from drums: the drum part is the same in the Timbre and Instrument covers as in the original, yet "
    "their audio rhythm scores stay low. The drum hits come from the HPSS percussive component of the whole mix "
    "(onset F1 0.57 against the MIDI drums): attacks of the pitched instruments become drum hits, and they change "
    "with the instruments. Better drum stems help only a little (the stereo split's drums are 4-5 dB, "
    "bench/results/separation.md); the rhythm facet needs drum hits that ignore pitched attacks.",
    "- Not fixed here: both causes sit in the transcription (notes, the melody line, the drum detector). Per-source "
    "decision thresholds would buy recall without false positives on this set (melody positives above 18, rhythm "
    "positives above 9 in about half the cases), but choosing them honestly needs a second rendered set; not done.",
]


def musim(*args: str) -> tuple[str, float]:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "musim_spark.cli", *args], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        raise SystemExit(f"musim {' '.join(args)} failed ({p.returncode})")
    return p.stdout, time.perf_counter() - t0


def note_diagnostics(warehouse: Path) -> list[dict]:
    """Per track: melody / all-notes F1 and drum onset F1 of transcribed_notes against notes."""
    import mir_eval

    from musim_spark.io.read import read_arrow
    from musim_spark.io.tables import table_uri

    cols = ["track_id", "role", "is_drum", "pitch", "start_s", "end_s"]
    midi = read_arrow(table_uri(warehouse, "notes"), columns=cols).to_pandas()
    audio = read_arrow(table_uri(warehouse, "transcribed_notes"), columns=cols).to_pandas()

    def prf(ref, est):
        if len(ref) == 0 or len(est) == 0:
            return float("nan") if len(ref) == 0 else 0.0
        hz = lambda p: 440.0 * 2 ** ((np.asarray(p, float) - 69) / 12)  # noqa: E731
        return mir_eval.transcription.precision_recall_f1_overlap(
            ref[["start_s", "end_s"]].to_numpy(), hz(ref["pitch"]), est[["start_s", "end_s"]].to_numpy(),
            hz(est["pitch"]), onset_tolerance=0.05, offset_ratio=None)[2]

    def onset_f(ref, est):
        if len(ref) == 0 or len(est) == 0:
            return float("nan") if len(ref) == 0 else 0.0
        return mir_eval.onset.f_measure(np.unique(np.round(ref, 3)), np.unique(np.round(est, 3)), window=0.05)[0]

    rows = []
    for tid, m in midi.groupby("track_id"):
        a = audio[audio.track_id == tid]
        rows.append({
            "track": tid,
            "melody_f1": prf(m[m.role == "melody"], a[a.role == "melody"]),
            "notes_f1": prf(m[~m.is_drum], a[~a.is_drum]),
            "drums_f1": onset_f(m[m.is_drum].start_s.to_numpy(), a[a.is_drum].start_s.to_numpy()),
            "midi_melody_notes": int((m.role == "melody").sum()),
            "audio_melody_notes": int((a.role == "melody").sum()),
        })
    return rows


def _f(x) -> str:
    return "-" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=4)
    ap.add_argument("--regular", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "_work" / "audio_path")
    ap.add_argument("--fresh", action="store_true", help="delete the warehouse first")
    ap.add_argument("--write", action="store_true", help="rewrite bench/results/audio_path.md")
    args = ap.parse_args()
    machine = host.describe_machine(load=True)
    data = args.work / f"set_s{args.songs}_r{args.regular}_{int(args.seconds)}s_seed{args.seed}"
    wh = args.work / f"warehouse_s{args.songs}_r{args.regular}_{int(args.seconds)}s_seed{args.seed}"
    if args.fresh and wh.exists():
        shutil.rmtree(wh)
    timings = {}
    if not (data / "_truth" / "truth.csv").exists():
        extra = ["--pop909", str(POP909)] if POP909.is_dir() else []
        _, timings["sample-data"] = musim("sample-data", str(data), "--songs", str(args.songs), "--regular",
                                          str(args.regular), "--seconds", str(args.seconds), "--seed", str(args.seed),
                                          "--processes", "1", *extra)
    w = ["--warehouse", str(wh)]
    for step in (["ingest", "--root", str(data)], ["transcribe"], ["similarity", "--source", "midi"],
                 ["similarity", "--source", "audio"]):
        out, timings[" ".join(step[:1] + step[2:])] = musim(*step, *w)
        print(out.strip().splitlines()[-1] if out.strip() else step[0], f"({timings[' '.join(step[:1] + step[2:])]:.0f} s)",
              flush=True)
    out, _ = musim("evaluate", "--truth", str(data), "--source", "both", "--json", *w)
    ev = json.loads(out)
    diag = note_diagnostics(wh)
    lines = ["| decision | MIDI F1 | audio F1 | audio - MIDI | MIDI P / R | audio P / R | positives |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for d in DECISIONS:
        m, a = ev["midi"]["decisions"]["overall"][d], ev["audio"]["decisions"]["overall"][d]
        diff = ev["audio_minus_midi_f1"][d]
        ok = "" if diff is None else (" (met)" if abs(diff) <= 0.03 else " (not met)")
        lines.append(f"| {d} | {_f(m['f1'])} | {_f(a['f1'])} | {'-' if diff is None else f'{diff:+.3f}'}{ok} | "
                     f"{_f(m['precision'])} / {_f(m['recall'])} | {_f(a['precision'])} / {_f(a['recall'])} | "
                     f"{m['n_positive']} |")
    rt = {s: ev[s]["retrieval"] for s in ("midi", "audio")}
    lines += ["", f"Retrieval of the own original over {rt['midi']['n']} covers: hit rate MIDI {_f(rt['midi']['hit_rate'])}, "
              f"audio {_f(rt['audio']['hit_rate'])}; MRR MIDI {_f(rt['midi']['mrr'])}, audio {_f(rt['audio']['mrr'])}.",
              "", "Combined decision F1 per cover type:", "", "| cover type | MIDI | audio | melody MIDI | melody audio |",
              "|---|---:|---:|---:|---:|"]
    for ct, dm in ev["midi"]["decisions"]["by_cover_type"].items():
        da = ev["audio"]["decisions"]["by_cover_type"][ct]
        lines.append(f"| {ct} | {_f(dm['combined']['f1'])} | {_f(da['combined']['f1'])} | {_f(dm['melody']['f1'])} | "
                     f"{_f(da['melody']['f1'])} |")
    mean = lambda k: float(np.nanmean([r[k] for r in diag]))  # noqa: E731
    lines += ["", "What the audio sweep read, against the MIDI the MIDI sweep read (per track, onset-only, 50 ms):",
              f"melody line F1 mean {mean('melody_f1'):.3f}, all pitched notes F1 {mean('notes_f1'):.3f}, drum onsets "
              f"F1 {mean('drums_f1'):.3f}; melody notes {sum(r['audio_melody_notes'] for r in diag)} transcribed vs "
              f"{sum(r['midi_melody_notes'] for r in diag)} in the MIDI.",
              "", "| track | melody F1 | notes F1 | drums F1 | melody notes audio / MIDI |", "|---|---:|---:|---:|---:|"]
    for r in diag:
        lines.append(f"| {r['track']} | {_f(r['melody_f1'])} | {_f(r['notes_f1'])} | {_f(r['drums_f1'])} | "
                     f"{r['audio_melody_notes']} / {r['midi_melody_notes']} |")
    print("\n".join(lines))
    if not args.write:
        return
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    head = [
        "# Audio path against the MIDI path (`bench/audio_path.py`)",
        "",
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; commit {commit} (+ this file)",
        f"- Machine: {machine} (shared with other jobs)",
        f"- Command: `python bench/audio_path.py --songs {args.songs} --regular {args.regular} --seconds "
        f"{args.seconds:g} --seed {args.seed} --write`",
        f"- Data: `musim sample-data --songs {args.songs} --regular {args.regular} --seconds {args.seconds:g} --seed "
        f"{args.seed}`: {ev['midi']['tracks']} tracks, {ev['midi']['covers']} covers (the 9 data-set cover types) of "
        f"{args.songs} originals plus {args.regular} unrelated originals; FluidSynth, TimGM6mb.",
        "- Both sweeps: the packaged settings; `musim evaluate --source both` (decision = facet score >= 50, combined = "
        "`is_similar`; pairs the sweep did not keep count as not similar; rhythm positives = covers whose true rhythm "
        "sections cover half of them).",
        "- Step times (this run, s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
        + " (an incremental rerun of a step with nothing new takes seconds).",
        "- Target (issue 12): audio-path decision F1 within 0.03 of the MIDI path.",
        "",
    ]
    (ROOT / "bench" / "results" / "audio_path.md").write_text("\n".join(head + lines + [""] + NOTES) + "\n",
                                                               encoding="utf-8")


if __name__ == "__main__":
    main()
