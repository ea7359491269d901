"""The ``runs`` table: one row per (run, stage), what ``musim status`` lists as the last runs.

Run ids themselves (:func:`musim_spark.runs.new_run_id`) are pure and live in
:mod:`musim_spark.runs`; writing them down is Delta I/O, so it lives here.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyarrow as pa

from ..errors import ParameterError
from .commit import CommitResult
from .plan import WritePlan
from .tables import TABLES, table_uri
from .write import write_arrow

if TYPE_CHECKING:  # pragma: no cover
    from ..spark import StageSummary

__all__ = ["record_run", "RUN_STATUSES"]

#: What a recorded stage ended as.
RUN_STATUSES = ("ok", "failed", "skipped")


def record_run(
    warehouse: str,
    *,
    run_id: str,
    summary: "StageSummary | None",
    stage: str | None = None,
    status: str = "ok",
    started_at: dt.datetime | None = None,
    finished_at: dt.datetime | None = None,
    conf_fingerprint: str | None = None,
    metadata: dict | None = None,
) -> CommitResult:
    """Record one stage of a run in the ``runs`` table (what ``musim status`` lists).

    One row per (run, stage); recording the same stage of the same run again replaces its row.

    Parameters
    ----------
    warehouse : str
        The warehouse directory.
    run_id : str
        The run (:func:`musim_spark.runs.new_run_id`).
    summary : StageSummary or None
        The stage's name, row counts and duration (s). None for a stage that failed before it
        had any: its counts are recorded as unknown (null) and ``stage`` names it.
    stage : str or None
        The stage's name when there is no summary.
    status : {"ok", "failed", "skipped"}
    started_at : datetime or None
        Default: ``finished_at`` minus the summary's duration (``finished_at`` without one).
    finished_at : datetime or None
        Default: now (UTC).
    conf_fingerprint : str or None
        ``Config.fingerprint``.
    metadata : dict or None
        Extra commit metadata (the stage's name is always in it).

    Returns
    -------
    CommitResult
        ``skipped`` when this run already recorded this stage with this status.

    Raises
    ------
    ParameterError
        An unknown status, or neither a summary nor a stage name.
    """
    if status not in RUN_STATUSES:
        raise ParameterError(f"run status must be ok, failed or skipped, got {status!r}")
    stage = summary.stage if summary is not None else stage
    if not stage:
        raise ParameterError("record_run needs a summary or a stage name")
    finished = (finished_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    if started_at is None:
        started_at = finished - dt.timedelta(seconds=float(summary.seconds)) if summary is not None else finished
    spec = TABLES["runs"]

    def count(name):
        return None if summary is None else int(getattr(summary, name))

    row = {
        "run_id": run_id, "stage": stage, "started_at": started_at.astimezone(dt.timezone.utc),
        "finished_at": finished, "rows_in": count("rows_in"), "rows_out": count("rows_out"),
        "quarantined": count("quarantined"), "status": status, "conf_fingerprint": conf_fingerprint,
    }
    table = pa.Table.from_pylist([row], schema=spec.schema)
    # The app id names the stage and status: each stage of a run commits its row once; a rerun of the
    # same run id (e.g. a retried job) is skipped by the app transaction, and a failed run rerun as ok
    # replaces its row.
    plan = WritePlan(
        table_uri(warehouse, "runs"), schema=spec.schema, mode="replace", keys=spec.keys, run_id=run_id,
        app_id=f"musim:runs:{stage}:{status}", metadata={**(metadata or {}), "stage": stage},
    )
    return write_arrow(table, plan)
