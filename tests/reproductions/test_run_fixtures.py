"""Verdicts of the ROAR (Hooker 2019), sanity-check (Adebayo 2018), LCDB (Mohr 2022) and random-label / shuffled-pixel
(Zhang 2017) reproductions from their real end-to-end runs. Fast: the findings those runs wrote, cut to the paths the
spec's claims and controls name (tests/fixtures/reproductions/<spec>.findings.json), judged by the spec's own
`reproduces:` block, give the verdicts the run reported, and turn around when a claim's published value moves onto
ours or far from it, or when the controls' bounds cannot be met. Slow: the kind's analysis on the committed rows of
the same run (<spec>.parquet) rebuilds those findings."""

from __future__ import annotations

import json
from pathlib import Path
import polars as pl
import pytest

from dl_drawbacks.reproduce.verdict import CONTROL_FAILED, NOT_REPRODUCED, REPRODUCED, findings_read, judge
from dl_drawbacks.spec import load_spec
from dl_drawbacks.spec.reproduction import ReproductionSpec
from dl_drawbacks.storage.files import json_safe
from dl_drawbacks.studies.base import get_kind

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "reproductions"
# what `dl-drawbacks run studies/reproductions/<spec>.yaml` reported: claim -> (verdict, our estimate)
RECORDED: dict[str, dict[str, tuple[str, float]]] = {
    "adebayo2018-sanity": {  # commit cb9a6d5
        "gradient: independent − randomised similarity": ("reproduced", 0.141),
        "integrated gradients: independent − randomised similarity": ("reproduced", 0.053),
        "Guided Backprop: independent − randomised similarity": ("inconclusive", 0.097),
    },
    "mohr2022-lcdb": {  # commit 5dfd5f2
        "error at the 10% cut − at the 50% cut (chosen family)": ("reproduced", 0.0258),
        "chosen family − MMF4, error at the largest anchor (50% cut)": ("reproduced", -0.0009),
        "coverage of the 95% band, held-out anchors (50% cut)": ("not reproduced", 0.5),
    },
    "zhang2017-random-labels": {  # commit e2fb435: random labels (MLP) and shuffled pixels (LeNet-style CNN)
        "train accuracy on random labels": ("reproduced", 1.0),
        "test accuracy on random labels (chance)": ("reproduced", 0.088),
        "slope of log(epochs to fit) on the corrupted share": ("reproduced", 1.175),
        "train accuracy with shuffled pixels (CNN)": ("reproduced", 1.0),
    },
    "hooker2019-roar": {  # commit 2de65eb: the removal masks alone predict the digit, so every claim is refused
        "gradient: ROAR gain over random": ("control failed", -0.135),
        "integrated gradients: ROAR gain over random": ("control failed", -0.044),
        "SmoothGrad-squared: ROAR gain over random": ("control failed", -0.151),
        "VarGrad: ROAR gain over random": ("control failed", 0.005),
    },
}


def _spec(name: str) -> ReproductionSpec:
    return load_spec(REPO / "studies" / "reproductions" / f"{name}.yaml").reproduces


def _as_keys(path: list[str | int]) -> list[str]:
    return [str(k) for k in path]


def _stringly(spec: ReproductionSpec) -> ReproductionSpec:
    """The spec with list indexes as strings, the way the pruned findings hold them."""
    return spec.model_copy(update={
        "claims": [c.model_copy(update={"finding": _as_keys(c.finding)}) for c in spec.claims],
        "controls": [c.model_copy(update={"finding": _as_keys(c.finding)}) for c in spec.controls]})


@pytest.fixture(scope="module", params=sorted(RECORDED))
def case(request):
    name = request.param
    findings = json.loads((FIXTURES / f"{name}.findings.json").read_text())
    return name, _stringly(_spec(name)), findings


def test_the_run_s_findings_give_the_verdicts_it_reported(case):
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
    relaxed = [c.model_copy(update={"at_least": None if c.at_least is None else -1e9,
                                    "at_most": None if c.at_most is None else 1e9}) for c in spec.controls]
    on_ours = spec.model_copy(update={"controls": relaxed, "claims": [
        c.model_copy(update={"published": measured[c.name].estimate, "direction": None,
                             "tolerance": width[c.name] + 1e-9}) for c in claims]})
    assert {v.verdict for v in judge(on_ours, findings)} == {REPRODUCED}
    far = on_ours.model_copy(update={"claims": [c.model_copy(update={"published": c.published + 3 * width[c.name] + 1})
                                                for c in on_ours.claims]})
    assert {v.verdict for v in judge(far, findings)} == {NOT_REPRODUCED}
    impossible = [c.model_copy(update={"at_least": None if c.at_least is None else 1e9,
                                       "at_most": None if c.at_most is None else -1e9}) for c in spec.controls]
    assert {v.verdict for v in judge(spec.model_copy(update={"controls": impossible}), findings)} == {CONTROL_FAILED}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECORDED))
def test_the_committed_rows_rebuild_the_findings(name):
    suite = load_spec(REPO / "studies" / "reproductions" / f"{name}.yaml")
    study = suite.studies[0]
    kind = get_kind(study.kind)  # the spec's own analysis options, without planning
    rows = pl.read_parquet(FIXTURES / f"{name}.parquet")
    findings = {study.kind: kind.analyze(rows, kind.Options.model_validate(study.analysis), measure=suite.measure)}
    findings = json.loads(json.dumps(json_safe(findings)))
    committed = json.loads((FIXTURES / f"{name}.findings.json").read_text())
    rebuilt = findings_read(findings, suite.reproduces)
    assert json.dumps(rebuilt, sort_keys=True) == json.dumps(committed, sort_keys=True)
