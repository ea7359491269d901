"""Run ids: one per pipeline run, sortable, UTC, and mapped to a Delta app-transaction version.

A run id is recorded in every row a run writes and, as an app transaction
(``app_id``, :func:`run_txn_version`), in every commit, so re-running the same run commits
nothing twice (:mod:`musim_spark.io.delta`).

Format: ``r<YYYYMMDD>T<HHMMSS><mmm>Z-<6 hex>``: the UTC start time to the millisecond plus a
random suffix, so ids sort by start time and two runs started in the same millisecond differ.

Examples
--------
>>> import datetime as dt
>>> rid = new_run_id(dt.datetime(2026, 11, 25, 9, 35, 12, 123456, tzinfo=dt.timezone.utc))
>>> rid[:21]
'r20261125T093512123Z-'
>>> run_txn_version(rid)
1795599312123
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import TYPE_CHECKING

from .errors import ParameterError

if TYPE_CHECKING:  # pragma: no cover
    from .io.delta import CommitResult
    from .spark import StageSummary

__all__ = ["new_run_id", "run_txn_version", "run_started_at", "record_run"]

_RUN_RE = re.compile(
    r"^r(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})T(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})(?P<ms>\d{3})Z-[0-9a-f]{6}$"
)


def new_run_id(now: dt.datetime | None = None) -> str:
    """A new run id for a run starting at ``now`` (default: the current time).

    Parameters
    ----------
    now : datetime or None
        The start time; a naive datetime is taken as UTC.

    Returns
    -------
    str
        e.g. ``r20261125T093512123Z-1a2b3c``.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    now = now.astimezone(dt.timezone.utc)
    return f"r{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def run_started_at(run_id: str) -> dt.datetime:
    """The UTC start time (millisecond precision) encoded in ``run_id``.

    Raises
    ------
    ParameterError
        If ``run_id`` is not of the form :func:`new_run_id` makes.
    """
    m = _RUN_RE.match(run_id) if isinstance(run_id, str) else None
    if not m:
        raise ParameterError(
            f"malformed run id {run_id!r}: expected e.g. 'r20261125T093512123Z-1a2b3c'"
        )
    try:
        return dt.datetime(
            int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"]), int(m["mi"]), int(m["s"]),
            int(m["ms"]) * 1000, tzinfo=dt.timezone.utc,
        )
    except ValueError as exc:
        raise ParameterError(f"malformed run id {run_id!r}: {exc}") from exc


def run_txn_version(run_id: str) -> int:
    """The Delta app-transaction version of ``run_id``: milliseconds since 1970-01-01 UTC.

    Monotone in the run's start time, so a later run always has a higher version and
    ``transaction_version(app_id) >= run_txn_version(run_id)`` means "this run (or a later one)
    already committed".

    Raises
    ------
    ParameterError
        If ``run_id`` is malformed.
    """
    started = run_started_at(run_id)
    return int((started - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(milliseconds=1))


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
) -> "CommitResult":
    """Record one stage of a run in the ``runs`` table (what ``musim status`` lists).

    One row per (run, stage); recording the same stage of the same run again replaces its row.

    Parameters
    ----------
    warehouse : str
        The warehouse directory.
    run_id : str
        The run (:func:`new_run_id`).
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
    """
    import pyarrow as pa

    from .io.delta import write_arrow
    from .io.tables import TABLES, table_uri

    if status not in ("ok", "failed", "skipped"):
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
    return write_arrow(
        table, table_uri(warehouse, "runs"), schema=spec.schema, mode="replace", keys=spec.keys,
        run_id=run_id, app_id=f"musim:runs:{stage}:{status}", metadata={**(metadata or {}), "stage": stage},
    )
