"""Airflow DAG: the musim-spark nightly run (copy into your DAGs folder; paths are examples).

One task calling the same command as the cron line in ``musim.cron``: ``musim run`` is incremental
and safe to rerun (every commit carries the run id; the warehouse lock refuses a concurrent run), so
Airflow's retries are harmless: a retry after a partial failure does only the work the failed
attempt left (each stage plans from what the warehouse holds).
"""

from __future__ import annotations

import datetime as dt

from airflow import DAG
from airflow.operators.bash import BashOperator

MUSIM_HOME = "/opt/musim-spark"
COMMAND = (f"cd {MUSIM_HOME} && .venv/bin/musim run --root /data/music-set --warehouse /lake/musim "
           "--conf conf/cluster.yaml --wait-lock 3600")

with DAG(
    dag_id="musim_nightly",
    description="musim-spark: ingest and sweep new tracks every night",
    schedule="30 2 * * *",
    start_date=dt.datetime(2026, 12, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": dt.timedelta(minutes=15)},
    tags=["musim-spark"],
) as dag:
    BashOperator(task_id="musim_run", bash_command=COMMAND, execution_timeout=dt.timedelta(hours=6))
