"""Peak memory (RSS) of very long tracks through compare, ingest, features and the sweep's scoring.

Issue 13 asks that one track with 50,000 notes or a one-hour song goes through ingest, features and
the sweep's scoring in bounded memory (target <= 1 GB). The inputs are built from POP909
(``/work/shared/data/pop909``, songs read with :func:`musim_spark.midi.read_midi`) and written to
``--out``:

``hour_a.mid``, ``hour_b.mid``
    Two one-hour compilations: 16 POP909 songs each (songs 001-016 and 040-055) one after the
    other, their tracks (MELODY, BRIDGE, PIANO) kept, 2 s of silence between songs.
``arranged_a.mid``, ``arranged_b.mid``
    The same songs arranged as the sample-data generator arranges an original
    (:func:`musim_spark.sampledata.arrangement.arrange`, genre Dance: melody, sub-melody, chord,
    bass, pad and drums), one after the other: a long catalog track whose beats carry many
    instrument groups (thousands of distinct joint rhythm contexts, the rhythm facet's factored
    table).
``dense_a.mid``, ``dense_b.mid``
    Two files of exactly 50,000 notes in ONE track (``Piano``): all notes of POP909 songs from
    001 (a) and from 100 (b) on, one song after the other, merged into one track, so the melody
    line (a skyline of that one track), the beats and the chords all run the whole length
    (about two hours each).

Cases, each step in a fresh Python process that reports its own peak RSS (``getrusage``
``ru_maxrss`` of itself and of any child it waited for) when it ends, so a step's peak is its own,
imports included (numba's kernel cache is filled by an unmeasured ``compare`` first):

``hour``       ``musim compare hour_a.mid hour_b.mid --json``
``hour_html``  the same with ``--html`` (the pair report: piano rolls, chords, listening excerpts)
``arranged``   ``musim compare arranged_a.mid arranged_b.mid --json``
``dense``      ``musim compare dense_a.mid dense_b.mid --json``
``pipeline``   dense_a.mid through the pure steps of the nightly job: ``ingest`` (read the MIDI,
               the ``notes`` rows as ingest builds them, written to Parquet), ``features``
               (:func:`musim_spark.sweep.features.features_of_track` on those rows with retrieval
               keys, stored blob as the ``features`` table holds it), ``score`` (the sweep's
               :func:`musim_spark.sweep.scoring.score_query` of it against dense_b, hour_b and
               one normal song, decoded from their stored blobs). Spark and Delta themselves are
               left out: their JVM's memory is set by configuration, not by the track.

Run: ``python bench/memory.py --out /tmp/musim_memory`` (``--cases dense`` for one case,
``--json`` for the figures as JSON). Results: bench/results/memory.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
POP909 = Path("/work/shared/data/pop909") if Path("/work/shared/data/pop909").is_dir() \
    else ROOT.parent / "shared" / "data" / "pop909"

CASES = ("hour", "hour_html", "arranged", "dense", "pipeline")
#: Notes in each dense file.
DENSE_NOTES = 50_000


def _song(k: int):
    from musim_spark.midi import read_midi

    return read_midi(POP909 / f"{k:03d}" / f"{k:03d}.mid")


def _shifted(notes, dt: float):
    from musim_spark.model import Note

    return [Note(n.pitch, n.start + dt, n.end + dt, n.velocity) for n in notes]


def compilation(songs, *, gap_s: float = 2.0):
    """The songs one after the other, tracks of the same name joined (a Piece)."""
    from musim_spark.model import Piece, Track

    tracks: dict[str, list] = {}
    meta: dict[str, Track] = {}
    t0 = 0.0
    for k in songs:
        p = _song(k)
        for t in p.tracks:
            tracks.setdefault(t.name, []).extend(_shifted(t.notes, t0))
            meta.setdefault(t.name, t)
        t0 += max(n.end for t in p.tracks for n in t.notes) + gap_s
    return Piece(tuple(Track(name, tuple(sorted(notes, key=lambda n: (n.start, n.pitch))), program=meta[name].program,
                             is_drum=meta[name].is_drum) for name, notes in tracks.items()), tempo_bpm=120.0)


def arranged(songs, *, genre: str = "Dance", seed: int = 0, gap_s: float = 2.0):
    """The songs arranged for six parts with drums (the sample-data generator's originals), one
    after the other (a Piece)."""
    import numpy as np

    from musim_spark.model import Piece, Track
    from musim_spark.sampledata.arrangement import arrange
    from musim_spark.sampledata.source import read_song

    rng = np.random.default_rng(seed)
    tracks: dict[str, list] = {}
    meta: dict[str, Track] = {}
    t0 = 0.0
    for k in songs:
        p = arrange(read_song(POP909, f"{k:03d}"), genre, rng=rng)
        for t in p.tracks:
            tracks.setdefault(t.name, []).extend(_shifted(t.notes, t0))
            meta.setdefault(t.name, t)
        t0 += max(n.end for t in p.tracks for n in t.notes) + gap_s
    return Piece(tuple(Track(name, tuple(sorted(notes, key=lambda n: (n.start, n.pitch))), program=meta[name].program,
                             is_drum=meta[name].is_drum) for name, notes in tracks.items()), tempo_bpm=120.0)


def one_track(first_song: int, n_notes: int, *, gap_s: float = 2.0):
    """All notes of songs ``first_song``, ``first_song + 1``, ... in one track, cut at ``n_notes``."""
    from musim_spark.model import Piece, Track

    notes: list = []
    t0 = 0.0
    k = first_song
    while len(notes) < n_notes:
        p = _song(k)
        song = sorted((n for t in p.tracks for n in t.notes), key=lambda n: (n.start, n.pitch))
        notes.extend(_shifted(song, t0))
        t0 += max(n.end for n in song) + gap_s
        k += 1
    return Piece((Track("Piano", tuple(notes[:n_notes])),), tempo_bpm=120.0)


def build_inputs(out: Path) -> dict:
    """Write the input files (kept when already there); their paths by name."""
    from musim_spark.midi import write_midi

    out.mkdir(parents=True, exist_ok=True)
    plan = {"hour_a": lambda: compilation(range(1, 17)), "hour_b": lambda: compilation(range(40, 56)),
            "arranged_a": lambda: arranged(range(1, 17), seed=0),
            "arranged_b": lambda: arranged(range(40, 56), seed=1),
            "dense_a": lambda: one_track(1, DENSE_NOTES), "dense_b": lambda: one_track(100, DENSE_NOTES),
            "song": lambda: _song(200)}
    paths = {}
    for name, make in plan.items():
        path = out / f"{name}.mid"
        if not path.exists():
            write_midi(make(), path)
        paths[name] = path
    return paths


def measure(cmd: list[str], *, env: dict | None = None) -> dict:
    """Run ``cmd`` (built by :func:`py`: it reports its own peak RSS as its last stderr line); its
    peak RSS (MB; the larger of the process's and of any child it waited for) and wall time."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{cmd} failed ({proc.returncode}): {err.decode()[-2000:]}")
    rss = json.loads(err.decode().strip().splitlines()[-1])["maxrss_kb"]
    return {"peak_rss_mb": rss / 1024.0, "wall_s": wall, "stdout": out.decode()}


#: Runs argv[1:] as a module (or ``-c``) in this process and prints its own peak RSS to stderr last.
_WRAP = r"""
import json, resource, runpy, sys
mode = sys.argv[1]
rc = 0
try:
    if mode == "-m":
        sys.argv = sys.argv[2:]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = sys.argv[2:]
        runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as e:
    rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
sys.stdout.flush()
r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
c = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stderr.write("\n" + json.dumps({"maxrss_kb": max(r, c), "rc": rc}) + "\n")
sys.exit(rc)
"""


#: Compiles (into numba's cache) the kernels only long tracks reach: one song with itself with every
#: memory budget forced to 0, then with the joint table summed but no profile.
_WARM = r"""
import sys, warnings
warnings.simplefilter("ignore")
from musim_spark.similarity import align, logodds
from musim_spark.similarity.compare import compare_files
from musim_spark.similarity.settings import SimilaritySettings
s = SimilaritySettings()
for budgets in ((0, 0, 0), (0, 0, 1 << 40)):
    align.TRACEBACK_MAX_CELLS, align.PROFILE_MAX_CELLS, logodds.TABLE_MAX_CELLS = budgets
    compare_files(sys.argv[1], sys.argv[1], settings=s)
"""


def py(*args: str) -> list[str]:
    return [sys.executable, "-c", _WRAP, *args]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def step_main(argv: list[str]) -> None:
    """One pipeline step (run in its own process by :func:`run_pipeline`)."""
    import warnings

    import pyarrow as pa
    import pyarrow.parquet as pq

    from musim_spark.config import load_config
    from musim_spark.ingest.parse import _note_columns
    from musim_spark.midi import read_midi
    from musim_spark.retrieval.settings import RetrievalSettings
    from musim_spark.similarity.settings import SimilaritySettings
    from musim_spark.sweep.features import encode_features, features_of_track

    step, work = argv[0], Path(argv[1])
    cfg = load_config(None)
    settings = SimilaritySettings.from_config(cfg)
    if step == "ingest":
        for name in argv[2:]:
            piece = read_midi(work / f"{name}.mid")
            pq.write_table(pa.Table.from_pydict(_note_columns(name, piece)), work / f"{name}.notes.parquet")
    elif step == "features":
        for name in argv[2:]:
            notes = pq.read_table(work / f"{name}.notes.parquet")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f, keys, _ = features_of_track(notes, settings=settings,
                                               retrieval_settings=RetrievalSettings.from_config(cfg))
            (work / f"{name}.features").write_bytes(encode_features(f))
    elif step == "score":
        from musim_spark.sweep.scoring import score_query

        query, originals = argv[2], argv[3:]
        blobs = [(o, (work / f"{o}.features").read_bytes()) for o in originals]
        table = score_query(query, (work / f"{query}.features").read_bytes(), blobs, settings=settings, top_k=10,
                            source="midi", run_id="bench-memory")
        print(json.dumps({r["original_track_id"]: r["similarity_coefficient"] for r in table.to_pylist()}))
    else:
        raise SystemExit(f"unknown step {step}")


def run_case(case: str, paths: dict, out: Path) -> list[dict]:
    env = _env()
    cli = ["-m", "musim_spark.cli"]
    if case == "hour":
        r = measure(py(*cli, "compare", str(paths["hour_a"]), str(paths["hour_b"]), "--json"), env=env)
        return [dict(step="compare --json", **r)]
    if case == "hour_html":
        r = measure(py(*cli, "compare", str(paths["hour_a"]), str(paths["hour_b"]), "--html",
                       str(out / "hour.html")), env=env)
        return [dict(step="compare --html", **r)]
    if case == "arranged":
        r = measure(py(*cli, "compare", str(paths["arranged_a"]), str(paths["arranged_b"]), "--json"), env=env)
        return [dict(step="compare --json", **r)]
    if case == "dense":
        r = measure(py(*cli, "compare", str(paths["dense_a"]), str(paths["dense_b"]), "--json"), env=env)
        return [dict(step="compare --json", **r)]
    if case == "pipeline":
        me = str(Path(__file__).resolve())
        names = ["dense_a", "dense_b", "hour_b", "song"]
        rows = []
        # the other tracks' rows and features first, unmeasured: only dense_a's own steps count
        subprocess.run(py("-p", me, "--step", "ingest", str(out), *names[1:]), env=env, check=True,
                       capture_output=True)
        subprocess.run(py("-p", me, "--step", "features", str(out), *names[1:]), env=env, check=True,
                       capture_output=True)
        for step, args in (("ingest", ["dense_a"]), ("features", ["dense_a"]), ("score", names)):
            r = measure(py("-p", me, "--step", step, str(out), *args), env=env)
            rows.append(dict(step=step, **r))
        return rows
    raise SystemExit(f"unknown case {case}; one of {CASES}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        step_main(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/musim_memory", help="input files and intermediate results")
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=CASES)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    t = time.perf_counter()
    paths = build_inputs(out)
    print(f"inputs ready in {time.perf_counter() - t:.1f} s under {out}", file=sys.stderr)
    # numba's on-disk cache filled first (unmeasured): a measured step loads the kernels, as a
    # deployed job does, and does not compile them (LLVM's memory is not the track's)
    subprocess.run(py("-m", "musim_spark.cli", "compare", str(paths["song"]), str(paths["song"]), "--json"),
                   env=_env(), check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", _WARM, str(paths["song"])], env=_env(), check=True, capture_output=True)
    results = {}
    for case in args.cases:
        results[case] = run_case(case, paths, out)
        for r in results[case]:
            print(f"{case:10s} {r['step']:16s} peak RSS {r['peak_rss_mb']:7.0f} MB  wall {r['wall_s']:6.1f} s",
                  file=sys.stderr)
    if args.json:
        print(json.dumps({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                          "results": {c: [{k: v for k, v in r.items() if k != "stdout"} for r in rows]
                                      for c, rows in results.items()}}, indent=1))


if __name__ == "__main__":
    main()
