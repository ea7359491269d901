"""Shared pytest fixtures.

``spark``: one small local Spark session for the whole test run (``local[2]``, UI off, 2 shuffle
partitions), built through :func:`musim_spark.spark.build_spark_session` so the tests use the
same settings code as the jobs. Tests that use it are marked ``@pytest.mark.spark``.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    """A local[2] SparkSession shared by every Spark test of the run (stopped at the end); a failed
    task is retried up to 3 times (``local[2,3]``), as on a cluster, so the fault tests can kill workers."""
    from musim_spark.config import SparkSettings
    from musim_spark.spark import build_spark_session

    settings = SparkSettings(
        master="local[2,3]",
        app_name="musim-spark-tests",
        driver_memory="1g",
        executor_memory="1g",
        shuffle_partitions=2,
        arrow_batch_size=1000,
        show_progress=False,
        conf={
            "spark.ui.enabled": "false",
            "spark.python.worker.reuse": "true",
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
        },
    )
    session = build_spark_session(settings, app_suffix=":tests")
    yield session
    session.stop()
