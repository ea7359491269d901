"""The HTML pair report in a real headless browser (Debian chromium): loads, script runs, nothing is
fetched, matched notes are connected and drawn above each other, audio and chords are there."""

import base64
import dataclasses
import io
import json
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from musim_spark.cli import main
from musim_spark.midi import write_midi
from musim_spark.model import Note, Piece

from test_compare_cli import _song

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _browse(page, *extra):
    """Load ``page`` in headless chromium: (DOM after the scripts ran, stderr log, net-log events)."""
    with tempfile.TemporaryDirectory() as profile:
        netlog = f"{profile}/net.json"
        r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                            f"--log-net-log={netlog}", *extra, "--dump-dom", page.as_uri()],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        with open(netlog, encoding="utf-8") as fh:
            log = json.load(fh)
    return r.stdout, r.stderr, log


def _page_requests(netlog) -> list[str]:
    """URLs the PAGE asked the network for: requests started in the page's (file://) network
    partition; the browser's own background requests (update checks) live in other partitions."""
    types = {v: k for k, v in netlog["constants"]["logEventTypes"].items()}
    out = []
    for e in netlog["events"]:
        p = e.get("params", {})
        partition = str(p.get("network_isolation_key", ""))
        if types.get(e["type"]) == "URL_REQUEST_START_JOB" and partition.startswith("file://"):
            out.append(p.get("url", ""))
    return out


def _console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if "CONSOLE" in line and ("Error" in line or "error" in line)]


def _dump(page):
    dom, log, _ = _browse(page)
    assert "Uncaught" not in log
    return dom


def test_report_loads_without_errors_and_shows_sections(tmp_path, capsys):
    a, b, page = tmp_path / "a.mid", tmp_path / "b.mid", tmp_path / "report.html"
    write_midi(_song(shift=3), a)
    write_midi(_song(), b)
    assert main(["compare", str(a), str(b), "--html", str(page)]) == 0
    dom, log, _ = _browse(page)
    assert 'data-ready="1"' in dom                      # the inline script ran
    assert dom.count('class="section" data-facet="melody"') >= 2   # both sides of >= 1 melody section
    assert 'data-facet="chord"' in dom and 'id="chords"' in dom and 'id="scores"' in dom
    assert "highlighted section bands" in dom
    assert not _console_errors(log), _console_errors(log)
    assert "Uncaught" not in log


def test_the_network_check_sees_a_page_request(tmp_path):
    """Control for the next test: a page that does fetch something is caught by the net log."""
    page = tmp_path / "fetches.html"
    page.write_text('<html><body><img src="http://example.invalid/x.png"></body></html>')
    _, _, netlog = _browse(page)
    assert any("example.invalid" in u for u in _page_requests(netlog))


def _tempo_cover(tmp_path, *, wav=False):
    """A (160 notes) and B = A at tempo x1.2 (every time x 1.2), 3 semitones up; optionally a
    recording beside A (a sine per melody note, the data set's layout: same stem, .wav)."""
    a, b = tmp_path / "a.mid", tmp_path / "b.mid"
    song = _song(n=160)
    cover = Piece(tuple(dataclasses.replace(t, notes=tuple(
        Note(n.pitch + (0 if t.is_drum else 3), n.start * 1.2, n.end * 1.2, n.velocity) for n in t.notes))
        for t in song.tracks), tempo_bpm=100.0)
    write_midi(song, a)
    write_midi(cover, b)
    if wav:
        import soundfile as sf

        fs = 8000
        x = np.zeros(int(fs * 81))
        for n in song.tracks[0].notes:
            t = np.arange(int(n.start * fs), int(n.end * fs))
            x[t] += 0.3 * np.sin(2 * np.pi * 440 * 2 ** ((n.pitch - 69) / 12) * t / fs)
        sf.write(tmp_path / "a.wav", x, fs)
    return a, b


def _x(svg: str, side: str, i: int) -> float:
    m = re.search(rf'<rect class="note[^"]*" data-side="{side}" data-i="{i}" x="([0-9.]+)"', svg)
    assert m, (side, i)
    return float(m.group(1))


