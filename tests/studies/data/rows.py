"""Synthetic rows of the data study, shaped as its workers write them (for analysis tests without Ray)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from dl_drawbacks.rows import ROW_SCHEMA


def _row(trial, seed, factors, metric, value, *, split="", group="", step=None):
    return {"study": "data", "run_id": "r", "trial_id": trial, "seed": seed, "factors": factors, "metric": metric,
            "split": split, "group": group, "step": step, "epoch": None, "value": float(value), "unit": "",
            "provenance": "measured", "rank": 0}


def data_rows(*, anchors=(16, 32, 64, 128, 256, 512, 1024), seeds=(0, 1, 2), test_size=300, cut_short=False, rng_seed=0):
    """One MLP (mlp/xs) and one baseline: errors c + a n^-b, val loss that bottoms out mid-run (or, with
    ``cut_short``, still falls at the last evaluation), per-sample test correctness on one shared test set."""
    rng = np.random.default_rng(rng_seed)
    u = rng.uniform(size=test_size)
    out = []
    for n in anchors:
        for s in seeds:
            trial = f"data-{n}-{s}"
            factors = json.dumps({"family": "mlp", "size": "xs", "n_train": n, "sweep": "size"}, sort_keys=True)
            add = lambda *a, **k: out.append(_row(trial, s, factors, *a, **k))  # noqa: E731
            add("train_size", n)
            add("steps", 400)
            add("diverged", 0.0, step=400)
            add("early_stopping_min_delta", 1e-3)
            add("early_stopping_patience", 4)
            steps = np.arange(40, 401, 40)
            val = 1.0 / steps if cut_short else 0.5 + (steps - 160.0) ** 2 / 1e5
            e_dl = 0.01 + 4.0 * n ** -0.7 * np.exp(rng.normal(0, 0.05))
            e_base = 0.05 + 1.0 * n ** -0.5 * np.exp(rng.normal(0, 0.05))
            for st, v in zip(steps, val):
                add("loss", v, split="val", step=int(st))
                add("accuracy", 1 - e_dl, split="test", step=int(st))
            best = int(steps[np.argmin(val)])
            for i, c in enumerate(u >= e_dl):
                add("test_correct", c, split="test", group=f"model/sample:{i}", step=best)
            add("error", float(np.mean(u < e_base)), split="test", group="baseline:logistic_regression")
            for i, c in enumerate(u >= e_base):
                add("test_correct", c, split="test", group=f"baseline:logistic_regression/sample:{i}")
    return pl.DataFrame(out, schema=ROW_SCHEMA)
