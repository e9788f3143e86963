"""The ``analysis:`` options of the hparams study: the search space, the search, ASHA, seeds,
importance bootstraps and the transfer task."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ...spec.models import DataSpec
from .space import Dist

MIN_VARIANCE_CONFIGS = 20  # fewer configurations leave the hyperparameter share not measurable (issue 25)

DEFAULT_SPACE = {
    name: Dist.model_validate(d)
    for name, d in {
        "lr": {"loguniform": [1e-4, 1.0]},
        "batch_size": {"choice": [16, 32, 64, 128, 256]},
        "width": {"choice": [16, 32, 64, 128, 256]},
        "depth": {"randint": [1, 5]},
        "weight_decay": {"loguniform": [1e-5, 0.3]},
        "dropout": {"quniform": [0.0, 0.5, 0.1]},
        "optimizer": {"choice": ["adamw", "sgd"]},
    }.items()
}


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AshaOptions(Strict):
    enabled: bool = Field(True, description="stop poor search trials early with ASHA (Li et al. 2020)")
    grace_period: int = Field(1, ge=1, description="evaluations (epochs) every trial runs before it can be stopped")
    reduction_factor: float = Field(3, gt=1, description="keep the top 1/reduction_factor at each rung")


class HparamsOptions(Strict):
    search_space: dict[str, Dist] = Field(
        default_factory=lambda: dict(DEFAULT_SPACE), description="hyperparameter -> {tune distribution: [args]}"
    )
    search: Literal["random", "tpe"] = Field(
        "random", description="random (pre-sampled, seeded) or tpe " "(Optuna TPE through Ray Tune)"
    )
    n_trials: int = Field(20, ge=2, description="configurations tried per task")
    sample_seed: int = Field(0, description="seed of the random sampler / TPE")
    asha: AshaOptions = Field(default_factory=AshaOptions, description="early stopping of search trials")
    top_k: int = Field(3, ge=1, description="best search configurations (chosen on validation) re-run over `seeds`")
    seeds: list[int] = Field(
        default_factory=lambda: [1, 2, 3],
        min_length=2,
        description="fresh seeds of every re-run (default, tuned, one-at-a-time best, variance, "
        "transfer); must not include the search seed",
    )
    oat_points: int = Field(
        4, ge=2, description="values per hyperparameter in the one-at-a-time sweep around the default"
    )
    full_budget_configs: int = Field(
        32,
        ge=0,
        description="configurations of a scrambled Sobol sample trained to the full budget at the search seed, without "
        "early stopping: the sample importance is estimated on, and the pool of the variance design (0: not measured)",
    )
    trains_above_chance: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="a configuration trains when its full-budget validation accuracy covers at least this share of the "
        "distance from chance (majority class) to 1",
    )
    variance_configs: int = Field(
        20,
        ge=0,
        description="configurations of the full-budget sample that train, re-run over `seeds` for the seed vs "
        f"hyperparameter variance decomposition (0: not measured; else at least {MIN_VARIANCE_CONFIGS})",
    )
    bootstraps: int = Field(20, ge=2, description="bootstrap resamples of the configurations for importance stability")
    importance_min_trials: int = Field(8, ge=3, description="fewest search configurations fANOVA is run on")
    fanova_trees: int = Field(32, ge=4, description="trees per fANOVA forest")
    explode_factor: float = Field(
        10.0, gt=1, description="a final train loss above this x the first counts as " "exploded (diverged)"
    )
    transfer: DataSpec | None = Field(
        None,
        description="second data set: the same configurations are searched there " "too, with its own ASHA scheduler",
    )
