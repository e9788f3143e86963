"""The verdict rule of a reproduction (dl_drawbacks/reproduce/verdict.py): interval inside the tolerance band,
outside it, straddling it; directions; controls that replace the verdict; missing findings."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.errors import SpecError
from dl_drawbacks.reproduce.verdict import (CONTROL_FAILED, INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, judge,
                                            lookup, ours_of)
from dl_drawbacks.spec.load import parse_spec
from dl_drawbacks.spec.reproduction import ReproductionSpec
from dl_drawbacks.statistics import UNIT, nested_interval


def _interval(est, low, high):
    return {"kind": "interval", "estimate": est, "low": low, "high": high, "method": "student-t", "level": 0.95,
            "over": "seeds", "n": {"seeds": 3}, "reason": None, "domain": "[0, 1]"}


FINDINGS = {
    "data": {"models": {"cnn/mnist1d": {"anchor_intervals": [_interval(0.2, 0.18, 0.22), _interval(0.06, 0.05, 0.07)],
                                        "train_error": 0.001}},
             "gap": _interval(0.3, 0.25, 0.35), "flat": _interval(0.01, -0.01, 0.02),
             "tiny": _interval(5e-18, 2e-18, 8e-18)},  # rounding-level, yet above 0
    "bias": {"analysis_error": "KeyError: x"},
}


def _spec(claims, controls=()):
    return ReproductionSpec.model_validate({"paper": {"authors": "Greydanus", "year": 2020, "where": "Table 1"},
                                            "claims": claims, "controls": list(controls)})


CNN = ["data", "models", "cnn/mnist1d", "anchor_intervals", -1]


@pytest.mark.parametrize(("published", "tolerance", "expected"), [
    (0.94, 0.03, REPRODUCED),       # ours 0.94 [0.93, 0.95] inside [0.91, 0.97]
    (0.80, 0.05, NOT_REPRODUCED),   # wholly above [0.75, 0.85]
    (0.91, 0.025, INCONCLUSIVE),    # [0.93, 0.95] straddles 0.935
])
def test_a_published_value_is_judged_on_the_interval_against_its_band(published, tolerance, expected):
    [v] = judge(_spec([{"name": "CNN accuracy", "finding": CNN, "published": published, "tolerance": tolerance,
                        "complement": True}]), FINDINGS)
    assert v.verdict == expected, v.reason
    assert v.ours.estimate == pytest.approx(0.94) and (v.ours.low, v.ours.high) == pytest.approx((0.93, 0.95))
    assert v.ours.over == "3 seeds"


def test_the_estimate_alone_never_decides():
    """The point estimate sits inside the band, but the interval crosses its edge: inconclusive, not reproduced."""
    [v] = judge(_spec([{"name": "gap", "finding": ["data", "gap"], "published": 0.31, "tolerance": 0.05}]), FINDINGS)
    assert v.verdict == INCONCLUSIVE and "straddles" in v.reason


@pytest.mark.parametrize(("direction", "path", "tolerance", "expected"), [
    ("above", ["data", "gap"], None, REPRODUCED),
    ("below", ["data", "gap"], None, NOT_REPRODUCED),
    ("above", ["data", "flat"], None, INCONCLUSIVE),
    ("above", ["data", "flat"], 0.05, NOT_REPRODUCED),   # inside 0 ± 0.05: no effect of that size
    ("above", ["data", "tiny"], 0.002, NOT_REPRODUCED),  # clears 0 but inside 0 ± 0.002: a trivial effect is none
    ("above", ["data", "tiny"], None, REPRODUCED),       # without a smallest effect of interest it counts
])
def test_a_direction_needs_the_interval_to_exclude_the_null_on_its_side(direction, path, tolerance, expected):
    claim = {"name": "d", "finding": path, "direction": direction, **({"tolerance": tolerance} if tolerance else {})}
    [v] = judge(_spec([claim]), FINDINGS)
    assert v.verdict == expected, v.reason


def test_a_failed_control_replaces_the_verdict_of_the_claims_that_need_it():
    claims = [{"name": "CNN accuracy", "finding": CNN, "published": 0.94, "tolerance": 0.03, "complement": True},
              {"name": "gap", "finding": ["data", "gap"], "direction": "above", "controls": ["fits"]},
              {"name": "free", "finding": ["data", "gap"], "direction": "above", "controls": []}]
    fits = {"name": "fits", "finding": ["data", "models", "cnn/mnist1d", "train_error"], "at_most": 0.0001,
            "why": "the network does not fit its training set"}
    verdicts = judge(_spec(claims, [fits]), FINDINGS)
    assert [v.verdict for v in verdicts] == [CONTROL_FAILED, CONTROL_FAILED, REPRODUCED]
    assert "0.001 > 0.0001" in verdicts[0].reason and "does not fit" in verdicts[0].reason
    passing = {**fits, "at_most": 0.01}
    assert [v.verdict for v in judge(_spec(claims, [passing]), FINDINGS)] == [REPRODUCED] * 3


def test_a_missing_or_failed_finding_is_inconclusive_with_its_reason():
    [v] = judge(_spec([{"name": "x", "finding": ["data", "models", "mlp/s"], "direction": "above"}]), FINDINGS)
    assert v.verdict == INCONCLUSIVE and "data/models/mlp/s not found" in v.reason
    assert "analysis of bias failed" in lookup(FINDINGS, ["bias", "di"])[1]
    assert ours_of(FINDINGS, ["data", "models", "cnn/mnist1d", "train_error"]).reason == "a number without an interval"


def test_the_block_is_checked_like_the_rest_of_the_spec():
    base = {"name": "r", "version": 1, "studies": [{"kind": "data"}]}
    paper = {"authors": "A", "year": 2020, "where": "Table 1"}
    claim = {"name": "c", "finding": ["data", "x"], "published": 0.3}
    with pytest.raises(SpecError, match=r"reproduces.claims\[0\].*needs its tolerance"):
        parse_spec({**base, "reproduces": {"paper": paper, "claims": [claim]}}, source="t.yaml")
    with pytest.raises(SpecError, match=r"reproduces.claims\[0\].tolerence: unknown key"):
        parse_spec({**base, "reproduces": {"paper": paper, "claims": [{**claim, "tolerence": 1}]}}, source="t.yaml")
    with pytest.raises(SpecError, match="unknown control"):
        parse_spec({**base, "reproduces": {"paper": paper, "claims": [{**claim, "tolerance": 0.1,
                                                                        "controls": ["fits"]}]}}, source="t.yaml")
    ok = parse_spec({**base, "reproduces": {"paper": paper, "claims": [{**claim, "tolerance": 0.1}]}}, source="t.yaml")
    assert ok.reproduces.claims[0].tolerance == 0.1


def test_referee_the_rule_on_simulated_test_sets_both_ways():
    """3 seeds × 1,000 test samples of known accuracy, the nested interval, the band 0.68 ± 0.05: true 0.68 is
    reproduced in most draws, true 0.50 never; true at the band's edge (0.73) is called reproduced in at most
    ~2.5% of draws (the interval is a two-sided 95% one: the rule's false 'reproduced' rate at the edge)."""
    rng = np.random.default_rng(0)
    spec = _spec([{"name": "MLP accuracy", "finding": ["s", "acc"], "published": 0.68, "tolerance": 0.05}])

    def verdicts(true_acc, reps):
        out = []
        for _ in range(reps):
            seeds = [(rng.random(1000) < true_acc + rng.normal(0, 0.005)).astype(float) for _ in range(3)]
            iv = nested_interval(seeds, domain=UNIT, n_resamples=100, paired=False, seed=int(rng.integers(1 << 30))).to_dict()
            out.append(judge(spec, {"s": {"acc": iv}})[0].verdict)
        return out

    assert verdicts(0.68, 20).count(REPRODUCED) >= 14
    assert set(verdicts(0.50, 10)) == {NOT_REPRODUCED}
    assert verdicts(0.73, 40).count(REPRODUCED) <= 3
