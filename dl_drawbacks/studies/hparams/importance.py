"""Hyperparameter importance of the search space, with its stability and a null.

How the references do it: fANOVA (Hutter, Hoos & Leyton-Brown 2014, "An efficient approach for
assessing hyperparameter importance", ICML) fits a random forest to (configuration, performance) pairs
of a sample of the space and splits the forest's variance into main effects per hyperparameter;
optuna's ``FanovaImportanceEvaluator`` returns each main effect as its share of the forest's total variance
(mean over trees; only ``optuna.importance.get_param_importances`` normalises them to sum to 1, and it is not
used here), so the main effects sum to at most 1 and the rest, ``1 - sum``, is what interactions of two or more
hyperparameters explain. It works on the raw scale of each distribution (FACTS.md: optuna 5 does not apply
``log=True``), so log-uniform hyperparameters are passed here as log10 values. PED-ANOVA (Watanabe et al. 2023,
IJCAI; optuna's
``PedAnovaImportanceEvaluator``) is a second estimator: what matters for reaching the top 10%.

Here (``analysis.importance``): the sample is a scrambled Sobol sample of the space trained to the full budget (the
objective users care about), and beside it, labelled early, every configuration of the random search at its
first ASHA rung (a budget each of them reached, so no survivor filter). Stability: ``n_bootstrap`` resamples of the
configurations
(rank frequencies, basic bootstrap intervals). Null: the same fit on objectives permuted across
configurations (Altmann et al. 2010, "Permutation importance: a corrected feature importance
measure"), compared with the largest importance of each permutation (Westfall & Young 1993 maxT,
familywise over the parameters): a forest fitted to noise still assigns variance shares, so only the null
says whether any parameter matters at all.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl

from ...statistics import MIN_BOOTSTRAP_UNITS, UNIT, Interval


def optuna_study(frame: pl.DataFrame, distributions: dict[str, Any], *, objective: str = "objective"):
    """An optuna study holding one finished trial per frame row (``optuna.trial.create_trial``)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    names = list(distributions)
    study.add_trials([
        optuna.trial.create_trial(params={n: _native(row[n]) for n in names}, distributions=distributions,
                                  value=float(row[objective]))
        for row in frame.select([*names, objective]).iter_rows(named=True)
    ])
    return study


