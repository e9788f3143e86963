"""LCDB curves through the data study's curve fitting (studies/data/lcdb.py), on a committed excerpt of LCDB 1.0
(tests/fixtures/reproductions/lcdb-excerpt.csv: SVC_linear on OpenML 3, 6 and 12; the lcdb package is MIT-licensed):
curves read as the CSV holds them, one extrapolation judged against the observed largest anchor, the summary
refusing intervals over fewer than 10 curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dl_drawbacks.studies.data.lcdb import extrapolate, read_curves, summarize

EXCERPT = Path(__file__).resolve().parents[2] / "fixtures" / "reproductions" / "lcdb-excerpt.csv"


@pytest.fixture(scope="module")
def curves():
    return read_curves(EXCERPT)


def test_curves_are_read_per_dataset_and_learner_with_every_seed_pair(curves):
    assert set(curves) == {(3, "SVC_linear"), (6, "SVC_linear"), (12, "SVC_linear")}
    c = curves[(12, "SVC_linear")]
    assert c.anchors[:3].tolist() == [16.0, 23.0, 32.0] and c.anchors[-1] == 1620.0
    assert {len(e) for e in c.errors[:-1]} == {125}  # 5 outer x 25 inner seeds
    assert c.means[0] == pytest.approx(0.426, abs=1e-3) and np.all(np.diff(c.means) < 0.01)


def test_one_curve_extrapolated_from_30_percent_of_its_largest_n(curves):
    c = curves[(12, "SVC_linear")]
    r = extrapolate(c, 0.3, n_bootstrap=20)
    assert r["available"] and r["anchors_used"] == 10 and r["held_out"] == 4  # anchors up to 486 of 1,620
    observed = c.means[-1]
    assert 0 <= r["abs_error"]["best"] < 0.5 * observed  # a real prediction, not a flat line
    assert set(r["abs_error"]) == {"best", "pow4", "mmf4"} and 0 <= r["covered"] <= 4
    assert extrapolate(c, 0.01)["available"] is False


def test_the_summary_says_not_measurable_below_ten_curves():
    results = [{"available": True, "family": "pow3", "abs_error": {"best": 0.01 * i, "pow4": 0.02 * i,
                                                                   "mmf4": None}, "covered": 1, "held_out": 2}
               for i in range(1, 5)] + [{"available": False, "reason": "no family passes"}]
    s = summarize(results)
    assert s["curves"] == 5 and s["judged"] == 4 and s["not_judged"] == {"no family passes": 1}
    assert s["abs_error_best"]["low"] is None and "not measurable" in s["abs_error_best"]["reason"]
    many = summarize([{**results[0], "abs_error": {"best": 0.01 + 0.001 * i, "pow4": 0.02 + 0.001 * i,
                                                   "mmf4": 0.03}} for i in range(12)])
    assert many["best_minus_pow4"]["high"] < 0 and many["coverage"]["estimate"] == 0.5
