"""The Spark session, built only from :class:`musim_spark.config.SparkSettings`, and stage summaries.

The same code runs under ``musim`` (``local[*]`` by default, ``--master`` / ``MUSIM_MASTER``
overrides) and under ``spark-submit`` (where the submit's own ``--master`` wins, because
``getOrCreate`` reuses the session it set up).

Spark module: pyspark is imported inside :func:`build_spark_session` (and the session type under
``TYPE_CHECKING``) only, so this module can be imported (for :class:`StageSummary`) where pyspark is
not wanted. It is listed as a Spark module in ``tests/test_purity.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from typing import TYPE_CHECKING

from .config import SparkSettings

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

__all__ = ["build_spark_session", "spark_conf_pairs", "delta_jars_available", "StageSummary", "LazySession",
           "progress_lines", "report_progress"]

_DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
_DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def spark_conf_pairs(settings: SparkSettings, *, app_suffix: str = "") -> dict[str, str]:
    """Every ``spark.*`` setting :func:`build_spark_session` applies, as strings.

    Pure (no pyspark): tests and ``--help`` can show what a configuration means.

    Parameters
    ----------
    settings : SparkSettings
    app_suffix : str
        Appended to the application name (e.g. ``":ingest"``) so the history server tells stages apart.

    Returns
    -------
    dict of str to str
        Explicit entries of ``settings.conf`` win over the ones derived from the other fields.
        ``spark.submit.pyFiles`` (the package as a zip or wheel for the executors) is added to
        ``spark.files`` as well, as ``spark-submit --py-files`` does.

    Examples
    --------
    >>> pairs = spark_conf_pairs(SparkSettings(conf={"spark.submit.pyFiles": "/tmp/musim_spark.zip"}))
    >>> pairs["spark.files"]
    '/tmp/musim_spark.zip'
    """
    pairs = {
        "spark.app.name": f"{settings.app_name}{app_suffix}",
        "spark.driver.memory": str(settings.driver_memory),
        "spark.executor.memory": str(settings.executor_memory),
        "spark.sql.shuffle.partitions": str(int(settings.shuffle_partitions)),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(int(settings.arrow_batch_size)),
        # Spark writes INT96 timestamps by default; Delta readers expect INT64 micros.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # Rows carry UTC timestamps; a machine-local zone would shift them on display and collect.
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.showConsoleProgress": "true" if settings.show_progress else "false",
        "spark.eventLog.enabled": "true" if settings.event_log_dir else "false",
    }
    if settings.event_log_dir:
        pairs["spark.eventLog.dir"] = str(settings.event_log_dir)
    extra = {str(k): str(v) for k, v in dict(settings.conf or {}).items()}
    # The Delta session extension only where the jars are asked for: without them the catalog
    # setting breaks every table lookup.
    jars = extra.get("spark.jars.packages", "") + "," + extra.get("spark.jars", "")
    if "delta" in jars.lower():
        pairs["spark.sql.extensions"] = _DELTA_EXTENSION
        pairs["spark.sql.catalog.spark_catalog"] = _DELTA_CATALOG
    if extra.get("spark.submit.pyFiles"):
        # What `spark-submit --py-files` does: the files also travel to the executors as spark.files.
        # PySpark puts spark.submit.pyFiles on the Python workers' path but only spark.files ships
        # them, so without this a session built here (`musim run --master spark://...`) would name a
        # zip on the executors' path that never reached them.
        files = [f for f in extra.get("spark.files", "").split(",") if f]
        files += [f for f in extra["spark.submit.pyFiles"].split(",") if f and f not in files]
        extra["spark.files"] = ",".join(files)
    pairs.update(extra)
    return pairs


def build_spark_session(settings: SparkSettings, *, app_suffix: str = "") -> "SparkSession":
    """Start (or join) the Spark session described by ``settings``.

    Sets ``PYSPARK_PYTHON`` / ``PYSPARK_DRIVER_PYTHON`` to this interpreter when unset, so the
    Python workers import the same environment's packages.

    Parameters
    ----------
    settings : SparkSettings
        ``config.spark`` (master, memory, shuffle partitions, Arrow batch size, event log,
        progress bar, extra ``conf``).
    app_suffix : str
        Appended to the application name.

    Returns
    -------
    pyspark.sql.SparkSession
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    pairs = spark_conf_pairs(settings, app_suffix=app_suffix)
    if settings.event_log_dir and "://" not in str(settings.event_log_dir):
        # Spark refuses to start when the event log directory is missing.
        os.makedirs(settings.event_log_dir, exist_ok=True)
    builder = SparkSession.builder.master(settings.master).appName(pairs.pop("spark.app.name"))
    for key, value in pairs.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


