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
