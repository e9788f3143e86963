"""The MNIST-1D table's verdicts from committed rows of the spec's full run (tests/fixtures/reproductions/): the
data study's analysis on those rows, then the spec's own `reproduces:` block — the verdicts the run reported; the
same rows against shifted published values (not reproduced) and a control set above what the CNN reached (control
failed), so the logic is exercised both ways on real data."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dl_drawbacks.plan import check_study
from dl_drawbacks.reproduce.verdict import CONTROL_FAILED, NOT_REPRODUCED, judge
from dl_drawbacks.spec import load_spec

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "studies" / "reproductions" / "greydanus2020-mnist1d.yaml"
ROWS = REPO / "tests" / "fixtures" / "reproductions" / "greydanus2020-mnist1d.parquet"
# what the full run (index in the README's "What it reproduces") reported for these rows
RECORDED = {}


@pytest.fixture(scope="module")
def suite_and_findings():
    suite = load_spec(SPEC)
    kind, options = check_study(suite.studies[0], prefix="studies[0]")
    return suite, {"data": kind.analyze(pl.read_parquet(ROWS), options, measure=suite.measure)}


def test_the_committed_rows_give_the_verdicts_the_run_reported(suite_and_findings):
    suite, findings = suite_and_findings
    verdicts = {v.claim: v for v in judge(suite.reproduces, findings)}
    assert {k: v.verdict for k, v in verdicts.items()} == {k: r[0] for k, r in RECORDED.items()}
    for claim, (_, estimate) in RECORDED.items():
        assert verdicts[claim].ours.estimate == pytest.approx(estimate, abs=1e-3)
        assert verdicts[claim].ours.over == "3 seeds × 1000 test samples"


def test_the_same_rows_against_other_published_values_and_a_stricter_control(suite_and_findings):
    suite, findings = suite_and_findings
    spec = suite.reproduces
    shifted = spec.model_copy(update={"claims": [c.model_copy(update={"published": round(1.25 - c.published, 2)})
                                                  for c in spec.claims]})
    assert {v.verdict for v in judge(shifted, findings)} == {NOT_REPRODUCED}
    strict = spec.model_copy(update={"controls": [c.model_copy(update={"at_least": 0.999}) if c.at_least else c
                                                  for c in spec.controls]})
    verdicts = {v.claim: v for v in judge(strict, findings)}
    for claim in ("CNN test accuracy (shuffled)", "MLP test accuracy (shuffled)"):
        assert verdicts[claim].verdict == CONTROL_FAILED and "< 0.999" in verdicts[claim].reason
