"""``sweep.html``: the sweep on one page, the most suspicious pairs first, then score distributions.

Sections (ids a test or tooling can find):

* ``#summary``: tracks, queries, matches, similar pairs, the source and the runs the rows come from;
* ``#pairs``: the similar pairs (``is_similar``) by coefficient, highest first
  (:func:`suspicious_pairs`); each row ``tr.pair[data-query][data-original]`` links to its pair
  report (``a.report``, a relative path under ``reports/``) when one was written, else says why not;
* ``#by-genre``, ``#by-cover-type``: per group the distribution of the best match's coefficient and
  melody score (:mod:`.plots`; the best match: each query's rank-1 row).

Self-contained like the pair reports: inline CSS and SVG, no script, nothing fetched.

Examples
--------
>>> rows = [{"query_track_id": "a", "original_track_id": "o", "is_similar": True, "similarity_coefficient": 0.2,
...          "melody_significance": 5.0},
...         {"query_track_id": "o", "original_track_id": "p", "is_similar": True, "similarity_coefficient": 0.9,
...          "melody_significance": 9.0},
...         {"query_track_id": "p", "original_track_id": "o", "is_similar": True, "similarity_coefficient": 0.8,
...          "melody_significance": 8.0},
...         {"query_track_id": "b", "original_track_id": "o", "is_similar": False, "similarity_coefficient": 0.95,
...          "melody_significance": 1.0}]
>>> [(r["query_track_id"], r["original_track_id"]) for r in suspicious_pairs(rows)]
[('o', 'p'), ('a', 'o')]
"""

from __future__ import annotations

import html
import math
from typing import Any, Mapping, Sequence

from .plots import distribution_svg

