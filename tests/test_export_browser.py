"""sweep.html in headless chromium: loads without console errors or network requests, the plots are
drawn, and every report link resolves to a pair report that exists (and itself loads cleanly)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from musim_spark import cli
from musim_spark.layout import parse_track_id, track_path
from musim_spark.midi import write_midi

from test_compare_cli import _song
from test_compare_report_browser import _browse, _console_errors, _page_requests, pytestmark  # noqa: F401
from test_export import BAL, ORG, REG, RHY, TEMPO, build_warehouse

SONGS = {ORG: _song(n=160), RHY: _song(shift=2, n=160), TEMPO: _song(shift=3, n=160),
         BAL: _song(seed=9, n=160), REG: _song(seed=5, n=160)}


def _links(dom: str, page: Path) -> list[Path]:
    """The files the page's report links point at (resolved as the browser does: relative to the page)."""
    hrefs = re.findall(r'<a class="report" href="([^"]+)"', dom)
    out = []
    for h in hrefs:
        url = urlparse(page.as_uri().rsplit("/", 1)[0] + "/" + h)
        out.append(Path(unquote(url.path)))
    return out


def test_sweep_page_loads_offline_with_plots_and_working_links(tmp_path, capsys):
    root, wh, out = tmp_path / "data", tmp_path / "wh", tmp_path / "out"
    for tid, song in SONGS.items():
        f = root / track_path(parse_track_id(tid), "mid")
        f.parent.mkdir(parents=True, exist_ok=True)
        write_midi(song, f)
    build_warehouse(wh, root=root)
    assert cli.main(["export", "--warehouse", str(wh), "--out", str(out), "--reports", "2"]) == 0
    assert "2 reports" in capsys.readouterr().out

    page = out / "sweep.html"
    dom, log, netlog = _browse(page)
    assert not _console_errors(log) and "Uncaught" not in log, log[-2000:]
    assert _page_requests(netlog) == []                         # nothing fetched
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page.read_text(encoding="utf-8"))
    assert dom.count('<svg class="dist"') == 4                  # coefficient and melody, by genre and cover type
    assert 'data-group-by="genre"' in dom and 'data-group-by="cover_type"' in dom
    assert dom.count('class="bin"') >= 8 and 'class="threshold"' in dom

    links = _links(dom, page)
    assert len(links) == 2 and all(p.is_file() for p in links), links
    assert dom.count('<tr class="pair"') == 3                   # the third pair: listed, no report
    # a linked report is a pair report of that pair, and loads cleanly too
    rdom, rlog, rnet = _browse(links[0])
    assert 'id="verdict"' in rdom and RHY in rdom and ORG in rdom
    assert not _console_errors(rlog) and _page_requests(rnet) == []


def test_a_dangling_link_would_be_caught(tmp_path):
    """Control: the link check above fails on a link to a file that is not there."""
    page = tmp_path / "sweep.html"
    page.write_text('<html><body><a class="report" href="reports/001_x.html">r</a></body></html>')
    links = _links(page.read_text(), page)
    assert links == [tmp_path / "reports" / "001_x.html"] and not links[0].exists()
