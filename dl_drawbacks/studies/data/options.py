"""The data study's settings: per-trial treatment (sent to workers) and analysis options (driver only)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .baselines import BASELINES
from .curves import FAMILIES


class DataTreatment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    val_fraction: float = Field(
        0.15,
        gt=0,
        lt=1,
        description="share of the train split held out as validation before subsampling: "
        "the same rows for every learner, used only for model selection",
    )
    baselines: tuple[str, ...] = Field(
        tuple(BASELINES), description=f"classical baselines fitted on the same subsample ({', '.join(BASELINES)})"
    )
    epochs: int = Field(100, ge=1, description="passes over the n training rows per anchor (the budget scales with n)")
    min_steps: int = Field(200, ge=1, description="fewest optimizer steps at any anchor")
    evaluations: int = Field(40, ge=2, description="evaluations per trial (eval_every = steps // evaluations)")
    patience: int = Field(
        8,
        ge=1,
        description="evaluations without improvement after the selected one for an anchor to count as converged",
    )
    min_delta: float = Field(1e-3, ge=0, description="validation-loss decrease (nats) that counts as an improvement")

    @field_validator("baselines")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(BASELINES))
        if unknown:
            raise ValueError(f"unknown baseline(s) {', '.join(unknown)}; known: {', '.join(BASELINES)}")
        return v


class DataOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    target_error: float | None = Field(
        None, gt=0, lt=1, description="test error whose data requirement is reported (None: skip)"
    )
    families: tuple[str, ...] = Field(
        ("pow2", "pow3", "pow4", "mmf4", "wbl4"),
        description=f"learning-curve families compared ({', '.join(FAMILIES)})",
    )
    n_bootstrap: int = Field(200, ge=20, description="parametric bootstrap replicates (test samples × seeds) per curve")
    level: float = Field(0.95, gt=0.5, lt=1, description="confidence level of every interval")
    min_anchors: int = Field(5, ge=3, description="fewer anchors than this: extrapolation refused")
    monotone_tolerance: float = Field(
        0.01,
        ge=0,
        description="error rise between anchors tolerated (plus 2 standard errors) before the curve counts as "
                    "non-monotone",
    )
    holdout_tolerance: float = Field(
        0.0,
        ge=0,
        description="a family passes when its fit without the largest anchor predicts it within 2 SE plus this",
    )
    min_test_samples: float = Field(
        5,
        ge=0,
        description="a difference of fewer test samples than this (or within 2 × test-set noise) is not resolved",
    )
    n_cap: float = Field(
        1e9, gt=1, description="largest n searched when inverting a curve; beyond it a target counts as unreachable"
    )

    @field_validator("families")
    @classmethod
    def _families(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(FAMILIES))
        if unknown:
            raise ValueError(f"unknown curve family {', '.join(unknown)}; known: {', '.join(FAMILIES)}")
        return v