__all__ = ["suspicious_pairs", "group_values", "render_sweep"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:16px 20px;color:#222;max-width:1250px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:22px 0 6px;border-bottom:1px solid #ddd}
table{border-collapse:collapse} th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left;font-size:13px}
td.num{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#666;font-size:12px}
td.why{max-width:260px;overflow-wrap:anywhere}
code{font-size:12px} .plots{display:flex;flex-wrap:wrap;gap:18px} figure{margin:0} figcaption{font-size:12px}
@media print{.plots{display:block}}
"""


def _coef(r: Mapping[str, Any]) -> float:
    c = r.get("similarity_coefficient")
    return -math.inf if c is None or not math.isfinite(c) else float(c)


def suspicious_pairs(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The similar pairs, most suspicious first.

    Order: coefficient, highest first; ties by melody significance. Two originals similar to
    each other appear as two rows of ``matches`` (each is the other's query); the pair is listed
    once, by its higher-scoring direction.

    Parameters
    ----------
    rows : sequence of mapping
        ``matches`` rows (any rank).

    Returns
    -------
    list of mapping
        The rows kept, in order.
    """
    def key(r):
        s = r.get("melody_significance")
        return (-_coef(r), -(s if s is not None and math.isfinite(s) else -math.inf))

    out, seen = [], set()
    for r in sorted((r for r in rows if r.get("is_similar")), key=key):
        pair = frozenset((r["query_track_id"], r["original_track_id"]))
        if pair in seen:
            continue
        seen.add(pair)
        out.append(r)
    return out


def group_values(rows: Sequence[Mapping[str, Any]], groups: Mapping[str, str], column: str
                 ) -> dict[str, list[float | None]]:
    """``column`` of the rows by group (``groups``: query track id -> group name), groups sorted by name.

    Examples
    --------
    >>> group_values([{"query_track_id": "a", "x": 1.0}, {"query_track_id": "b", "x": 2.0}], {"a": "Z", "b": "A"}, "x")
    {'A': [2.0], 'Z': [1.0]}
    """
    out: dict[str, list] = {}
    for r in rows:
        out.setdefault(groups.get(r["query_track_id"]) or "(unknown)", []).append(r.get(column))
    return dict(sorted(out.items()))


def _num(x, spec: str) -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


def _pair_row(i: int, r: Mapping[str, Any], tracks: Mapping[str, Mapping[str, Any]]) -> str:
    q, o = r["query_track_id"], r["original_track_id"]
    qt = tracks.get(q, {})
    href, why = r.get("report"), r.get("report_error")
    if href:
        link = f'<a class="report" href="{html.escape(href)}">report</a>'
    else:
        link = f'<span class="muted why">{html.escape(why or "no report")}</span>'
    return (f'<tr class="pair" data-query="{html.escape(q)}" data-original="{html.escape(o)}">'
            f"<td class='num'>{i}</td><td><code>{html.escape(q)}</code></td><td><code>{html.escape(o)}</code></td>"
            f"<td>{html.escape(qt.get('cover_type') or 'Org')}</td><td>{html.escape(qt.get('genre') or '')}</td>"
            f"<td class='num'>{r['rank']}</td><td class='num'>{_num(r.get('similarity_coefficient'), '+.3f')}</td>"
            f"<td class='num'>{_num(r.get('melody_similarity'), '.1f')}</td>"
            f"<td class='num'>{_num(r.get('rhythm_similarity'), '.1f')}</td>"
            f"<td class='num'>{_num(r.get('chord_similarity'), '.1f')}</td><td class='why'>{link}</td></tr>")


def _plots(best: Sequence[Mapping[str, Any]], groups: Mapping[str, str], group_by: str, *, threshold: float,
           bins: int) -> str:
    coef = distribution_svg(group_values(best, groups, "similarity_coefficient"), lo=-1.0, hi=1.0,
                            metric="similarity_coefficient", group_by=group_by, threshold=threshold, bins=bins,
                            title=f"best match's coefficient by {group_by}")
    mel = distribution_svg(group_values(best, groups, "melody_similarity"), lo=0.0, hi=100.0,
                           metric="melody_similarity", group_by=group_by, threshold=50.0, bins=bins,
                           title=f"best match's melody score by {group_by}")
    return (f"<div class='plots'><figure>{coef}<figcaption>coefficient (-1..1) of each query's best match; dashed: "
            f"the decision threshold</figcaption></figure><figure>{mel}<figcaption>melody score (0-100); dashed: 50, "
            f"the facet's decision threshold</figcaption></figure></div>")


def render_sweep(rows: Sequence[Mapping[str, Any]], tracks: Mapping[str, Mapping[str, Any]], *,
                 pairs: Sequence[Mapping[str, Any]], source: str, coefficient_threshold: float,
                 bins: int = 20, report_pairs: int = 0) -> str:
    """``sweep.html`` as a string (see the module docstring).

    Parameters
    ----------
    rows : sequence of mapping
        Every ``matches`` row of ``source``.
    tracks : mapping
        Track id -> its ``tracks`` row (``genre``, ``cover_type``...).
    pairs : sequence of mapping
        :func:`suspicious_pairs` of ``rows``, each with ``report`` (relative href) or
        ``report_error`` (why there is none).
    source : str
    coefficient_threshold : float
        The combined decision's threshold (drawn on the coefficient plots).
    bins : int
    report_pairs : int
        How many pairs were given reports (said on the page).
    """
    best = [r for r in rows if r["rank"] == 1]
    genres = {t: (row.get("genre") or "") for t, row in tracks.items()}
    covers = {t: (row.get("cover_type") or "Org") for t, row in tracks.items()}
    runs = sorted({r.get("run_id") for r in rows if r.get("run_id")})
    body = "".join(_pair_row(i, r, tracks) for i, r in enumerate(pairs, 1))
    if not pairs:
        body = "<tr><td colspan='11' class='muted'>no similar pair</td></tr>"
    queries = len({r["query_track_id"] for r in rows})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>musim sweep: {len(pairs)} similar pairs</title><style>{_STYLE}</style></head>
<body>
<h1>Catalog sweep</h1>
<p id="summary">{len(tracks)} tracks, {queries} queries, {len(rows)} matches kept (source {html.escape(source)}),
<b>{len(pairs)}</b> similar pairs. <span class="muted">runs: {html.escape(", ".join(runs) or "-")}</span></p>
<h2>Most suspicious pairs</h2>
<p class="muted">Pairs decided similar, by coefficient (highest first); two originals similar to each other are listed
once. Pair reports for the first {report_pairs}, recomputed from the data set's MIDI files.</p>
<table id="pairs"><tr><th>#</th><th>query</th><th>original</th><th>cover type</th><th>genre</th><th>rank</th>
<th>coefficient</th><th>melody</th><th>rhythm</th><th>chord</th><th>report</th></tr>
{body}</table>
<h2>By genre</h2>
<div id="by-genre">{_plots(best, genres, "genre", threshold=coefficient_threshold, bins=bins)}</div>
<h2>By cover type</h2>
<div id="by-cover-type">{_plots(best, covers, "cover_type", threshold=coefficient_threshold, bins=bins)}</div>
</body></html>
"""
