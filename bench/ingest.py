"""Benchmark ``musim ingest``: tracks per second, first run and rerun, against ``cat > /dev/null``.

Usage::

    .venv/bin/python bench/ingest.py [--data bench/_data/ingest220] [--out bench/results/ingest.md]

The data set is generated when missing (20 Similar originals x 9 covers + 20 Regular, 30 s each,
with audio: 220 tracks). In the same run it measures:

1. ``cat`` of every file of the set to ``/dev/null`` (the floor: just reading the bytes);
2. the first ingest into an empty warehouse (``run_ingest`` on a ``local[2]`` session started
   before timing, so the JVM start is not counted);
3. a rerun over the unchanged set;
4. ``cat`` again (page-cache drift check), and a single-process breakdown of the parse work per
   check (WAV header, hashing, MIDI, MusicXML, label) to say what dominates.

All timings are wall-clock on this machine with a warm page cache (the set was just written or
read); ratios are between numbers measured in this same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _cat_seconds(root: Path) -> tuple[float, int, int]:
    files = [str(p) for p in sorted(root.rglob("*")) if p.is_file() and not any(
        part.startswith(("_", ".")) for part in p.relative_to(root).parts[:-1])]
    n_bytes = sum(os.path.getsize(f) for f in files)
    started = time.perf_counter()
    # xargs keeps the command line short; cat reads each file once.
    subprocess.run(f"xargs -0 cat > /dev/null", shell=True, input="\0".join(files).encode(), check=True)
    return time.perf_counter() - started, len(files), n_bytes


def _breakdown(root: Path, settings) -> dict[str, float]:
    """Serial time of each check over every good track (one process, no Spark)."""
    import hashlib

    from musim_spark.ingest.parse import check_xml
    from musim_spark.ingest.scan import scan_root
    from musim_spark.ingest.wavheader import wav_info_from_file
    from musim_spark.labels import label_file_paths, load_label, validate_label
    from musim_spark.midi import read_midi

    t0 = time.perf_counter()
    listing = scan_root(root)
    out = {"scan (stat only)": time.perf_counter() - t0}
    tracks = [t for t in listing.tracks.values() if t.complete]

    def timed(name, fn):
        start = time.perf_counter()
        for t in tracks:
            try:
                fn(t)
            except Exception:  # faults are not part of this set; keep timing the rest
                pass
        out[name] = time.perf_counter() - start

    def path(t, m):
        return os.path.join(listing.root, t.members[m].path)

    def sha(p):
        h = hashlib.sha256()
        with open(p, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
        return h.hexdigest()

    timed("WAV header", lambda t: wav_info_from_file(path(t, "wav")))
    timed("sha256 of WAV", lambda t: sha(path(t, "wav")))
    timed("sha256 of MIDI+label", lambda t: (sha(path(t, "mid")), sha(path(t, "json"))))

    def label(t):
        obj = load_label(open(path(t, "json"), "rb").read(), path="x")
        label_file_paths(obj, path="x")
        validate_label(obj)

    timed("label load+schema", label)
    timed("MIDI parse (pretty_midi)", lambda t: read_midi(path(t, "mid"), melody="Melody"))
    timed("MusicXML well-formed (+sha256)", lambda t: check_xml(path(t, "xml"), name="x"))
    out["tracks"] = len(tracks)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO / "bench/_data/ingest220"))
    parser.add_argument("--work", default=str(REPO / "bench/_work/ingest"))
    parser.add_argument("--out", default=str(REPO / "bench/results/ingest.md"))
    parser.add_argument("--tracks-per-task", type=int, default=None)
    args = parser.parse_args(argv)

    from musim_spark.config import load_config
    from musim_spark.ingest.settings import IngestSettings
    from musim_spark.ingest.stage import run_ingest
    from musim_spark.runs import new_run_id
    from musim_spark.spark import build_spark_session

    data = Path(args.data)
    if not (data / "Similar").is_dir():
        from musim_spark.sampledata.generate import generate

        print(f"generating {data} (220 tracks with audio, 30 s each)...", flush=True)
        generate(data, songs=20, regular=20, seconds=30, seed=1, audio=True,
                 pop909_dir=REPO.parent / "shared/data/pop909", processes=2)
    config = load_config(master="local[2]")
    settings = IngestSettings.from_config(config)
    if args.tracks_per_task:
        import dataclasses

        settings = dataclasses.replace(settings, tracks_per_task=args.tracks_per_task)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    spark = build_spark_session(config.spark, app_suffix=":bench-ingest")
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(4).count()  # JVM and first job warm-up, not counted

    cat1, n_files, n_bytes = _cat_seconds(data)
    first = run_ingest(spark, config, root=data, warehouse=work / "wh", run_id=new_run_id(), settings=settings)
    rerun = run_ingest(spark, config, root=data, warehouse=work / "wh", run_id=new_run_id(), settings=settings)
    # The same first run again into an empty warehouse: Python workers already started and their
    # imports done (the steady state of a long ingest, where that start-up is amortised).
    warm = run_ingest(spark, config, root=data, warehouse=work / "wh2", run_id=new_run_id(), settings=settings)
    cat2, _, _ = _cat_seconds(data)
    spark.stop()
    parts = _breakdown(data, settings)
    cat = (cat1 + cat2) / 2
    n = first.tracks_total

    machine = (f"{platform.machine()} VM, nproc {os.cpu_count()}, "
               + subprocess.run("lscpu | grep 'Model name' | sed 's/.*: *//'", shell=True, capture_output=True,
                                text=True).stdout.strip())
    lines = [
        "# Ingest benchmark",
        "",
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {machine}; Spark `local[2]`, "
        f"{settings.tracks_per_task} tracks per task. Produced by `bench/ingest.py`; all numbers from the same run, "
        "warm page cache (the set was just generated / read), machine shared with other work (noisy).",
        "",
        f"Data: `{data.relative_to(REPO) if data.is_relative_to(REPO) else data}`: {n} tracks "
        f"({first.good_total} good), {n_files} files, {n_bytes / 1e6:.0f} MB "
        "(20 Similar originals x 9 covers + 20 Regular, 30 s each, with audio).",
        "",
        "| measure | seconds | tracks/s | vs `cat > /dev/null` |",
        "|---|---:|---:|---:|",
        f"| `cat` of every file (mean of before/after: {cat1:.2f} / {cat2:.2f}) | {cat:.2f} | {n / cat:.0f} | 1.0x |",
        f"| first ingest (parse, hash, 4 commits) | {first.seconds:.2f} | {n / first.seconds:.1f} | "
        f"{first.seconds / cat:.1f}x |",
        f"| first ingest again, fresh warehouse, Python workers already up | {warm.seconds:.2f} | "
        f"{n / warm.seconds:.1f} | {warm.seconds / cat:.1f}x |",
        f"| rerun, unchanged (stat + plan, no commit) | {rerun.seconds:.2f} | {n / rerun.seconds:.0f} | "
        f"{rerun.seconds / cat:.2f}x |",
        "",
        f"Rerun / first run: {rerun.seconds / first.seconds:.3f}. First run: `{first}`; rerun: `{rerun}` "
        f"(commits: {', '.join(rerun.commits) or 'none'}).",
        "",
        "Phases of the first run (wall-clock seconds): "
        + "; ".join(f"{name} {sec:.2f}" for name, sec in first.phase_seconds) + ".",
        "",
        "Phases of the warm first run: "
        + "; ".join(f"{name} {sec:.2f}" for name, sec in warm.phase_seconds) + ".",
        "",
        f"Where the parse time goes (single process, no Spark, the same {parts['tracks']} tracks, seconds):",
        "",
        "| check | seconds | share of the serial sum |",
        "|---|---:|---:|",
    ]
    serial = {k: v for k, v in parts.items() if k != "tracks"}
    total = sum(serial.values())
    for k, v in sorted(serial.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {k} | {v:.2f} | {100 * v / total:.0f} % |")
    lines += [
        "",
        f"Serial sum {total:.2f} s vs the Spark first run {first.seconds:.2f} s on 2 cores "
        "(the difference is Spark's own cost: task start, Arrow transfer, the persisted parse result "
        "and the four Parquet writes + commits).",
        "",
        "## What dominates",
        "",
        "- Rerun: listing (`os.stat` of every file) plus reading the `tracks`/`quarantine` state; no file is opened, "
        "no Spark job runs, nothing is committed.",
        "- First run, actual work: MIDI parsing (pretty_midi builds every note as a Python object) and sha256 of "
        "the WAVs (reading every byte once) dominate the serial sum; the WAV check itself reads only chunk headers.",
        "- First run on a set this small: Spark's fixed costs (Python worker start-up and imports in each task "
        "slot, then one write job per table, the replace writes also collecting their keys) are most of the "
        "wall-clock; compare the cold and warm rows. They do not grow with the data, the parse and hash work does "
        "(at 20,000 tracks of 60-240 s the WAVs are ~450x these bytes, so hashing becomes the main term).",
        "",
    ]
    text = "\n".join(lines)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
