"""``musim compare --json`` contract (shared/spec/interface.md) on small MIDI files we write."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musim_spark.cli import main
from musim_spark.midi import write_midi
from musim_spark.model import Note, Piece, Track

ROOT = Path(__file__).resolve().parents[1]


def _song(shift=0, seed=0, n=64):
    rng = np.random.default_rng(seed)
    pitches = 60 + np.cumsum(rng.integers(-3, 4, n)) % 12
    mel = tuple(Note(int(p) + shift, 0.5 * i, 0.5 * i + 0.45) for i, p in enumerate(pitches))
    # the chord progression depends on the seed too: a different song, not only a different melody
    prog = (0, 5) if seed == 0 else (0, 9, 2, 7)
    chords = tuple(Note(48 + shift + iv + prog[(i // 2) % len(prog)], 2.0 * i, 2.0 * i + 1.9)
                   for i in range(n // 4) for iv in ((0, 4, 7) if prog[(i // 2) % len(prog)] in (0, 5, 7) else (0, 3, 7)))
    drums = tuple(Note(k, 0.5 * i, 0.5 * i + 0.1) for i in range(n) for k in ((36,) if i % 2 == 0 else (38, 42)))
    return Piece((Track("Melody", mel), Track("Chord", chords), Track("Rhythm", drums, is_drum=True)), tempo_bpm=120.0)


@pytest.fixture()
def files(tmp_path):
    a, b, c = tmp_path / "a.mid", tmp_path / "b.mid", tmp_path / "c.mid"
    # 160 notes: song-length melodies (the calibrated regime; 64-note random walks share too much by chance)
    write_midi(_song(shift=2, n=160), a)
    write_midi(_song(n=160), b)
    write_midi(_song(seed=9, n=160), c)
    return a, b, c


def test_json_contract(files, capsys):
    a, b, c = files
    assert main(["compare", str(a), str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out)[:8] == ["melodySimilarity", "rhythmSimilarity", "chordSimilarity", "similarityCoefficient",
                             "isSimilar", "melodySameSection", "rhythmSameSection", "chordSameSection"]
    for k in ("melodySimilarity", "rhythmSimilarity", "chordSimilarity"):
        assert 0.0 <= out[k] <= 100.0
    assert -1.0 <= out["similarityCoefficient"] <= 1.0 and out["isSimilar"] is True
    assert out["melodySimilarity"] > 90.0
    sec = out["melodySameSection"][0]
    assert set(sec) == {"startMilliSec", "durationMilliSec", "otherStartMilliSec", "otherDurationMilliSec"}
    assert sec["durationMilliSec"] > 20000
    assert main(["compare", str(a), str(c), "--json"]) == 0
    neg = json.loads(capsys.readouterr().out)
    assert neg["melodySimilarity"] < out["melodySimilarity"] and neg["isSimilar"] is False


def test_single_track_melody_files(tmp_path, capsys):
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    for path, shift in ((a, 0), (b, 5)):
        write_midi(Piece((_song(shift=shift).tracks[0],), tempo_bpm=100.0), path)
    assert main(["compare", str(a), str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["melodySimilarity"] > 90.0 and out["isSimilar"] is True


def test_bad_input_fails_with_one_line(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    r = subprocess.run([sys.executable, "-m", "musim_spark.cli", "compare", str(bad), str(bad)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1
    assert "MIDI_CORRUPT" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_single_pair_is_still_one_object_with_reasons(files, capsys):
    a, b, _ = files
    assert main(["compare", str(a), str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, dict) and "rank" not in out and "path" not in out
    # every facet defined: no reasons (the keys are there, null)
    assert out["reason"] is None and out["melodyReason"] is None and out["chordReason"] is None


def test_one_query_against_many_files_and_a_folder(tmp_path, capsys):
    """JSON list in the order given (a folder expands to its MIDI files, sorted, the query left out),
    each with its rank; a broken file is reported by name, the others are still compared, exit 1."""
    songs = tmp_path / "songs"
    songs.mkdir()
    query, copy, other = songs / "a.mid", songs / "b.mid", songs / "c.mid"
    write_midi(_song(shift=2, n=160), query)
    write_midi(_song(n=160), copy)
    write_midi(_song(seed=9, n=160), other)
    (songs / "notes.txt").write_text("not a candidate")
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"not midi")
    rc = main(["compare", str(query), str(other), str(bad), str(songs), "--json"])
    captured = capsys.readouterr()
    assert rc == 1
    out = json.loads(captured.out)
    assert isinstance(out, list)
    assert [r["path"] for r in out] == [str(other), str(bad), str(copy), str(other)]
    assert [r["rank"] for r in out] == [2, None, 1, 3]     # the copy first; equal results keep the order given
    assert out[2]["isSimilar"] is True and out[0]["isSimilar"] is False and out[2]["error"] is None
    assert out[0]["melodySimilarity"] == out[3]["melodySimilarity"]   # the same file, read once
    assert list(out[2])[:10] == ["rank", "path", "melodySimilarity", "rhythmSimilarity", "chordSimilarity",
                                 "similarityCoefficient", "isSimilar", "melodySameSection", "rhythmSameSection",
                                 "chordSameSection"]
    assert out[1]["error"].startswith(str(bad)) and "MIDI_CORRUPT" in out[1]["error"]
    assert out[1]["similarityCoefficient"] is None and out[1]["isSimilar"] is False
    errors = [line for line in captured.err.splitlines() if "error" in line]
    assert len(errors) == 1 and str(bad) in errors[0] and "MIDI_CORRUPT" in errors[0]


def test_many_candidates_text_ranked_and_html_index(files, tmp_path, capsys):
    a, b, c = files
    pages = tmp_path / "reports"
    assert main(["compare", str(a), str(c), str(b), "--html", str(pages)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line.strip()[:1].isdigit()]
    assert [(r[0], r[-1]) for r in rows] == [("1", str(b)), ("2", str(c))]
    assert rows[0][2] == "yes" and rows[1][2] == "no"
    index = (pages / "index.html").read_text()
    reports = sorted(p.name for p in pages.glob("*.html") if p.name != "index.html")
    assert reports == ["001_c.html", "002_b.html"]
    assert index.index("002_b.html") < index.index("001_c.html")     # ranked: b first
    assert 'id="scores"' in (pages / "002_b.html").read_text()


def test_a_directory_without_midi_files_is_an_error_the_rest_is_compared(files, tmp_path, capsys):
    a, b, _ = files
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["compare", str(a), str(empty), str(b)]) == 1
    captured = capsys.readouterr()
    assert str(empty) in captured.err and "no .mid/.midi files" in captured.err
    assert str(b) in captured.out


@pytest.fixture()
def numba_env(monkeypatch):
    """NUMBA_CACHE_DIR unset for the test; numba's settings re-read from the restored env afterwards."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    yield monkeypatch
    monkeypatch.undo()
    from numba.core import config

    config.reload_config()


