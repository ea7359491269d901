"""Reading the sweep's results back: the ``matches`` rows of one source, as Python rows (no Spark).

``musim export`` and ``musim evaluate`` both start here, so both refuse a warehouse the sweep has
not run on with the same one-line reason (a :class:`~musim_spark.errors.MusimError` saying to run
``musim similarity`` first: exit 1).

Examples
--------
>>> read_matches("/nonexistent/warehouse")
Traceback (most recent call last):
    ...
musim_spark.errors.MusimError: /nonexistent/warehouse/matches: no matches table: run `musim similarity` first
"""

from __future__ import annotations

import os

from ..errors import MusimError
from ..io.read import read_arrow, table_exists
from ..io.tables import table_uri

__all__ = ["SOURCES", "read_matches"]

#: The note sources a sweep scores (``musim similarity --source``).
SOURCES = ("midi", "audio")


def read_matches(warehouse: str | os.PathLike, source: str = "midi") -> list[dict]:
    """Every ``matches`` row of ``source``, sorted by query then rank.

    Parameters
    ----------
    warehouse : path-like
        The warehouse root.
    source : {"midi", "audio"}
        Which sweep's rows.

    Returns
    -------
    list of dict
        One dict per row (the table's columns; sections as lists of dicts).

    Raises
    ------
    MusimError
        No ``matches`` table, or none of its rows has this source: run ``musim similarity`` first.
    """
    uri = table_uri(warehouse, "matches")
    if not table_exists(uri):
        raise MusimError(f"{uri}: no matches table: run `musim similarity` first")
    rows = [r for r in read_arrow(uri).to_pylist() if r["source"] == source]
    if not rows:
        hint = "" if source == "midi" else f" --source {source}"
        raise MusimError(f"{uri}: no matches of source {source}: run `musim similarity{hint}` first")
    rows.sort(key=lambda r: (r["query_track_id"], r["rank"]))
    return rows
