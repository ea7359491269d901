"""One small rendered set: WAV format, stems that add up to the mix, deterministic audio."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from musim_spark import labels
from musim_spark.layout import parse_track_id, track_path
from musim_spark.sampledata.generate import generate

POP909 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pop909"
sf = pytest.importorskip("soundfile")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    kw = dict(songs=1, regular=0, seconds=6, seed=1, cover_types=["Timbre_C", "Tempo_A"], audio=True,
              pop909_dir=POP909, processes=1)
    generate(root / "a", **kw)
    generate(root / "b", **kw)
    return root


def test_wav_format_length_and_stems(rendered):
    out = rendered / "a"
    with open(out / "_truth" / "truth.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    mixes = {}
    for row in rows:
        tid = parse_track_id(row["track_id"])
        wav = out / track_path(tid, "wav")
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_16")
        label = labels.read_label_file(out / track_path(tid, "json"))
        assert info.frames == round(float(label["data_Set"]["soundFile"]["playTime"]) * 44100)
        mix, _ = sf.read(str(wav), dtype="float64")
        assert 0.5 < np.max(np.abs(mix)) <= 1.0
        stem_dir = out / "_truth" / "stems" / row["track_id"]
        stems = {p.stem: sf.read(str(p), dtype="float64")[0] for p in sorted(stem_dir.glob("*.wav"))}
        assert set(stems) == {"Melody", "SubMelody", "Chord", "Bass", "Pad", "Rhythm"}
        total = sum(stems.values())
        assert total.shape == mix.shape
        # 16-bit rounding of 6 stems + the mix: at most ~7 LSB apart
        assert np.max(np.abs(total - mix)) < 8 / 32767
        for name, stem in stems.items():
            assert np.sqrt(np.mean(stem ** 2)) > 1e-4, name
        mixes[row["cover_type"]] = mix
        if row["cover_type"] == "Tempo_A":
            assert info.frames / 44100 == pytest.approx(float(row["duration_s"]) + 1.0, abs=0.01)
    # a Timbre cover has the original's notes but sounds different
    org, tim = mixes["Org"], mixes["Timbre_C"]
    n = min(len(org), len(tim))
    assert np.max(np.abs(org[:n] - tim[:n])) > 0.05


def test_audio_is_deterministic(rendered):
    a, b = rendered / "a", rendered / "b"
    wavs = sorted(p.relative_to(a) for p in a.rglob("*.wav"))
    assert len(wavs) == 3 + 3 * 6
    for rel in wavs:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
