"""The HTML pair report in a real headless browser (Debian chromium): loads, script runs, sections shown."""

import shutil
import subprocess
import tempfile

import pytest

from musim_spark.cli import main
from musim_spark.midi import write_midi

from test_compare_cli import _song

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def test_report_loads_without_errors_and_shows_sections(tmp_path, capsys):
    a, b, page = tmp_path / "a.mid", tmp_path / "b.mid", tmp_path / "report.html"
    write_midi(_song(shift=3), a)
    write_midi(_song(), b)
    assert main(["compare", str(a), str(b), "--html", str(page)]) == 0
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                            "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    dom, log = r.stdout, r.stderr
    assert r.returncode == 0, log[-2000:]
    assert 'data-ready="1"' in dom                      # the inline script ran
    assert dom.count('class="section" data-facet="melody"') >= 2   # both sides of >= 1 melody section
    assert 'data-facet="chord"' in dom and 'id="chords"' in dom and 'id="scores"' in dom
    assert "highlighted section bands" in dom
    bad = [line for line in log.splitlines() if "CONSOLE" in line and ("Error" in line or "error" in line)]
    assert not bad, bad
    assert "Uncaught" not in log


def _dump(page):
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
                            "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Uncaught" not in r.stderr
    return r.stdout


def test_many_candidates_index_and_a_not_decided_report(tmp_path, capsys):
    """One query against several files: index.html ranks them with links; the report of a pair with
    too little material says "not decided", n/a and why (issue 10)."""
    from musim_spark.model import Note, Piece, Track

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
    page = _dump(out / "002_intro.html")
    assert 'data-ready="1"' in page and 'id="reason"' in page
    assert "not decided" in page and "not enough material" in page and "2 notes" in page
    assert '<td id="coefficient">n/a</td>' in page
