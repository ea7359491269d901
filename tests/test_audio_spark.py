"""The transcribe stage on Spark: three tiny tracks (two melodies and a silent one), incremental reruns."""
from __future__ import annotations

import datetime
import hashlib

import numpy as np
import pyarrow as pa
import pytest

sf = pytest.importorskip("soundfile")
pytest.importorskip("onnxruntime")

from musim_spark.config import load_config  # noqa: E402
from musim_spark.io.plan import WritePlan  # noqa: E402
from musim_spark.io.read import read_arrow  # noqa: E402
from musim_spark.io.tables import TABLES, table_uri  # noqa: E402
from musim_spark.io.write import write_arrow  # noqa: E402
from musim_spark.runs import new_run_id  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SR = 22050


def _melody(pitches, seconds=3.0):
    t = np.arange(int(seconds * SR)) / SR
    y = np.zeros_like(t)
    step = seconds / (len(pitches) + 1)
    for i, p in enumerate(pitches):
        s = 0.2 + i * step
        f = 440.0 * 2 ** ((p - 69) / 12)
        on = (t >= s) & (t < s + step)
        y += 0.3 * on * np.exp(-(t - s) * 2) * np.sin(2 * np.pi * f * t)
    return y


def _write_tracks(warehouse, root, rows):
    cols = {f.name: [] for f in TABLES["tracks"].schema}
    for r in rows:
        full = {f.name: None for f in TABLES["tracks"].schema}
        full.update(kind="Similar", genre="Ballade", song_no="00001", version="Org", root=str(root), run_id="r",
                    ingested_at=datetime.datetime(2026, 12, 2, tzinfo=datetime.timezone.utc), **r)
        for k in cols:
            cols[k].append(full[k])
    table = pa.table(cols, schema=TABLES["tracks"].schema)
    write_arrow(table, WritePlan(table_uri(warehouse, "tracks"), schema=TABLES["tracks"].schema, mode="overwrite",
                                 run_id=new_run_id(), app_id="test:tracks"))


def _track(root, tid, y):
    path = root / f"{tid}.wav"
    sf.write(str(path), y, SR, subtype="PCM_16")
    return {"track_id": tid, "wav_path": path.name, "wav_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def test_transcribe_stage_writes_notes_quarantine_and_is_incremental(spark, tmp_path):
    from musim_spark.audio.stage import run_transcribe

    root, warehouse = tmp_path / "data", str(tmp_path / "wh")
    root.mkdir()
    a = _track(root, "A", _melody([72, 74, 76, 77]))
    b = _track(root, "B", _melody([79, 77, 76, 74, 72]))
    silent = _track(root, "S", np.zeros(SR))
    _write_tracks(warehouse, root, [a, b, silent])
    config = load_config()

    s1 = run_transcribe(spark, config, warehouse=warehouse, run_id=new_run_id())
    assert (s1.rows_in, s1.quarantined) == (3, 1)
    notes = read_arrow(table_uri(warehouse, "transcribed_notes")).to_pandas()
    assert set(notes.track_id) == {"A", "B"}
    mel = notes[notes.role == "melody"].sort_values("start_s")
    assert mel[mel.track_id == "A"].pitch.tolist() == [72, 74, 76, 77]
    assert mel[mel.track_id == "B"].pitch.tolist() == [79, 77, 76, 74, 72]
    q = read_arrow(table_uri(warehouse, "quarantine")).to_pandas()
    assert q[["path", "stage", "reason"]].values.tolist() == [["S.wav", "transcribe", "AUDIO_SILENT"]]
    state = read_arrow(table_uri(warehouse, "transcriptions")).to_pandas().set_index("track_id")
    assert state.loc["S", "reason"] == "AUDIO_SILENT" and state.loc["A", "notes"] >= 4
    assert set(state.device) == {"cpu"}

    # unchanged: nothing transcribed, nothing committed
    s2 = run_transcribe(spark, config, warehouse=warehouse, run_id=new_run_id())
    assert (s2.rows_in, s2.commits) == (0, ())

    # A's audio changes, B is gone: A is redone, B's notes are deleted
    a2 = _track(root, "A", _melody([60, 62]))
    _write_tracks(warehouse, root, [a2, silent])
    s3 = run_transcribe(spark, config, warehouse=warehouse, run_id=new_run_id())
    assert (s3.rows_in, s3.removed) == (1, 1)  # A changed; S failed before with the same audio: not retried
    notes = read_arrow(table_uri(warehouse, "transcribed_notes")).to_pandas()
    assert set(notes.track_id) == {"A"}
    assert notes[notes.role != "rhythm"].pitch.min() < 64
