"""The interpretability analysis on synthetic rows whose answer is known, in both directions, and on degenerate rows."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.studies.interpretability.analysis import analyze_rows
from dl_drawbacks.studies.interpretability.kind import InterpretabilityOptions
from dl_drawbacks.studies.interpretability.report import interpretability_headlines, interpretability_markdown
from dl_drawbacks.studies.interpretability.roar_summary import NOT_RUN_IN_STUDY
from dl_drawbacks.headline import as_dicts

N = 40  # explained samples per trial


def _trial(
    seed: int,
    *,
    planted: bool,
    steps: int = 200,
    acc: float = 0.95,
    acc_patch: float = 0.95,
    auc: float = 0.6,
    sims: dict[str, dict[str, float]] | None = None,
    gap_to_lr: float = 0.02,
    follows: float = 0.6,
    twin_fit: float = 0.95,
    weight_change: float = 0.5,
) -> pl.DataFrame:
    rng = np.random.default_rng(seed * 2 + planted)
    rb = RowBuffer(
        "interpretability",
        "r",
        f"s{steps}-{'p' if planted else 'c'}-{seed}",
        seed,
        {"model.size": "s", "trainer.budget.steps": steps, "treatment.planted": planted},
    )
    rb.add("parameters", 1000.0, "count")
    rb.add("planted_fraction", 0.5 if planted else 0.0, "fraction")
    rb.add("patch_removal_flips", 0.3 if planted else 0.02, "fraction", split="test")
    rb.add("patch_follows_wrong", follows if planted else 0.1, "fraction", split="test")
    rb.add("patch_weight_change", weight_change, "relative norm")
    for split, value in (("test", acc), ("test_planted", acc_patch), ("test_patch_random", acc - 0.1)):
        rb.add("accuracy", value + rng.normal(0, 0.005), "fraction", split=split, step=steps)
    for i in range(N):
        rb.add("patch_flip", float(i % 3 == 0), "bool", split="test_explain", group="patch", epoch=i)
        for method in ("ig", "edge"):
            rb.add(
                "localisation_auc",
                auc + rng.normal(0, 0.02),
                "probability",
                split="test_explain",
                group=method,
                epoch=i,
            )
            rb.add("localisation_share", auc / 4, "fraction", split="test_explain", group=method, epoch=i)
    if not planted:
        rb.add("twin_fit_accuracy", twin_fit, "fraction", split="train", group="label_random")
        rb.add("twin_steps", 3000, "count", group="label_random")
        for method, by in (sims or {}).items():
            for comparison, value in by.items():
                for i in range(N):
                    rb.add(
                        "sanity_similarity",
                        value + rng.normal(0, 0.03),
                        "rho",
                        split="test_explain",
                        group=f"{method}@{comparison}",
                        epoch=i,
                    )
            for baseline in ("zero", "blur"):
                rb.add("deletion_auc", 0.3, "probability", split="test_explain", group=f"{method}@{baseline}")
                rb.add(
                    "insertion_auc",
                    0.8 + rng.normal(0, 0.01),
                    "probability",
                    split="test_explain",
                    group=f"{method}@{baseline}",
                )
        for baseline in ("zero", "blur"):
            rb.add("deletion_auc", 0.5, "probability", split="test_explain", group=f"random@{baseline}")
            rb.add("insertion_auc", 0.5, "probability", split="test_explain", group=f"random@{baseline}")
        rb.add(
            "interpretable_accuracy",
            acc - gap_to_lr + rng.normal(0, 0.005),
            "fraction",
            split="test",
            group="logistic_regression",
        )
        rb.add("interpretable_C", 0.1, "setting", split="val", group="logistic_regression")
    return rb.frame()


SIMS = {
    "ig": {"independent": 0.7, "randomised": 0.1, "label_random": 0.2},  # tracks the model
    "edge": {"independent": 1.0, "randomised": 1.0, "label_random": 1.0},
}  # ignores the weights


def _rows(control: dict | None = None, **planted_kwargs) -> pl.DataFrame:
    frames = []
    for seed in range(3):
        frames.append(_trial(seed, planted=False, acc=0.95, acc_patch=0.93, auc=0.6, sims=SIMS, **(control or {})))
        frames.append(_trial(seed, planted=True, **planted_kwargs))
        frames.append(_trial(seed, planted=False, steps=25, acc=0.67, acc_patch=0.66, sims=SIMS))
    return pl.concat(frames)


def _condition(f: dict, steps: int) -> dict:
    return next(c for c in f["conditions"] if c["steps"] == steps)


def test_sanity_passes_a_method_that_tracks_the_model_and_fails_one_that_ignores_it():
    f = analyze_rows(_rows(acc=0.8, acc_patch=0.97, auc=0.9), InterpretabilityOptions())
    sanity = _condition(f, 200)["audit"]["sanity"]
    assert (
        sanity["ig"]["model_randomisation"]["passes"] is True and sanity["ig"]["data_randomisation"]["passes"] is True
    )
    assert (
        sanity["edge"]["model_randomisation"]["passes"] is False
        and sanity["edge"]["data_randomisation"]["passes"] is False
    )
    gap = sanity["ig"]["model_randomisation"]["reference_minus_randomised"]
    assert gap["estimate"] == pytest.approx(0.6, abs=0.03) and gap["n"] == {"seeds": 3, "test_samples": N}


def test_localisation_counts_only_when_the_model_relies_on_the_patch_and_beats_the_control():
    relies = _condition(analyze_rows(_rows(acc=0.8, acc_patch=0.97, auc=0.9), InterpretabilityOptions()), 200)[
        "planted"
    ]
    assert relies["reliance"]["established"] is True
    assert relies["localisation"]["ig"]["auc"]["lift_over_control"]["estimate"] == pytest.approx(0.3, abs=0.02)
    assert relies["localisation"]["ig"]["finds_planted_feature"] is True
    no_lift = _condition(analyze_rows(_rows(acc=0.8, acc_patch=0.97, auc=0.6), InterpretabilityOptions()), 200)[
        "planted"
    ]
    assert (
        no_lift["reliance"]["established"] is True and no_lift["localisation"]["ig"]["finds_planted_feature"] is False
    )
    unused = _condition(
        analyze_rows(_rows(acc=0.95, acc_patch=0.95, auc=0.9, follows=0.1), InterpretabilityOptions()), 200
    )["planted"]
    assert unused["reliance"]["established"] is False
    assert (
        unused["localisation"]["ig"]["finds_planted_feature"] is None
        and "not established" in unused["localisation"]["ig"]["reason"]
    )


def _planted_of(**kwargs) -> dict:
    return _condition(analyze_rows(_rows(**kwargs), InterpretabilityOptions()), 200)["planted"]


def test_reliance_needs_a_drop_of_0_2_or_half_the_predictions_following_a_wrong_patch():
    small_drop = _planted_of(acc=0.8, acc_patch=0.97, auc=0.9, follows=0.1)  # drop 0.17: a drop above 0 is not enough
    assert small_drop["reliance"]["established"] is False
    assert small_drop["reliance"]["planted"]["accuracy_drop"]["low"] > 0
    assert small_drop["localisation"]["ig"]["finds_planted_feature"] is None
    assert _planted_of(acc=0.7, acc_patch=0.97, auc=0.9, follows=0.1)["reliance"]["established"] is True  # drop 0.27
    follows = _planted_of(acc=0.8, acc_patch=0.97, auc=0.9, follows=0.55)["reliance"]
    assert follows["established"] is True
    assert follows["planted"]["follows_wrong_patch"]["estimate"] == pytest.approx(0.55)


def test_a_control_whose_patch_weights_never_trained_judges_no_localisation():
    untrained = _planted_of(acc=0.7, acc_patch=0.97, auc=0.9, control={"weight_change": 0.002})
    assert untrained["reliance"]["established"] is True and untrained["control_trained"]["passes"] is False
    assert untrained["localisation"]["ig"]["finds_planted_feature"] is None
    assert "never trained" in untrained["localisation"]["ig"]["reason"]
    f = analyze_rows(_rows(acc=0.7, acc_patch=0.97, auc=0.9, control={"weight_change": 0.002}),
                     InterpretabilityOptions())
    lift = next(h for h in as_dicts(interpretability_headlines(f)) if h["key"] == "patch_lift/ig")
    assert not lift["resolved"] and "no control" in lift["reason"]
    assert "**not trained**" in interpretability_markdown({"question": "q", **f}, [])
    assert _planted_of(acc=0.7, acc_patch=0.97, auc=0.9)["control_trained"]["passes"] is True


def test_a_permuted_label_twin_that_did_not_fit_refuses_the_data_randomisation_verdict():
    f = analyze_rows(_rows({"twin_fit": 0.2}, acc=0.8, acc_patch=0.97, auc=0.9), InterpretabilityOptions())
    ig = _condition(f, 200)["audit"]["sanity"]["ig"]
    assert ig["model_randomisation"]["passes"] is True  # unaffected
    data = ig["data_randomisation"]
    assert data["reference_minus_randomised"]["low"] > 0 and data["passes"] is None
    assert data["control"]["passes"] is False and "reached 0.2 train accuracy" in data["reason"]
    heads = {h["key"]: h for h in as_dicts(interpretability_headlines(f))}
    assert not heads["data_randomisation/ig"]["resolved"] and heads["model_randomisation/ig"]["resolved"]
    assert "reached 0.2 train accuracy" in interpretability_markdown({"question": "q", **f}, [])


def test_conditions_are_never_pooled_and_undertrained_ones_leave_the_headlines():
    f = analyze_rows(_rows(acc=0.8, acc_patch=0.97, auc=0.9), InterpretabilityOptions(min_accuracy=0.85))
    assert [c["steps"] for c in f["conditions"]] == [25, 200]
    short = _condition(f, 25)
    assert short["eligible"] is False and short["accuracy"]["estimate"] == pytest.approx(0.67, abs=0.01)
    assert short["planted"]["available"] is False and "no planted trial" in short["planted"]["reason"]
    assert f["headline_condition"] == _condition(f, 200)["condition"]
    assert f["excluded_conditions"] == [{"condition": short["condition"], "accuracy": short["accuracy"]["estimate"]}]
    heads = as_dicts(interpretability_headlines(f))
    measured = [h for h in heads if h["value"] is not None]
    assert measured and all("steps=200" in h["finding"] for h in measured)
    assert [h["reason"] for h in heads if h["key"] == "roar"] == [f"not measurable: {NOT_RUN_IN_STUDY}"]
    unresolved = [h for h in heads if h["value"] is None and h["key"] != "roar"]  # headline policy: no number
    assert all(not h["resolved"] and "not resolved: its 95% interval" in h["finding"] for h in unresolved)
    gain = _condition(f, 200)["audit"]["faithfulness"]["ig"]["zero"]["deletion_gain"]
    assert gain["estimate"] == pytest.approx(0.2)
    assert gain["method"] == "student-t, logit scale" and gain["domain"] == "[-1, 1]"
    price = _condition(f, 200)["price_of_interpretability"]["models"]["logistic_regression"]
    assert price["gap"]["estimate"] == pytest.approx(0.02, abs=0.01) and price["chosen"]["C"]["kind"] == "range"
    assert "steps=25" in interpretability_markdown({"question": "q", **f}, [])


def test_degenerate_rows_are_reported_with_reasons():
    one_seed_planted_only = _trial(0, planted=True)
    f = analyze_rows(one_seed_planted_only, InterpretabilityOptions())
    c = f["conditions"][0]
    assert c["planted"]["available"] is False and "negative control" in c["planted"]["reason"]
    assert c["audit"]["available"] is False and c["price_of_interpretability"]["available"] is False
    assert c["accuracy"]["low"] is None and c["accuracy"]["reason"]
    interpretability_markdown({"question": "q", **f}, [])
    heads = as_dicts(interpretability_headlines(f))
    assert all(h["value"] is not None or h.get("reason") for h in heads)
    nan_rows = _rows(acc=0.8, acc_patch=0.97, auc=0.9).with_columns(pl.lit(float("nan")).alias("value"))
    f = analyze_rows(nan_rows, InterpretabilityOptions())
    assert f["headline_condition"] is None
    assert as_dicts(interpretability_headlines(f))[0]["reason"]
    interpretability_markdown({"question": "q", **f}, [])
