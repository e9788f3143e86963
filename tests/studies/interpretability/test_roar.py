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
from dl_drawbacks.spec.models import TrialSpec
from dl_drawbacks.studies.interpretability.analysis import analyze_rows
from dl_drawbacks.studies.interpretability.figures import roar_curves
from dl_drawbacks.studies.interpretability.kind import InterpretabilityOptions
from dl_drawbacks.studies.interpretability.report import interpretability_headlines, interpretability_markdown
from dl_drawbacks.studies.interpretability.imputation import fill_mean
from dl_drawbacks.studies.interpretability.roar import n_removed, random_ranking, ranking, removal_mask
from dl_drawbacks.studies.interpretability.roar_summary import NOT_RUN, NOT_RUN_IN_STUDY
from dl_drawbacks.headline import as_dicts

N_TEST = 300
FRACTIONS = (0.1, 0.5, 0.9)


def test_degrade_replaces_the_largest_attributions_by_the_fill_and_keeps_the_rest():
    rng = np.random.default_rng(0)
    x, attr = rng.normal(size=(6, 10)).astype(np.float32), rng.normal(size=(6, 10))
    fill, before = rng.normal(size=10).astype(np.float32), x.copy()
    out = fill_mean(x, removal_mask(ranking(attr, seed=0), 0.3), fill)
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
    for method, imputation in (("saliency", "mean"), ("random", "linear")):
        trial = trials[0].model_dump(mode="json")
        trial["treatment"] |= {"roar_method": method, "roar_imputation": imputation}
        trial["trainer"]["budget"] = {"steps": 10, "eval_every": 10}
        frames[method] = frame_from_records([run_worker(TrialSpec.model_validate(trial), "r")])
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
        for control in ("roar_mask_only_correct", "roar_random_mask_correct"):
            assert f.filter(pl.col("metric") == control).height == 449
        assert f.filter(pl.col("metric") == "roar_imputation_noise")["group"].to_list() == [
            "mean" if method == "saliency" else "linear"]
    saliency_mask = frames["saliency"].filter(pl.col("metric") == "roar_mask_only_correct")["value"].mean()
    random_mask = frames["random"].filter(pl.col("metric") == "roar_mask_only_correct")["value"].mean()
    assert saliency_mask > random_mask + 0.2  # the saliency mask encodes the digit (issue 25: 0.92-0.96 vs 0.09)
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


def _trial(seed: int, tag: str, correct: np.ndarray, *, roar: tuple[str, float] | None = None, leak: float = 0.0,
           late_gain: float = 0.0, imputation: str = "mean") -> pl.DataFrame:
    """A trial's rows; a ROAR trial's mask-only classifier is right with probability 0.1 + ``leak`` (random masks:
    0.1), and its test accuracy rises by ``late_gain`` over the last quarter of its 200 steps."""
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
        rb.add("roar_imputation_noise", 0.01 if imputation == "linear" else 0.0, "data units", group=imputation)
        rng = np.random.default_rng([seed, int(roar[1] * 10), len(roar[0])])
        for i, (own, ref) in enumerate(zip(rng.random(N_TEST) < 0.1 + leak, rng.random(N_TEST) < 0.1)):
            rb.add("roar_mask_only_correct", float(own), "bool", split="test", group=roar[0], epoch=i)
            rb.add("roar_random_mask_correct", float(ref), "bool", split="test", group=roar[0], epoch=i)
        for step, acc in ((50, 0.9), (100, 0.98), (150, 0.99), (200, 0.99)):
            rb.add("accuracy", acc, "fraction", split="train", step=step)
        rb.add("accuracy", float(correct.mean()) - late_gain, "fraction", split="test", step=150)
    for i, value in enumerate(correct):
        rb.add("correct", float(value), "bool", split="test", epoch=i)
    return rb.frame()


def _rows(curves: dict[str, dict[float, float]], seeds: tuple[int, ...] = (0, 1, 2), *,
          leaks: dict[str, float] | None = None, late_gains: dict[str, float] | None = None) -> pl.DataFrame:
    """Clean trials at 0.95 and ROAR trials whose per-sample correctness is Bernoulli(accuracy of the curve)."""
    frames = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        frames.append(_trial(seed, "clean", rng.random(N_TEST) < 0.95))
        for method, by_fraction in curves.items():
            for f, acc in by_fraction.items():
                frames.append(_trial(seed, f"{method}{f}", rng.random(N_TEST) < acc, roar=(method, f),
                                     leak=(leaks or {}).get(method, 0.0),
                                     late_gain=(late_gains or {}).get(method, 0.0)))
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
    heads = [h for h in as_dicts(interpretability_headlines({"question": "q", **_findings(c)})) if "ROAR" in h["finding"]]
    assert {h["finding"].split(", ")[1].split(" (")[0] for h in heads} == {"informative", "like_random"}
    assert all(h["unit"] == "accuracy" and "seeds" in h["over"] for h in heads)
    by = {h["key"].split("/")[1]: h for h in heads}  # headline policy: a gain whose interval includes 0 shows no number
    assert by["informative"]["resolved"] and by["informative"]["interval"][0] > 0
    assert not by["like_random"]["resolved"] and by["like_random"]["value"] is None
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
    (head,) = [h for h in as_dicts(interpretability_headlines(_findings(clean_only))) if "ROAR" in h["finding"]]
    assert head["value"] is None and head["reason"] == f"not measurable: {NOT_RUN_IN_STUDY}"
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
    as_dicts(interpretability_headlines(_findings(c)))
    everything_nan = rows.with_columns(pl.lit(float("nan")).alias("value"))
    f = analyze_rows(everything_nan, InterpretabilityOptions())
    assert (
        f["conditions"][0]["roar"]["available"] is False
        and "without test predictions" in f["conditions"][0]["roar"]["reason"]
    )
    assert as_dicts(interpretability_headlines(f))[0]["reason"] and interpretability_markdown({"question": "q", **f}, [])
    roar_curves(f, tmp_path)


