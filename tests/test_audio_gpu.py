"""The GPU path of the transcribe stage: a stage-level resource profile on ``local-cluster`` with a fake
GPU discovery script (no GPU needed). The task must receive GPU address 0 from Spark and, with no
CUDA provider in onnxruntime, run on the CPU and say so (``transcriptions.device``).

``local[*]`` cannot schedule stage-level profiles (shared/spec/environment.md), so this runs its own
``local-cluster[1,2,1024]`` session in a subprocess (SPARK_HOME: a folder of links to the pip-installed
pyspark, so Spark's ``work/`` is not written into site-packages). About 3 minutes on 2 busy cores.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("onnxruntime")
pytestmark = [pytest.mark.spark, pytest.mark.slow]

SCRIPT = r'''
import os, sys, json, hashlib, datetime, pathlib, tempfile
import numpy as np, soundfile as sf, pyarrow as pa
work = pathlib.Path(sys.argv[1]); work.mkdir(parents=True, exist_ok=True)
import pyspark
home = work / "spark_home"
if not home.exists():
    home.mkdir()
    src = pathlib.Path(pyspark.__file__).parent
    for e in src.iterdir():
        (home / e.name).symlink_to(e)
disc = work / "gpus.sh"
disc.write_text('#!/bin/sh\necho \'{"name":"gpu","addresses":["0"]}\'\n'); disc.chmod(0o755)
os.environ["SPARK_HOME"] = str(home)
from musim_spark.config import load_config
conf_yaml = work / "gpu.yaml"
conf_yaml.write_text(f"""spark:
  master: local-cluster[1,2,1024]
  driver_memory: 1g
  executor_memory: 1g
  show_progress: false
  conf:
    spark.ui.enabled: "false"
    spark.executor.resource.gpu.amount: "1"
    spark.executor.resource.gpu.discoveryScript: {disc}
    spark.worker.resource.gpu.amount: "1"
    spark.worker.resource.gpu.discoveryScript: {disc}
    spark.driver.bindAddress: 127.0.0.1
    spark.driver.host: 127.0.0.1
gpu:
  enabled: true
  task_gpu_amount: 0.5
transcribe:
  drums: false
""")
config = load_config(str(conf_yaml))
from musim_spark.io.tables import TABLES, table_uri
from musim_spark.io.write import write_arrow
from musim_spark.io.plan import WritePlan
from musim_spark.runs import new_run_id
from musim_spark.io.read import read_arrow
root = work / "data"; root.mkdir(exist_ok=True)
sr = 22050; t = np.arange(2 * sr) / sr
y = 0.3 * np.sin(2 * np.pi * 523.25 * t) * (t > 0.2) * np.exp(-t)
p = root / "A.wav"; sf.write(str(p), y, sr)
full = {f.name: None for f in TABLES["tracks"].schema}
full.update(track_id="A", kind="Similar", genre="Ballade", song_no="00001", version="Org", root=str(root), wav_path="A.wav",
            wav_sha256=hashlib.sha256(p.read_bytes()).hexdigest(), run_id="r", ingested_at=datetime.datetime(2026, 12, 2, tzinfo=datetime.timezone.utc))
wh = str(work / "wh")
write_arrow(pa.Table.from_pylist([full], schema=TABLES["tracks"].schema),
            WritePlan(table_uri(wh, "tracks"), schema=TABLES["tracks"].schema, mode="overwrite", run_id=new_run_id(), app_id="t"))
from musim_spark.audio.stage import run_transcribe_lazily
s = run_transcribe_lazily(config, warehouse=wh, run_id=new_run_id())
print(s); print(s.details())
print(json.dumps(read_arrow(table_uri(wh, "transcriptions"), columns=["track_id", "device", "notes", "reason"]).to_pylist()))
'''


def test_gpu_profile_assigns_the_task_a_gpu_on_local_cluster(tmp_path):
    script = tmp_path / "run_gpu.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable)
    r = subprocess.run([sys.executable, str(script), str(tmp_path / "work")], capture_output=True, text=True,
                       env=env, timeout=480)
    lines = [l for l in r.stdout.splitlines() if l.startswith("[{")]
    assert lines, r.stdout[-2000:] + r.stderr[-3000:]
    rows = json.loads(lines[-1])
    assert rows == [{"track_id": "A", "device": "cpu (gpu 0 assigned)", "notes": rows[0]["notes"], "reason": None}]
    assert rows[0]["notes"] >= 1
