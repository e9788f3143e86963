"""The bias study's analysis on synthetic rows with known answers (both ways), its spec checks, and the
per-sample loss-weight hook of the training loop that reweighing uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dl_drawbacks.data.uci_adult import GROUP_NAMES as ADULT_NAMES
from dl_drawbacks.headline import as_dicts
from dl_drawbacks.rows import RowBuffer, frame_from_records
from dl_drawbacks.studies.bias.figures import group_bars
from dl_drawbacks.studies.bias.group_names import record_group_names
from dl_drawbacks.studies.bias.report import bias_headlines, bias_markdown
from dl_drawbacks.studies.bias.analysis import BiasAnalysis
from dl_drawbacks.studies.bias.compas_reference import compas_pairing
from dl_drawbacks.studies.bias.settings import collect
from dl_drawbacks.studies.bias.prejudice import prejudice_remover_sweep
from dl_drawbacks.studies.bias.sweeps import mitigation_comparison
from dl_drawbacks.studies.bias.kind import orientation, record_outcomes
from dl_drawbacks.studies.bias.samples import REFERENCE, add_sample_rows, cell_codes
from dl_drawbacks.studies.bias.verdicts import equivalence, verdict
from dl_drawbacks.train.batches import micro_batch_weights, micro_batches
from dl_drawbacks.train.context import Split
from dl_drawbacks.train.evaluate import classification_loss, weighted_classification_loss

N = 2000
TEST_RNG = np.random.default_rng(7)
SEX = (TEST_RNG.random(N) < 0.5).astype(np.int64)  # one shared test set: every seed scores it
Y = (TEST_RNG.random(N) < np.where(SEX == 1, 0.4, 0.3)).astype(np.int64)  # label base-rate gap 0.1


def predictor(seed: int, *, unpriv_select: float | None, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """y flipped at rate ``noise`` (group-blind); ``unpriv_select`` forces the unprivileged selection rate."""
    rng = np.random.default_rng(100 + seed)
    yhat = np.where(rng.random(N) < noise, 1 - Y, Y)
    if unpriv_select is not None:
        yhat = np.where(SEX == 0, (rng.random(N) < unpriv_select).astype(np.int64), yhat)
    score = np.clip(yhat * 0.7 + 0.15 + rng.normal(0, 0.05, N), 0, 1)
    return yhat.astype(np.int64), score


def trial(seed, *, mitigation="none", share=None, drop=(), feasible=True, eta=None, reference=None, **kw):
    factors = {"sweep": "s", "dataset": "synthetic", "n_train": 100, "protected": "sex", "unprivileged_share": share,
               "mitigation": mitigation, "drop_features": list(drop)}
    rows = RowBuffer("bias", "run", f"t-{seed}-{share}-{mitigation}-{len(drop)}-{eta}", seed, factors)
    rows.add("mitigation_feasible", float(feasible), "flag", split="test",
             provenance="measured" if feasible else "infeasible:mix rate unprivileged 5.9 outside [0, 1]")
    if eta is not None:
        rows.add("prejudice_eta", eta, "penalty", split="train", provenance="treatment")
    if feasible:
        yhat, score = predictor(seed, **kw)
        record_outcomes(rows, ["sex"], Y, yhat, score, {"sex": SEX})
        record_group_names(rows, ADULT_NAMES, ["sex"])
    if reference is not None:  # someone else's fixed decisions on the same test samples (COMPAS's role)
        yhat, score = predictor(99, unpriv_select=reference)
        add_sample_rows(rows, cell_codes({"sex": SEX}, ["sex"]), Y, yhat, score, 1, metric=REFERENCE)
    return rows.to_records()


def analyse(records, **kw):
    return BiasAnalysis(resamples=100, **kw).fit(frame_from_records(records)).findings_


@pytest.fixture(scope="module")
def findings():
    records = []
    for seed in (0, 1, 2):
        records.append(trial(seed, unpriv_select=0.1))  # biased: unprivileged selection 0.1 vs ~0.42
        records.append(trial(seed, mitigation="reweighing", unpriv_select=0.42))  # fair: selection ≈ privileged's 0.42
        records.append(trial(seed, mitigation="calibrated_eq_odds", unpriv_select=0.0))  # collapsed: every woman 0
        records.append(trial(seed, mitigation="eq_odds", feasible=False))
        records.append(trial(seed, drop=("relationship",), unpriv_select=0.1))  # proxies carry nothing
        for share, select in ((0.1, 0.1), (0.5, None)):
            records.append(trial(seed, share=share, unpriv_select=select))
    return analyse(records, primary_metric="disparate_impact")


def test_groups_are_named_from_the_data_sets_metadata_and_keys_keep_codes(findings, tmp_path):
    assert findings["group_names"] == {"sex=0": "female", "sex=1": "male"}  # Adult's coding: 1 = male
    section = bias_markdown(findings, [])
    assert "| female |" in section and "| male |" in section and "| sex=0 |" not in section
    assert "male (sex=1)" in section and section.count("(aif360's orientation)") == 1
    compas_way = bias_markdown({**findings, "orientation": "propublica"}, [])
    assert compas_way.count("ProPublica's orientation throughout") == 1 and "aif360's orientation)" not in compas_way
    heads = {h["key"]: h["finding"] for h in as_dicts(bias_headlines(findings))}
    assert "(female)" in heads["fpr/sex=0"] and not any("sex=0" in text for text in heads.values())
    assert group_bars(findings, tmp_path).is_file()
    unnamed = bias_markdown({**findings, "group_names": {}}, [])
    assert "| sex=0 |" in unnamed and "every listed attribute 1;" in unnamed


def test_biased_predictor_fails_and_fair_one_passes(findings):
    head = findings["headline"]["sex"]
    di = head["metrics"]["disparate_impact"]
    assert di["verdict"] == "fails" and di["interval"]["method"].startswith("nested")
    assert di["interval"]["n"] == {"seeds": 3, "test_samples": N}
    fair = next(r for r in findings["mitigation"]["sex @ natural share"]["table"] if r["mitigation"] == "reweighing")
    assert fair["metrics"]["disparate_impact"]["verdict"] == "passes"
    assert fair["metrics"]["statistical_parity_difference"]["verdict"] == "passes"
    blind = findings["representation"]["sex"]["points"][1]  # group-blind errors: equalized odds holds
    assert blind["average_odds_difference"]["verdict"] == "passes"


def test_collapse_and_infeasible_are_reported_not_scored(findings):
    m = findings["mitigation"]["sex @ natural share"]
    by = {r["mitigation"]: r for r in m["table"]}
    assert by["calibrated_eq_odds"]["status"] == "collapsed" and "every unprivileged sample predicted 0" in by["calibrated_eq_odds"]["reason"]
    assert by["eq_odds"]["status"] == "infeasible" and "5.9" in by["eq_odds"]["reason"] and "metrics" not in by["eq_odds"]
    assert m["best"] == "reweighing" and set(m["excluded"]) == {"calibrated_eq_odds", "eq_odds"}
    front = findings["frontier"]["sex"]
    assert {p["mitigation"] for p in front["points"]} == {"none", "reweighing"}
    assert {e["status"] for e in front["excluded"]} == {"collapsed", "infeasible"}
    assert all(p["distance_interval95"][0] is not None for p in front["points"])


def test_amplification_on_both_scales_each_with_its_verdict(findings):
    amp = findings["headline"]["sex"]["amplification"]  # 0.1 label gap -> ~0.3 predicted: both scales widen
    assert amp["difference"]["verdict"] == "amplifies" and amp["ratio"]["verdict"] == "amplifies"
    assert amp["ratio"]["factor"]["interval"]["domain"] == "positive" and amp["scales_agree"]
    fair = analyse([trial(s, unpriv_select=None, noise=0.0) for s in (0, 1, 2)])["headline"]["sex"]["amplification"]
    assert fair["difference"]["verdict"] != "amplifies" and fair["ratio"]["verdict"] != "amplifies"


def test_representation_is_judged_on_equalized_odds(findings):
    rep = findings["representation"]["sex"]
    points = rep["points"]
    assert [p["unprivileged_share"] for p in points] == [0.1, 0.5] and "Hardt et al. 2016" in rep["tested"]
    # share 0.1: women selected at 0.1 whatever their label -> TPR gap ~ -0.8: open; share 0.5: group-blind errors
    assert points[0]["tpr_gap"]["verdict"] == "open" and points[0]["equalized_odds"]["verdict"] == "open"
    assert points[1]["equalized_odds"]["verdict"] in ("closed", "inconclusive")
    assert 0.5 < points[1]["roc_auc"]["unprivileged"]["mean"] <= 1 and "accuracy_gap" not in points[1]
    assert equivalence({"low": -0.03, "high": 0.01}, 0.02)["verdict"] == "inconclusive"  # contains 0, not closed
    assert equivalence({"low": -0.01, "high": 0.015}, 0.02)["verdict"] == "closed"


def test_proxy_ablation_both_ways(findings):
    same = findings["proxy_ablation"]["sex without relationship"]["metrics"]["statistical_parity_difference"]
    assert same["verdict"] == "no measurable change"
    records = [trial(s, unpriv_select=0.1) for s in (0, 1)] + [trial(s, drop=("relationship",), unpriv_select=None) for s in (0, 1)]
    ablation = analyse(records)["proxy_ablation"]["sex without relationship"]
    carried = ablation["metrics"]["statistical_parity_difference"]
    assert carried["verdict"] == "the proxies carry part of the gap" and carried["share_of_gap_carried"] > 0.5
    # beside it: women's selection rate rises from 0.1 to ~0.31 (ratio ~3), men's stays (ratio ~1)
    sel = ablation["selection_rate"]
    ratio = sel["unprivileged"]["ratio_without_to_with"]
    assert ratio["mean"] > 2.5 and ratio["interval95"][0] > 1 and ratio["interval"]["domain"] == "positive"
    assert sel["privileged"]["ratio_without_to_with"]["mean"] == pytest.approx(1.0, abs=0.02)
    assert ablation["accuracy_cost"]["interval95"][1] < 0  # the group-blind model is more accurate


def test_prejudice_remover_is_judged_against_its_own_eta_zero(findings):
    assert findings["prejudice_remover"] == {}  # no prejudice remover trial in the fixture
    records = [trial(s, mitigation="prejudice_remover", eta=0.0, unpriv_select=0.1) for s in (0, 1)]
    records += [trial(s, mitigation="prejudice_remover", eta=5.0, unpriv_select=0.42) for s in (0, 1)]  # fairer
    records += [trial(s, mitigation="prejudice_remover", eta=25.0, unpriv_select=0.02) for s in (0, 1)]  # less fair
    records += [trial(s, unpriv_select=None) for s in (0, 1)]  # the network, never PR's reference
    settings = collect(frame_from_records(records))
    assert mitigation_comparison(settings, 50, "statistical_parity_difference") == {}  # PR is not a row there
    pr = prejudice_remover_sweep(settings, 50, "statistical_parity_difference")["sex @ natural share"]
    assert pr["reference"] == "eta=0" and "Kamishima et al. 2012" in pr["method"]
    rows = {r["eta"]: r for r in pr["table"]}
    assert rows[0.0]["accuracy_cost"] is None and "verdict" not in rows[0.0]
    assert rows[5.0]["verdict"] == "closer to parity than η = 0"
    assert rows[25.0]["verdict"] == "further from parity than η = 0"
    alone = collect(frame_from_records(records[2:4]))
    assert prejudice_remover_sweep(alone, 50, "statistical_parity_difference")["sex @ natural share"]["reference"] is None


def test_compas_and_the_model_paired_on_the_same_samples_both_ways():
    def pairing(model_select, reference):
        records = [trial(s, unpriv_select=model_select, reference=reference) for s in (0, 1)]
        return compas_pairing(collect(frame_from_records(records)), 50)

    # the decision-maker selects 10% of the unprivileged group whatever their label; the model is group-blind
    fair_model = pairing(None, 0.1)["sex"]
    gap = fair_model["false_positive_rate_gap"]  # ProPublica's FPR = P(ŷ = 0 | y = 1): unprivileged ~0.9 vs ~0.1
    assert gap["compas"]["mean"] == pytest.approx(0.8, abs=0.05) and abs(gap["model"]["mean"]) < 0.05
    assert gap["model_minus_compas"]["interval95"][1] < 0
    assert fair_model["defendants"] == N and fair_model["rates"]["sex=0"]["false_positive_rate"]["compas"]["mean"] > 0.85
    assert pairing(0.1, None) == {}  # no reference recorded: nothing to pair
    assert pairing(0.1, 0.42)["sex"]["false_positive_rate_gap"]["model_minus_compas"]["interval95"][0] > 0


def test_orientation_follows_the_data_set():
    from dl_drawbacks.rows import frame_from_records as frame

    records = trial(0, unpriv_select=None)
    assert orientation(frame([records])) == "favourable"
    compas = {**records, "factors": [f.replace('"synthetic"', '"compas"') for f in records["factors"]]}
    assert orientation(frame([compas])) == "propublica"


def test_threshold_free_metrics(findings):
    tf = findings["headline"]["sex"]["threshold_free"]
    assert 0.5 < tf["roc_auc"]["privileged"]["mean"] <= 1 and tf["ece"]["unprivileged"]["interval95"][0] is not None


def test_verdict_straddling_is_inconclusive():
    assert verdict("disparate_impact", {"low": 0.75, "high": 0.9})["verdict"] == "inconclusive"
    assert verdict("disparate_impact", {"low": 0.85, "high": 0.9})["verdict"] == "passes"
    assert verdict("statistical_parity_difference", {"low": -0.3, "high": -0.2})["verdict"] == "fails"
    assert verdict("average_odds_difference", {"low": None, "high": None, "reason": "no positives"})["verdict"] == "not measurable"


def test_degenerate_rows_are_reasons_not_crashes():
    one = analyse([trial(0, unpriv_select=0.1)])
    assert "one seed" in one["headline"]["sex"]["metrics"]["disparate_impact"]["interval"]["reason"]
    empty = BiasAnalysis().fit(frame_from_records([])).findings_
    assert empty["available"] is False and empty["headline"] == {}
    only_failed = analyse([trial(s, mitigation="none", feasible=False) for s in (0, 1)])
    assert only_failed["headline"]["sex"]["available"] is False

def test_spec_check_requires_fixed_training_size_for_representation():
    from dl_drawbacks.errors import SpecError
    from dl_drawbacks.plan import checked_spec

    doc = {"name": "x", "version": 1, "studies": [{"kind": "bias", "data": {"name": "german"},
           "treatment": {"protected": "sex", "unprivileged_share": 0.3, "mitigation": "none"}}]}
    with pytest.raises(SpecError, match="data.n_train: set it"):
        checked_spec(doc)
    doc["studies"][0]["treatment"] = {"protected": "sex", "mitigation": "none"}
    with pytest.raises(SpecError, match="unprivileged_share: required key is missing"):
        checked_spec(doc)


def test_weighted_loss_and_weights_follow_the_batch_order():
    logits, y = torch.randn(6, 2), torch.tensor([0, 1, 1, 0, 1, 0])
    assert weighted_classification_loss(logits, y, torch.ones(6)) == pytest.approx(float(classification_loss(logits, y)))
    doubled = weighted_classification_loss(logits, y, torch.tensor([2.0, 0, 0, 0, 0, 0]))
    assert float(doubled) == pytest.approx(2 * float(torch.nn.functional.cross_entropy(logits[:1], y[:1])) / 6)
    split = Split(np.arange(20, dtype=np.float32).reshape(10, 2), np.arange(10), weights=np.arange(10, dtype=np.float32))
    shard = dict(micro_batch=4, rank=0, world_size=1, seed=3, device=torch.device("cpu"))
    batches, weights = micro_batches(split, **shard), micro_batch_weights(split, **shard)
    for _ in range(5):  # across an epoch boundary
        _, yb, _ = next(batches)
        np.testing.assert_array_equal(next(weights).numpy(), yb.numpy().astype(np.float32))
    assert micro_batch_weights(Split(split.x, split.y), **shard) is None


def test_figures_report_and_headlines_survive_full_and_degenerate_findings(findings, tmp_path):
    from dl_drawbacks.storage.files import json_safe
    from dl_drawbacks.studies.bias.figures import make_figures
    from dl_drawbacks.studies.bias.report import bias_headlines, bias_markdown

    for f in (json_safe(findings), json_safe(BiasAnalysis().fit(frame_from_records([])).findings_)):
        figs = make_figures(f, tmp_path)
        text = bias_markdown({"question": "q", **f}, figs)
        rows = as_dicts(bias_headlines(f))
        assert isinstance(text, str) and all("finding" in r for r in rows)
    assert len(make_figures(json_safe(findings), tmp_path)) == 4
    assert "collapsed" in bias_markdown({"question": "q", **json_safe(findings)}, [])