def test_the_roar_figure_draws_every_ranking(tmp_path):
    c = _roar(_rows({"random": RANDOM_CURVE, "informative": FAST}))
    path = roar_curves(_findings(c), tmp_path)
    assert path is not None and path.name == "interpretability_roar.png" and path.stat().st_size > 10_000


def test_a_leaky_mask_or_an_unconverged_retraining_refuses_the_verdict_and_says_why():
    c = _roar(_rows({"random": RANDOM_CURVE, "informative": FAST, "leaky": FAST}, leaks={"leaky": 0.5}))
    r = c["roar"]
    assert r["gains"]["informative"]["verdict"] == "degrades faster than random"  # its controls pass
    assert r["mask_control"]["informative"]["passes"] is True
    leaky = r["mask_control"]["leaky"]
    assert leaky["passes"] is False and leaky["leak"]["estimate"] == pytest.approx(0.5, abs=0.05)
    assert leaky["random_mask_accuracy"]["estimate"] == pytest.approx(0.1, abs=0.03)
    gain = r["gains"]["leaky"]
    assert gain["gain"]["low"] > 0 and gain["verdict"] is None  # the number stays, the verdict is refused
    assert gain["reason"].startswith("refused: mask-only control: confounded")
    md = interpretability_markdown({"question": "q", **_findings(c)}, [])
    assert "mask-only acc. / random masks (control)" in md and "refused: mask-only control" in md
    heads = {h["key"]: h for h in as_dicts(interpretability_headlines(_findings(c)))}
    assert not heads[f"roar/leaky/{c['condition']}"]["resolved"]

    slow_random = _roar(_rows({"random": RANDOM_CURVE, "informative": FAST}, late_gains={"random": 0.05}))["roar"]
    assert slow_random["convergence"]["random"]["converged"] == 0
    assert slow_random["convergence"]["informative"]["passes"] is True
    assert slow_random["gains"]["informative"]["verdict"] is None
    assert "retraining (random): 9 of 9 retrainings not converged" in slow_random["gains"]["informative"]["reason"]


def _simulated_masks(labels: np.ndarray, *, leaky_share: float, fraction: float, rng) -> np.ndarray:
    """Removal masks: a ``leaky_share`` of rows rank by their class's fixed feature order (the mask encodes the
    label), the others at random. Class templates come from a fixed seed."""
    templates = np.argsort(np.random.default_rng(99).random((10, 64)), axis=1)
    order = random_ranking(len(labels), 64, seed=int(rng.integers(1 << 31)))
    leaky = rng.random(len(labels)) < leaky_share
    order[leaky] = templates[labels[leaky]]
    return removal_mask(order, fraction)


def _mask_control_of(leaky_share: float, seeds: int, rep: int) -> dict:
    """The mask-only control of one simulated method over ``seeds`` seeds, as the summary computes it."""
    from dl_drawbacks.studies.interpretability.roar import mask_only_correct
    from dl_drawbacks.studies.interpretability.roar_controls import mask_control

    frames, trials = [], []
    for seed in range(seeds):
        rng = np.random.default_rng([rep, seed])
        y_train, y_test = rng.integers(0, 10, 500), rng.integers(0, 10, 200)
        own = [_simulated_masks(y, leaky_share=leaky_share, fraction=0.5, rng=rng) for y in (y_train, y_test)]
        ref = [_simulated_masks(y, leaky_share=0.0, fraction=0.5, rng=rng) for y in (y_train, y_test)]
        rb = RowBuffer("interpretability", "r", f"m-{seed}", seed, {})
        rb.add("roar_fraction", 0.5, "fraction", group="m", provenance="setting")
        for metric, (train, test) in (("roar_mask_only_correct", own), ("roar_random_mask_correct", ref)):
            for i, v in enumerate(mask_only_correct(train, y_train, test, y_test)):
                rb.add(metric, float(v), "bool", split="test", group="m", epoch=i)
        frames.append(rb.frame())
        trials.append((f"m-{seed}", seed))
    roar = pl.DataFrame({"trial_id": [t for t, _ in trials], "seed": [s for _, s in trials]})
    return mask_control(pl.concat(frames), roar, 0.95)["m"]


