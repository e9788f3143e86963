"""ROAR: the degradation of one trial's data, one ROAR trial in process, and the summary on synthetic rows whose
answer is known in both directions (a method that removes informative features, one that is no better than
random), with the degenerate cases reported by reason."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.errors import SpecError
from dl_drawbacks.rows import RowBuffer, frame_from_records
from dl_drawbacks.plan import checked_spec
from dl_drawbacks.spec.load import load_spec
from dl_drawbacks.studies.interpretability.analysis import analyze_rows
from dl_drawbacks.studies.interpretability.figures import roar_curves
from dl_drawbacks.studies.interpretability.kind import InterpretabilityOptions
from dl_drawbacks.studies.interpretability.report import interpretability_headlines, interpretability_markdown
from dl_drawbacks.studies.interpretability.roar import degrade, n_removed, random_ranking, ranking
from dl_drawbacks.studies.interpretability.roar_summary import NOT_RUN, NOT_RUN_IN_STUDY

N_TEST = 300
FRACTIONS = (0.1, 0.5, 0.9)


def test_degrade_replaces_the_largest_attributions_by_the_fill_and_keeps_the_rest():
    rng = np.random.default_rng(0)
    x, attr = rng.normal(size=(6, 10)).astype(np.float32), rng.normal(size=(6, 10))
    fill, before = rng.normal(size=10).astype(np.float32), x.copy()
    out = degrade(x, ranking(attr, seed=0), 0.3, fill)
    for row in range(6):
        top = set(np.argsort(-np.abs(attr[row]))[:3])  # the 3 largest |attribution|, sign ignored
        changed = {j for j in range(10) if out[row, j] != x[row, j]}
        assert changed == top
        np.testing.assert_array_equal(out[row, list(top)], fill[list(top)])
    np.testing.assert_array_equal(x, before)  # a copy: the input is untouched
    assert [n_removed(f, 64) for f in (0.001, 0.1, 0.5, 0.9, 0.999)] == [1, 6, 32, 58, 63]


def test_ties_and_the_random_ranking_are_seeded_and_differ_across_images():
    flat = np.zeros((50, 8))  # every feature tied: the order is the tie-break alone
    assert not (ranking(flat, seed=1) == np.arange(8)).all()  # not by position
    np.testing.assert_array_equal(ranking(flat, seed=1), ranking(flat, seed=1))
    order = random_ranking(50, 8, seed=3)
    np.testing.assert_array_equal(order, random_ranking(50, 8, seed=3))
    assert not (order == random_ranking(50, 8, seed=4)).all()
    assert len({tuple(r) for r in order}) > 40  # a different permutation per image
    assert all(sorted(r) == list(range(8)) for r in order)


def test_a_roar_trial_degrades_its_data_retrains_and_records_its_points():
    from dl_drawbacks.plan import plan
    from dl_drawbacks.train.worker import run_worker

    trials = [t for t in plan(load_spec("tests/specs/tiny_interpretability.yaml")) if t.treatment.get("roar_fraction")]
    frames = {}
    for method in ("saliency", "random"):
        trial = trials[0].model_dump(mode="json")
        trial["treatment"]["roar_method"] = method
        trial["trainer"]["budget"] = {"steps": 10, "eval_every": 10}
        frames[method] = frame_from_records([run_worker(trial, "r")])
    for method, f in frames.items():
        value = lambda m: f.filter(pl.col("metric") == m)["value"]  # noqa: E731
        assert value("roar_fraction").to_list() == [0.5] and value("roar_features_removed").to_list() == [32]
        assert f.filter(pl.col("metric") == "roar_fraction")["group"].to_list() == [method]
        final = f.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "test")).sort("step")["value"][-1]
        correct = f.filter(pl.col("metric") == "correct").sort("epoch")
        assert correct.height == 449 and correct["value"].mean() == pytest.approx(final)
        assert not f.filter(
            pl.col("metric").is_in(["localisation_auc", "deletion_auc", "interpretable_accuracy"])
        ).height
        assert "test_planted" not in set(f["split"].to_list())
    source = [f.filter(pl.col("metric") == "roar_source_accuracy")["value"][0] for f in frames.values()]
    assert source[0] == source[1] and 0.1 < source[0] <= 1  # one source model per seed, whatever the method


def test_roar_settings_are_validated_with_the_key_named():
    def spec(**study):
        return {"name": "x", "version": 1, "studies": [{"kind": "interpretability", **study}]}

    with pytest.raises(SpecError, match="treatment.roar_fraction: Input should be less than 1"):
        checked_spec(spec(treatment={"roar_fraction": 1.0, "roar_method": "saliency"}))
    with pytest.raises(SpecError, match="roar_method: Input should be 'random'"):
        checked_spec(spec(treatment={"roar_fraction": 0.5, "roar_method": "edges"}))
    with pytest.raises(SpecError, match="a ROAR trial needs both"):
        checked_spec(spec(treatment={"roar_fraction": 0.5}))
    with pytest.raises(SpecError, match="set treatment.planted: false"):
        checked_spec(spec(treatment={"roar_fraction": 0.5, "roar_method": "random", "planted": True}))


def _trial(seed: int, tag: str, correct: np.ndarray, *, roar: tuple[str, float] | None = None) -> pl.DataFrame:
    factors = {"model.size": "s", "trainer.budget.steps": 200, "treatment.planted": False}
    if roar:
        factors |= {"treatment.roar_method": roar[0], "treatment.roar_fraction": roar[1]}
    rb = RowBuffer("interpretability", "r", f"{tag}-{seed}", seed, factors)
    rb.add("parameters", 1000.0, "count")
    rb.add("planted_fraction", 0.0, "fraction")
    rb.add("accuracy", float(correct.mean()), "fraction", split="test", step=200)
    if roar:
        rb.add("roar_fraction", roar[1], "fraction", group=roar[0], provenance="setting")
        rb.add("roar_features_removed", n_removed(roar[1], 64), "count", group=roar[0], provenance="setting")
        rb.add("roar_source_accuracy", 0.95, "fraction", split="test", group=roar[0])
    for i, value in enumerate(correct):
        rb.add("correct", float(value), "bool", split="test", epoch=i)
    return rb.frame()


def _rows(curves: dict[str, dict[float, float]], seeds: tuple[int, ...] = (0, 1, 2)) -> pl.DataFrame:
    """Clean trials at 0.95 and ROAR trials whose per-sample correctness is Bernoulli(accuracy of the curve)."""
    frames = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        frames.append(_trial(seed, "clean", rng.random(N_TEST) < 0.95))
        for method, by_fraction in curves.items():
            for f, acc in by_fraction.items():
                frames.append(_trial(seed, f"{method}{f}", rng.random(N_TEST) < acc, roar=(method, f)))
    return pl.concat(frames)


RANDOM_CURVE = {0.1: 0.93, 0.5: 0.85, 0.9: 0.6}
FAST = {f: a - 0.25 for f, a in RANDOM_CURVE.items()}  # informative: falls 0.25 below random at every fraction


def _roar(rows: pl.DataFrame) -> dict:
    (condition,) = analyze_rows(rows, InterpretabilityOptions())["conditions"]
    return condition


def test_a_method_that_removes_informative_features_degrades_faster_than_random_and_one_like_random_does_not():
    c = _roar(_rows({"random": RANDOM_CURVE, "informative": FAST, "like_random": RANDOM_CURVE}))
    assert c["seeds"] == {"clean": 3, "planted": 0, "roar_trials": 27}  # ROAR trials are not clean models
    assert c["accuracy"]["estimate"] == pytest.approx(0.95, abs=0.02)
    r = c["roar"]
    assert r["available"] and r["trials"] == 27 and r["features_removed"] == {"0.1": 6, "0.5": 32, "0.9": 58}
    assert r["clean_accuracy"]["estimate"] == pytest.approx(0.95, abs=0.02)
    assert r["clean_accuracy"]["n"] == {"seeds": 3, "test_samples": N_TEST}
    point = {p["fraction"]: p for p in r["curves"]["informative"]}[0.5]
    assert point["accuracy"]["estimate"] == pytest.approx(0.6, abs=0.05) and point["seeds"] == 3
    assert point["accuracy"]["method"].startswith("nested")
    informative, like = r["gains"]["informative"], r["gains"]["like_random"]
    assert informative["gain"]["estimate"] == pytest.approx(0.25, abs=0.04) and informative["gain"]["low"] > 0
    assert informative["verdict"] == "degrades faster than random"
    assert informative["fractions"] == list(FRACTIONS) and informative["seeds"] == [0, 1, 2]
    assert informative["gain"]["n"] == {"seeds": 3, "test_samples": N_TEST}
    assert like["gain"]["low"] < 0 < like["gain"]["high"] and like["verdict"] == "no faster than random"
    assert set(r["gains"]) == {"informative", "like_random"}  # random is the reference, not compared with itself
    heads = [h for h in interpretability_headlines({"question": "q", **_findings(c)}) if "ROAR" in h["finding"]]
    assert {h["finding"].split(", ")[1].split(" (")[0] for h in heads} == {"informative", "like_random"}
    assert all(h["unit"] == "accuracy" and "seeds" in h["over"] and h["interval"] for h in heads)
    md = interpretability_markdown({"question": "q", **_findings(c)}, [])
    assert "degrades faster than random" in md and "random (reference)" in md


def test_a_method_slower_than_random_is_not_called_faster():
    slow = {f: min(a + 0.04, 1.0) for f, a in RANDOM_CURVE.items()}
    gain = _roar(_rows({"random": RANDOM_CURVE, "slow": slow}))["roar"]["gains"]["slow"]
    assert gain["gain"]["estimate"] < 0 and gain["verdict"] == "no faster than random"


def _findings(condition: dict) -> dict:
    return {
        "trials": 0,
        "intervals": "",
        "min_accuracy": 0.85,
        "conditions": [condition],
        "headline_condition": condition["condition"] if condition["eligible"] else None,
        "excluded_conditions": [],
        "table": [],
    }


def test_degenerate_roar_results_carry_reasons(tmp_path):
    clean_only = _roar(_rows({}))
    assert clean_only["roar"] == {"available": False, "reason": NOT_RUN}
    assert f"{NOT_RUN}." in interpretability_markdown({"question": "q", **_findings(clean_only)}, [])
    (head,) = [h for h in interpretability_headlines(_findings(clean_only)) if "ROAR" in h["finding"]]
    assert head["value"] is None and head["reason"] == NOT_RUN_IN_STUDY
    assert roar_curves(_findings(clean_only), tmp_path) is None

    only_random = _roar(_rows({"random": RANDOM_CURVE}))["roar"]
    assert only_random["available"] and only_random["gains"] == {} and "only the random" in only_random["gains_reason"]

    no_reference = _roar(_rows({"informative": FAST}))["roar"]["gains"]["informative"]
    assert no_reference["available"] is False and "random" in no_reference["reason"]

    one_seed = _roar(_rows({"random": RANDOM_CURVE, "informative": FAST}, seeds=(0,)))["roar"]
    assert (
        one_seed["gains"]["informative"]["verdict"] is None and "one seed" in one_seed["gains"]["informative"]["reason"]
    )
    assert one_seed["curves"]["informative"][0]["accuracy"]["reason"]  # test-sample bootstrap only, and it says so

    rows = _rows({"random": RANDOM_CURVE, "informative": FAST})
    diverged = rows.filter(~((pl.col("metric") == "correct") & pl.col("trial_id").str.contains(r"\d-")))
    c = _roar(diverged)
    assert c["roar"]["available"] is False and "without test predictions" in c["roar"]["reason"]
    assert c["roar"]["reason"] in interpretability_markdown({"question": "q", **_findings(c)}, [])

    nan = rows.with_columns(
        pl.when(pl.col("metric") == "correct").then(float("nan")).otherwise(pl.col("value")).alias("value")
    )
    c = _roar(nan)
    assert c["roar"]["available"] is False
    interpretability_headlines(_findings(c))
    everything_nan = rows.with_columns(pl.lit(float("nan")).alias("value"))
    f = analyze_rows(everything_nan, InterpretabilityOptions())
    assert (
        f["conditions"][0]["roar"]["available"] is False
        and "without test predictions" in f["conditions"][0]["roar"]["reason"]
    )
    assert interpretability_headlines(f)[0]["reason"] and interpretability_markdown({"question": "q", **f}, [])
    roar_curves(f, tmp_path)


def test_the_roar_figure_draws_every_ranking(tmp_path):
    c = _roar(_rows({"random": RANDOM_CURVE, "informative": FAST}))
    path = roar_curves(_findings(c), tmp_path)
    assert path is not None and path.name == "interpretability_roar.png" and path.stat().st_size > 10_000
