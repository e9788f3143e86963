"""Generalization analysis from per-epoch rows: the train-test gap at the end and at the best-validation
epoch (post-hoc early stopping), test error against width per label-noise level (model-wise double
descent, Nakkiran et al. 2020), regularizers ranked by gap closed per unit of accuracy lost, random-label
memorization (Zhang et al. 2017) and calibration before/after temperature scaling."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl


def bootstrap_mean(values: np.ndarray, *, n_bootstrap: int = 1000, level: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Mean with a percentile bootstrap interval over the given per-seed values."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if v.size == 0:
        return {"mean": None, "interval": [None, None], "n": 0}
    draws = np.random.default_rng(seed).choice(v, size=(n_bootstrap, v.size)).mean(axis=1)
    q = (1 - level) / 2
    return {"mean": float(v.mean()), "interval": np.quantile(draws, [q, 1 - q]).tolist(), "n": int(v.size)}


def trial_summary(rows: pl.DataFrame, *, fit_threshold: float) -> pl.DataFrame:
    """One row per trial: settings, final and best-validation-epoch accuracies/losses, gaps, epochs to fit, calibration."""
    settings = rows.filter(pl.col("metric") == "setting").pivot(on="group", index="trial_id", values="value", aggregate_function="first")
    ev = rows.filter(pl.col("metric").is_in(["loss", "accuracy"]) & pl.col("split").is_in(["train", "val", "test"]) & pl.col("epoch").is_not_null())
    wide = ev.with_columns(pl.concat_str("metric", pl.lit("_"), "split").alias("k")).pivot(
        on="k", index=["trial_id", "seed", "epoch"], values="value", aggregate_function="first").sort("trial_id", "epoch")
    final = wide.group_by("trial_id").agg(pl.all().exclude("seed").last().name.prefix("final_"), pl.col("seed").first())
    best = wide.group_by("trial_id").agg(pl.all().exclude("seed", "trial_id").get(pl.col("loss_val").arg_min()).name.prefix("best_"))
    fit = wide.filter(pl.col("accuracy_train") >= fit_threshold).group_by("trial_id").agg((pl.col("epoch").min() + 1).alias("epochs_to_fit"))
    calib = rows.filter(pl.col("metric").is_in(["ece", "nll", "brier"]) & (pl.col("split") == "test")).with_columns(
        pl.concat_str("metric", pl.lit("_"), pl.when(pl.col("provenance") == "temperature_scaled").then(pl.lit("ts")).otherwise(pl.lit("raw"))).alias("k")
    ).pivot(on="k", index="trial_id", values="value", aggregate_function="first")
    temp = rows.filter(pl.col("metric") == "temperature").select("trial_id", pl.col("value").alias("temperature"))
    div = rows.filter(pl.col("metric") == "diverged").group_by("trial_id").agg((pl.col("value").max() > 0).alias("diverged"))
    sweep = rows.select("trial_id", "factors").unique("trial_id").with_columns(
        pl.col("factors").str.json_path_match("$.sweep").alias("sweep")).drop("factors")
    size = rows.filter(pl.col("metric") == "train_size").select("trial_id", pl.col("value").alias("n_train"))
    t = settings.join(size, on="trial_id").join(final, on="trial_id").join(best, on="trial_id").join(fit, on="trial_id", how="left").join(sweep, on="trial_id")
    t = t.join(calib, on="trial_id", how="left").join(temp, on="trial_id", how="left").join(div, on="trial_id", how="left")
    return t.with_columns(
        (pl.col("final_accuracy_train") - pl.col("final_accuracy_test")).alias("gap_final"),
        (pl.col("best_accuracy_train") - pl.col("best_accuracy_test")).alias("gap_best_val"),
        (pl.col("final_loss_test") - pl.col("final_loss_train")).alias("loss_gap_final"),
        (pl.col("best_epoch") + 1).alias("early_stop_epoch"), (pl.col("final_epoch") + 1).alias("epochs_run"),
        (1 - pl.col("final_accuracy_test")).alias("test_error"),
    ).sort("trial_id")


def in_sweep(t: pl.DataFrame, name: str) -> pl.DataFrame:
    return t.filter(pl.col("sweep").str.split(",").list.contains(name))


def gap_summary(t: pl.DataFrame, nb: int) -> list[dict[str, Any]]:
    """Gap at the end and at the best-validation epoch, and the early-stopping epoch, per label-noise level."""
    out = []
    for (noise,), g in t.filter(pl.col("random_labels") == 0).group_by("label_noise", maintain_order=True):
        out.append({"label_noise": noise, "trials": g.height, "gap_final": bootstrap_mean(g["gap_final"].to_numpy(), n_bootstrap=nb),
                    "gap_best_val": bootstrap_mean(g["gap_best_val"].to_numpy(), n_bootstrap=nb),
                    "early_stop_epoch": bootstrap_mean(g["early_stop_epoch"].to_numpy(), n_bootstrap=nb),
                    "epochs_run": int(g["epochs_run"].max()),
                    "test_accuracy_final": bootstrap_mean(g["final_accuracy_test"].to_numpy(), n_bootstrap=nb),
                    "test_accuracy_best_val": bootstrap_mean(g["best_accuracy_test"].to_numpy(), n_bootstrap=nb)})
    return sorted(out, key=lambda r: r["label_noise"])


def width_analysis(t: pl.DataFrame, nb: int) -> dict[str, Any]:
    """Test error vs width per noise level; the peak width, and whether it is interior (a double-descent bump)."""
    per_noise = {}
    for (noise,), g in t.group_by("label_noise", maintain_order=True):
        curve = [{"width": int(w), **bootstrap_mean(part["test_error"].to_numpy(), n_bootstrap=nb)}
                 for (w,), part in sorted(g.group_by("width"), key=lambda kv: kv[0][0])]
        means = [c["mean"] for c in curve]
        k = int(np.argmax(means))
        interior = 0 < k < len(curve) - 1
        per_noise[f"{noise:g}"] = {"label_noise": noise, "curve": curve, "peak_width": curve[k]["width"] if interior else None,
                                   "argmax_width": curve[k]["width"], "interior_peak": interior,
                                   "best_width": curve[int(np.argmin(means))]["width"]}
    peaks = {k: v["peak_width"] for k, v in per_noise.items() if v["peak_width"] is not None}
    return {"per_noise": per_noise, "peak_widths": peaks,
            "peak_moves_with_noise": (len(set(peaks.values())) > 1) if len(peaks) > 1 else None,
            "rule": "peak = width of the largest mean test error when it lies strictly between the smallest and largest width"}


def _label(r: dict[str, Any]) -> str:
    parts = [f"dropout {r['dropout']:g}" if r["dropout"] > 0 else "", f"weight decay {r['weight_decay']:g}" if r["weight_decay"] > 0 else "",
             "augmentation" if r["augment"] > 0 else ""]
    return " + ".join(p for p in parts if p) or "none"


def regularization_analysis(t: pl.DataFrame, nb: int) -> dict[str, Any] | None:
    """Gap closed and accuracy lost per regularizer vs the unregularized trials; early stopping taken post hoc from them."""
    if t.height == 0:
        return None
    t = t.with_columns(pl.Series("regularizer", [_label(r) for r in t.iter_rows(named=True)]))
    base = t.filter(pl.col("regularizer") == "none")
    if base.height == 0:
        return {"error": "no unregularized trials in the sweep to compare against"}
    gap0, acc0 = float(base["gap_final"].mean()), float(base["final_accuracy_test"].mean())
    rows = [{"regularizer": "early stopping (best validation epoch)", "gap": bootstrap_mean(base["gap_best_val"].to_numpy(), n_bootstrap=nb),
             "test_accuracy": bootstrap_mean(base["best_accuracy_test"].to_numpy(), n_bootstrap=nb)}]
    for (name,), g in t.group_by("regularizer", maintain_order=True):
        rows.append({"regularizer": name, "gap": bootstrap_mean(g["gap_final"].to_numpy(), n_bootstrap=nb),
                     "test_accuracy": bootstrap_mean(g["final_accuracy_test"].to_numpy(), n_bootstrap=nb)})
    for r in rows:
        r["gap_closed"] = gap0 - r["gap"]["mean"]
        r["accuracy_lost"] = acc0 - r["test_accuracy"]["mean"]
        r["gap_closed_per_accuracy_lost"] = r["gap_closed"] / r["accuracy_lost"] if r["accuracy_lost"] > 0 else None
    useful = [r for r in rows if r["regularizer"] != "none" and r["gap_closed"] > 0]
    free = [r for r in useful if r["accuracy_lost"] <= 0]
    best = (max(free, key=lambda r: r["gap_closed"]) if free else
            max(useful, key=lambda r: r["gap_closed_per_accuracy_lost"]) if useful else None)
    return {"reference_gap": gap0, "reference_test_accuracy": acc0, "table": rows, "best": best["regularizer"] if best else None,
            "rule": "closes the gap without losing test accuracy (largest gap closed), else largest gap closed per unit of test accuracy lost"}


def memorization_analysis(t: pl.DataFrame, nb: int) -> dict[str, Any] | None:
    """Random labels: train accuracy vs chance, test accuracy, and epochs to fit relative to true labels."""
    rand, true = t.filter(pl.col("random_labels") > 0), t.filter((pl.col("random_labels") == 0) & (pl.col("label_noise") == 0))
    if rand.height == 0:
        return None
    chance = 1.0 / float(rand["n_classes"][0])
    train_acc = bootstrap_mean(rand["final_accuracy_train"].to_numpy(), n_bootstrap=nb)
    ratio = bootstrap_mean(((rand["final_accuracy_train"] - chance) / (1 - chance)).to_numpy(), n_bootstrap=nb)
    e_rand, e_true = rand["epochs_to_fit"].drop_nulls(), true["epochs_to_fit"].drop_nulls()
    return {"chance": chance, "train_accuracy_random": train_acc, "test_accuracy_random": bootstrap_mean(rand["final_accuracy_test"].to_numpy(), n_bootstrap=nb),
            "memorization_ratio": ratio, "ratio_definition": "(train accuracy − chance) / (1 − chance) on shuffled labels",
            "fitted_random": f"{e_rand.len()} of {rand.height}", "fitted_true": f"{e_true.len()} of {true.height}",
            "epochs_to_fit_random": float(e_rand.median()) if e_rand.len() else None,
            "epochs_to_fit_true": float(e_true.median()) if e_true.len() else None,
            "epochs_ratio": float(e_rand.median() / e_true.median()) if e_rand.len() and e_true.len() else None,
            "epochs_run": int(rand["epochs_run"].max())}


def calibration_analysis(t: pl.DataFrame, nb: int) -> dict[str, Any]:
    ok = t.filter(pl.col("ece_raw").is_not_null())
    out = {k: bootstrap_mean(ok[k].to_numpy(), n_bootstrap=nb) for k in ("ece_raw", "ece_ts", "nll_raw", "nll_ts", "brier_raw", "brier_ts", "temperature")}
    out["share_ece_reduced_by_ts"] = float((ok["ece_ts"] < ok["ece_raw"]).mean()) if ok.height else None
    out["method"] = "ECE with 15 equal-width bins (Guo et al. 2017); temperature fitted on validation NLL, applied to test"
    return out


def choose_reliability_trial(t: pl.DataFrame, wanted: str | None) -> str | None:
    if wanted:
        return wanted
    cand = t.filter((pl.col("random_labels") == 0) & (pl.col("label_noise") == 0) & pl.col("ece_raw").is_not_null())
    cand = cand if cand.height else t
    return cand.sort(["width", "seed"], descending=[True, False])["trial_id"][0] if cand.height else None


def overfitting_findings(rows: pl.DataFrame, o: Any) -> dict[str, Any]:
    t = trial_summary(rows, fit_threshold=o.fit_threshold)
    ok = t.filter(~pl.col("diverged").fill_null(False))
    nb = o.n_bootstrap
    width = in_sweep(ok, o.width_sweep)
    size = in_sweep(ok, o.size_sweep)
    return {"trials": t.height, "diverged_trials": int(t["diverged"].fill_null(False).sum()),
            "gap": gap_summary(ok, nb),
            "gap_definition": "train accuracy − test accuracy (train labels as trained on, i.e. noisy where noise is added)",
            "width": width_analysis(width, nb) if width.height else None,
            "train_size": [{"n_train": int(n), **bootstrap_mean(g["gap_final"].to_numpy(), n_bootstrap=nb),
                            "test_error": bootstrap_mean(g["test_error"].to_numpy(), n_bootstrap=nb)["mean"]}
                           for (n,), g in sorted(size.group_by("n_train"), key=lambda kv: kv[0][0])] if size.height else None,
            "regularization": regularization_analysis(in_sweep(ok, o.regularization_sweep), nb),
            "memorization": memorization_analysis(in_sweep(ok, o.random_label_sweep), nb),
            "calibration": calibration_analysis(ok, nb), "reliability_trial": choose_reliability_trial(ok, o.reliability_trial),
            "interval_method": f"percentile bootstrap over seeds of the mean, {nb} draws, 95%",
            "table": t.to_dicts()}
