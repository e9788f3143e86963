"""Referee of the full-budget importance (issue 25): fANOVA main effects and the interaction share on a
synthetic objective whose functional ANOVA decomposition is known, sampled as the study samples (scrambled
Sobol), in both directions (an important hyperparameter found, an inert one not), point and interval coverage.

Objective on four hyperparameters uniform on [0, 1]: f = 2(a - .5) + 1.5(b - .5) + 6(b - .5)(c - .5). Its
variance splits into a 1/3, b 3/16, the b x c interaction 1/4 and nothing for c's or inert's main effect (Sobol'
1993 decomposition of independent uniform inputs): shares a 0.432, b 0.243, interactions 0.324, c 0, inert 0.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.studies.hparams.importance import FanovaBootstrap
from dl_drawbacks.studies.hparams.space import Dist, sobol_configs

NAMES = ("a", "b", "c", "inert")
TOTAL = 1 / 3 + 3 / 16 + 1 / 4
TRUTH = {"a": (1 / 3) / TOTAL, "b": (3 / 16) / TOTAL, "c": 0.0, "inert": 0.0, "interactions": (1 / 4) / TOTAL}


def _fit(seed: int, *, n: int = 64, trees: int, bootstraps: int, permutations: int) -> FanovaBootstrap:
    space = {name: Dist.model_validate({"uniform": [0.0, 1.0]}) for name in NAMES}
    configs = sobol_configs(space, n, seed=seed)
    objective = [2 * (c["a"] - .5) + 1.5 * (c["b"] - .5) + 6 * (c["b"] - .5) * (c["c"] - .5) for c in configs]
    frame = pl.DataFrame(configs).with_columns(objective=pl.Series(objective))
    dists = {name: d.analysis_distribution() for name, d in space.items()}
    return FanovaBootstrap(dists, n_bootstrap=bootstraps, n_permutations=permutations, n_trees=trees,
                           seed=seed).fit(frame)


def _intervals(fit: FanovaBootstrap) -> dict[str, dict]:
    return {**{n: fit.summary_[n]["interval"] for n in NAMES}, "interactions": fit.interactions_}


def test_known_main_effects_and_interaction_share_point_and_interval():
    """Fast equivalent of the coverage test: one Sobol sample of 64 configurations."""
    fit = _fit(101, trees=8, bootstraps=10, permutations=2)
    found = _intervals(fit)
    assert fit.ranking_[:2] == ["a", "b"]
    assert abs(fit.point_["a"] - TRUTH["a"]) < 0.08 and abs(fit.interactions_["estimate"] - TRUTH["interactions"]) < 0.08
    assert abs(fit.main_effects_["estimate"] + fit.interactions_["estimate"] - 1) < 1e-9
    for key in ("a", "b", "interactions"):
        assert found[key]["low"] <= TRUTH[key] <= found[key]["high"], (key, found[key])
    # the important one is found (its interval far from 0), the inert one is not (its interval reaches 0)
    assert found["a"]["low"] > 0.25 and found["inert"]["low"] == 0.0 and fit.point_["inert"] < 0.03
    assert found["a"]["method"] == "bootstrap-basic" and found["a"]["n"] == {"configurations": 64, "resamples": 10}


@pytest.mark.slow
def test_coverage_of_the_importance_intervals_over_ten_simulations():
    """Ten Sobol samples of 64 configurations (the study's default forest of 16 trees here, 19 resamples and 19
    permutations): measured coverage of the 95% basic intervals, bias of the points, and the permutation null."""
    fits = [_fit(100 + r, trees=16, bootstraps=19, permutations=19) for r in range(10)]
    covered = {key: np.mean([f_[key]["low"] <= TRUTH[key] <= f_[key]["high"] for f_ in map(_intervals, fits)])
               for key in ("a", "b", "interactions")}
    mean = {key: np.mean([_intervals(f)[key]["estimate"] for f in fits]) for key in ("a", "b", "interactions")}
    print("coverage", covered, "mean point", mean, "truth", TRUTH)
    assert covered["a"] >= 0.9 and covered["b"] >= 0.7 and covered["interactions"] >= 0.7
    assert all(abs(mean[key] - TRUTH[key]) < 0.06 for key in mean)
    assert all(f.summary_["a"]["null_p_value"] <= 0.05 for f in fits)  # found every time
    assert sum(f.summary_["inert"]["null_p_value"] <= 0.05 for f in fits) <= 1  # not found (a 5% test, ten tries)
