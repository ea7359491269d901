"""One write to one Delta table, described and validated once: :class:`WritePlan`.

Both writers take a plan: :func:`musim_spark.io.write.write_arrow` (rows already on the driver)
and :func:`musim_spark.io.spark_io.write_dataframe` (a Spark DataFrame). What they share lives
here, so the two cannot drift apart: the arguments and their checks (mir_eval's
validate-then-compute: a bad plan is refused before any file is written), the app transaction
(``app_id``, :func:`musim_spark.runs.run_txn_version` of the run id) that makes a rerun of the same
run commit nothing, the commit metadata, the keys a ``replace`` removes, and the names of the
write's files.

Modes
-----
``append``
    Add the rows.
``overwrite``
    Every old file is removed in the same commit that adds the rows.
``replace``
    Rows whose ``keys`` occur in the new rows (or in ``delete_keys``) are removed in the same
    commit that adds the new rows.

Examples
--------
>>> import pyarrow as pa
>>> schema = pa.schema([pa.field("track_id", pa.string(), False), pa.field("run_id", pa.string())])
>>> plan = WritePlan("/w/tracks", schema=schema, mode="replace", keys=("track_id",),
...                  run_id="r20261125T093512123Z-1a2b3c", app_id="musim:ingest:tracks")
>>> plan.txn_version
1795599312123
>>> plan.replace_keys(pa.table({"track_id": ["b", "a", "b"]})).sort_by("track_id").column("track_id").to_pylist()
['a', 'b']
>>> WritePlan("/w/tracks", schema=schema, mode="replace", run_id="r20261125T093512123Z-1a2b3c", app_id="x")
Traceback (most recent call last):
    ...
musim_spark.errors.ParameterError: mode='replace' needs keys=
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any, Literal, Mapping, Sequence

import pyarrow as pa

from ..errors import ParameterError, WriteError
from ..runs import run_txn_version
from .schema import check_arrow_schema

__all__ = ["WritePlan", "Mode", "MODES", "distinct_keys"]

Mode = Literal["append", "overwrite", "replace"]
MODES: tuple[str, ...] = ("append", "overwrite", "replace")


def distinct_keys(table: pa.Table, keys: Sequence[str], schema: pa.Schema) -> pa.Table:
    """The distinct values of the ``keys`` columns of ``table``, cast to ``schema``'s types."""
    sub = table.select(list(keys))
    sub = pa.Table.from_arrays([sub.column(k).cast(schema.field(k).type) for k in keys], names=list(keys))
    return sub.group_by(list(keys)).aggregate([])


@dataclasses.dataclass(frozen=True)
class WritePlan:
    """What one write does: which table, which schema, which mode, for which run.

    Built (and so validated) once, before any file is written; both writers take it.

    Parameters
    ----------
    table_uri : str
        The table directory (:func:`musim_spark.io.tables.table_uri`).
    schema : pa.Schema
        The table's schema (``TABLES[name].schema``). NOT NULL fields are enforced.
    mode : {"append", "overwrite", "replace"}
    run_id : str
        :func:`musim_spark.runs.new_run_id`; recorded as app transaction
        ``(app_id, run_txn_version(run_id))``.
    app_id : str
        Identifies the writer (e.g. ``"musim:ingest:tracks"``): one app id per (stage, table).
    keys : sequence of str
        Key columns for ``replace``.
    delete_keys : pa.Table or None
        Further keys (columns ``keys``) to delete without new rows (e.g. tracks gone from the data
        set); only with ``replace``. Kept as their distinct values, cast to ``schema``'s types.
    partition_by : sequence of str
        Partition columns (must match an existing table's).
    metadata : mapping or None
        Recorded with the commit (stage, config fingerprint, git sha...).

    Attributes
    ----------
    txn_version : int
        The app-transaction version of ``run_id``.

    Raises
    ------
    ParameterError
        Bad mode, keys, partition columns, app id or run id.
    WriteError
        ``delete_keys`` without the key columns, or with other types.
    """

    table_uri: str
    schema: pa.Schema
    mode: Mode
    run_id: str
    app_id: str
    keys: Sequence[str] = ()
    delete_keys: pa.Table | None = None
    partition_by: Sequence[str] = ()
    metadata: Mapping[str, Any] | None = None
    txn_version: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        keys, partition_by = tuple(self.keys), tuple(self.partition_by)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "partition_by", partition_by)
        if self.mode not in MODES:
            raise ParameterError(f"mode must be append, overwrite or replace, got {self.mode!r}")
        if self.mode == "replace" and not keys:
            raise ParameterError("mode='replace' needs keys=")
        if self.mode != "replace" and self.delete_keys is not None:
            raise ParameterError("delete_keys= is only meaningful with mode='replace'")
        missing = [c for c in (*keys, *partition_by) if c not in self.schema.names]
        if missing:
            raise ParameterError(f"keys/partition_by column(s) {missing} not in the schema")
        if not self.app_id:
            raise ParameterError("app_id must be a non-empty string")
        object.__setattr__(self, "txn_version", run_txn_version(self.run_id))
        if self.delete_keys is not None:
            absent = [k for k in keys if k not in self.delete_keys.column_names]
            if absent:
                raise WriteError(f"{self.table_uri}: delete_keys lacks key column(s) {absent}")
            check_arrow_schema(self.delete_keys.select(list(keys)).schema,
                               pa.schema([self.schema.field(k) for k in keys]), table_uri=self.table_uri)
            object.__setattr__(self, "delete_keys", distinct_keys(self.delete_keys, keys, self.schema))

    @property
    def commit_metadata(self) -> dict[str, Any]:
        """The commit's custom metadata: ``userMetadata`` (JSON text, what ``DESCRIBE HISTORY``
        shows) and ``musim`` (the same as an object): the caller's ``metadata`` plus run_id,
        app_id, txn_version and mode."""
        meta = {str(k): str(v) for k, v in dict(self.metadata or {}).items()}
        meta.update(run_id=self.run_id, app_id=self.app_id, txn_version=str(self.txn_version), mode=self.mode)
        return {"userMetadata": json.dumps(meta, sort_keys=True, ensure_ascii=False), "musim": meta}

    def file_prefix(self) -> str:
        """A new prefix for the names of one write attempt's files: ``part-<run id>-<8 hex>-``.

        Fresh on every call, so two attempts (even of the same plan) never share a file name,
        and the files of one attempt can be found and deleted by their prefix.
        """
        return f"part-{self.run_id}-{uuid.uuid4().hex[:8]}-"

    def replace_keys(self, rows: pa.Table) -> pa.Table:
        """The distinct keys a ``replace`` removes: those of ``rows`` plus ``delete_keys``.

        Parameters
        ----------
        rows : pa.Table
            The new rows (at least the ``keys`` columns).
        """
        found = distinct_keys(rows, self.keys, self.schema)
        if self.delete_keys is None:
            return found
        return pa.concat_tables([found, self.delete_keys]).group_by(list(self.keys)).aggregate([])
