"""The two controls a ROAR verdict needs before it is judged (summary side; the rows come from ``roar.py``).

- Mask-only control (Rong et al. 2022, ICML, sec. 4.1, class information leakage): per method, a logistic
  regression on the binary removal masks alone predicts the test labels; its accuracy minus the same fit's on
  random masks of the same size is the leak, averaged over fractions, per seed and test sample (nested interval).
  When the leak's interval lies above ``LEAK_MARGIN``, a retrained model can read the label from where features
  were removed and the method's ROAR gain is confounded: its verdict is refused.
- Convergence of the retraining (Hooker et al. 2019 retrain to convergence): a retrained model whose train
  accuracy still rose by more than ``PLATEAU`` over the last quarter of its steps has not reached its plateau, and
  a gain measured between unconverged models depends on the budget: the verdict is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import UNIT, value_range
from .summaries import DIFFERENCE, nested, per_seed_samples

LEAK_MARGIN = 0.05  # accuracy points above random masks that count as "well above"
PLATEAU = 0.01  # train accuracy gained over the last quarter of the steps, at most
LEAK_RULE = (
    f"confounded when the interval of (mask-only accuracy − random-mask accuracy) lies above {LEAK_MARGIN:g}; "
    "passes when its upper end is at most that"
)
CONVERGENCE_RULE = (
    f"converged when train accuracy rose by at most {PLATEAU:g} between the evaluation at 3/4 of the steps "
    "(or the last before it) and the end"
)


def _settings(rows: pl.DataFrame, roar: pl.DataFrame) -> list[tuple[str, str, float, int]]:
    """(trial_id, method, fraction, seed) of every ROAR trial with a recorded setting."""
    seeds = dict(zip(roar["trial_id"].to_list(), roar["seed"].to_list()))
    part = rows.filter((pl.col("metric") == "roar_fraction") & pl.col("trial_id").is_in(list(seeds)))
    return [(t, m, float(f), seeds[t]) for t, m, f in part.unique("trial_id").select("trial_id", "group", "value")
            .iter_rows()]


def mask_control(rows: pl.DataFrame, roar: pl.DataFrame, level: float) -> dict[str, dict[str, Any]]:
    """Per method: mask-only accuracy, random-mask accuracy, the leak and whether the control passes."""
    by_method: dict[str, dict[int, list[tuple[np.ndarray, np.ndarray]]]] = {}
    for tid, method, _, seed in _settings(rows, roar):
        own = per_seed_samples(rows, "roar_mask_only_correct", method, [tid])
        ref = per_seed_samples(rows, "roar_random_mask_correct", method, [tid])
        if own and ref and own[0].shape == ref[0].shape:
            by_method.setdefault(method, {}).setdefault(seed, []).append((own[0], ref[0]))
    out = {}
    for method, by_seed in sorted(by_method.items()):
        own = [np.mean([o for o, _ in pairs], axis=0) for pairs in by_seed.values()]
        ref = [np.mean([r for _, r in pairs], axis=0) for pairs in by_seed.values()]
        leak = nested([o - r for o, r in zip(own, ref)], level, DIFFERENCE)
        if leak["low"] is None:
            passes, reason = None, f"not measurable: {leak['reason']}"
        elif leak["low"] > LEAK_MARGIN:
            passes, reason = False, "confounded: the removal mask alone predicts the label"
        elif leak["high"] <= LEAK_MARGIN:
            passes, reason = True, None
        else:
            passes, reason = None, f"unresolved: the leak's interval straddles {LEAK_MARGIN:g}"
        out[method] = {
            "mask_only_accuracy": nested(own, level, UNIT),
            "random_mask_accuracy": nested(ref, level, UNIT),
            "leak": leak,
            "passes": passes,
            "reason": reason,
        }
    return out


def _late_gain(train: pl.DataFrame) -> float | None:
    """Train accuracy at the end minus at the last evaluation at or before 3/4 of the steps (None: one evaluation)."""
    steps, values = train["step"].to_list(), train["value"].to_list()
    if len(steps) < 2:
        return None
    earlier = [v for s, v in zip(steps[:-1], values[:-1]) if s <= 0.75 * steps[-1]]
    return float(values[-1] - earlier[-1]) if earlier else None


def convergence(rows: pl.DataFrame, roar: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per method: how many of its retrainings reached the plateau, the largest late gain, final train accuracy."""
    acc = rows.filter(
        (pl.col("metric") == "accuracy") & (pl.col("split") == "train") & pl.col("step").is_not_null()
        & pl.col("trial_id").is_in(roar["trial_id"])
    ).sort("step")
    out: dict[str, dict[str, Any]] = {}
    for tid, method, _, _ in _settings(rows, roar):
        train = acc.filter(pl.col("trial_id") == tid)
        gain = _late_gain(train)
        entry = out.setdefault(method, {"trials": 0, "converged": 0, "unmeasured": 0, "late_gains": [], "final": []})
        entry["trials"] += 1
        if gain is None:
            entry["unmeasured"] += 1
        else:
            entry["late_gains"].append(gain)
            entry["converged"] += int(gain <= PLATEAU)
        if train.height:
            entry["final"].append(float(train["value"][-1]))
    for entry in out.values():
        gains = entry.pop("late_gains")
        entry["largest_late_gain"] = max(gains) if gains else None
        entry["final_train_accuracy"] = value_range(entry.pop("final"), over="retrainings").to_dict()
        entry["passes"] = entry["converged"] == entry["trials"]
        entry["reason"] = None if entry["passes"] else (
            f"{entry['trials'] - entry['converged']} of {entry['trials']} retrainings not converged"
            + (f" ({entry['unmeasured']} with one evaluation: set trainer.budget.eval_every ≤ steps/4)"
               if entry["unmeasured"] else "")
        )
    return out
