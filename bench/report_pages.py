"""Screenshots of the demo's pair reports (issue 14), for the record and for reviewers without a browser.

Reads the pages ``scripts/demo.sh`` writes (``DEMO/compare_cover.html``: an original and its tempo
cover; ``compare_plagiarism.html``: a plagiarism-like case; ``compare_other.html``: an unrelated
pair; ``compare_query/index.html``: one query against many) and writes full-page PNGs with headless
chromium to ``bench/results/report_cover.png``, ``report_plagiarism.png``, ``report_unrelated.png``
and ``report_query_index.png``. Each page's height is read from the page itself (a first load
prints ``document.body.scrollHeight`` into the DOM), so nothing is cut off.

Usage::

    scripts/demo.sh demo && .venv/bin/python bench/report_pages.py demo
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"report_cover.png": "compare_cover.html", "report_plagiarism.png": "compare_plagiarism.html",
         "report_unrelated.png": "compare_other.html", "report_query_index.png": "compare_query/index.html"}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
WIDTH = 1280


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        sys.exit("report_pages: chromium not found (apt-get install chromium)")
    return exe


def page_height(exe: str, page: Path) -> int:
    """The page's full height (px) at :data:`WIDTH`, measured by the browser."""
    probe = page.with_name(f".probe_{page.name}")
    text = page.read_text(encoding="utf-8").replace(
        "</body>", "<script>document.body.setAttribute('data-height', document.documentElement.scrollHeight)"
                   "</script></body>")
    probe.write_text(text, encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile:
            r = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},1000",
                                "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        probe.unlink()
    m = re.search(r'data-height="(\d+)"', r.stdout)
    return int(m.group(1)) if m else 3000


def screenshot(exe: str, page: Path, png: Path) -> None:
    height = min(page_height(exe, page) + 20, 16000)
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{height}",
                            f"--screenshot={png}", page.as_uri()], capture_output=True, text=True, timeout=120)
    if r.returncode != 0 or not png.is_file():
        sys.exit(f"report_pages: chromium failed on {page}: {r.stderr[-500:]}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("demo", nargs="?", default=str(ROOT / "demo"), help="the demo's output folder (default ./demo)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args(argv)
    exe = _chromium()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for png, rel in PAGES.items():
        page = Path(args.demo).resolve() / rel
        if not page.is_file():
            print(f"report_pages: skipped {rel} (not written; run scripts/demo.sh first)", file=sys.stderr)
            continue
        screenshot(exe, page, out / png)
        print(out / png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
