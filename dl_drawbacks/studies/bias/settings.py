"""The bias study's rows regrouped by setting (protected × share × mitigation × dropped features), each
with its seeds' aif360 point values and unpacked test samples, and the nested interval of any statistic.

Intervals: ``statistics.nested_interval`` over seeds × test samples — Student-t over the seeds' values
plus the variance of a bootstrap over the shared test set (the same resampled indices for every seed),
combined with Welch-Satterthwaite degrees of freedom; with one seed, the test-sample bootstrap alone.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import polars as pl

from ...statistics import NONNEGATIVE, POSITIVE, UNIT, Domain, bounded, nested_interval
from .samples import METRIC, REFERENCE, unpack
from .sample_stats import cell_groups


def protected_label(value: Any) -> str:
    """'sex' or 'sex×race' from a protected factor (a name or a JSON list)."""
    if isinstance(value, str) and value.startswith("["):
        value = json.loads(value)
    return "×".join(value) if isinstance(value, list) else str(value)


def dropped_label(value: Any) -> str:
    value = json.loads(value) if isinstance(value, str) and value.startswith("[") else value
    return ",".join(value) if isinstance(value, list) and value else ""


def is_natural(share: Any) -> bool:
    return share is None or (isinstance(share, float) and math.isnan(share))


@dataclass
class Setting:
    """One condition: its trials by seed, their aif360 values and test samples, and its status."""

    key: tuple
    attrs: list[str]
    seeds: list[int] = field(default_factory=list)
    points: list[dict[tuple[str, str], float]] = field(default_factory=list)
    samples: list[np.ndarray] = field(default_factory=list)
    reference: list[np.ndarray] = field(default_factory=list)  # someone else's decisions on the same samples
    infeasible: list[str] = field(default_factory=list)
    constant: list[str] = field(default_factory=list)

    @property
    def label(self) -> dict[str, Any]:
        share = self.key[1]
        return {
            "protected": self.key[0],
            "unprivileged_share": None if is_natural(share) else share,
            "mitigation": self.key[2],
            "drop_features": self.key[3],
        }

    @property
    def groups(self) -> dict[str, np.ndarray]:
        return cell_groups(self.attrs)

    def status(self) -> dict[str, Any]:
        """ok, infeasible (no mitigated prediction) or collapsed (a compared group predicted constant)."""
        if self.infeasible and not self.samples:
            return {"status": "infeasible", "reason": self.infeasible[0], "trials": len(self.infeasible)}
        if self.constant:
            return {
                "status": "collapsed",
                "reason": f"{self.constant[0]} (in {len(self.constant)} trial(s)): "
                "a constant predictor for a group, not a mitigation",
                "trials": len(self.constant),
            }
        if not self.samples:
            return {"status": "not measurable", "reason": "no trial recorded test samples"}
        return {"status": "ok", "reason": None}

    def point_mean(self, metric: str, group: str = "") -> float | None:
        v = [p[(metric, group)] for p in self.points if (metric, group) in p and math.isfinite(p[(metric, group)])]
        return float(np.mean(v)) if v else None


RATE = UNIT  # a rate, an accuracy, an AUC or an ECE: its interval stays inside [0, 1] (logit scale)
DIFFERENCE = bounded(-1, 1)  # a difference of two rates
DISTANCE = NONNEGATIVE  # a distance from parity (|1 − DI|, |SPD|)
METRIC_DOMAIN = {  # where each aif360 fairness metric lives; DI is a ratio: its interval is on the log scale
    "disparate_impact": POSITIVE,
    "statistical_parity_difference": DIFFERENCE,
    "equal_opportunity_difference": DIFFERENCE,
    "average_odds_difference": DIFFERENCE,
    "theil_index": NONNEGATIVE,
}


def interval(
    per_seed: list[np.ndarray], stat: Callable[[np.ndarray], float], resamples: int, domain: Domain
) -> dict[str, Any]:
    """The nested 95% interval of ``stat`` as a dict (estimate, low, high, method, n, reason, domain), on the
    scale of the statistic's ``domain`` (logit for a rate, log for a ratio: ``statistics``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return nested_interval(per_seed, stat, n_resamples=resamples, seed=0, domain=domain).to_dict()


