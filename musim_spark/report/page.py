"""The pair report page: one self-contained HTML file a plagiarism reviewer can trust.

Sections of the page, top to bottom (ids a test or tooling can find):

* ``#verdict`` and ``#scores``: the decision, the coefficient and per facet the 0-100 score, the
  raw significance, the sections and **one sentence** saying what matches, what differs and why
  the score is what it is (``td.explain[data-facet]``, :mod:`.explain`); ``#reason`` when a facet
  is missing ("not enough material", or which facets decided).
* ``#key``: transposition of B against A in semitones and both keys by name.
* ``#aligned``: the aligned piano rolls (:mod:`.roll`), B warped onto A's timeline, and on a
  toggle (``input[name=view]``) A warped onto B's, with connectors between matched notes.
* ``#listen``: per matching section an excerpt of A and of B (``audio.excerpt[data-side]``, with
  ``data-start-s``/``data-end-s`` in that side's timeline and ``data-source`` = ``recording`` or
  ``synthesized``), embedded as ``data:`` URIs (:mod:`.audio` says why).
* ``#chords``: the chords of both songs on aligned rows, beat by beat, names and Roman numerals,
  mismatches marked (:mod:`.chords`).
* ``script#report-data`` (``type="application/json"``): the page's numbers as JSON, the twin a
  script or an archive reads instead of the HTML.

No external resource of any kind (inline CSS, inline SVG, ``data:`` audio, a few lines of inline
script), so a folder of reports opens offline; a print stylesheet lays it out on paper.
``body[data-ready="1"]`` once the script ran; ``svg.roll[data-warp-max-px]``: the largest
horizontal distance (CSS px) the browser measured between matched notes in view ``a``.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
from pathlib import Path

import numpy as np

from ..errors import MusimError, WriteError
from ..similarity.compare import PairResult
from ..similarity.features import TrackFeatures
from ..similarity.settings import SimilaritySettings
from . import audio as _audio
from .chords import ChordCell, chord_rows, estimate_key, key_name, roman_numeral
from .explain import chord_sentence, melody_sentence, rhythm_sentence, signed_semitones
from .roll import COLORS, roll_svg, time_label
from .source import TrackSource, track_source
from .warp import NoteMatch, matched_notes, time_map, warp_times

__all__ = ["render_report", "write_report", "report_data", "STYLE", "json_script"]

_FACETS = ("melody", "rhythm", "chord")
#: Most excerpts per side (the longest matching sections).
_MAX_EXCERPTS = 4
#: Beats per line of the chord rows (8 bars of 4/4: a line of a lead sheet).
_BEATS_PER_LINE = 32
#: Widest the roll is drawn to fit the page (px) before it scrolls; narrowest px per second.
_FIT_PX, _MIN_PX_PER_S = 1180, 10.0

STYLE = """
body{font-family:system-ui,sans-serif;margin:16px 20px;color:#222;max-width:1250px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:22px 0 6px;border-bottom:1px solid #ddd}
code{font-size:12px;word-break:break-all} table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;vertical-align:top;text-align:left}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:bold}
.similar{background:#b3261e} .notsimilar{background:#2e7d32} .undecided{background:#777}
td.explain{max-width:620px} .muted{color:#777;font-size:12px}
.scroll{overflow-x:auto;border:1px solid #eee}
svg.roll text{font-size:10px;fill:#666} svg.roll .lane{font-size:12px;font-weight:bold;fill:#222}
svg.roll .pn{text-anchor:end;font-size:8px} svg.roll .pn.c{font-weight:bold;fill:#222}
svg.roll .bk{fill:#000;fill-opacity:.045} svg.roll .oct{stroke:#bbb;stroke-width:.5}
svg.roll .frame{fill:none;stroke:#ccc} svg.roll .grid{stroke:#e4e4e4}
svg.roll .note{fill:#9a9a9a} svg.roll .note.m{fill:#333}
svg.roll .connector{stroke:""" + COLORS["same"] + """;stroke-opacity:.55;stroke-width:1}
svg.roll .connector.diff{stroke:""" + COLORS["differs"] + """;stroke-opacity:.8;stroke-dasharray:3 2}
.views label{margin-right:14px;font-size:13px} .legend span{display:inline-block;padding:0 6px;margin-right:6px;font-size:12px}
#listen audio{height:30px;width:240px;vertical-align:middle}
.sys{display:grid;gap:1px;margin:0 0 10px;font-size:12px}
.sys .h{color:#888;font-size:11px;padding:0 2px;white-space:nowrap;overflow:hidden}
.cell{border:1px solid #ccc;padding:1px 3px;overflow:hidden;white-space:nowrap;min-height:30px}
.cell b{display:block} .cell i{font-style:normal;color:#555;font-size:11px}
.cell.same{background:#e4f4e6} .cell.near{background:#fdf3d8} .cell.differs{background:#fde3e1;border-color:#c62828}
.cell.differs b::after{content:" \\2260";color:#c62828} .cell.none{background:#f4f4f4;color:#999}
.rowname{font-weight:bold;align-self:center;grid-column:1}
.cell.far{opacity:.45}
@media print{
  body{margin:0;max-width:none;font-size:11px} .noprint,.views,#listen audio,button{display:none!important}
  .scroll{overflow:visible;border:0} svg.roll{width:100%;height:auto}
  svg.roll[data-view="b"]{display:none!important} svg.roll[data-view="a"]{display:block!important}
  h2{break-after:avoid} table,.sys,svg{break-inside:avoid} a{color:#000;text-decoration:none}
  .cell.same,.cell.near,.cell.differs,.cell.none,.badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

_SCRIPT = """
(function () {
  var views = document.querySelectorAll('input[name=view]');
  function show(v) {
    document.querySelectorAll('svg.roll').forEach(function (s) {
      s.style.display = s.getAttribute('data-view') === v ? '' : 'none';
    });
  }
  views.forEach(function (r) { r.addEventListener('change', function () { show(r.value); }); });
  show('a');
  // measure what the reviewer sees: matched notes of view a drawn above each other
  var svg = document.querySelector('svg.roll[data-view=a]'), worst = 0, n = 0;
  if (svg) {
    svg.querySelectorAll('line.connector').forEach(function (c) {
      var a = svg.querySelector('rect.note[data-side=a][data-i="' + c.getAttribute('data-i') + '"]');
      var b = svg.querySelector('rect.note[data-side=b][data-i="' + c.getAttribute('data-j') + '"]');
      if (!a || !b) { return; }
      worst = Math.max(worst, Math.abs(a.getBoundingClientRect().left - b.getBoundingClientRect().left));
      n += 1;
    });
    svg.setAttribute('data-warp-max-px', worst.toFixed(3));
    svg.setAttribute('data-warp-pairs', String(n));
  }
  // "A then B": play the two excerpts of a section one after the other
  document.querySelectorAll('button.ab').forEach(function (btn) {
    btn.addEventListener('click', function () {
      var row = btn.closest('tr');
      var a = row.querySelector('audio[data-side=a]'), b = row.querySelector('audio[data-side=b]');
      if (!a || !b) { return; }
      b.pause(); b.currentTime = 0; a.currentTime = 0;
      a.onended = function () { a.onended = null; b.play(); };
      a.play();
    });
  });
  var data = JSON.parse(document.getElementById('report-data').textContent);
  document.getElementById('summary').textContent = document.querySelectorAll('rect.section').length +
    ' highlighted section bands, ' + data.melody.matchedNotes.length + ' matched notes';
  document.body.setAttribute('data-ready', '1');
})();
"""


def _finite(obj):
    """``obj`` with every non-finite float as None (JSON has no NaN; a reader must not choke)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def json_script(obj, element_id: str) -> str:
    """``<script type="application/json">`` holding ``obj`` (``</`` escaped so the HTML parser
    cannot end the element early; NaN written as null).

    Examples
    --------
    >>> json_script({"x": float("nan"), "s": "</script>"}, "d")
    '<script type="application/json" id="d">{"x": null, "s": "<\\\\/script>"}</script>'
    """
    text = json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _num(x, digits: int = 2):
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def _fmt(x, spec: str = ".1f") -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


@dataclasses.dataclass(frozen=True)
class _Pair:
    """Everything the page is drawn from, computed once (:func:`_analyse`)."""

    result: PairResult
    fa: TrackFeatures
    fb: TrackFeatures
    match: NoteMatch
    anchors: tuple
    cells: list
    key_a: tuple
    key_b: tuple
    chord_shift: int
    sentences: dict


def _key(f: TrackFeatures, src: TrackSource) -> tuple[int, str, str]:
    if src.key is not None:
        return src.key[0], src.key[1], "label"
    tonic, mode, _ = estimate_key(f)
    return tonic, mode, "estimated"


def _chord_pairs(result: PairResult, fa: TrackFeatures, fb: TrackFeatures):
    """Start times of the chord events the chord facet aligned (a fallback time map)."""
    rows = [np.asarray(a.rows, np.int64) for a in result.chord.alignments if np.asarray(a.rows).shape[0]]
    cols = [np.asarray(a.cols, np.int64) for a in result.chord.alignments if np.asarray(a.cols).shape[0]]
    if not rows:
        return None
    r, c = np.concatenate(rows), np.concatenate(cols)
    ok = (r < fa.chord_start.shape[0]) & (c < fb.chord_start.shape[0])
    r, c = r[ok], c[ok]
    o = np.argsort(r, kind="stable")
    return fa.chord_start[r[o]], fb.chord_start[c[o]]


def _analyse(result, fa, fb, src_a: TrackSource, src_b: TrackSource) -> _Pair:
    match = matched_notes(result.melody, fa, fb)
    anchors = time_map(match, _chord_pairs(result, fa, fb))
    ka, kb = _key(fa, src_a), _key(fb, src_b)
    # B's chords are compared with A's after the chord facet's key shift; without one, after the
    # melody's, else after the difference of the keys
    if result.chord.transposition >= 0:
        shift = int(result.chord.transposition)
    elif match.n_matched:
        shift = match.shift % 12
    else:
        shift = (ka[0] - kb[0]) % 12
    ta, tb = anchors
    cells = chord_rows(fa, fb, lambda t: warp_times(t, ta, tb), shift)
    la = float(fa.duration[0])
    sentences = {"melody": melody_sentence(result.melody, match, la),
                 "rhythm": rhythm_sentence(result.rhythm, la),
                 "chord": chord_sentence(result.chord, cells, key_name(ka[0], ka[1]), key_name(kb[0], kb[1]))}
    return _Pair(result, fa, fb, match, anchors, cells, ka, kb, shift, sentences)


# -- listening ---------------------------------------------------------------------------------

def _excerpt_windows(result: PairResult, fa, fb) -> list[tuple[str, float, float, float, float]]:
    """``(label, a0, a1, b0, b1)`` per excerpt: the longest melody sections (else chord, else
    rhythm sections), in A's order; the openings of both songs when nothing matched."""
    for facet in _FACETS:
        secs = getattr(result, facet).sections
        if secs:
            break
    else:
        n = min(10.0, float(fa.duration[0]), float(fb.duration[0]))
        return [("opening (nothing matches)", 0.0, n, 0.0, n)] if n > 0 else []
    secs = sorted(sorted(secs, key=lambda s: -s.duration_ms)[:_MAX_EXCERPTS], key=lambda s: s.start_ms)
    out = []
    cap = _audio.MAX_EXCERPT_S
    for s in secs:
        a0, a1 = s.start_ms / 1000, s.end_ms / 1000
        b0, b1 = s.other_start_ms / 1000, s.other_end_ms / 1000
        ratio = (b1 - b0) / (a1 - a0) if a1 > a0 else 1.0
        if a1 - a0 > cap:  # the start of a long section (the same music on both sides)
            a1, b1 = a0 + cap, b0 + cap * ratio
        b1 = min(b1, b0 + 1.5 * cap)
        out.append((f"{facet} section", a0, a1, b0, b1))
    return out


def _clip(src: TrackSource, t0: float, t1: float) -> tuple[str | None, str, str]:
    """``(data URI or None, "recording"|"synthesized", why not)`` of one side's excerpt."""
    try:
        if src.wav is not None:
            return _audio.data_uri(_audio.wav_excerpt(src.wav, t0, t1)), "recording", ""
        if src.piece is not None:
            return _audio.data_uri(_audio.synth_excerpt(src.piece, t0, t1)), "synthesized", ""
    except MusimError as exc:
        return None, "", str(exc)
    return None, "", "no audio and no MIDI file for this side"


def _listen(pair: _Pair, src_a: TrackSource, src_b: TrackSource, data: list) -> str:
    wins = _excerpt_windows(pair.result, pair.fa, pair.fb)
    if src_a.path is None and src_b.path is None:
        return "<p class='muted'>No files given (features only): nothing to listen to.</p>"
    rows = []
    for label, a0, a1, b0, b1 in wins:
        cells = []
        entry = {"label": label, "a": [round(a0, 3), round(a1, 3)], "b": [round(b0, 3), round(b1, 3)]}
        for side, src, t0, t1 in (("a", src_a, a0, a1), ("b", src_b, b0, b1)):
            uri, kind, why = _clip(src, t0, t1)
            entry[f"{side}Source"] = kind or None
            if uri is None:
                cells.append(f"<td class='muted'>{html.escape(why)}</td>")
                continue
            cells.append(f"<td><audio class='excerpt' controls preload='none' data-side='{side}' "
                         f"data-start-s='{t0:.3f}' data-end-s='{t1:.3f}' data-source='{kind}' src='{uri}'></audio>"
                         f"<br><span class='muted'>{kind}, {t0:.1f}-{t1:.1f} s</span></td>")
        data.append(entry)
        rows.append(f"<tr><td>{html.escape(label)}<br><span class='muted'>A {time_label(a0)}-{time_label(a1)} "
                    f"&harr; B {time_label(b0)}-{time_label(b1)}</span></td>{''.join(cells)}"
                    f"<td><button class='ab' type='button'>A then B</button></td></tr>")
    return ("<table><tr><th>section</th><th>A (query)</th><th>B (original)</th><th></th></tr>"
            + "".join(rows) + "</table><p class='muted'>Excerpts are embedded in the page (no file or network "
            "needed): cut from the recording beside the MIDI file where there is one, else synthesized from the "
            f"MIDI with FluidSynth (General MIDI soundfont TimGM6mb); at most {_audio.MAX_EXCERPT_S:.0f} s each.</p>")


# -- chords ------------------------------------------------------------------------------------

def _chord_cell(c: ChordCell, side: str, key: tuple, span: int, far: bool) -> str:
    root, qual = (c.root_a, c.quality_a) if side == "a" else (c.root_b, c.quality_b)
    name = c.names()[0 if side == "a" else 1]
    num = roman_numeral(root, qual, key[0], key[1])
    t = c.start_a if side == "a" else c.start_b
    return (f"<div class='cell {c.agreement}{' far' if far else ''}' data-side='{side}' data-beat='{c.beat0}' "
            f"data-agreement='{c.agreement}' "
            f"style='grid-column:span {span}' title='{side.upper()} {t:.2f} s: {html.escape(name)} ({num})'>"
            f"<b>{html.escape(name)}</b><i>{html.escape(num)}</i></div>")


def _chord_systems(pair: _Pair) -> str:
    cells = pair.cells
    if not cells:
        return "<p class='muted'>No tracked beats in A: no chords to show.</p>"
    n_beats = cells[-1].beat0 + cells[-1].beats
    ta = pair.anchors[0]
    # beats outside the matched stretch compare B at an extrapolated moment: shown faded
    span = (float(ta[0]) - 1.0, float(ta[-1]) + 1.0) if ta.shape[0] >= 2 else (-np.inf, np.inf)
    out = []
    for line0 in range(0, n_beats, _BEATS_PER_LINE):
        line1 = min(line0 + _BEATS_PER_LINE, n_beats)
        a_row, b_row = [], []
        for c in cells:
            lo, hi = max(c.beat0, line0), min(c.beat0 + c.beats, line1)
            if hi <= lo:
                continue
            far = c.end_a < span[0] or c.start_a > span[1]
            a_row.append(_chord_cell(c, "a", pair.key_a, hi - lo, far))
            b_row.append(_chord_cell(c, "b", pair.key_b, hi - lo, far))
        t0 = float(pair.fa.beat_times[line0])
        out.append(f"<div class='sys' style='grid-template-columns:34px repeat({_BEATS_PER_LINE}, minmax(0, 1fr))'>"
                   f"<div class='h'>{time_label(t0)}</div><div class='h' style='grid-column:span {_BEATS_PER_LINE}'>"
                   f"beats {line0 + 1}-{line1} of A</div>"
                   f"<div class='rowname'>A</div>{''.join(a_row)}<div class='rowname'>B</div>{''.join(b_row)}</div>")
    return "".join(out)


# -- the page ----------------------------------------------------------------------------------

def report_data(pair: _Pair, *, name_a: str, name_b: str, interface: dict | None, listen: list) -> dict:
    """The page's numbers as a JSON-ready dict (the ``#report-data`` twin)."""
    r = pair.result

    def facet(k):
        f = getattr(r, k)
        return {"score": _num(f.score), "rawScore": _num(f.raw_score, 3), "alignedShare": _num(f.share),
                "sections": [s.to_interface() for s in f.sections], "reason": f.reason or None,
                "explanation": pair.sentences[k]}

    m = pair.match
    out = {
        "a": {"name": name_a, "key": key_name(*pair.key_a[:2]), "keySource": pair.key_a[2],
              "durationS": _num(float(pair.fa.duration[0]), 3)},
        "b": {"name": name_b, "key": key_name(*pair.key_b[:2]), "keySource": pair.key_b[2],
              "durationS": _num(float(pair.fb.duration[0]), 3)},
        "similarityCoefficient": _num(r.coefficient, 4), "isSimilar": bool(r.similar), "reason": r.reason or None,
        **{k: facet(k) for k in _FACETS},
        "transpositionSemitones": int(m.shift) if m.n_matched else None,
        "chordShiftSemitones": int(pair.chord_shift),
        "timeMap": {"aS": [round(float(x), 3) for x in pair.anchors[0]],
                    "bS": [round(float(x), 3) for x in pair.anchors[1]]},
        "chordRows": [{"beat": c.beat0, "beats": c.beats, "aS": round(c.start_a, 3), "bS": round(c.start_b, 3),
                       "a": c.names()[0], "b": c.names()[1],
                       "aRoman": roman_numeral(c.root_a, c.quality_a, *pair.key_a[:2]),
                       "bRoman": roman_numeral(c.root_b, c.quality_b, *pair.key_b[:2]),
                       "agreement": c.agreement} for c in pair.cells],
        "listen": listen,
        "compare": interface,
    }
    # [i, j, same]: note i of A's line matched with note j of B's
    out["melody"]["matchedNotes"] = [[int(i), int(j), bool(s)] for i, j, s in
                                     zip(m.rows.tolist(), m.cols.tolist(), m.same.tolist())]
    return out


def _shift_words(shift: int) -> str:
    if shift % 12 == 0:
        return "(the chord facet compares the songs at the same pitch)"
    return (f"after B's chords are moved {shift % 12} semitone{'s' if shift % 12 != 1 else ''} up (mod 12), the key "
            f"shift the chord facet chose")


def _key_line(pair: _Pair) -> str:
    ka, kb = pair.key_a, pair.key_b
    keys = (f"A in <b>{key_name(ka[0], ka[1])}</b> ({ka[2]}), B in <b>{key_name(kb[0], kb[1])}</b> ({kb[2]})")
    m = pair.match
    if m.n_matched:
        t = m.shift
        moved = key_name((kb[0] + t) % 12, kb[1])
        than = "as" if t == 0 else "than"
        return (f"<p id='key' data-semitones='{t}'>Transposition: B is <b>{signed_semitones(t)}</b> {than} A "
                f"({t:+d} semitones take B's matched notes to A's); {keys}; B's key moved by {t:+d}: "
                f"<b>{moved}</b>.</p>")
    return f"<p id='key'>Transposition: no matched notes to measure it; {keys}.</p>"


def render_report(result: PairResult, fa: TrackFeatures, fb: TrackFeatures, *, name_a: str, name_b: str,
                  settings: SimilaritySettings, source_a=None, source_b=None, interface: dict | None = None) -> str:
    """The report as an HTML string (see the module docstring for its structure).

    Parameters
    ----------
    result : PairResult
    fa, fb : TrackFeatures
        The features ``result`` was computed from (:func:`~musim_spark.similarity.compare.compare_files`
        returns them).
    name_a, name_b : str
        How the page names A (the query) and B (the original).
    settings : SimilaritySettings
        For the coefficient threshold.
    source_a, source_b : path-like, optional
        The compared MIDI files: their recordings (or notes) give the listening excerpts and their
        labels the keys. Without them the page has no audio and estimated keys.
    interface : dict, optional
        The ``compare --json`` object of this pair, stored in the JSON twin as ``compare``.
    """
    return _render(result, fa, fb, name_a=name_a, name_b=name_b, settings=settings, source_a=source_a,
                   source_b=source_b, interface=interface)[0]


def _render(result, fa, fb, *, name_a, name_b, settings, source_a, source_b, interface) -> tuple[str, dict]:
    """The page and its JSON twin."""
    src_a, src_b = track_source(source_a), track_source(source_b)
    pair = _analyse(result, fa, fb, src_a, src_b)
    la, lb = float(fa.duration[0]), float(fb.duration[0])
    px = max((_FIT_PX - 60) / max(la, 1.0), _MIN_PX_PER_S)
    secs = {k: getattr(result, k).sections for k in _FACETS}
    rolls = "".join(roll_svg(pair.match, pair.anchors, secs, view=v, duration_a=la, duration_b=lb, px_per_s=px,
                             name_a=name_a, name_b=name_b) for v in ("a", "b"))
    listen: list = []
    listen_html = _listen(pair, src_a, src_b, listen)

    rows = "".join(
        f"<tr><td>{k}</td><td class='score' data-facet='{k}'>{_fmt(getattr(result, k).score)}</td>"
        f"<td>{_fmt(getattr(result, k).raw_score, '.2f')}</td><td>{len(getattr(result, k).sections)}</td>"
        f"<td class='explain' data-facet='{k}'>{html.escape(pair.sentences[k])}</td></tr>" for k in _FACETS)
    if not result.decided:
        verdict, cls = "not decided", "undecided"
    else:
        verdict, cls = ("similar", "similar") if result.similar else ("not similar", "notsimilar")
    coefficient = "n/a" if not result.decided else f"{result.coefficient:+.3f}"
    reason = f'<p id="reason">{html.escape(result.reason)}</p>' if result.reason else ""
    data = report_data(pair, name_a=name_a, name_b=name_b, interface=interface, listen=listen)
    ea, eb = html.escape(name_a), html.escape(name_b)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>musim compare: {ea} vs {eb}</title>
<style>{STYLE}</style></head>
<body data-ready="0">
<h1>Pair report <span id="verdict" class="badge {cls}">{verdict}</span></h1>
<p>A = query <code>{ea}</code><br>B = original <code>{eb}</code></p>
{_key_line(pair)}
<table id="scores"><tr><th>facet</th><th title="calibrated: 50 = the facet's decision threshold">score (0-100)</th>
<th title="-log10 P: how rarely unrelated songs of these lengths align as well">significance</th>
<th>sections</th><th>why</th></tr>{rows}
<tr><td>coefficient</td><td id="coefficient">{coefficient}</td><td colspan="3" id="decision">{verdict}
(threshold {settings.coefficient_threshold:+.2f})</td></tr></table>
{reason}
<p class="muted">Score: 50 is each facet's decision threshold. Significance: -log10 of the chance that unrelated songs of
these lengths align as well (2 = one pair in a hundred, 6 = one in a million).</p>

<h2>Aligned melodies</h2>
<div id="aligned">
<p class="views noprint">Timeline: <label><input type="radio" name="view" value="a" checked> A's (B warped onto it)</label>
<label><input type="radio" name="view" value="b"> B's (A warped onto it)</label></p>
<p class="legend"><span style="background:{COLORS['melody']}">melody section</span><span style="background:{COLORS['rhythm']}">rhythm</span><span style="background:{COLORS['chord']}">chord</span>
<span style="border-bottom:2px solid {COLORS['same']}">matched note, same pitch</span><span style="border-bottom:2px dashed {COLORS['differs']}">aligned, other pitch</span>
<span>dark notes: matched, grey: unmatched</span></p>
<div class="scroll">{rolls}</div>
<p class="muted">B's timeline is mapped onto A's piecewise linearly between matched notes (beyond them at the mean
tempo ratio), so matched notes sit above each other even in a tempo cover; hover a note for its own time.</p>
</div>

<h2>Listen</h2>
<div id="listen">{listen_html}</div>

<h2>Chords, beat by beat</h2>
<div id="chords">
<p class="muted">A's beats; B's chord at the same moment of the music. Names, then Roman numerals in each song's own key
(A: {html.escape(key_name(*pair.key_a[:2]))}, B: {html.escape(key_name(*pair.key_b[:2]))}). Green: the same chord
{_shift_words(pair.chord_shift)}; yellow: a near miss (same root, or a relative chord); red &ne;: another chord;
faded: beats outside the matched stretch (B's moment there is extrapolated).</p>
{_chord_systems(pair)}
</div>
<p id="summary" class="muted"></p>
{json_script(data, "report-data")}
<script>{_SCRIPT}</script>
</body></html>
"""
    return page, data


def write_report(path, result: PairResult, fa: TrackFeatures, fb: TrackFeatures, *, name_a: str, name_b: str,
                 settings: SimilaritySettings, source_a=None, source_b=None, interface: dict | None = None) -> dict:
    """Write :func:`render_report`'s page to ``path``; returns its JSON twin (``#report-data``).

    Raises
    ------
    WriteError
        If the file cannot be written.
    """
    text, data = _render(result, fa, fb, name_a=name_a, name_b=name_b, settings=settings, source_a=source_a,
                         source_b=source_b, interface=interface)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise WriteError(f"cannot write the report to {path}: {exc}") from exc
    return data
