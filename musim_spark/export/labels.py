"""One exported label: the delivered label JSON with the similarity fields of the track's best match.

The export changes seven fields of the label and nothing else (every other field, Korean text
included, is written back as delivered, :func:`musim_spark.labels.dump_label`):

* ``songinfo.similarityCoefficient`` (``"-1.00"`` .. ``"1.00"``), ``melodySimilarity``,
  ``rhythmSimilarity``, ``chordSimilarity`` (``"0.0"`` .. ``"100.0"``): text, as the data set
  writes numbers; a score the engine could not compute (too little material) is ``""``;
* ``melodySameSection``, ``rhythmSameSection``, ``chordSameSection``: the sections in the label's
  own form (:meth:`musim_spark.sections.Section.to_label`: this track's timeline only).

Which match fills them (:func:`label_match`): a cover's rank-1 match, whatever its decision (the
label of a cover states how similar it is to its closest original); an original's only when its
rank-1 match is similar (an original is empty in the data set unless it copies another original).
A track with no match kept (no features, quarantined by the sweep) gets empty fields: the export
states the sweep's findings, never the delivered values as if they were ours.

Examples
--------
>>> coefficient_text(0.8312), percent_text(87.25), percent_text(None), coefficient_text(-1.2)
('0.83', '87.2', '', '-1.00')
"""

from __future__ import annotations

import copy
import math
from typing import Any, Mapping, Sequence

from ..labels import load_label
from ..sections import Section

__all__ = ["FACETS", "SCORE_FIELDS", "SECTION_FIELDS", "coefficient_text", "percent_text", "label_match",
           "fill_label"]

FACETS = ("melody", "rhythm", "chord")
#: ``songinfo`` field of each ``matches`` score column.
SCORE_FIELDS = {
    "similarity_coefficient": "similarityCoefficient",
    "melody_similarity": "melodySimilarity",
    "rhythm_similarity": "rhythmSimilarity",
    "chord_similarity": "chordSimilarity",
}
#: ``data_Set`` field of each ``matches`` sections column.
SECTION_FIELDS = {f"{f}_sections": f"{f}SameSection" for f in FACETS}


def _finite(x) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def coefficient_text(x: float | None) -> str:
    """A coefficient as the label writes it: two decimals, clamped to [-1, 1]; ``""`` for None/NaN.

    The schema's pattern (``-?(0(.d+)?|1(.0+)?)``) refuses ``1.5`` and exponents, hence the clamp
    and the fixed format.
    """
    x = _finite(x)
    if x is None:
        return ""
    text = f"{min(1.0, max(-1.0, x)):.2f}"
    return "0.00" if text == "-0.00" else text


def percent_text(x: float | None) -> str:
    """A 0-100 score as the label writes it: one decimal, clamped to [0, 100]; ``""`` for None/NaN."""
    x = _finite(x)
    return "" if x is None else f"{min(100.0, max(0.0, x)):.1f}"


def label_match(rows: Sequence[Mapping[str, Any]], *, is_original: bool) -> Mapping[str, Any] | None:
    """The ``matches`` row that fills a track's label (see the module docstring), or None.

    Parameters
    ----------
    rows : sequence of mapping
        The track's ``matches`` rows of one source (any order).
    is_original : bool
        The track is an original (version ``Org``).

    Examples
    --------
    >>> rows = [{"rank": 2, "is_similar": True}, {"rank": 1, "is_similar": False}]
    >>> label_match(rows, is_original=False)["rank"], label_match(rows, is_original=True)
    (1, None)
    """
    if not rows:
        return None
    best = min(rows, key=lambda r: r["rank"])
    if is_original and not best.get("is_similar"):
        return None
    return best


def fill_label(raw_json: str, match: Mapping[str, Any] | None, *, path: str) -> dict:
    """The exported label of one track.

    Parameters
    ----------
    raw_json : str
        The label as delivered (``labels.raw_json``).
    match : mapping or None
        The ``matches`` row to state (:func:`label_match`); None: empty fields.
    path : str
        The label's path, for errors.

    Returns
    -------
    dict
        The label (``songInfo`` written as ``songinfo``); not yet validated.

    Raises
    ------
    InputError
        ``raw_json`` is not a label (:func:`musim_spark.labels.load_label`).

    Examples
    --------
    >>> raw = '{"data_Set": {"songinfo": {"title": "t"}, "melodySameSection": []}}'
    >>> row = {"similarity_coefficient": 0.5, "melody_similarity": 80.0, "rhythm_similarity": None,
    ...        "chord_similarity": 64.04, "melody_sections": [{"query_start_ms": 0, "query_duration_ms": 900,
    ...        "original_start_ms": 10, "original_duration_ms": 950}], "rhythm_sections": [], "chord_sections": None}
    >>> ds = fill_label(raw, row, path="x.json")["data_Set"]
    >>> ds["songinfo"]
    {'title': 't', 'similarityCoefficient': '0.50', 'melodySimilarity': '80.0', 'rhythmSimilarity': '', 'chordSimilarity': '64.0'}
    >>> ds["melodySameSection"], ds["chordSameSection"]
    ([{'startMilliSec': 0, 'durationMilliSec': 900}], [])
    """
    label = copy.deepcopy(load_label(raw_json.encode("utf-8"), path=path, require=False))
    ds = label["data_Set"]
    info = ds.get("songinfo")
    if not isinstance(info, dict):  # left for the schema to name; nothing to fill into
        return label
    m = match or {}
    for column, field in SCORE_FIELDS.items():
        value = m.get(column)
        info[field] = coefficient_text(value) if column == "similarity_coefficient" else percent_text(value)
    for column, field in SECTION_FIELDS.items():
        ds[field] = [Section.from_row(s).to_label() for s in (m.get(column) or [])]
    return label
