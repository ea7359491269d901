"""Does a write match its table? Column names, types and NOT NULL, checked before any commit.

Types are compared by meaning, not by Arrow's exact type: ``string``/``large_string``/dictionary
of string are one type, and so are ``list``/``large_list``; a timestamp with a zone
(``timestamp``) and one without (``timestamp_ntz``) are not. Every error names the columns.

Pure pyarrow (the Spark DataFrame check, which compares Spark type names, is in
:mod:`musim_spark.io.spark_io`).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import pyarrow as pa

from ..errors import WriteError

__all__ = ["canonical_type", "schema_differences", "check_arrow_schema", "check_table_schema", "check_not_null"]


def canonical_type(t: pa.DataType) -> str:
    """A type name that ignores differences that do not change the stored data."""
    if pa.types.is_dictionary(t):
        return canonical_type(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _: False)(t):
        return "string"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_timestamp(t):
        return "timestamp" if t.tz else "timestamp_ntz"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{canonical_type(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{f.name}:{canonical_type(f.type)}" for f in t) + ">"
    if pa.types.is_map(t):
        return f"map<{canonical_type(t.key_type)},{canonical_type(t.item_type)}>"
    return str(t)


def schema_differences(got: Mapping[str, str], want: Mapping[str, str]) -> list[str]:
    """What is wrong with ``got`` (column name -> type name) against ``want``; empty when they match.

    Examples
    --------
    >>> schema_differences({"a": "int32", "c": "string"}, {"a": "int64", "b": "string"})
    ["missing column(s) ['b']", "unexpected column(s) ['c']", 'wrong type: a (got int32, table has int64)']
    """
    problems = []
    missing = [c for c in want if c not in got]
    extra = [c for c in got if c not in want]
    wrong = [f"{c} (got {got[c]}, table has {want[c]})" for c in want if c in got and got[c] != want[c]]
    if missing:
        problems.append(f"missing column(s) {missing}")
    if extra:
        problems.append(f"unexpected column(s) {extra}")
    if wrong:
        problems.append("wrong type: " + ", ".join(wrong))
    return problems


def check_arrow_schema(got: pa.Schema, want: pa.Schema, *, table_uri: str) -> None:
    """Refuse Arrow rows whose columns are not exactly ``want``'s (any order, same types).

    Raises
    ------
    WriteError
        Naming the missing, unexpected and mistyped columns.
    """
    problems = schema_differences(
        {f.name: canonical_type(f.type) for f in got}, {f.name: canonical_type(f.type) for f in want}
    )
    if problems:
        raise WriteError(f"{table_uri}: rows do not match the table schema: " + "; ".join(problems))


def check_table_schema(table, want: pa.Schema, *, table_uri: str) -> None:
    """Refuse to write ``want`` into an existing ``deltalake.DeltaTable`` of another schema.

    Raises
    ------
    WriteError
        Naming the differing columns (the table must be migrated first).
    """
    have = pa.schema(table.schema().to_arrow())
    problems = schema_differences(
        {f.name: canonical_type(f.type) for f in want}, {f.name: canonical_type(f.type) for f in have}
    )
    if problems:
        raise WriteError(
            f"{table_uri}: the existing table's schema differs from the one written "
            f"(migrate the table first): " + "; ".join(problems)
        )


def check_not_null(records: Sequence[Mapping[str, Any]], schema: pa.Schema, *, table_uri: str) -> None:
    """Refuse nulls in NOT NULL columns, using the files' nullCount statistics."""
    required = [f.name for f in schema if not f.nullable]
    nulls: dict[str, int] = {}
    for rec in records:
        counts = json.loads(rec["stats"]).get("nullCount", {})
        pvals = json.loads(rec["partition_values"])
        for col in required:
            n = counts.get(col, 0) if col not in pvals else (rec["num_records"] if pvals[col] is None else 0)
            if n:
                nulls[col] = nulls.get(col, 0) + n
    if nulls:
        raise WriteError(
            f"{table_uri}: null values in NOT NULL column(s): "
            + ", ".join(f"{c} ({n} rows)" for c, n in sorted(nulls.items()))
        )