def entry(
    per_seed: list[np.ndarray], stat: Callable, resamples: int, point: float | None = None, *, domain: Domain
) -> dict[str, Any]:
    """{'mean', 'interval95', 'interval'}; ``mean`` is aif360's value averaged over seeds when recorded."""
    iv = interval(per_seed, stat, resamples, domain)
    return {
        "mean": point if point is not None else iv["estimate"],
        "interval95": [iv["low"], iv["high"]],
        "interval": iv,
    }


def paired(a: Setting, b: Setting) -> list[np.ndarray]:
    """Per common seed, [a's samples | b's samples] (the same test set in the same order)."""
    ia, ib = dict(zip(a.seeds, a.samples)), dict(zip(b.seeds, b.samples))
    return [np.column_stack([ia[s], ib[s]]) for s in sorted(set(ia) & set(ib)) if len(ia[s]) == len(ib[s])]


def collect(rows: pl.DataFrame) -> dict[tuple, Setting]:
    """Settings from the final test rows (factor columns expanded), seeds in order."""
    from ...aggregate import with_factor_columns

    final = with_factor_columns(rows.filter(pl.col("step").is_null()))
    if final.is_empty() or "protected" not in final.columns:
        return {}
    for col, default in (("unprivileged_share", None), ("drop_features", "[]"), ("mitigation", "none")):
        if col not in final.columns:
            final = final.with_columns(pl.lit(default).alias(col))
    final = final.with_columns(pl.col("unprivileged_share").cast(pl.Float64))
    settings: dict[tuple, Setting] = {}
    for (trial_id,), part in final.group_by(["trial_id"], maintain_order=True):
        first = part.row(0, named=True)
        label = protected_label(first["protected"])
        mitigation = mitigation_label(first["mitigation"], part)
        key = (label, first["unprivileged_share"], mitigation, dropped_label(first["drop_features"]))
        s = settings.setdefault(key, Setting(key, label.split("×")))
        _add_trial(s, part, int(first["seed"]))
    for s in settings.values():
        order = np.argsort(s.seeds, kind="stable")
        s.seeds, s.samples, s.points = ([x[i] for i in order] for x in (s.seeds, s.samples, s.points))
        if len(s.reference) == len(order):
            s.reference = [s.reference[i] for i in order]
    return settings


PREJUDICE = "prejudice_remover"


def mitigation_label(mitigation: str, part: pl.DataFrame) -> str:
    """The mitigation, with the prejudice remover's η ('prejudice_remover eta=25') where its trial recorded it."""
    eta = part.filter(pl.col("metric") == "prejudice_eta")["value"]
    return f"{PREJUDICE} eta={eta[0]:g}" if mitigation == PREJUDICE and eta.len() else mitigation


def prejudice_eta(mitigation: str) -> float | None:
    """η of a 'prejudice_remover eta=…' label; None for any other mitigation (or η not recorded)."""
    return float(mitigation.split("eta=")[1]) if mitigation.startswith(f"{PREJUDICE} eta=") else None


def _unpacked(test: pl.DataFrame, metric: str, n_attrs: int) -> np.ndarray | None:
    chunks = test.filter(pl.col("metric") == metric)
    count = test.filter(pl.col("metric") == f"{metric}_n")
    if not chunks.height or not count.height:
        return None
    order = chunks["group"].str.strip_prefix("chunk:").cast(pl.Int64).arg_sort()
    return unpack(chunks["value"].gather(order).to_numpy(), int(count["value"][0]), n_attrs)


def _add_trial(s: Setting, part: pl.DataFrame, seed: int) -> None:
    test = part.filter(pl.col("split") == "test")
    feasible = test.filter(pl.col("metric") == "mitigation_feasible")
    if feasible.height and feasible["value"][0] == 0:
        s.infeasible.append(feasible["provenance"][0].removeprefix("infeasible:"))
        return
    samples = _unpacked(test, METRIC, len(s.attrs))
    if samples is None:
        return
    s.samples.append(samples)
    reference = _unpacked(test, REFERENCE, len(s.attrs))
    if reference is not None:
        s.reference.append(reference)
    s.seeds.append(seed)
    s.points.append(
        {
            (m, g): v
            for m, g, v in part.filter(~pl.col("metric").is_in([METRIC, REFERENCE]))
            .select("metric", "group", "value")
            .iter_rows()
            if v is not None
        }
    )
    s.constant += (
        test.filter((pl.col("metric") == "constant_prediction") & (pl.col("value") > 0))["provenance"]
        .str.strip_prefix("constant:")
        .to_list()
    )
