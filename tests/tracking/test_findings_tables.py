"""Finding tables for W&B: nested intervals become numeric columns, never a cell of JSON."""

from __future__ import annotations

from dl_drawbacks.tracking.findings_tables import columns_and_rows, headline_records
from dl_drawbacks.tracking.report import headline_markdown

INTERVAL = {"kind": "interval", "estimate": 21316.36, "low": 430.0, "high": 618941.0, "level": 0.95,
            "method": "t over seeds", "n": {"seeds": 3}}


def test_a_nested_interval_is_spread_over_numeric_columns():
    columns, rows = columns_and_rows([{"condition": "mlp/s", "energy": INTERVAL, "interval95": [0.1, 0.3],
                                       "trial_ids": ["a", "b"], "table": [{"x": 1}]}])
    assert columns == ["condition", "energy/kind", "energy/estimate", "energy/low", "energy/high", "energy/level",
                       "energy/method", "energy/n/seeds", "interval95/low", "interval95/high", "trial_ids", "table"]
    assert rows == [["mlp/s", "interval", 21316.36, 430.0, 618941.0, 0.95, "t over seeds", 3, 0.1, 0.3, "a, b",
                     "1 entries (in findings.json)"]]
    assert not any(isinstance(c, str) and c.lstrip().startswith(("{", "[")) for c in rows[0])


def test_headlines_have_estimate_low_high_over_and_n_columns():
    (record,) = headline_records([{"finding": "f", "value": 2.0, "interval": [1.0, 3.0], "over": "3 seeds",
                                   "unit": "J", "provenance": "measured"}])
    assert (record["estimate"], record["low"], record["high"], record["over"], record["n"]) == (2.0, 1.0, 3.0,
                                                                                                 "3 seeds", 3)
    text = headline_markdown([{"finding": "f", "value": 618941.0, "interval": [430.0, 618941.0], "over": "x"}])
    assert "| f | 618\u202f941 | 430 | 618\u202f941 | x | — |" in text and "{" not in text
