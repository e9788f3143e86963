"""Training each anchor to convergence (LCDB, Mohr et al. 2022, trains every anchor to convergence; a
fixed step budget flattens the large-n end of the curve): the budget scales with n, and the evaluation
kept is chosen by early stopping on the validation loss (Keras' rule: an evaluation improves when its
loss is below the best so far by more than ``min_delta``). Training runs the whole budget and the rule is
applied post hoc, so the check can see what would have come next: an anchor is *converged* when at least
``patience`` evaluations followed its selected one without improvement; otherwise training was cut short."""

from __future__ import annotations

import math

import numpy as np
import polars as pl


def steps_for(steps_per_epoch: int, *, epochs: int, min_steps: int) -> int:
    """Optimizer steps of one anchor: ``epochs`` passes over its n rows, at least ``min_steps``."""
    return max(min_steps, epochs * steps_per_epoch)


def improves(loss: float, best: float, min_delta: float) -> bool:
    return loss < best - min_delta


def select(losses: np.ndarray, *, min_delta: float) -> int:
    """Index of the evaluation early stopping keeps (the last one that improved by more than min_delta)."""
    best, chosen = math.inf, 0
    for i, loss in enumerate(losses):
        if improves(float(loss), best, min_delta):
            best, chosen = float(loss), i
    return chosen


def selection_table(rows: pl.DataFrame, *, min_delta: float, patience: int) -> pl.DataFrame:
    """Per trial: the selected step, evaluations after it, the last step, and whether it converged."""
    val = rows.filter((pl.col("metric") == "loss") & (pl.col("split") == "val") & pl.col("step").is_not_null())
    out = []
    for (trial,), part in val.sort("step").group_by("trial_id", maintain_order=True):
        steps, losses = part["step"].to_numpy(), part["value"].to_numpy()
        i = select(losses, min_delta=min_delta)
        after = len(losses) - 1 - i
        out.append({"trial_id": trial, "selected_step": int(steps[i]), "evals_after_selected": after,
                    "last_step": int(steps[-1]), "converged": after >= patience})
    schema = {"trial_id": pl.String, "selected_step": pl.Int64, "evals_after_selected": pl.Int64, "last_step": pl.Int64,
              "converged": pl.Boolean}
    return pl.DataFrame(out, schema=schema)
