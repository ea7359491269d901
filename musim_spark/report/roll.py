"""The aligned piano roll: A above, B below, on one timeline, matched notes connected (inline SVG).

In view ``"a"`` the timeline is A's and B's notes are drawn warped onto it along the pair's time
map (:func:`.warp.warp_times`), so a matched note of B sits straight below its partner in A even
when B is a tempo cover; view ``"b"`` is the reverse. Each lane's pitch axis is labelled with note
names (``C4`` = MIDI 60, black keys shaded), the time axis with minutes:seconds of the view's
timeline. Matching sections are shaded: melody behind the notes, rhythm and chord as strips under
each lane. Every matched pair gets a connector line (green: the same note after the key shift,
orange: aligned but another pitch).

Elements a test or a reviewer's tooling can find: ``svg.roll[data-view]``, ``rect.note[data-side]
[data-i]`` (``data-i`` = the note's index in its line), ``line.connector[data-i][data-j]
[data-same]`` and ``rect.section[data-facet][data-side]`` (``data-start-ms``/``data-duration-ms``
in that side's own timeline).

Examples
--------
>>> note_name(60), note_name(61), note_name(47)
('C4', 'C#4', 'B2')
>>> time_label(75.0)
'1:15'
"""

from __future__ import annotations

import html

import numpy as np

from ..notation import pitch_class_name
from .warp import NoteMatch, warp_times

__all__ = ["COLORS", "note_name", "time_label", "tick_step", "roll_svg", "GUTTER_PX"]

COLORS = {"melody": "#f2b134", "rhythm": "#4aa3df", "chord": "#6cc551", "same": "#1f8f45", "differs": "#e07b00"}
#: Left margin (px) holding the pitch names.
GUTTER_PX = 46
_ROW_PX = 9        # one semitone
_GAP_PX = 40       # between the lanes, where most connector length runs
_STRIP_PX = 5      # rhythm / chord section strips
_BLACK = frozenset({1, 3, 6, 8, 10})


def note_name(pitch: int) -> str:
    """Scientific pitch name, ``C4`` = MIDI 60 (C# and F# sharp, other black keys flat)."""
    return f"{pitch_class_name(int(pitch), spelling='chord')}{int(pitch) // 12 - 1}"


def time_label(t: float) -> str:
    """``m:ss`` of a time in s."""
    t = max(int(round(t)), 0)
    return f"{t // 60}:{t % 60:02d}"


def tick_step(duration: float, target: int = 12) -> int:
    """A round tick spacing (s) giving about ``target`` ticks over ``duration``."""
    for step in (1, 2, 5, 10, 15, 20, 30, 60, 120):
        if duration / step <= target:
            return step
    return 300


def _range(p: np.ndarray) -> tuple[int, int]:
    if p.shape[0] == 0:
        return 60, 72
    lo, hi = int(p.min()) - 1, int(p.max()) + 1
    if hi - lo < 12:  # at least an octave, so the names read as a keyboard
        pad = (12 - (hi - lo)) // 2
        lo, hi = lo - pad, lo - pad + 12
    return lo, hi


def _lane(parts: list, side: str, pitch, on, off, y0: int, lo: int, hi: int, x, matched: set, label: str,
          own_on, clip: str) -> None:
    """Pitch grid, names and notes of one lane (appends SVG to ``parts``)."""
    h = (hi - lo + 1) * _ROW_PX
    parts.append(f'<text x="{GUTTER_PX}" y="{y0 - 4}" class="lane">{html.escape(label)}</text>')
    for p in range(lo, hi + 1):
        y = y0 + (hi - p) * _ROW_PX
        if p % 12 in _BLACK:
            parts.append(f'<rect x="{GUTTER_PX}" y="{y}" width="100%" height="{_ROW_PX}" class="bk"/>')
        if p % 12 == 0:
            parts.append(f'<line x1="{GUTTER_PX}" x2="100%" y1="{y + _ROW_PX}" y2="{y + _ROW_PX}" class="oct"/>')
        parts.append(f'<text x="{GUTTER_PX - 4}" y="{y + _ROW_PX - 1}" class="pn{" c" if p % 12 == 0 else ""}">'
                     f'{note_name(p)}</text>')
    parts.append(f'<rect x="{GUTTER_PX}" y="{y0}" width="100%" height="{h}" class="frame"/>')
    xs, xe = x(on), x(off)
    parts.append(f'<g clip-path="url(#{clip})">')
    for i, (p, a, b, t0) in enumerate(zip(pitch.tolist(), xs.tolist(), xe.tolist(), own_on.tolist())):
        cls = "note m" if i in matched else "note"
        y = y0 + (hi - p) * _ROW_PX + 1
        parts.append(f'<rect class="{cls}" data-side="{side}" data-i="{i}" x="{a:.2f}" y="{y}" '
                     f'width="{max(b - a, 1.5):.2f}" height="{_ROW_PX - 2}"><title>{side.upper()} note {i}: '
                     f'{note_name(p)} at {t0:.2f} s</title></rect>')
    parts.append("</g>")


