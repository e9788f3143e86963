"""The tiny interpretability study end to end through Ray (planted digits, 2 sizes × 2 seeds, a ROAR point of
saliency and random; under -m slow), its one-size version without ROAR (the default run's equivalent: the same
trial path, controls and audit; ROAR's trial path is tests/studies/interpretability/test_roar.py's), and its
refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.errors import SpecError
from dl_drawbacks.plan import checked_spec

METHODS = {"saliency", "integrated_gradients", "input_x_gradient", "occlusion", "gradient_shap"}


def _spec(**study) -> dict:
    return {
        "name": "x",
        "version": 1,
        "studies": [{"kind": "interpretability", "trainer": {"budget": {"steps": 1}}, **study}],
    }


def test_zero3_and_token_models_are_refused():
    with pytest.raises(SpecError, match="ZeRO-3"):
        checked_spec(_spec(trainer={"workers": 2, "deepspeed": {"zero_stage": 3}, "budget": {"steps": 1}}))
    with pytest.raises(SpecError, match="token models"):
        checked_spec(_spec(data={"name": "text_bytes"}, model={"family": "gpt", "size": "nano"}))
    with pytest.raises(SpecError, match="treatment.planted"):
        checked_spec(_spec(data={"name": "german"}, treatment={"planted": True}))


def _check_condition(c: dict) -> None:
    assert {k: c["seeds"][k] for k in ("clean", "planted")} == {"clean": 2, "planted": 2}
    assert c["accuracy"]["n"] == {"seeds": 2}
    planted, audit = c["planted"], c["audit"]
    assert planted["available"] and planted["pairs"] == 2 and planted["patch_area_share"] == pytest.approx(4 / 64)
    assert isinstance(planted["reliance"]["established"], bool)
    for role in ("planted", "control"):
        assert 0 <= planted["reliance"][role]["prediction_flips"]["estimate"] <= 1
    assert set(planted["localisation"]) == METHODS
    for m, loc in planted["localisation"].items():
        for part in ("planted", "control", "lift_over_control"):
            assert loc["auc"][part]["n"] == {"seeds": 2, "test_samples": 16}
    assert set(audit["faithfulness"]) == METHODS
    assert all(set(per) == {"zero", "blur", "train_sample"} for per in audit["faithfulness"].values())
    assert set(audit["sanity"]) == METHODS | {"input"}  # |x|: the reference that must fail
    assert audit["sanity"]["input"]["model_randomisation"]["passes"] is not True
    for m, s in audit["sanity"].items():
        assert {"independent", "randomised", "label_random"} <= set(s)
        data = s["data_randomisation"]
        assert data["control"]["steps"]["high"] <= 250 and data["control"]["fit_accuracy"]["n"] == 2
        assert data["passes"] is None and "did not fit them" in data["reason"]  # stopped at 250 steps
    assert set(audit["robustness"]) == METHODS | {"random"} and len(audit["agreement"]) == 10
    assert audit["robustness"]["random"]["infidelity_noise"]["estimate"] > 0
    assert planted["control_trained"]["passes"] is True  # the label-free patch trains the control's weights
    price = c["price_of_interpretability"]
    assert set(price["models"]) == {"logistic_regression", "sparse_logistic_regression", "decision_tree"}
    assert all(v["gap"]["n"] == {"seeds": 2} for v in price["models"].values())


@pytest.mark.ray
def test_tiny_interpretability_study_one_size_without_roar(ray_cluster, tmp_path, specs_dir):
    out = tmp_path / "run"
    one_size = "studies[0].sweeps=[{name: model_size, axes: {treatment.planted: [true, false]}}]"
    assert main(["run", str(specs_dir / "tiny_interpretability.yaml"), one_size, "--out", str(out)]) == 0
    statuses = [json.loads(p.read_text())["status"] for p in (out / "trials").glob("*/trial.json")]
    assert statuses == ["completed"] * 4
    f = json.loads((out / "findings.json").read_text())["interpretability"]
    (c,) = f["conditions"]
    assert f["trials"] == 4 and c["size"] == "xs" and c["roar"]["available"] is False
    _check_condition(c)
    assert "interpretability_maps.png" in {Path(p).name for p in f["figures"]}
    assert "Price of interpretability on clean data" in (out / "report.md").read_text()


@pytest.mark.ray
@pytest.mark.slow
def test_tiny_interpretability_study(ray_cluster, tmp_path, specs_dir):
    out = tmp_path / "run"
    assert main(["run", str(specs_dir / "tiny_interpretability.yaml"), "--out", str(out)]) == 0
    statuses = [json.loads(p.read_text())["status"] for p in (out / "trials").glob("*/trial.json")]
    assert statuses == ["completed"] * 12
    f = json.loads((out / "findings.json").read_text())["interpretability"]
    assert f["trials"] == 12 and [c["size"] for c in f["conditions"]] == ["xs", "s"]  # one summary per condition
    xs, s = f["conditions"]
    assert xs["seeds"]["roar_trials"] == 4 and s["seeds"]["roar_trials"] == 0 and s["roar"]["available"] is False
    roar = xs["roar"]
    assert roar["available"] and set(roar["curves"]) == {"random", "saliency"} and roar["without_predictions"] == 0
    assert [p["fraction"] for p in roar["curves"]["saliency"]] == [0.5] and roar["features_removed"] == {"0.5": 32}
    assert roar["clean_accuracy"]["n"] == {"seeds": 2, "test_samples": 449}
    gain = roar["gains"]["saliency"]
    assert gain["gain"]["n"] == {"seeds": 2, "test_samples": 449}
    assert gain["verdict"] in {"degrades faster than random", "no faster than random"} or gain["reason"].startswith(
        "refused: ")
    mask = roar["mask_control"]["saliency"]
    assert mask["leak"]["n"] == {"seeds": 2, "test_samples": 449} and mask["passes"] in (True, False, None)
    assert roar["mask_control"]["random"]["random_mask_accuracy"]["estimate"] < 0.3  # random masks: near chance
    assert roar["convergence"]["saliency"]["trials"] == 2 and roar["convergence"]["random"]["unmeasured"] == 0
    for c in f["conditions"]:
        _check_condition(c)
    assert {Path(p).name for p in f["figures"]} == {
        "interpretability_maps.png",
        "interpretability_deletion_insertion.png",
        "interpretability_sanity_by_layer.png",
        "interpretability_roar.png",
    }
    report = (out / "report.md").read_text()
    assert "Price of interpretability on clean data" in report and "negative control" in report
    assert "ROAR (remove and retrain" in report and "ROAR not run" in report
