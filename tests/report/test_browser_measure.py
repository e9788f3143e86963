"""The real-browser check itself finds what it looks for (its positive cases run on a real report in
tests/integration/test_run_compute.py)."""

from __future__ import annotations

import pytest

from browser import chromium, measure


@pytest.mark.skipif(chromium() is None, reason="no chromium (Debian package `chromium`; .ci/run installs it)")
def test_a_wide_element_and_a_broken_link_are_found_and_a_scrolling_table_is_not(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<!doctype html><html><head><meta name='viewport' content='width=device-width'></head><body>"
                    "<a href='#here'>ok</a> <a href='#gone'>broken</a><h2 id='here'>here</h2>"
                    "<div id='scrolls' style='overflow-x:auto'><table><tr><td style='min-width:3000px'>x</td></tr>"
                    "</table></div><pre id='wide' style='width:2000px'>w</pre></body></html>")
    found = measure(page)
    assert found["wide"] == ["pre#wide"] and found["broken"] == ["gone"] and found["links"] == ["here", "gone"]
