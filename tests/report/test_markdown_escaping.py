"""Table cells and titles with `|`, HTML and newlines keep report.html's columns where they belong."""

from __future__ import annotations

from html.parser import HTMLParser

import polars as pl
import pytest

from dl_drawbacks.report.document import write_report
from dl_drawbacks.report.markdown import cell_text, table

NASTY = ["|value| ≤ 0.1", "<script>alert(1)</script>", "a\nb | c", "x & y <b>"]


class Tables(HTMLParser):
    """Every table of a page as rows of cell texts (th and td), and the page title."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.title, self._in_title, self._cell = "", False, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "title":
            self._in_title = True
        elif tag == "script":
            raise AssertionError("a <script> element reached report.html")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._in_title:
            self.title += data


def test_cell_text_escapes_pipes_html_and_newlines():
    assert cell_text("|value| ≤ 0.1") == "\\|value\\| ≤ 0.1"
    assert cell_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert cell_text("a\nb") == "a b" and cell_text(0.5) == "0.5" and cell_text(None) == "—"


def test_rows_longer_than_the_header_are_refused_and_short_ones_padded():
    with pytest.raises(ValueError, match="3 cells for 2 columns"):
        table(["a", "b"], [[1, 2, 3]])
    assert table(["a", "b"], [[1]]).splitlines()[-1] == "| 1 |  |"


def test_report_html_rows_have_as_many_cells_as_their_header(tmp_path):
    headlines = {"bias": [{"finding": f, "value": 0.1, "interval": [0.0, 0.2], "unit": "|ratio|",
                           "provenance": "<aif360>"} for f in NASTY]}
    outcomes = pl.DataFrame({"trial_id": ["t|1", "t2"], "study": ["bias", "bias"], "sweep": ["a|b", "s"],
                             "status": ["failed", "completed"], "error": ["ValueError: x | y <z>", None]})
    section = table(["metric", "verdict"], [[n, n] for n in NASTY])
    _, html_path = write_report(tmp_path, title="tiny <b>|bias|</b>", description="d | e", sections={"bias": section},
                                headlines=headlines, outcomes=outcomes, env={"packages": {"wandb": "0.31"}})
    page = Tables()
    page.feed(html_path.read_text())
    assert len(page.tables) == 3  # the study's section, failed trials, the appendix's headline list
    for rows in page.tables:
        header, body = rows[0], rows[1:]
        assert body and all(len(row) == len(header) for row in body), rows
    summary = page.tables[-1]
    assert [row[1] for row in summary[1:]] == [" ".join(n.split()) for n in NASTY]  # the text survives intact
    assert page.title == "tiny <b>|bias|</b>"


def test_thousands_are_grouped_by_a_narrow_space_so_an_interval_has_one_comma():
    from dl_drawbacks.report.markdown import fmt

    assert fmt(618941) == "618\u202f941" and fmt(618941.2) == "618\u202f941" and fmt(430.0) == "430"
    assert f"[{fmt(430.0)}, {fmt(618941.0)}]".count(",") == 1
