"""Synthetic rows of a whole hparams study (planned trials, a crude ASHA, then the chosen re-runs) whose
validation/test accuracy is a known function of the configuration, task and seed."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.plan import plan_suite
from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.spec.load import parse_spec
from dl_drawbacks.studies.hparams.followups import followups_from_table
from dl_drawbacks.studies.hparams.outcomes import trial_outcomes

EVALS, STEPS_PER_EVAL = 3, 10
Objective = Callable[[dict[str, Any], str, int], float]  # (config, task, seed) -> accuracy at the full budget


def spec(**analysis: Any) -> dict[str, Any]:
    base = {"search_space": {"lr": {"loguniform": [1e-4, 1.0]}, "dropout": {"uniform": [0.0, 0.5]},
                             "optimizer": {"choice": ["adamw", "sgd"]}},
            "n_trials": 24, "top_k": 2, "seeds": [1, 2, 3], "oat_points": 3, "full_budget_configs": 32,
            "variance_configs": 20, "bootstraps": 19,
            "fanova_trees": 8, "transfer": {"name": "german"}, "asha": {"grace_period": 1, "reduction_factor": 3}}
    return {"name": "synthetic", "version": 1, "tracking": {"mode": "offline"}, "studies": [{
        "kind": "hparams", "data": {"name": "digits"}, "model": {"family": "mlp", "size": "xs"},
        "trainer": {"optimizer": {"name": "adamw", "lr": 0.001, "weight_decay": 0.01}, "budget": {"epochs": EVALS}},
        "analysis": {**base, **analysis}}]}


def _trial_rows(t, objective: Objective, evals: int, rng) -> pl.DataFrame:
    hp = {k: v for k, v in t.factors.items() if k not in ("sweep", "task", "config_id", "varied")}
    rows = RowBuffer("hparams", "run", t.trial_id, t.seed, t.factors)
    final = objective(hp, t.data.name, t.seed)
    diverged = not math.isfinite(final)
    rows.add("chance_accuracy", 0.1, "fraction", split="val")
    rows.add("steps_planned", EVALS * STEPS_PER_EVAL, "count")
    rows.add("loss", 2.0, "nats", split="train_batch", step=1, epoch=0)
    for e in range(1, (0 if diverged else evals) + 1):
        val = final - 0.05 * (EVALS - e)  # every curve rises by the same amount per evaluation
        rows.add("accuracy", val, "fraction", split="val", step=e * STEPS_PER_EVAL, epoch=e - 1)
        rows.add("accuracy", val + rng.normal(0, 0.002), "fraction", split="test", step=e * STEPS_PER_EVAL, epoch=e - 1)
    rows.add("loss", float("nan") if diverged else 1.0, "nats", split="train_batch", step=evals * STEPS_PER_EVAL, epoch=0)
    rows.add("diverged", float(diverged), "bool")
    if evals < EVALS and not diverged:
        rows.add("stopped_early", 1.0, "bool")
    rows.add("steps", evals * STEPS_PER_EVAL, "count")
    rows.add("device_seconds", 0.1 * evals, "s", group="cpu:1")
    rows.add("energy", 1.0 * evals, "J", group="node:x", provenance="estimate")
    return rows.frame()


def _simulate(trials, objective: Objective, rng) -> list[pl.DataFrame]:
    """Search trials: the top third at evaluation 1 of each data set run on, the rest stop there (one
    scheduler per data set); every other trial runs its whole budget."""
    frames = []
    for sweep in ("search", "transfer"):
        search = [t for t in trials if t.sweep == sweep]
        first = [objective({k: t.factors[k] for k in t.factors if k not in ("sweep", "task", "config_id")},
                           t.data.name, t.seed) for t in search]
        keep = set(np.argsort(np.nan_to_num(first, nan=-1))[::-1][: max(1, len(search) // 3)])
        frames += [_trial_rows(t, objective, EVALS if i in keep else 1, rng) for i, t in enumerate(search)]
    return frames + [_trial_rows(t, objective, EVALS, rng) for t in trials if t.sweep not in ("search", "transfer")]


def make_study(objective: Objective, **analysis: Any):
    """``(rows, options)``: the planned trials, then the re-runs the driver would choose from their
    results, simulated with ``objective``."""
    planned = plan_suite(parse_spec(spec(**analysis)), source="synthetic")[0]
    rng = np.random.default_rng(0)
    rows = pl.concat(_simulate(planned.trials, objective, rng))
    base = next(t for t in planned.trials if t.sweep == "search")
    chosen = followups_from_table(base, planned.options, trial_outcomes(rows))
    done = set(rows["trial_id"].unique())
    rows = pl.concat([rows, *[_trial_rows(t, objective, EVALS, rng) for t in chosen if t.trial_id not in done]])
    return rows, planned.options


@pytest.fixture
def synthetic_study():
    return make_study


@pytest.fixture
def study_spec():
    """``study_spec(**analysis)``: the synthetic study's spec document."""
    return spec
