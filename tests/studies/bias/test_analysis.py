"""The bias study's analysis on synthetic rows with known answers, its spec checks, and the
per-sample loss-weight hook of the training loop that reweighing uses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dl_drawbacks.studies.bias.analysis import BiasAnalysis, verdict
from dl_drawbacks.rows import RowBuffer, frame_from_records
from dl_drawbacks.train.batches import micro_batch_weights, micro_batches
from dl_drawbacks.train.context import Split
from dl_drawbacks.train.evaluate import classification_loss, weighted_classification_loss


def _trial(seed, share, mitigation, *, di, acc_priv, acc_unpriv, acc):
    factors = {"sweep": "s", "dataset": "adult", "n_train": 100, "protected": "sex", "unprivileged_share": share, "mitigation": mitigation}
    rows = RowBuffer("bias", "run", f"t-{seed}-{share}-{mitigation}", seed, factors)
    for name, value in {"disparate_impact": di, "statistical_parity_difference": di - 1, "equal_opportunity_difference": 0.0,
                        "average_odds_difference": (di - 1) / 2, "theil_index": 0.1}.items():
        rows.add(name, value, "x", split="test", provenance="aif360")
        rows.add(f"{name}_boot_low", value - 0.05, "x", split="test")
        rows.add(f"{name}_boot_high", value + 0.05, "x", split="test")
    for group, a in (("all", acc), ("sex=1", acc_priv), ("sex=0", acc_unpriv)):
        for m in ("accuracy", "tpr", "fpr", "selection_rate"):
            rows.add(f"group_{m}", a, "fraction", split="test", group=group)
    return rows.to_records()


def _rows():
    records = []
    for seed in (0, 1, 2):
        jitter = 0.01 * seed
        records.append(_trial(seed, None, "none", di=0.5 + jitter, acc_priv=0.8, acc_unpriv=0.9, acc=0.85 + jitter))
        records.append(_trial(seed, None, "reweighing", di=0.9 + jitter, acc_priv=0.8, acc_unpriv=0.88, acc=0.83 + jitter))
        for share, gap in ((0.1, 0.2), (0.3, 0.1), (0.5, 0.0)):
            records.append(_trial(seed, share, "none", di=1.0, acc_priv=0.8, acc_unpriv=0.8 - gap + (seed - 1) * 0.01, acc=0.8))
    return frame_from_records(records)


def test_findings_on_known_rows():
    f = BiasAnalysis(primary_metric="disparate_impact").fit(_rows()).findings_
    di = f["headline"]["sex"]["metrics"]["disparate_impact"]
    assert di["mean"] == pytest.approx(0.51) and di["interval95"][0] < 0.51 < di["interval95"][1]
    assert di["bootstrap95"] == pytest.approx([0.46, 0.56]) and di["verdict"].startswith("fails the four-fifths rule")
    rep = f["representation"]["sex"]
    assert [p["unprivileged_share"] for p in rep["points"]] == [0.1, 0.3, 0.5]
    assert rep["points"][0]["accuracy_gap"]["mean"] == pytest.approx(0.2) and rep["accuracy_gap_closes_at"] == 0.5
    m = f["mitigation"]["sex @ natural share"]
    assert m["best"] == "reweighing" and m["best_accuracy_cost"]["mean"] == pytest.approx(0.02)
    pareto = {(p["mitigation"], p["unprivileged_share"]): p["pareto"] for p in f["frontier"]["sex"]}
    assert pareto[("none", None)] and pareto[("reweighing", None)]


def test_verdicts():
    assert verdict("disparate_impact", 0.9, 0.85, 0.95, 0, 3, None) == "passes the four-fifths rule (0.8–1.25)"
    assert "borderline" in verdict("statistical_parity_difference", -0.12, -0.2, -0.05, 0, 3, None)
    assert "unprivileged group is disadvantaged" in verdict("average_odds_difference", -0.3, -0.35, -0.25, 0, 3, None)
    assert verdict("equal_opportunity_difference", float("nan"), float("nan"), float("nan"), 3, 3, "no positives in unprivileged group") \
        == "undefined in 3 of 3 trials (no positives in unprivileged group)"


def test_spec_check_requires_fixed_training_size_for_representation():
    from dl_drawbacks.errors import SpecError
    from dl_drawbacks.spec.load import parse_spec

    doc = {"name": "x", "version": 1, "studies": [{"kind": "bias", "data": {"name": "german"},
           "treatment": {"protected": "sex", "unprivileged_share": 0.3, "mitigation": "none"}}]}
    with pytest.raises(SpecError, match="data.n_train: set it"):
        parse_spec(doc)
    doc["studies"][0]["treatment"] = {"protected": "sex", "mitigation": "none"}
    with pytest.raises(SpecError, match="unprivileged_share: required key is missing"):
        parse_spec(doc)


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
