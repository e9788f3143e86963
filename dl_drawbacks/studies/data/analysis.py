"""The data study's analysis from its aggregated rows: convergence check per anchor, one curve fit per
learner (deep learning models and baselines), data to the target, crossovers per (model, baseline)."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import polars as pl

from ...statistics import UNIT
from .anchors import Curve, anchor_interval, resampling_weights
from .convergence import selection_table
from .crossover import compare
from .learning_curves import BOOTSTRAP_METHOD, LearningCurveFit
from .model_gap import model_gaps
from .tables import baseline_curves, correctness, dl_curves, trial_table
from .options import DataTreatment

MIN_ANCHORS_TO_FIT = 3


def convergence_findings(trials: pl.DataFrame, selection: pl.DataFrame, *, patience: int) -> dict[str, Any]:
    """Per model and anchor: seeds whose selected evaluation had fewer than ``patience`` evaluations after it."""
    t = trials.join(selection, on="trial_id", how="left")
    flagged = t.filter(~pl.col("converged").fill_null(False))
    per = (
        t.group_by("model", "n")
        .agg(
            pl.len().alias("seeds"),
            pl.col("converged").fill_null(False).sum().alias("converged"),
            (pl.col("selected_step") == pl.col("last_step")).sum().alias("best_is_last"),
            pl.col("selected_step").median().alias("median_selected_step"),
            pl.col("last_step").max().alias("budget_steps"),
        )
        .sort("model", "n")
    )
    anchors = per.filter(pl.col("converged") < pl.col("seeds")).to_dicts()
    return {
        "rule": f"early stopping on validation loss, patience {patience} evaluations (post hoc over the whole budget)",
        "per_anchor": per.to_dicts(),
        "not_converged": anchors,
        "trials_not_converged": flagged.height,
        "all_converged": flagged.height == 0 and t.height > 0,
    }


def _fit(curve: Curve, options: Any, weights: np.ndarray | None, learner: str) -> LearningCurveFit | dict:
    """The learner's fit; its seed-part draws come from its own random stream (independently trained learners
    share no seed draws), while the test-sample ``weights`` are shared (every learner is scored on one test set)."""
    if len(curve.anchors) < MIN_ANCHORS_TO_FIT:  # no curve, but each anchor's error is still measured
        return {
            "available": False,
            "reason": f"only {len(curve.anchors)} anchor(s): a curve needs {MIN_ANCHORS_TO_FIT}",
            "anchors": curve.anchors.tolist(),
            "anchor_intervals": [anchor_interval(curve, i, level=options.level).to_dict()
                                 for i in range(len(curve.anchors))],
        }
    return LearningCurveFit(
        families=options.families,
        n_bootstrap=options.n_bootstrap,
        min_anchors=options.min_anchors,
        monotone_tolerance=options.monotone_tolerance,
        holdout_tolerance=options.holdout_tolerance,
        level=options.level,
        random_state=zlib.crc32(learner.encode()),
    ).fit(curve, weights=weights)


def _curve_findings(fit: LearningCurveFit | dict, options: Any) -> dict[str, Any]:
    if isinstance(fit, dict):
        return fit
    out = {"available": True, **fit.summary()}
    out["anchor_intervals"] = [
        anchor_interval(fit.curve_, i, level=options.level).to_dict() for i in range(len(fit.anchors_))
    ]
    if fit.draws_:
        grid = np.geomspace(fit.anchors_[0], fit.anchors_[-1] * 4, 60)
        low, high = fit.band(grid)
        out["band"] = {"n": grid.tolist(), "low": low.tolist(), "high": high.tolist(), "level": options.level,
                       "domain": str(UNIT)}
    out["data_to_target"] = (
        fit.data_to_reach(options.target_error, n_cap=options.n_cap) if options.target_error else None
    )
    return out


def _test_size(curves: dict[str, Curve]) -> int | None:
    sizes = {c.test_size for c in curves.values() if c.test_size}
    return sizes.pop() if len(sizes) == 1 else None


def _recorded(rows: pl.DataFrame, metric: str, default: float) -> float:
    """A per-trial setting the workers recorded (the same for every trial of a study); ``default`` when absent."""
    v = rows.filter(pl.col("metric") == metric)["value"]
    return float(v.max()) if v.len() else default


def analyze_data(rows: pl.DataFrame, options: Any) -> dict[str, Any]:
    defaults = DataTreatment()
    min_delta = _recorded(rows, "early_stopping_min_delta", defaults.min_delta)
    patience = int(_recorded(rows, "early_stopping_patience", defaults.patience))
    trials = trial_table(rows)
    if trials.height == 0:
        return {
            "available": False,
            "reason": "no data trials recorded",
            "trials": 0,
            "models": {},
            "baselines": {},
            "crossover": {},
        }
    selection = selection_table(rows, min_delta=min_delta, patience=patience)
    corr = correctness(rows)
    dl = dl_curves(trials, corr, rows, selection)
    base = baseline_curves(trials, corr, rows)
    size = _test_size({**dl, **base})
    weights = resampling_weights(size, options.n_bootstrap, seed=0) if size else None
    dl_fits = {m: _fit(c, options, weights, m) for m, c in dl.items()}
    base_fits = {b: _fit(c, options, weights, b) for b, c in base.items()}
    cross = {
        m: {
            b: (
                compare(
                    f, g, level=options.level, min_test_samples=options.min_test_samples, n_cap=min(options.n_cap, 1e7)
                )
                if isinstance(f, LearningCurveFit) and isinstance(g, LearningCurveFit)
                else {"available": False, "reason": "a curve of the pair could not be fitted"}
            )
            for b, g in base_fits.items()
        }
        for m, f in dl_fits.items()
    }
    return {
        "available": True,
        "trials": trials.height,
        "diverged_trials": int(trials["diverged"].sum()),
        "target_error": options.target_error,
        "level": options.level,
        "test_samples": size,
        "validation_rows": int(_recorded(rows, "validation_rows", 0)) or None,
        "equal_data": (
            "every learner is trained on the same n rows per (anchor, seed) and selects on the same validation rows, "
            "held out before subsampling and not counted in n: the MLP its early-stopping step, logistic "
            "regression its C, gradient boosting its number of boosting iterations"
        ),
        "convergence": convergence_findings(trials, selection, patience=patience),
        "selection_method": "families that pass (converged, no parameter on a bound, held-out largest anchor within 2 "
                            "SE); "
        "the one with the smallest held-out error is drawn, all passing ones are model-averaged",
        "interval_method": f"{BOOTSTRAP_METHOD}; {options.n_bootstrap} replicates",
        "models": {m: _curve_findings(f, options) for m, f in dl_fits.items()},
        "baselines": {b: _curve_findings(f, options) for b, f in base_fits.items()},
        "crossover": cross,
        "model_gaps": model_gaps(dl, level=options.level, min_test_samples=options.min_test_samples),
    }
