"""Reading Delta tables and their logs with deltalake (delta-rs) and pyarrow: no Spark.

Everything here reads only what the Delta log lists, so files of failed or replaced writes that
are still on disk are never seen. Row counts come from the log's ``numRecords`` statistics (no
data file is read), which is why ``musim status`` answers in about a second.

Examples
--------
>>> table_version("/nonexistent/table") is None
True
"""

from __future__ import annotations

from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import WriteError, one_line
from ..runs import run_txn_version

__all__ = [
    "read_arrow",
    "table_exists",
    "table_version",
    "table_row_count",
    "history",
    "run_committed",
    "open_table",
    "already_committed",
    "snapshot_row_count",
]


def open_table(table_uri: str, version: int | None = None):
    """The ``deltalake.DeltaTable`` at ``table_uri`` (as of ``version``), or None if there is none.

    Raises
    ------
    WriteError
        If a table is there but the version cannot be loaded.
    """
    from deltalake import DeltaTable

    try:
        if not DeltaTable.is_deltatable(table_uri):
            return None
        return DeltaTable(table_uri, version=version)
    except Exception as exc:  # deltalake raises several types; all mean "cannot load"
        # one line: deltalake appends a Rust backtrace to some messages
        what = "the table's log" if version is None else f"version {version}"
        raise WriteError(f"{table_uri}: cannot load {what}: {one_line(exc)}") from exc


def already_committed(table, app_id: str, txn_version: int) -> bool:
    """Whether ``table`` (a ``DeltaTable`` or None) records app transaction ``app_id`` at >= ``txn_version``."""
    if table is None:
        return False
    done = table.transaction_version(app_id)
    return done is not None and done >= txn_version


def snapshot_row_count(table) -> int:
    """Rows of a loaded ``DeltaTable`` snapshot, summed from its files' ``numRecords``."""
    actions = pa.table(table.get_add_actions(flatten=True))
    if actions.num_rows == 0:
        return 0
    return int(pc.sum(actions.column("num_records")).as_py() or 0)


def read_arrow(
    table_uri: str,
    *,
    version: int | None = None,
    columns: Sequence[str] | None = None,
    filter: Any = None,
) -> pa.Table:
    """Read a table (or one of its old versions) into Arrow.

    Parameters
    ----------
    version : int or None
        Time travel: the table as of this version.
    columns : sequence of str or None
    filter : DNF filter list or pyarrow.compute.Expression
        Passed to ``DeltaTable.to_pyarrow_table(filters=...)``; prunes files by statistics.

    Raises
    ------
    WriteError
        If the table does not exist or the version cannot be loaded.
    """
    table = open_table(table_uri, version)
    if table is None:
        raise WriteError(f"{table_uri}: no Delta table there")
    return table.to_pyarrow_table(columns=list(columns) if columns else None, filters=filter,
                                  filesystem=local_filesystem(table_uri))


def local_filesystem(table_uri: str):
    """pyarrow's own file system rooted at a local table, or None for a remote one (s3://, ...).

    Reading through deltalake's default file system (a Python handler over delta-rs) leaves a
    thread behind that aborts the interpreter at exit ("terminate called without an active
    exception", exit status 134; delta-io/delta-rs#2184, reproduced with deltalake 1.6.6 and
    pyarrow 26): every command that read a table then failed for a scheduler although its work was
    done. The table's files are relative to its root, so a sub-tree of the local file system
    reads the same fragments.
    """
    import os
    from urllib.parse import unquote, urlparse

    from pyarrow import fs as pa_fs

    uri = os.fspath(table_uri)
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        path = unquote(parsed.path)
    elif parsed.scheme == "" or len(parsed.scheme) == 1:   # a plain path (or a Windows drive letter)
        path = uri
    else:
        return None
    return pa_fs.SubTreeFileSystem(os.path.abspath(path), pa_fs.LocalFileSystem())


def table_exists(table_uri: str) -> bool:
    """Whether a Delta table exists at ``table_uri``."""
    from deltalake import DeltaTable

    return DeltaTable.is_deltatable(table_uri)


def table_version(table_uri: str) -> int | None:
    """The table's current version, or None if there is no table."""
    table = open_table(table_uri)
    return None if table is None else table.version()


def table_row_count(table_uri: str, *, version: int | None = None) -> int | None:
    """Rows in the table, from the log's ``numRecords`` statistics (no data file is read)."""
    table = open_table(table_uri, version)
    return None if table is None else snapshot_row_count(table)


def history(table_uri: str, limit: int | None = None) -> list[dict]:
    """The table's commits, newest first (delta-rs ``history``: version, timestamp, operation,
    userMetadata, musim...). Empty when there is no table."""
    table = open_table(table_uri)
    return [] if table is None else table.history(limit)


def run_committed(table_uri: str, *, app_id: str, run_id: str) -> bool:
    """Whether run ``run_id`` (or a later run) has committed to the table as ``app_id``."""
    return already_committed(open_table(table_uri), app_id, run_txn_version(run_id))
