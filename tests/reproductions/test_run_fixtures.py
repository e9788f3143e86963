"""Verdicts of the ROAR (Hooker 2019), sanity-check (Adebayo 2018) and LCDB (Mohr 2022) reproductions from committed
rows of their real end-to-end runs (tests/fixtures/reproductions/<spec>.parquet, written from each run folder): the
kind's analysis on those rows, then the spec's own `reproduces:` block, give the verdicts and estimates the run
reported; the same findings turn around when a claim's published value moves onto ours or far from it, and every
claim reads "control failed" when its controls' bounds cannot be met."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dl_drawbacks.reproduce.verdict import CONTROL_FAILED, NOT_REPRODUCED, REPRODUCED, judge
from dl_drawbacks.spec import load_spec
from dl_drawbacks.studies.base import get_kind

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "reproductions"
# what `dl-drawbacks run studies/reproductions/<spec>.yaml` reported: claim -> (verdict, our estimate)
RECORDED: dict[str, dict[str, tuple[str, float]]] = {
}


@pytest.fixture(scope="module", params=sorted(RECORDED))
def case(request):
    name = request.param
    suite = load_spec(REPO / "studies" / "reproductions" / f"{name}.yaml")
    study = suite.studies[0]
    kind = get_kind(study.kind)  # the spec's own analysis options, without planning
    rows = pl.read_parquet(FIXTURES / f"{name}.parquet")
    findings = {study.kind: kind.analyze(rows, kind.Options.model_validate(study.analysis), measure=suite.measure)}
    return name, suite.reproduces, findings


def test_the_committed_rows_give_the_verdicts_the_run_reported(case):
    name, spec, findings = case
    verdicts = {v.claim: v for v in judge(spec, findings)}
    assert {k: v.verdict for k, v in verdicts.items()} == {k: r[0] for k, r in RECORDED[name].items()}
    for claim, (_, estimate) in RECORDED[name].items():
        assert verdicts[claim].ours.estimate == pytest.approx(estimate, abs=1e-3)


def test_the_same_findings_turn_around_when_the_claims_and_controls_move(case):
    name, spec, findings = case
    measured = {v.claim: v.ours for v in judge(spec, findings)}
    claims = [c for c in spec.claims if measured[c.name].defined]
    assert claims, f"{name}: no claim has an interval"
    width = {c.name: measured[c.name].high - measured[c.name].low for c in claims}
    relaxed_controls = [c.model_copy(update={"at_least": None if c.at_least is None else -1e9,
                                             "at_most": None if c.at_most is None else 1e9}) for c in spec.controls]
    on_ours = spec.model_copy(update={"controls": relaxed_controls, "claims": [
        c.model_copy(update={"published": measured[c.name].estimate, "direction": None,
                             "tolerance": width[c.name] + 1e-9}) for c in claims]})
    assert {v.verdict for v in judge(on_ours, findings)} == {REPRODUCED}
    far = on_ours.model_copy(update={"claims": [c.model_copy(update={"published": c.published + 3 * width[c.name] + 1})
                                                for c in on_ours.claims]})
    assert {v.verdict for v in judge(far, findings)} == {NOT_REPRODUCED}
    impossible = [c.model_copy(update={"at_least": None if c.at_least is None else 1e9,
                                       "at_most": None if c.at_most is None else -1e9}) for c in spec.controls]
    strict = spec.model_copy(update={"controls": impossible})
    assert {v.verdict for v in judge(strict, findings)} == {CONTROL_FAILED}