def _referee(leaky_share: float, truth: float, reps: int) -> list[dict]:
    controls = [_mask_control_of(leaky_share, seeds=3, rep=rep) for rep in range(reps)]
    if leaky_share:
        assert all(c["passes"] is False for c in controls)  # flagged, every replication
    else:
        assert all(c["passes"] is not False for c in controls)  # never flagged
    assert np.mean([c["leak"]["estimate"] for c in controls]) == pytest.approx(truth, abs=0.06)
    return [c["leak"]["low"] <= truth <= c["leak"]["high"] for c in controls]


LEAK_CASES = [(0.5, 0.5 * 0.9), (0.0, 0.0)]  # (share of masks that are their class's template, true leak)


@pytest.mark.parametrize("leaky_share, truth", LEAK_CASES)
def test_referee_the_mask_only_control_flags_a_leaky_ranking_and_not_a_random_one(leaky_share, truth):
    """Known answer: half the masks are their class's template, so a mask-only classifier is right on those and at
    chance (0.1) on the rest: leak 0.5 · 0.9 over random masks; a label-free ranking leaks 0. One replication:
    flagged or not, point within 0.06, interval covering the truth (coverage over many: the slow twin)."""
    assert all(_referee(leaky_share, truth, reps=1))


@pytest.mark.slow
@pytest.mark.parametrize("leaky_share, truth", LEAK_CASES)
def test_referee_the_mask_only_control_covers_the_true_leak(leaky_share, truth):
    """The same simulation over 12 independent replications: the 95% interval covers the true leak in ≥ 10."""
    assert sum(_referee(leaky_share, truth, reps=12)) >= 10


def test_noisy_linear_imputation_is_the_neighbours_weighted_mean_plus_its_noise():
    from dl_drawbacks.studies.interpretability.imputation import neighbour_weights, noisy_linear_impute

    assert sum(w for _, w in neighbour_weights(2)) == pytest.approx(1) and len(neighbour_weights(2)) == 8
    yy, xx = np.mgrid[0:8, 0:8]
    ramp = (2 * yy + 3 * xx).astype(np.float32).reshape(1, -1)  # linear: its own neighbours' symmetric mean
    removed = np.zeros((1, 64), bool)
    removed[0, [9, 10, 18, 27, 36, 45, 54]] = True  # interior pixels, two of them adjacent
    np.testing.assert_allclose(noisy_linear_impute(ramp, removed, (1, 8, 8), noise=0.0, seed=0), ramp, atol=1e-4)
    x = np.random.default_rng(0).normal(size=(40, 64)).astype(np.float32)
    removed = np.random.default_rng(1).random((40, 64)) < 0.5
    exact = noisy_linear_impute(x, removed, (1, 8, 8), noise=0.0, seed=0)
    noisy = noisy_linear_impute(x, removed, (1, 8, 8), noise=0.2, seed=0)
    np.testing.assert_array_equal(noisy[~removed], x[~removed])  # kept features untouched
    assert np.std(noisy[removed] - exact[removed]) == pytest.approx(0.2, rel=0.15)
    assert not np.allclose(exact[removed], x[removed])  # removed features are replaced
    signal = np.arange(10, dtype=np.float32)[None] * 1.5  # 1-D: the mean of the two neighbours
    gap = np.zeros((1, 10), bool)
    gap[0, 4:6] = True
    np.testing.assert_allclose(noisy_linear_impute(signal, gap, (1, 10), noise=0.0, seed=0), signal, atol=1e-5)


def test_each_imputation_has_its_own_curves_and_random_reference():
    rows = _rows({"random": RANDOM_CURVE, "informative": FAST})
    linear = [_trial(seed, f"lin-{m}{f}-", np.random.default_rng([seed, len(m), int(f * 10)]).random(N_TEST) < acc, roar=(m, f),
                     imputation="linear")
              for seed in (0, 1, 2) for m, curve in (("random", RANDOM_CURVE), ("informative", RANDOM_CURVE))
              for f, acc in curve.items()]
    r = _roar(pl.concat([rows, *linear]))["roar"]
    assert set(r["curves"]) == {"random", "informative", "random@linear", "informative@linear"}
    assert r["trials"] == 36 and set(r["gains"]) == {"informative", "informative@linear"}
    assert r["gains"]["informative"]["verdict"] == "degrades faster than random"  # against random (mean fill)
    lin = r["gains"]["informative@linear"]  # against random@linear, where it is no better
    assert lin["gain"]["low"] < 0 < lin["gain"]["high"] and lin["verdict"] == "no faster than random"
    assert r["mask_control"]["informative@linear"]["passes"] is True