def roll_svg(match: NoteMatch, anchors: tuple[np.ndarray, np.ndarray], sections: dict, *, view: str,
             duration_a: float, duration_b: float, px_per_s: float, name_a: str, name_b: str) -> str:
    """The aligned roll of a pair as an inline ``<svg>``.

    Parameters
    ----------
    match : NoteMatch
        Both melody lines and their matched pairs.
    anchors : (np.ndarray, np.ndarray)
        The time map's anchor times in A and in B (:func:`.warp.time_map`).
    sections : dict of str to list of Section
        ``{"melody": ..., "rhythm": ..., "chord": ...}`` (own timeline A, other B).
    view : {"a", "b"}
        Whose timeline: ``"a"`` draws B warped onto A's, ``"b"`` A warped onto B's.
    duration_a, duration_b : float
        The songs' lengths (s).
    px_per_s : float
        Horizontal scale.
    name_a, name_b : str
        Lane titles.
    """
    ta, tb = anchors
    if view == "a":
        to_a = lambda t: np.asarray(t, np.float64)  # noqa: E731 - tiny local maps read best inline
        to_b = lambda t: warp_times(t, tb, ta)  # noqa: E731
        length = duration_a
        titles = (f"A (query): {name_a}", f"B (original), warped onto A's timeline: {name_b}" if ta.shape[0] else
                  f"B (original), on its own clock (nothing matched to warp by): {name_b}")
    else:
        to_a = lambda t: warp_times(t, ta, tb)  # noqa: E731
        to_b = lambda t: np.asarray(t, np.float64)  # noqa: E731
        length = duration_b
        titles = (f"A (query), warped onto B's timeline: {name_a}" if ta.shape[0] else
                  f"A (query), on its own clock (nothing matched to warp by): {name_a}", f"B (original): {name_b}")
    length = max(length, 1.0)

    def xa(t):
        return GUTTER_PX + to_a(t) * px_per_s

    def xb(t):
        return GUTTER_PX + to_b(t) * px_per_s

    lo_a, hi_a = _range(match.pitch_a)
    lo_b, hi_b = _range(match.pitch_b)
    ya = 22
    ha = (hi_a - lo_a + 1) * _ROW_PX
    yb = ya + ha + 2 * _STRIP_PX + 4 + _GAP_PX
    hb = (hi_b - lo_b + 1) * _ROW_PX
    y_axis = yb + hb + 2 * _STRIP_PX + 6
    width = int(GUTTER_PX + length * px_per_s + 12)
    height = y_axis + 18
    parts = [f'<svg class="roll" data-view="{view}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="aligned piano rolls, timeline of '
             f'{view.upper()}">',
             # the warped song may start before or end after the view's song: what falls outside the
             # view's timeline is not drawn (the other view shows it), so the roll keeps its size
             f'<defs><clipPath id="clip-{view}"><rect x="{GUTTER_PX}" y="0" width="{width - GUTTER_PX}" '
             f'height="{height}"/></clipPath></defs><g clip-path="url(#clip-{view})">']
    # section shading first (behind everything): melody in the lanes, rhythm and chord as strips
    for facet, secs in sections.items():
        for s in secs:
            for side, y, h, x, t0, t1 in (
                    ("a", ya, ha, xa, s.start_ms / 1000, s.end_ms / 1000),
                    ("b", yb, hb, xb, s.other_start_ms / 1000, s.other_end_ms / 1000)):
                if facet != "melody":
                    y, h = y + h + (2 if facet == "rhythm" else 2 + _STRIP_PX), _STRIP_PX
                x0, x1 = float(x(np.array([t0]))[0]), float(x(np.array([t1]))[0])
                st, du = (s.start_ms, s.duration_ms) if side == "a" else (s.other_start_ms, s.other_duration_ms)
                parts.append(f'<rect class="section" data-facet="{facet}" data-side="{side}" data-start-ms="{st}" '
                             f'data-duration-ms="{du}" x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" '
                             f'height="{h}" fill="{COLORS[facet]}" fill-opacity="{0.22 if facet == "melody" else 0.9}">'
                             f'<title>{facet} section, {side.upper()} {t0:.1f}-{t1:.1f} s</title></rect>')
    # time grid of the view's timeline
    step = tick_step(length)
    for t in range(0, int(length) + 1, step):
        x = GUTTER_PX + t * px_per_s
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{ya}" y2="{y_axis}" class="grid"/>'
                     f'<text x="{x + 2:.1f}" y="{y_axis + 12}" class="ax">{time_label(t)}</text>')
    parts.append("</g>")  # the names and the axis title sit in the gutter, outside the clip
    parts.append(f'<text x="{GUTTER_PX - 4}" y="{y_axis + 12}" class="ax pn">{view.upper()} time</text>')
    # connectors under the notes: from the bottom of A's note to the top of B's
    if match.n_matched:
        ca = xa(match.onset_a[match.rows])
        cb = xb(match.onset_b[match.cols])
        y1 = ya + (hi_a - match.pitch_a[match.rows].astype(np.int64)) * _ROW_PX + _ROW_PX - 1
        y2 = yb + (hi_b - match.pitch_b[match.cols].astype(np.int64)) * _ROW_PX + 1
        for i, j, s, x1, x2, a1, a2 in zip(match.rows.tolist(), match.cols.tolist(), match.same.tolist(),
                                           ca.tolist(), cb.tolist(), y1.tolist(), y2.tolist()):
            parts.append(f'<line class="connector{"" if s else " diff"}" data-i="{i}" data-j="{j}" '
                         f'data-same="{int(s)}" x1="{x1:.2f}" y1="{a1}" x2="{x2:.2f}" y2="{a2}"/>')
    _lane(parts, "a", match.pitch_a, match.onset_a, match.offset_a, ya, lo_a, hi_a, xa,
          set(match.rows.tolist()), titles[0], match.onset_a, f"clip-{view}")
    _lane(parts, "b", match.pitch_b, match.onset_b, match.offset_b, yb, lo_b, hi_b, xb,
          set(match.cols.tolist()), titles[1], match.onset_b, f"clip-{view}")
    parts.append("</svg>")
    return "".join(parts)