class LazySession:
    """A Spark session started on first use: ``session()`` returns it, ``stop()`` ends it (if started).

    Stages take it so that a run with nothing to do never pays the JVM start, and ``musim run``
    shares one session across its stages. ``with LazySession(...) as s:`` stops it on exit.

    Parameters
    ----------
    settings : SparkSettings
    app_suffix : str

    Examples
    --------
    >>> from musim_spark.config import SparkSettings
    >>> with LazySession(SparkSettings(), app_suffix=":test") as s:
    ...     s.started
    False
    """

    def __init__(self, settings: SparkSettings, *, app_suffix: str = ""):
        self.settings = settings
        self.app_suffix = app_suffix
        self._spark = None

    @property
    def started(self) -> bool:
        return self._spark is not None

    def __call__(self) -> "SparkSession":
        if self._spark is None:
            self._spark = build_spark_session(self.settings, app_suffix=self.app_suffix)
        return self._spark

    def stop(self) -> None:
        if self._spark is not None:
            self._spark.stop()
            self._spark = None

    def __enter__(self) -> "LazySession":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def progress_lines(name: str, done: int, total: int, elapsed_s: float, *, units: str = "tasks") -> str:
    """One progress line: what, how far, how fast, how long still.

    Examples
    --------
    >>> progress_lines("similarity: exact scoring", 30, 120, 60.0)
    'similarity: exact scoring: 30/120 tasks (25 %), 0.5 tasks/s, about 3 min left'
    >>> progress_lines("similarity: features", 0, 8, 2.0)
    'similarity: features: 0/8 tasks (0 %), starting'
    """
    share = 100.0 * done / total if total else 100.0
    head = f"{name}: {done}/{total} {units} ({share:.0f} %)"
    if done <= 0 or elapsed_s <= 0:
        return f"{head}, starting"
    rate = done / elapsed_s
    left = (total - done) / rate
    eta = f"{left / 60:.0f} min" if left >= 90 else f"{left:.0f} s"
    return f"{head}, {rate:.2g} {units}/s, about {eta} left"


@contextlib.contextmanager
def report_progress(spark: "SparkSession", name: str, say, *, every_s: float = 30.0):
    """While the block runs, call ``say(line)`` every ``every_s`` seconds with the progress of the
    Spark jobs it starts (a job group: tasks done of all their stages' tasks so far, rate, time
    left), since Spark's console bar alone does not say which of our phases is running, nor how
    long it will take. The total grows as later stages of the phase are planned.

    ``say`` None: does nothing. The poller is a daemon thread reading ``statusTracker()``; it
    never touches the job.
    """
    if say is None:
        yield
        return
    import threading

    sc = spark.sparkContext
    tracker = sc.statusTracker()
    group = f"musim-{name}-{time.time_ns()}"
    sc.setJobGroup(group, name)  # the jobs this block starts (this thread's) carry the group
    stop = threading.Event()
    started = time.monotonic()

    def poll():
        while not stop.wait(every_s):
            stages = set()
            for job in tracker.getJobIdsForGroup(group):
                info = tracker.getJobInfo(job)
                stages.update(info.stageIds if info is not None else ())
            infos = [i for i in (tracker.getStageInfo(s) for s in stages) if i is not None]
            if infos:
                say(progress_lines(name, sum(i.numCompletedTasks for i in infos), sum(i.numTasks for i in infos),
                                   time.monotonic() - started))

    thread = threading.Thread(target=poll, name=f"progress:{name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        sc.setLocalProperty("spark.jobGroup.id", None)


def delta_jars_available(spark: "SparkSession") -> bool:
    """Whether ``io.delta.sql.DeltaSparkSessionExtension`` loads in the session's JVM.

    True on a cluster that got delta-spark through ``spark.jars.packages`` / ``spark.jars``;
    False here (no Maven), where :mod:`musim_spark.io.spark_io` commits with delta-rs instead.
    """
    jvm = spark.sparkContext._jvm
    try:
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        jvm.java.lang.Class.forName(_DELTA_EXTENSION, False, loader)
        return True
    except Exception:  # py4j wraps ClassNotFoundException; any failure means "not usable"
        return False


@dataclasses.dataclass(frozen=True)
class StageSummary:
    """The one line each stage prints when it ends.

    Attributes
    ----------
    stage : str
    rows_in, rows_out, quarantined : int
        Inputs seen, rows written, inputs rejected.
    seconds : float
        Wall-clock time of the stage (s).

    Examples
    --------
    >>> print(StageSummary("ingest", rows_in=120, rows_out=117, quarantined=3, seconds=12.34))
    ingest: rows in 120, rows out 117, quarantined 3, 12.3 s
    """

    stage: str
    rows_in: int
    rows_out: int
    quarantined: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.stage}: rows in {self.rows_in}, rows out {self.rows_out}, "
            f"quarantined {self.quarantined}, {self.seconds:.1f} s"
        )

    def print(self, file=None) -> None:
        """Print the line (to stdout unless ``file`` is given), flushed so it shows in job logs."""
        print(str(self), file=file or sys.stdout, flush=True)
