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
