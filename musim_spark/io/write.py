"""Writing Arrow rows that are already on the driver to a Delta table, in one delta-rs commit.

For small tables (quarantine rows, the ``runs`` table, the empty writes that only delete keys).
The same plan (:class:`~musim_spark.io.plan.WritePlan`), files (:mod:`musim_spark.io.parquet`) and
commit (:mod:`musim_spark.io.commit`) as a Spark DataFrame written without the Delta jars
(:func:`musim_spark.io.spark_io.write_dataframe`), so the two give the same table.
"""

from __future__ import annotations

import time

import pyarrow as pa

from .commit import CommitResult, commit_write, skipped_result
from .parquet import delete_files, write_files
from .plan import WritePlan
from .read import open_table
from .schema import check_arrow_schema

__all__ = ["write_arrow"]


def write_arrow(table: pa.Table, plan: WritePlan) -> CommitResult:
    """Write an Arrow table from the driver; one commit.

    Parameters
    ----------
    table : pa.Table
        The rows; its columns must be exactly ``plan.schema``'s (any order), with the same types.
    plan : WritePlan
        Where and how (mode, keys, run id, app id, metadata).

    Returns
    -------
    CommitResult

    Raises
    ------
    WriteError
        Schema mismatch (names the columns), nulls in NOT NULL columns, failed commit.
    """
    started = time.monotonic()
    check_arrow_schema(table.schema, plan.schema, table_uri=plan.table_uri)
    done = skipped_result(plan, open_table(plan.table_uri), started)
    if done is not None:
        return done
    prefix = plan.file_prefix()
    key_table = plan.replace_keys(table) if plan.mode == "replace" else None
    try:
        records = write_files(
            [table], table_uri=plan.table_uri, schema=plan.schema, partition_by=plan.partition_by,
            prefix=prefix + "d-",
        )
    except BaseException:
        delete_files(plan.table_uri, prefix)
        raise
    return commit_write(plan, records, key_table=key_table, prefix=prefix, started=started)