def _native(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def replicate_interval(replicates: np.ndarray, estimate: float, *, units: int, over: str,
                       level: float = 0.95) -> Interval:
    """Basic bootstrap interval (Davison & Hinkley 1997, eq. 5.6: 2 x estimate - the replicates' upper and lower
    quantiles, clipped to [0, 1]) of a variance share from replicates computed here (the fits are shared by every
    parameter); refused below ``MIN_BOOTSTRAP_UNITS`` resampled ``units`` (configurations). Basic, not percentile:
    a resample's duplicated configurations shift a forest's shares (small shares up, the interaction share down), and
    the basic interval turns that shift around instead of reporting it as the interval (tests/studies/hparams/
    test_importance_referee.py measures its coverage)."""
    v = replicates[np.isfinite(replicates)]
    n = {"configurations": units, "resamples": int(v.size)}
    method = "bootstrap-basic"
    if units < MIN_BOOTSTRAP_UNITS:
        return Interval(estimate, None, None, method, level, over, n,
                        f"not measurable: {units} configurations (a bootstrap interval needs at least "
                        f"{MIN_BOOTSTRAP_UNITS})", str(UNIT))
    if v.size < 2:
        return Interval(estimate, None, None, method, level, over, n, f"{v.size} usable resample(s)", str(UNIT))
    low, high = np.quantile(v, [(1 - level) / 2, (1 + level) / 2])
    return Interval(estimate, float(np.clip(2 * estimate - high, 0, 1)), float(np.clip(2 * estimate - low, 0, 1)),
                    method, level, over, n, None, str(UNIT))


class FanovaBootstrap:
    """Main-effect fANOVA importance of each hyperparameter, over bootstrap resamples and permutations.

    ``distributions``: the optuna distributions the values are given on (log10 for log-uniform).
    Fitted: ``point_`` (all configurations), ``samples_`` (bootstrap x parameter), ``null_`` (permutation
    x parameter), ``summary_`` (per parameter: point, interval, rank frequencies, maxT null p-value),
    ``ranking_`` (by point importance), ``main_effects_`` and ``interactions_`` (the share of variance the main
    effects explain together and the share they leave to interactions, each with its bootstrap interval),
    ``n_trials_``.
    """

    def __init__(self, distributions: dict[str, Any], *, n_bootstrap: int = 20, n_permutations: int = 20,
                 n_trees: int = 32, seed: int = 0) -> None:
        self.distributions = distributions
        self.n_bootstrap = n_bootstrap
        self.n_permutations = n_permutations
        self.n_trees = n_trees
        self.seed = seed

    def _evaluate(self, frame: pl.DataFrame, seed: int) -> list[float]:
        from optuna.importance import FanovaImportanceEvaluator

        if frame["objective"].n_unique() < 2:  # a constant objective has no variance to attribute
            return [float("nan")] * len(self.distributions)
        logging.getLogger("optuna").setLevel(logging.ERROR)
        evaluator = FanovaImportanceEvaluator(n_trees=self.n_trees, seed=seed)
        found = evaluator.evaluate(optuna_study(frame, self.distributions))
        return [float(found.get(n, 0.0)) for n in self.distributions]

    def fit(self, frame: pl.DataFrame) -> "FanovaBootstrap":
        names = list(self.distributions)
        self.n_trials_ = frame.height
        self.point_ = dict(zip(names, self._evaluate(frame, self.seed)))
        rng = np.random.default_rng(self.seed)
        self.samples_ = np.array([self._evaluate(frame[rng.integers(0, frame.height, frame.height)], self.seed + 1 + b)
                                  for b in range(self.n_bootstrap)])
        objective = frame["objective"].to_numpy()
        self.null_ = np.array([self._evaluate(frame.with_columns(objective=pl.Series(rng.permutation(objective))),
                                              self.seed + 1000 + p) for p in range(self.n_permutations)])
        usable = self.samples_[np.isfinite(self.samples_).all(axis=1)]
        ranks = (-usable).argsort(axis=1).argsort(axis=1) + 1  # 1 = most important in that resample
        self.summary_ = {}
        null_rows = self.null_[np.isfinite(self.null_).all(axis=1)]
        null = null_rows.max(axis=1) if len(null_rows) else np.array([])  # max over parameters: familywise (maxT)
        for j, n in enumerate(names):
            self.summary_[n] = {
                "point": self.point_[n],
                "interval": replicate_interval(self.samples_[:, j], self.point_[n], units=frame.height,
                                               over="configurations (bootstrap)").to_dict(),
                "rank_frequency": {str(r): float((ranks[:, j] == r).mean()) if len(ranks) else None
                                   for r in range(1, len(names) + 1)},
                "top1_frequency": float((ranks[:, j] == 1).mean()) if len(ranks) else None,
                "null_p95": float(np.quantile(null, 0.95)) if null.size else None,
                "null_p_value": float((1 + (null >= self.point_[n]).sum()) / (1 + null.size)) if null.size else None,
            }
        main = float(np.nansum(list(self.point_.values())))
        resampled = np.where(np.isfinite(self.samples_).all(axis=1), self.samples_.sum(axis=1), np.nan)
        over = "configurations (bootstrap)"
        self.main_effects_ = replicate_interval(resampled, main, units=frame.height, over=over).to_dict()
        self.interactions_ = replicate_interval(1 - resampled, 1 - main, units=frame.height, over=over).to_dict()
        self.ranking_ = sorted(names, key=lambda n: -np.nan_to_num(self.point_[n], nan=-1.0))
        return self


def ped_anova(frame: pl.DataFrame, distributions: dict[str, Any], *, target_quantile: float = 0.1) -> dict[str, Any]:
    """PED-ANOVA importance (point estimate) for reaching the top ``target_quantile`` of the sample."""
    from optuna.importance import PedAnovaImportanceEvaluator

    top = int(target_quantile * frame.height)
    if top < 2:
        return {"available": False, "reason": f"the top {target_quantile:.0%} of {frame.height} configurations "
                                              f"is {top} configuration(s); PED-ANOVA needs >= 2"}
    if frame["objective"].n_unique() < 2:
        return {"available": False, "reason": "the objective is the same for every configuration"}
    found = PedAnovaImportanceEvaluator(target_quantile=target_quantile).evaluate(optuna_study(frame, distributions))
    return {"available": True, "method": f"PED-ANOVA (Watanabe et al. 2023), top {target_quantile:.0%} vs all",
            "importance": {n: float(found.get(n, 0.0)) for n in distributions}}
