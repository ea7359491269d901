"""Score distributions as inline SVG: one histogram row per group (genre, cover type), no script.

``sweep.html`` must open offline and fetch nothing, so the plots are plain SVG text built here
rather than a charting library. Each group gets one row: a histogram of its values over a shared
axis (so rows compare at a glance), its median as a tick and its count; a dashed line marks the
decision threshold.

Elements a test or tool can find: ``svg.dist[data-metric][data-group-by]``, one
``g.group[data-group][data-n]`` per group with its ``rect.bin`` bars and ``line.median``.

Examples
--------
>>> histogram([0.1, 0.2, 0.9, None], lo=0.0, hi=1.0, bins=2)
[2, 1]
>>> svg = distribution_svg({"Trot": [10.0, 80.0]}, lo=0, hi=100, metric="melody", group_by="genre")
>>> svg.startswith("<svg") and 'data-group="Trot"' in svg and 'data-n="2"' in svg
True
"""

from __future__ import annotations

import html
import math
from typing import Mapping, Sequence

__all__ = ["histogram", "distribution_svg"]

_ROW_H, _LABEL_W, _PLOT_W, _COUNT_W, _AXIS_H = 26, 120, 420, 60, 30


def _values(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def histogram(values: Sequence[float | None], *, lo: float, hi: float, bins: int) -> list[int]:
    """Counts of the finite ``values`` in ``bins`` equal bins over ``[lo, hi]`` (outside: clamped
    into the first or last bin; None and NaN: left out)."""
    counts = [0] * bins
    width = (hi - lo) / bins
    for v in _values(values):
        counts[min(bins - 1, max(0, int((v - lo) // width)))] += 1
    return counts


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def distribution_svg(groups: Mapping[str, Sequence[float | None]], *, lo: float, hi: float, metric: str,
                     group_by: str, threshold: float | None = None, bins: int = 20, title: str = "") -> str:
    """One SVG: a histogram row per group on a shared ``[lo, hi]`` axis.

    Parameters
    ----------
    groups : mapping of str to sequence of float
        Group name -> values (None/NaN are counted in no bin but named in the count's tooltip).
    lo, hi : float
        The axis range.
    metric, group_by : str
        Recorded as ``data-metric`` and ``data-group-by``.
    threshold : float, optional
        Drawn as a dashed vertical line (the decision threshold).
    bins : int
    title : str
        The SVG's ``<title>`` (its accessible name).
    """
    names = list(groups)
    height = _AXIS_H + _ROW_H * max(len(names), 1) + 6
    width = _LABEL_W + _PLOT_W + _COUNT_W

    def x(v: float) -> float:
        return _LABEL_W + (min(hi, max(lo, v)) - lo) / (hi - lo) * _PLOT_W

    out = [f'<svg class="dist" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" data-metric="{html.escape(metric)}" data-group-by="{html.escape(group_by)}">',
           f"<title>{html.escape(title or f'{metric} by {group_by}')}</title>"]
    bar_w = _PLOT_W / bins
    for i, name in enumerate(names):
        raw = groups[name]
        vals = _values(raw)
        counts = histogram(vals, lo=lo, hi=hi, bins=bins)
        top = max(counts) if counts and max(counts) else 1
        y0 = 4 + i * _ROW_H
        missing = len(raw) - len(vals)
        out.append(f'<g class="group" data-group="{html.escape(name)}" data-n="{len(vals)}">')
        out.append(f'<text x="{_LABEL_W - 6}" y="{y0 + _ROW_H * 0.65:.1f}" text-anchor="end" font-size="12">'
                   f"{html.escape(name)}</text>")
        out.append(f'<rect x="{_LABEL_W}" y="{y0}" width="{_PLOT_W}" height="{_ROW_H - 4}" fill="#f4f4f4"/>')
        for b, c in enumerate(counts):
            if not c:
                continue
            h = (_ROW_H - 6) * c / top
            out.append(f'<rect class="bin" x="{_LABEL_W + b * bar_w + 0.5:.1f}" y="{y0 + _ROW_H - 4 - h:.1f}" '
                       f'width="{bar_w - 1:.1f}" height="{h:.1f}" fill="#4a78c2"><title>{c}</title></rect>')
        med = _median(vals)
        if med is not None:
            out.append(f'<line class="median" x1="{x(med):.1f}" x2="{x(med):.1f}" y1="{y0}" y2="{y0 + _ROW_H - 4}" '
                       f'stroke="#d9480f" stroke-width="2"><title>median {med:.3g}</title></line>')
        note = f" ({missing} without a score)" if missing else ""
        out.append(f'<text x="{_LABEL_W + _PLOT_W + 6}" y="{y0 + _ROW_H * 0.65:.1f}" font-size="11" fill="#555">'
                   f"n={len(vals)}<title>{len(vals)} values{note}</title></text></g>")
    axis_y = 4 + len(names) * _ROW_H
    out.append(f'<line x1="{_LABEL_W}" x2="{_LABEL_W + _PLOT_W}" y1="{axis_y}" y2="{axis_y}" stroke="#888"/>')
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(f'<text x="{x(v):.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">{v:g}</text>')
    if threshold is not None:
        out.append(f'<line class="threshold" x1="{x(threshold):.1f}" x2="{x(threshold):.1f}" y1="2" y2="{axis_y}" '
                   f'stroke="#c00" stroke-dasharray="4 3"><title>decision threshold {threshold:g}</title></line>')
    out.append("</svg>")
    return "".join(out)
