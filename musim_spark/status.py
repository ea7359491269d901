"""``musim status``: tables, versions, row counts, last runs, quarantine summary.

Reads only the Delta logs (row counts come from the ``numRecords`` statistics of each file, not a
scan) plus the small ``runs`` and ``quarantine`` tables, with deltalake and pyarrow: no Spark
session, so it answers in about a second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any

from .errors import WriteError
from .io.read import open_table, read_arrow, snapshot_row_count
from .io.tables import TABLES, table_uri

__all__ = ["add_arguments", "run", "collect_status", "format_status"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``musim status`` (besides the common ``--conf``, ``--warehouse``, ``--master``)."""
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--runs", type=int, default=10, metavar="N", help="how many recent runs to list (default 10)")


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds")


def _last_run_id(commit: dict) -> str | None:
    meta = commit.get("musim")
    if isinstance(meta, dict) and meta.get("run_id"):
        return str(meta["run_id"])
    user = commit.get("userMetadata")
    if isinstance(user, str):
        try:
            return json.loads(user).get("run_id")
        except (ValueError, AttributeError):
            return None
    return None


def _table_status(name: str, uri: str) -> dict[str, Any]:
    try:
        table = open_table(uri)
    except WriteError as exc:
        # one broken table must not hide the others: reported in its row and by the exit status
        return {"name": name, "uri": uri, "exists": True, "error": str(exc)}
    if table is None:
        return {"name": name, "uri": uri, "exists": False}
    last = table.history(1)
    commit = last[0] if last else {}
    return {
        "name": name,
        "uri": uri,
        "exists": True,
        "version": table.version(),
        "rows": snapshot_row_count(table),
        "files": len(table.file_uris()),
        "last_commit": _iso(commit.get("timestamp")),
        "last_operation": commit.get("operation"),
        "last_run_id": _last_run_id(commit),
    }


def collect_status(warehouse: str, *, runs_limit: int = 10) -> dict[str, Any]:
    """Everything ``musim status`` shows, as plain JSON-ready data.

    Parameters
    ----------
    warehouse : str
        The warehouse directory (``--warehouse``).
    runs_limit : int
        How many of the most recent rows of ``runs`` to return.

    Returns
    -------
    dict
        ``warehouse``; ``tables``: one entry per table of :data:`~musim_spark.io.tables.TABLES`
        (``exists``, ``version``, ``rows``, ``files``, ``last_commit`` (ISO UTC),
        ``last_operation``, ``last_run_id``; or ``error``, one line, for a table whose log cannot be
        read); ``runs``: the latest rows of ``runs``, newest first;
        ``quarantine``: ``[{stage, reason, count}]``, largest first, and ``quarantine_total``.
    """
    out: dict[str, Any] = {"warehouse": os.path.abspath(warehouse) if "://" not in warehouse else warehouse}
    out["tables"] = [_table_status(name, table_uri(warehouse, name)) for name in TABLES]
    exists = {t["name"]: t["exists"] and "error" not in t for t in out["tables"]}

    runs: list[dict] = []
    if exists.get("runs"):
        table = read_arrow(table_uri(warehouse, "runs"))
        if table.num_rows:
            table = table.sort_by([("started_at", "descending"), ("stage", "ascending")]).slice(0, runs_limit)
            for row in table.to_pylist():
                runs.append({k: (v.isoformat(timespec="seconds") if isinstance(v, dt.datetime) else v)
                             for k, v in row.items()})
    out["runs"] = runs

    quarantine: list[dict] = []
    total = 0
    if exists.get("quarantine"):
        table = read_arrow(table_uri(warehouse, "quarantine"), columns=["stage", "reason"])
        total = table.num_rows
        if total:
            counts = table.group_by(["stage", "reason"]).aggregate([("reason", "count")])
            quarantine = sorted(
                ({"stage": r["stage"], "reason": r["reason"], "count": int(r["reason_count"])}
                 for r in counts.to_pylist()),
                key=lambda r: (-r["count"], r["stage"], r["reason"]),
            )
    out["quarantine"] = quarantine
    out["quarantine_total"] = total
    return out


def format_status(status: dict[str, Any]) -> str:
    """The text form of :func:`collect_status`'s result."""
    lines = [f"warehouse: {status['warehouse']}", ""]
    lines.append(f"{'table':<18} {'version':>7} {'rows':>10} {'files':>6}  {'last commit (UTC)':<25} last run")
    for t in status["tables"]:
        if not t["exists"]:
            lines.append(f"{t['name']:<18} {'-':>7} {'-':>10} {'-':>6}  (not written yet)")
            continue
        if "error" in t:
            lines.append(f"{t['name']:<18} {'?':>7} {'?':>10} {'?':>6}  (unreadable, see the error)")
            continue
        lines.append(
            f"{t['name']:<18} {t['version']:>7} {t['rows']:>10} {t['files']:>6}  "
            f"{t['last_commit'] or '-':<25} {t['last_run_id'] or '-'}"
        )
    lines.append("")
    if status["runs"]:
        lines.append("last runs (newest first):")
        for r in status["runs"]:
            seconds = ""
            if r.get("started_at") and r.get("finished_at"):
                took = dt.datetime.fromisoformat(r["finished_at"]) - dt.datetime.fromisoformat(r["started_at"])
                seconds = f", {took.total_seconds():.0f} s"
            lines.append(
                f"  {r['run_id']}  {r['stage']:<12} {r['status']:<8} rows in {r.get('rows_in')}, "
                f"rows out {r.get('rows_out')}, quarantined {r.get('quarantined')}{seconds}"
            )
    else:
        lines.append("last runs: none recorded")
    lines.append("")
    if status["quarantine_total"]:
        lines.append(f"quarantine: {status['quarantine_total']} rows (every rejection of every run)")
        for q in status["quarantine"]:
            lines.append(f"  {q['stage']:<12} {q['reason']:<26} {q['count']:>8}")
    else:
        lines.append("quarantine: empty")
    return "\n".join(lines)


def run(args: argparse.Namespace, config) -> int:
    """``musim status``: print the warehouse summary (text, or JSON with ``--json``).

    Exit 0; 1 when a table's log cannot be read (each such table one line on stderr, the rest of
    the summary still printed).
    """
    status = collect_status(args.warehouse, runs_limit=getattr(args, "runs", 10))
    if getattr(args, "json", False):
        json.dump(status, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(format_status(status))
    errors = [t["error"] for t in status["tables"] if "error" in t]
    for message in errors:
        print(f"musim status: error: {message}", file=sys.stderr)
    return 1 if errors else 0
