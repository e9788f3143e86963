"""The MNIST-1D table's verdicts from committed rows of a real run of the suite's spec (tests/fixtures/reproductions/:
`dl-drawbacks run studies/reproductions/greydanus2020-mnist1d.yaml` at a reduced budget — 200 steps, 1 seed, 4
evaluations — so its networks stop short of the paper's accuracies): the data study's analysis on those rows, then
the spec's own `reproduces:` block. The same rows give every outcome: reproduced (logistic regression), not
reproduced (the under-trained MLP and CNN), control failed (the shuffled claims, whose plain model is below the
paper's regime); moving the published values onto our estimates and relaxing the controls turns them around."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.reproduce.verdict import CONTROL_FAILED, NOT_REPRODUCED, REPRODUCED, judge
from dl_drawbacks.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "studies" / "reproductions" / "greydanus2020-mnist1d.yaml"
ROWS = REPO / "tests" / "fixtures" / "reproductions" / "greydanus2020-mnist1d.parquet"
# what `dl-drawbacks run` reported for these rows: verdict, our accuracy
RECORDED = {
    "logistic regression test accuracy": ("reproduced", 0.323),
    "MLP test accuracy": ("not reproduced", 0.558),
    "CNN test accuracy": ("not reproduced", 0.745),
    "CNN test accuracy (shuffled)": ("control failed", 0.490),
    "MLP test accuracy (shuffled)": ("control failed", 0.575),
}


@pytest.fixture(scope="module")
def suite_and_findings():
    suite = load_spec(SPEC)
    kind = get_kind("data")  # the spec's own analysis options, without planning (which would generate the data)
    options = kind.Options.model_validate(suite.studies[0].analysis)
    return suite, {"data": kind.analyze(pl.read_parquet(ROWS), options, measure=suite.measure)}


def test_the_committed_rows_give_the_verdicts_the_run_reported(suite_and_findings):
    suite, findings = suite_and_findings
    verdicts = {v.claim: v for v in judge(suite.reproduces, findings)}
    assert {k: v.verdict for k, v in verdicts.items()} == {k: r[0] for k, r in RECORDED.items()}
    for claim, (_, estimate) in RECORDED.items():
        assert verdicts[claim].ours.estimate == pytest.approx(estimate, abs=1e-3)
        assert verdicts[claim].ours.over == "1 seeds × 1000 test samples"


def test_the_same_rows_turn_around_when_the_published_values_and_controls_move(suite_and_findings):
    suite, findings = suite_and_findings
    spec = suite.reproduces
    relaxed = spec.model_copy(update={
        "claims": [c.model_copy(update={"published": RECORDED[c.name][1]}) for c in spec.claims],
        "controls": [c.model_copy(update={"at_least": 0.5}) if c.at_least else c for c in spec.controls]})
    assert {v.verdict for v in judge(relaxed, findings)} == {REPRODUCED}
    far = relaxed.model_copy(update={"claims": [c.model_copy(update={"published": c.published + 0.2})
                                                for c in relaxed.claims]})
    assert {v.verdict for v in judge(far, findings)} == {NOT_REPRODUCED}
    strict = spec.model_copy(update={"controls": [c.model_copy(update={"at_most": -1}) if c.at_most is not None
                                                  else c for c in spec.controls]})
    verdicts = judge(strict, findings)
    assert {v.verdict for v in verdicts} == {CONTROL_FAILED}
    assert "no trial diverged: 0 > -1" in verdicts[0].reason
