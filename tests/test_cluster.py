"""`musim run` on a real Spark standalone cluster (a master and two 1-core workers on 127.0.0.1)
gives the same tables as in local mode (issues 11 and 13).

How the package reaches the executors: as on a real cluster, shipped with the job. The test zips
``musim_spark`` and names the zip in ``spark.submit.pyFiles`` (the configuration form of
``spark-submit --py-files``; :func:`musim_spark.spark.spark_conf_pairs` ships it as ``spark.files``
too, as spark-submit does). The workers are started WITHOUT ``PYTHONPATH``, so an executor can only
import this checkout's code through the shipped zip; the third-party packages come from the shared
virtual environment (same machine: ``PYSPARK_PYTHON`` is the driver's interpreter; on a real cluster
the same environment at the same path on every node, or ``--archives venv.tar.gz#environment``).
A probe application checks that the executors' ``musim_spark`` is the zip's.

Run with ``pytest -m cluster`` (a few minutes on a busy 2-core machine: two Spark applications and a
small cluster).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import musim_spark
from musim_spark.config import default_conf_path

from cluster_helpers import StandaloneCluster, jvm_pids_under, package_zip

pytestmark = [pytest.mark.cluster, pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
POP909 = REPO.parent / "shared" / "data" / "pop909"
if not POP909.is_dir():  # a worktree elsewhere: the main checkout's shared data
    POP909 = Path("/work/shared/data/pop909")

# Columns that differ between any two runs by design.
VOLATILE = {"run_id", "ingested_at", "quarantined_at"}
TABLES = {
    "tracks": ["track_id"],
    "notes": ["track_id", "track_index", "start_s", "pitch", "end_s"],
    "labels": ["track_id"],
    "quarantine": ["path", "stage"],
    "features": ["track_id", "source"],
    "matches": ["query_track_id", "source", "rank"],
}


def _env(extra: dict | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(musim_spark.__file__).resolve().parents[1])  # the driver: this checkout
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    env.pop("MUSIM_MASTER", None)
    env.pop("MUSIM_CONF", None)
    env.update(extra or {})
    return env


def _conf(path: Path, *, spark: dict, conf: dict) -> Path:
    """A configuration file: the packaged defaults with these spark settings."""
    import yaml

    path.write_text(yaml.safe_dump({"base": str(default_conf_path()), "spark": {**spark, "conf": conf}}))
    return path


def _read(warehouse: Path, table: str) -> pd.DataFrame:
    from deltalake import DeltaTable

    uri = warehouse / table
    if not (uri / "_delta_log").is_dir():
        return pd.DataFrame()
    df = DeltaTable(str(uri)).to_pyarrow_table().to_pandas()
    df = df.drop(columns=[c for c in df.columns if c in VOLATILE])
    df = df.sort_values(TABLES[table], kind="stable").reset_index(drop=True)
    # lists / arrays / bytes as plain comparable values
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].map(_plain)
    return df


def _plain(v):
    if isinstance(v, np.ndarray):
        return tuple(_plain(x) for x in v.tolist())
    if isinstance(v, (list, tuple)):
        return tuple(_plain(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _plain(x)) for k, x in v.items()))
    return v


def _events(event_dir: Path) -> list[dict]:
    """The one application's event log: a file ``app-...`` or (rolling logs, Spark 4's default) a folder
    ``eventlog_v2_app-...`` of ``events_<n>_app-...`` files."""
    logs = [p for p in event_dir.iterdir() if p.name.startswith(("app-", "eventlog_v2_app-"))]
    assert len(logs) == 1, f"one cluster application expected, event logs: {[p.name for p in logs]}"
    files = [logs[0]] if logs[0].is_file() else sorted(
        (p for p in logs[0].iterdir() if p.name.startswith("events_")), key=lambda p: int(p.name.split("_")[1]))
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]


def test_run_on_a_standalone_cluster_equals_local_mode(tmp_path):
    started = time.monotonic()
    data = tmp_path / "set"
    from musim_spark.sampledata.generate import generate

    generate(data, songs=2, regular=1, seconds=20, seed=5, cover_types=["Tempo_A", "Timbre_A"], audio=False,
             pop909_dir=POP909, processes=1)
    small = {"driver_memory": "1g", "executor_memory": "512m", "shuffle_partitions": 4, "show_progress": False}
    loopback = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    local_conf = _conf(tmp_path / "local.yaml", spark=small, conf=loopback)

    # The local-mode run goes on while the cluster starts (both mostly wait on JVMs).
    cmd = [sys.executable, "-m", "musim_spark.cli", "run", "--root", str(data), "--no-audio"]
    wh_local, wh_cluster = tmp_path / "wh_local", tmp_path / "wh_cluster"
    local = subprocess.Popen([*cmd, "--warehouse", str(wh_local), "--conf", str(local_conf), "--master", "local[2]"],
                             env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    cluster_dir = tmp_path / "cluster"
    cluster_dir.mkdir()
    try:
        with StandaloneCluster(cluster_dir, workers=2, cores=1, memory="1g") as cluster:
            shipped = package_zip(tmp_path / "musim_spark.zip", Path(musim_spark.__file__).resolve().parent)
            events = tmp_path / "events"
            cluster_conf = _conf(tmp_path / "cluster.yaml", spark={**small, "event_log_dir": str(events)}, conf={
                **loopback,
                "spark.submit.pyFiles": str(shipped),
                "spark.executor.memory": "512m",
                "spark.executor.cores": "1",
                "spark.cores.max": "2",
                # schedule nothing before both executors are there (else one may run every task)
                "spark.scheduler.minRegisteredResourcesRatio": "1.0",
                "spark.scheduler.maxRegisteredResourcesWaitingTime": "120s",
                "spark.eventLog.compress": "false",
            })
            out = subprocess.run([*cmd, "--warehouse", str(wh_cluster), "--conf", str(cluster_conf),
                                  "--master", cluster.url],
                                 env=_env(), capture_output=True, text=True, cwd=tmp_path, timeout=900)
            assert out.returncode == 0, f"cluster run failed:\n{out.stdout[-3000:]}\n{out.stderr[-6000:]}"

            # The executors imported the shipped zip, not this checkout's folder nor /work/main's
            # editable install (same shipping as the run: spark_conf_pairs of the same file).
            probe_code = textwrap.dedent(f"""
                from musim_spark.config import load_config
                from musim_spark.spark import build_spark_session
                import dataclasses
                settings = load_config({str(cluster_conf)!r}, master={cluster.url!r}).spark
                settings = dataclasses.replace(settings, event_log_dir=None)  # the run's log only
                s = build_spark_session(settings, app_suffix=":probe")
                def where(_):
                    import musim_spark, os
                    yield (musim_spark.__file__, os.environ.get("PYTHONPATH", ""))
                print("PROBE", s.sparkContext.parallelize(range(2), 2).mapPartitions(where).collect())
                s.stop()
            """)
            probe = subprocess.run([sys.executable, "-c", probe_code], env=_env(), capture_output=True, text=True,
                                   cwd=tmp_path, timeout=300)
            assert probe.returncode == 0, probe.stderr[-4000:]
            line = next(li for li in probe.stdout.splitlines() if li.startswith("PROBE"))
            files = eval(line[len("PROBE "):])  # noqa: S307 - our own repr of a list of str tuples
            assert files and all("musim_spark.zip" in f for f, _ in files), files

            apps = cluster.master_json()
            completed = {a["id"]: a for a in apps.get("completedapps", [])}
        # cluster stopped here
    finally:
        if local.poll() is None:
            local.wait(timeout=900)
    local_out = local.stdout.read()
    assert local.returncode == 0, f"local run failed:\n{local_out[-6000:]}"
    assert not jvm_pids_under(str(cluster_dir)), "cluster JVMs left running"

    # The cluster run's application: two executors on the workers, every task on them.
    ev = _events(events)
    app_id = next(e["App ID"] for e in ev if e["Event"] == "SparkListenerApplicationStart")
    assert app_id in completed, (app_id, list(completed))
    # each worker ran one executor of it, which fetched the shipped zip into its folder
    for i in range(2):
        homes = list((cluster_dir / "spark-home" / "work" / f"worker{i}" / app_id).iterdir())
        assert len(homes) == 1 and (homes[0] / "musim_spark.zip").is_file(), (i, homes)
    executors = {e["Executor ID"] for e in ev if e["Event"] == "SparkListenerExecutorAdded"}
    assert len(executors) == 2, executors
    task_executors = {e["Task Info"]["Executor ID"] for e in ev if e["Event"] == "SparkListenerTaskEnd"}
    assert task_executors == executors, (task_executors, executors)
    n_tasks = sum(e["Event"] == "SparkListenerTaskEnd" for e in ev)

    # Same tables.
    for table in TABLES:
        a, b = _read(wh_local, table), _read(wh_cluster, table)
        if table != "quarantine":
            assert len(a) > 0, f"{table}: empty in local mode"
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, obj=table)
    matches = _read(wh_cluster, "matches")
    print(f"\ncluster app {app_id}: {len(executors)} executors, {n_tasks} tasks on {sorted(task_executors)}; "
          f"{len(matches)} matches equal to local mode; {time.monotonic() - started:.0f} s")
