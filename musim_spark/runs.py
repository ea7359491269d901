"""Run ids: one per pipeline run, sortable, UTC, and mapped to a Delta app-transaction version.

A run id is recorded in every row a run writes and, as an app transaction
(``app_id``, :func:`run_txn_version`), in every commit, so re-running the same run commits
nothing twice (:mod:`musim_spark.io.commit`). The ``runs`` table that lists the runs is written by
:mod:`musim_spark.io.runs_table`.

Pure: the standard library and :mod:`musim_spark.errors` only, no I/O.

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

from .errors import ParameterError

__all__ = ["new_run_id", "run_txn_version", "run_started_at"]

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
