"""The tiny interpretability study end to end through Ray (planted digits, 2 sizes × 2 seeds), and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.errors import SpecError
from dl_drawbacks.spec.load import parse_spec

METHODS = {"saliency", "integrated_gradients", "input_x_gradient", "occlusion", "gradient_shap"}


def _spec(**study) -> dict:
    return {"name": "x", "version": 1, "studies": [{"kind": "interpretability", "trainer": {"budget": {"steps": 1}}, **study}]}


def test_zero3_and_token_models_are_refused():
    with pytest.raises(SpecError, match="ZeRO-3"):
        parse_spec(_spec(trainer={"workers": 2, "deepspeed": {"zero_stage": 3}, "budget": {"steps": 1}}))
    with pytest.raises(SpecError, match="token models"):
        parse_spec(_spec(data={"name": "text_bytes"}, model={"family": "gpt", "size": "nano"}))
    with pytest.raises(SpecError, match="treatment.planted"):
        parse_spec(_spec(data={"name": "german"}, treatment={"planted": True}))


@pytest.mark.ray
def test_tiny_interpretability_study(ray_cluster, tmp_path, specs_dir):
    out = tmp_path / "run"
    assert main(["run", str(specs_dir / "tiny_interpretability.yaml"), "--out", str(out)]) == 0
    statuses = [json.loads(p.read_text())["status"] for p in (out / "trials").glob("*/trial.json")]
    assert statuses == ["completed"] * 4
    f = json.loads((out / "findings.json").read_text())["interpretability"]
    assert f["trials"] == 4 and set(f["methods"]) == METHODS
    for m, e in f["methods"].items():
        assert e["deletion_gain"]["n"] == 4 and len(e["deletion_gain"]["interval"]) == 2
        assert 0 <= e["insertion_auc"]["mean"] <= 1 and e["explain_seconds_per_sample"]["mean"] > 0
        assert 0 <= e["localisation_share"]["mean"] <= 1 and isinstance(e["sanity_passed"], bool)
        assert [d["depth"] for d in f["sanity_by_depth"][m]] == [1, 2, 3]  # mlp xs has 2, s has 3 linear layers
    # gradients of a random network do not look like the trained one's; gradient × input keeps the input's imprint
    assert f["methods"]["saliency"]["sanity_spearman_final"]["mean"] < f["methods"]["input_x_gradient"]["sanity_spearman_final"]["mean"]
    assert len(f["agreement"]) == 10
    sizes = {r["setting"].split()[0] for r in f["by_setting"]}
    assert sizes == {"size=xs", "size=s"}
    planted = f["planted"]
    assert planted["patch_area_share"] == pytest.approx(4 / 64) and len(planted["by_setting"]) == 2
    assert planted["reliance_drop_all"]["n"] == 4
    price = {r["model"] for r in f["price_of_interpretability"]}
    assert price == {"logistic_regression", "decision_tree_depth4"}
    assert all(r["gap"]["n"] == 2 and r["gap"]["interval"] for r in f["price_of_interpretability"])
    assert {Path(p).name for p in f["figures"]} == {"interpretability_maps.png", "interpretability_deletion_insertion.png",
                                                    "interpretability_sanity_by_layer.png", "interpretability_vs_size.png"}
    assert "Price of interpretability" in (out / "report.md").read_text()
