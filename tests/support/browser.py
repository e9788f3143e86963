"""Measure a page in a real browser: headless Chromium from Debian's package (no browser is downloaded), no CDP.

A copy of the page gets a script that measures the laid-out page on load and writes the result as JSON into a
``<pre id="measured">``; ``chromium --dump-dom`` prints the DOM after it ran.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from html import unescape
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

MEASURE = """<script>
window.addEventListener('load', () => {
  const W = window.innerWidth;
  const scrolls = e => { for (let p = e.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if ((o === 'auto' || o === 'scroll') && p.getBoundingClientRect().width <= W)
        return true; } return false; };
  const wide = [...document.body.querySelectorAll('*')].filter(e => e.getBoundingClientRect().width > W + 0.5
      && !scrolls(e)).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''));
  const links = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href').slice(1));
  const cards = [...document.querySelectorAll('table.card')].map(t => Math.ceil(t.getBoundingClientRect().height));
  const pre = document.createElement('pre'); pre.id = 'measured';
  pre.textContent = JSON.stringify({width: W, page_width: document.documentElement.scrollWidth, wide,
      links, broken: links.filter(id => !document.getElementById(id)), cards});
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def measure(page: Path, *, width: int = 1280, height: int = 1024, timeout: float = 120) -> dict:
    """{width, page_width, wide: [elements wider than the viewport outside a scrolling box], links: [TOC
    targets], broken: [targets with no element], cards: [height of each card table in px]}."""
    with tempfile.TemporaryDirectory(prefix="dl-drawbacks-browser-") as tmp:
        copy = Path(tmp) / page.name
        copy.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
        profile = Path(tmp) / "profile"
        profile.mkdir()
        done = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             "--virtual-time-budget=10000", "--dump-dom", copy.as_uri()],
            capture_output=True, text=True, timeout=timeout)
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, f"chromium printed no measurement (exit {done.returncode}): {done.stderr[-500:]}"
    return json.loads(unescape(found.group(1)))