def test_tempo_cover_page_warps_connects_plays_and_fetches_nothing(tmp_path, capsys):
    a, b = _tempo_cover(tmp_path, wav=True)
    page = tmp_path / "cover.html"
    assert main(["compare", str(a), str(b), "--html", str(page), "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    dom, log, netlog = _browse(page)
    assert 'data-ready="1"' in dom
    assert not _console_errors(log) and "Uncaught" not in log, log[-2000:]
    assert _page_requests(netlog) == []                 # nothing fetched: the page is self-contained
    html_text = page.read_text()
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', html_text)

    # the warp: B drawn on A's timeline puts every matched note of B in A's pixel column
    svg_a = re.search(r'<svg class="roll" data-view="a".*?</svg>', dom, re.S).group(0)
    pairs = re.findall(r'<line class="connector[^"]*" data-i="(\d+)" data-j="(\d+)" data-same="(\d)"', svg_a)
    assert len(pairs) >= 150 and all(s == "1" for _, _, s in pairs)   # every note matched, same pitch
    worst = max(abs(_x(svg_a, "a", int(i)) - _x(svg_a, "b", int(j))) for i, j, _ in pairs)
    assert worst <= 1.0                                  # in the SVG's coordinates
    measured = re.search(r'data-warp-max-px="([0-9.]+)"', svg_a)
    assert measured and float(measured.group(1)) <= 1.0  # and as the browser laid it out
    # unwarped, B's late notes would be far off: the test is not passing by accident
    last_i, last_j, _ = pairs[-1]
    svg_b = re.search(r'<svg class="roll" data-view="b".*?</svg>', dom, re.S).group(0)
    assert _x(svg_b, "b", int(last_j)) - _x(svg_a, "a", int(last_i)) > 100

    # transposition in semitones and as key names; note names on the pitch axis
    key = re.search(r'<p id="key"[^>]*>(.*?)</p>', dom, re.S).group(1)
    assert "3 semitones higher" in key and "C major" in key and "Eb major" in key
    assert ">C4<" in svg_a and ">Eb4<" in svg_a

    # listening: one excerpt per side, A from its recording, B synthesized from the MIDI
    audios = re.findall(r'<audio class="excerpt"[^>]*>', dom)
    sides = {re.search(r'data-side="(\w)"', t).group(1): t for t in audios}
    assert set(sides) == {"a", "b"}
    assert 'data-source="recording"' in sides["a"] and 'data-source="synthesized"' in sides["b"]
    import soundfile as sf

    for side, tag in sides.items():
        uri = re.search(r'src="data:audio/(?:ogg|wav);base64,([^"]+)"', tag).group(1)
        x, fs = sf.read(io.BytesIO(base64.b64decode(uri)))
        t0, t1 = (float(re.search(rf'data-{k}-s="([0-9.]+)"', tag).group(1)) for k in ("start", "end"))
        assert abs(len(x) / fs - (t1 - t0)) < 0.1 and np.abs(x).max() > 0.1

    # chords on aligned rows: as many cells for B as for A, same spans, numerals in each key
    a_cells = re.findall(r'<div class="cell (\w+)(?: far)?" data-side="a" data-beat="(\d+)"', dom)
    b_cells = re.findall(r'<div class="cell (\w+)(?: far)?" data-side="b" data-beat="(\d+)"', dom)
    assert a_cells == b_cells and len(a_cells) > 4
    assert sum(c == "same" for c, _ in a_cells) >= 0.8 * len(a_cells)
    assert "<i>I</i>" in dom and "<i>IV</i>" in dom     # C and F in C major; Eb and Ab in Eb major

    # one sentence per facet; the JSON twin holds the page's numbers and the compare --json object
    for facet in ("melody", "rhythm", "chord"):
        assert re.search(rf'<td class="explain" data-facet="{facet}">[^<]{{30,}}</td>', dom)
    twin = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                                html_text, re.S).group(1))
    assert twin["compare"] == cli
    assert twin["melody"]["score"] == cli["melodySimilarity"] and twin["transpositionSemitones"] == -3
    assert len(twin["melody"]["matchedNotes"]) == len(pairs)
    assert "@media print" in html_text


def test_not_enough_material_is_explained(tmp_path, capsys):
    from musim_spark.model import Track

    a, intro, page = tmp_path / "a.mid", tmp_path / "intro.mid", tmp_path / "r.html"
    write_midi(_song(), a)
    write_midi(Piece((Track("Melody", (Note(60, 0.0, 0.5), Note(64, 0.5, 1.0))),), tempo_bpm=120.0), intro)
    assert main(["compare", str(intro), str(a), "--html", str(page)]) == 0
    dom = _dump(page)
    melody = re.search(r'<td class="explain" data-facet="melody">(.*?)</td>', dom, re.S).group(1)
    assert melody.startswith("Melody: not enough material") and "2 notes" in melody
    assert 'id="verdict" class="badge undecided">not decided<' in dom


def test_many_candidates_index_and_a_not_decided_report(tmp_path, capsys):
    """One query against several files: index.html ranks them with links; the report of a pair with
    too little material says "not decided", n/a and why (issue 10)."""
    from musim_spark.model import Track

    a, b, c, intro = (tmp_path / n for n in ("a.mid", "b.mid", "c.mid", "intro.mid"))
    write_midi(_song(shift=3), a)
    write_midi(_song(), b)
    write_midi(_song(seed=9), c)
    write_midi(Piece((Track("Melody", (Note(60, 0.0, 0.5), Note(64, 0.5, 1.0))),), tempo_bpm=120.0), intro)
    out = tmp_path / "reports"
    assert main(["compare", str(a), str(c), str(intro), str(b), "--html", str(out)]) == 0
    index = _dump(out / "index.html")
    assert 'id="ranking"' in index
    links = [index.index(f'href="{name}"') for name in ("003_b.html", "001_c.html", "002_intro.html")]
    assert links == sorted(links)           # ranked: the copy, the other song, the intro (not decided) last
    ranks = re.findall(r'<tr data-rank="(\d+)">', index)
    assert ranks == ["1", "2", "3"]
    twin = json.loads(re.search(r'id="index-data">(.*?)</script>', index, re.S).group(1))
    assert [c["page"] for c in twin["candidates"]] == ["003_b.html", "001_c.html", "002_intro.html"]
    page = _dump(out / "002_intro.html")
    assert 'data-ready="1"' in page and 'id="reason"' in page
    assert "not decided" in page and "not enough material" in page and "2 notes" in page
    assert '<td id="coefficient">n/a</td>' in page


def test_screenshot(tmp_path, capsys):
    """The page renders to an image (what bench/report_pages.py records under bench/results/)."""
    a, b = _tempo_cover(tmp_path)
    page, png = tmp_path / "cover.html", tmp_path / "cover.png"
    assert main(["compare", str(a), str(b), "--html", str(page)]) == 0
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--hide-scrollbars",
                            "--window-size=1280,1800", f"--screenshot={png}", page.as_uri()],
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000