def test_numba_cache_goes_to_a_writable_place_when_the_package_is_read_only(numba_env, tmp_path):
    """A read-only install (here: a package directory that cannot be created) with NUMBA_CACHE_DIR
    unset would make numba refuse ``cache=True`` kernels when the home is not writable either; the
    cache goes to the user's cache dir instead. A writable package or an explicit setting is kept."""
    import os

    from musim_spark.similarity import _numba_cache

    blocker = tmp_path / "file"
    blocker.write_text("")
    numba_env.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert _numba_cache.configure(blocker / "pkg") == str(tmp_path / "cache" / "musim-spark" / "numba")
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "cache" / "musim-spark" / "numba")
    from numba.core import config

    assert config.CACHE_DIR == os.environ["NUMBA_CACHE_DIR"]      # numba re-read its settings
    assert _numba_cache.configure(blocker / "pkg") is None         # set now: kept
    numba_env.delenv("NUMBA_CACHE_DIR")
    assert _numba_cache.configure(tmp_path / "pkg") is None and "NUMBA_CACHE_DIR" not in os.environ
    # the user's cache dir not writable either: a per-user folder under the temporary directory
    numba_env.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
    numba_env.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    got = _numba_cache.configure(blocker / "pkg")
    assert got is not None and got.startswith(str(tmp_path / "tmp" / "musim-spark-numba-"))
