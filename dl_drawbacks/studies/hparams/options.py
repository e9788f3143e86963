"""The ``analysis:`` options of the hparams study: the search space, the search, ASHA, seeds,
importance bootstraps and the transfer task."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ...spec.models import DataSpec
from .space import Dist


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AshaOptions(Strict):
    enabled: bool = Field(True, description="stop poor search trials early with ASHA (Li et al. 2020)")
    grace_period: int = Field(1, ge=1, description="evaluations (epochs) every trial runs before it can be stopped")
    reduction_factor: float = Field(3, gt=1, description="keep the top 1/reduction_factor at each rung")


class HparamsOptions(Strict):
    search_space: dict[str, Dist] = Field(description="hyperparameter -> {tune distribution: [args]}")
    search: Literal["random", "tpe"] = Field("random", description="random (pre-sampled, seeded) or tpe (Optuna TPE through Ray Tune)")
    n_trials: int = Field(20, ge=2, description="configurations tried per task")
    sample_seed: int = Field(0, description="seed of the random sampler / TPE")
    asha: AshaOptions = Field(default_factory=AshaOptions, description="early stopping of search trials")
    top_k: int = Field(3, ge=1, description="best configurations re-run over `seeds`")
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=2, description="seeds of the re-runs (best k and the default)")
    oat_points: int = Field(4, ge=2, description="values per hyperparameter in the one-at-a-time sweep around the default")
    bootstraps: int = Field(20, ge=2, description="bootstrap resamples of the trials for fANOVA importance stability")
    importance_min_trials: int = Field(8, ge=3, description="fewest full-budget search trials fANOVA is run on")
    fanova_trees: int = Field(32, ge=4, description="trees per fANOVA forest")
    explode_factor: float = Field(10.0, gt=1, description="a final train loss above this x the first counts as exploded (diverged)")
    transfer: DataSpec | None = Field(None, description="second data set: the same configurations are searched there too")
