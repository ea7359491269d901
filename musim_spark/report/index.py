"""The index of a query compared with many files: ranked candidates, scores, links to each pair page.

``DIR/index.html`` beside one pair report per compared candidate (``NNN_<stem>.html``, NNN = the
candidate's position in the order given). The ranking table (``#ranking``, one ``tr[data-rank]``
per compared candidate, errors last) shows the decision, the coefficient, the three scores as
numbers and bars, the melody's one-sentence explanation and a link to the pair page; the page's
numbers are also in ``script#index-data`` (JSON). Self-contained and offline like the pair pages.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path

from ..errors import ParameterError, WriteError
from .page import STYLE, json_script, write_report

__all__ = ["report_name", "render_index", "write_index"]

_FACETS = ("melody", "rhythm", "chord")
_BAR_COLORS = {"melody": "#f2b134", "rhythm": "#4aa3df", "chord": "#6cc551"}


def report_name(index: int, path: str) -> str:
    """File name of a candidate's pair page: ``003_Similar_Trot_00268_Org.html``.

    Examples
    --------
    >>> report_name(3, "/data/a b/Song (1).mid")
    '003_Song_1_.html'
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(path).stem)[:80] or "candidate"
    return f"{index:03d}_{stem}.html"


def _score_cell(x) -> str:
    if x is None or not math.isfinite(x):
        return "<td class='num'>n/a</td>"
    return f"<td class='num'>{x:.1f}</td>"


def _bars(r) -> str:
    out = []
    for k in _FACETS:
        x = getattr(r, k).score
        w = 0 if not math.isfinite(x) else max(min(x, 100.0), 0.0)
        out.append(f"<div class='bar' title='{k} {w:.0f}'><span style='width:{w:.0f}%;background:{_BAR_COLORS[k]}'>"
                   f"</span></div>")
    return "<td class='bars'>" + "".join(out) + "</td>"


def render_index(query: str, rows: list[dict], *, n_candidates: int) -> str:
    """The index page from ranked rows (see :func:`write_index`)."""
    body, data = [], []
    for row in rows:
        c, page, twin = row["candidate"], row["page"], row["data"]
        name = html.escape(c.path)
        if c.result is None:
            body.append(f"<tr class='error'><td>-</td><td colspan='6'>error</td><td>{name}</td>"
                        f"<td>{html.escape(c.error)}</td></tr>")
            data.append({"rank": None, "path": c.path, "page": None, "error": c.error})
            continue
        r = c.result
        verdict, cls = (("not decided", "undecided") if not r.decided else
                        ("similar", "similar") if r.similar else ("not similar", "notsimilar"))
        coef = "n/a" if not r.decided else f"{r.coefficient:+.3f}"
        why = (twin or {}).get("melody", {}).get("explanation", "") if twin else ""
        body.append(f"<tr data-rank='{c.rank}'><td>{c.rank}</td><td><span class='badge {cls}'>{verdict}</span></td>"
                    f"<td class='num'>{coef}</td>" + "".join(_score_cell(getattr(r, k).score) for k in _FACETS)
                    + _bars(r) + f"<td class='cand'><a href='{html.escape(page)}' title='{name}'>"
                    f"{html.escape(Path(c.path).name)}</a><br>"
                    f"<span class='muted'>{html.escape(str(Path(c.path).parent))}</span>"
                    + (f"<br><span class='muted'>{html.escape(r.reason)}</span>" if r.reason else "")
                    + f"</td><td class='explain'>{html.escape(why)}</td></tr>")
        data.append({"rank": c.rank, "path": c.path, "page": page, "isSimilar": bool(r.similar),
                     "similarityCoefficient": None if not r.decided else round(float(r.coefficient), 4),
                     **{f"{k}Similarity": (round(float(getattr(r, k).score), 2)
                                           if math.isfinite(getattr(r, k).score) else None) for k in _FACETS},
                     "reason": r.reason or None, "error": None})
    q = html.escape(str(query))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>musim compare: {q}</title>
<style>{STYLE}
td.num{{text-align:right;font-variant-numeric:tabular-nums}} tr.error td{{color:#a00}}
td.bars{{width:110px}} td.cand{{max-width:300px;word-break:break-all}} td.explain{{min-width:380px}}
.badge{{white-space:nowrap}} .bar{{height:5px;background:#eee;margin:2px 0}} .bar span{{display:block;height:5px}}
</style></head>
<body data-ready="1"><h1>Query <code>{q}</code> against {n_candidates} candidates</h1>
<p>Ranked: similar first, then by melody significance, then by coefficient; "n/a" = not enough material.
Each candidate links to its pair report (aligned notes, listening, chords).</p>
<table id="ranking"><tr><th>rank</th><th>decision</th><th>coefficient</th><th>melody</th><th>rhythm</th>
<th>chord</th><th>scores</th><th>candidate (pair report)</th><th>melody, in one sentence</th></tr>
{''.join(body)}
</table>
{json_script({"query": str(query), "candidates": data}, "index-data")}
</body></html>
"""


def write_index(out, query, fq, results, settings, *, interfaces=None) -> None:
    """Write one pair report per compared candidate and ``out/index.html`` ranking them.

    Parameters
    ----------
    out : path-like
        The report directory (created).
    query : path-like
        The query file.
    fq : TrackFeatures
        The query's features.
    results : list of CandidateResult
        :func:`~musim_spark.similarity.compare.compare_query`'s results (ranked, in the order given).
    settings : SimilaritySettings
    interfaces : list of dict, optional
        Each candidate's ``compare --json`` object (same order), stored in its page's JSON twin.

    Raises
    ------
    WriteError, ParameterError
        The directory or a file cannot be written; ``out`` is a file.
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create the report directory {out}: {exc}") from exc
    if not out.is_dir():
        raise ParameterError(f"--html {out}: not a directory (several candidates write one report each)")
    rows = []
    for i, c in enumerate(results, start=1):
        page = twin = None
        if c.result is not None:
            page = report_name(i, c.path)
            twin = write_report(out / page, c.result, fq, c.features, name_a=str(query), name_b=c.path,
                                settings=settings, source_a=query, source_b=c.path,
                                interface=interfaces[i - 1] if interfaces else None)
        rows.append({"candidate": c, "page": page, "data": twin})
    rows.sort(key=lambda r: (r["candidate"].rank is None, r["candidate"].rank or 0))
    text = render_index(str(query), rows, n_candidates=len(results))
    try:
        (out / "index.html").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise WriteError(f"cannot write {out / 'index.html'}: {exc}") from exc
