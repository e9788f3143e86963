"""Findings of the bias study from its rows: the unmitigated model's group metrics with nested intervals
and verdicts, threshold-free group metrics, bias amplification, and (``sweeps``) representation,
mitigations, the accuracy–fairness frontier and the proxy ablation.

How the field computes these: aif360's ClassificationMetric (Bellamy et al. 2018) for DI/SPD/EOD/AOD/
Theil — kept as the recorded point values; Fairlearn's MetricFrame gives the same per-group rates.
Every interval is ``statistics.nested_interval`` over seeds × the shared test set's samples (see
``settings``); every verdict reads that interval (``verdicts``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from . import sample_stats as st
from .metrics import FAIRNESS_METRICS
from ...statistics import POSITIVE
from .compas_reference import compas_pairing
from .group_names import read_group_names
from .settings import DIFFERENCE, METRIC_DOMAIN, RATE, Setting, collect, entry, is_natural
from .prejudice import prejudice_remover_sweep
from .sweeps import frontier, mitigation_comparison, proxy_ablation, representation_sweep
from .verdicts import THRESHOLDS, verdict

GROUP_RATES = ("accuracy", "tpr", "fpr", "fnr", "selection_rate")
INTERVAL_METHOD = (
    "95% nested interval over seeds × test samples (statistics.nested_interval: Student-t over "
    "seeds + bootstrap of the shared test set, Welch-Satterthwaite df; rates, accuracies, AUCs and ECEs on "
    "the logit scale, so they stay inside [0, 1]); one seed: test-sample percentile bootstrap alone, "
    "flagged in its reason"
)


def fairness_entries(s: Setting, resamples: int, metrics=FAIRNESS_METRICS) -> dict[str, Any]:
    out = {}
    for m in metrics:
        e = entry(s.samples, st.fairness(m, s.groups), resamples, s.point_mean(m), domain=METRIC_DOMAIN[m])
        e.update(verdict(m, e["interval"]), n_seeds=len(s.samples))
        out[m] = e
    return out


def group_entries(s: Setting, resamples: int) -> list[dict[str, Any]]:
    names = [g for g in s.groups if g not in ("privileged", "unprivileged")]
    out = []
    for g in names:
        for m in GROUP_RATES:
            point = s.point_mean(f"group_{m}", g) if m != "fnr" else None
            rate = entry(s.samples, st.group_rate(m, g, s.groups), resamples, point, domain=RATE)
            out.append({"group": g, "metric": m, **rate})
    return out


DECILE_NOT_PROBABILITY = (
    "no ECE: the audited score is a decile rank, not a probability (ECE compares predicted probabilities with "
    "outcome rates); the reliability-by-decile table (reoffence rate per decile, per group) shows calibration instead"
)


def threshold_free(s: Setting, resamples: int, *, probabilities: bool = True) -> dict[str, Any]:
    """Per compared group: ROC AUC, and ECE when the scores are probabilities; their differences
    (unprivileged − privileged)."""
    out = {}
    for name, make in (("roc_auc", st.roc_auc), ("ece", st.ece))[: 2 if probabilities else 1]:
        per = {g: entry(s.samples, make(g, s.groups), resamples, domain=RATE) for g in ("privileged", "unprivileged")}
        gap = entry(
            s.samples, lambda a, m=make: m("unprivileged", s.groups)(a) - m("privileged", s.groups)(a), resamples,
            domain=DIFFERENCE)
        out[name] = {**per, "difference": gap}
    return out


def _direction(interval95: list, null: float) -> str:
    low, high = interval95
    if low is None:
        return "not measurable"
    return "amplifies" if low > null else "attenuates" if high < null else "inconclusive"


def amplification(s: Setting, resamples: int) -> dict[str, Any]:
    """Does the model widen the data's base-rate gap? On the difference scale (|SPD(ŷ)| − |SPD(y)|) and on the
    ratio scale (exp(|ln DI(ŷ)| − |ln DI(y)|)), each with its own verdict (Wang & Russakovsky 2021, directional)."""
    diff = entry(s.samples, st.amplification(s.groups), resamples, domain=DIFFERENCE)
    ratio = entry(s.samples, st.amplification_ratio(s.groups), resamples, domain=POSITIVE)
    verdicts = {"difference": _direction(diff["interval95"], 0.0), "ratio": _direction(ratio["interval95"], 1.0)}
    overall = {
        name: entry(s.samples, make("selection_rate", "all", s.groups), resamples, domain=RATE)
        for name, make in (("predicted_positive_rate", st.group_rate), ("base_rate", st.label_rate))
    }
    return {
        "difference": {
            "excess": diff, "verdict": verdicts["difference"],
            "definition": "|SPD of predictions| − |SPD of labels| on the same test samples; > 0: the model widens "
                          "the data's selection-rate difference",
        },
        "ratio": {
            "factor": ratio, "verdict": verdicts["ratio"],
            "definition": "exp(|ln DI of predictions| − |ln DI of labels|) on the same test samples; > 1: the "
                          "predictions' disparate impact lies that many times further from parity (log scale)",
        },
        "prediction_disparate_impact": entry(s.samples, st.fairness("disparate_impact", s.groups), resamples,
                                              domain=METRIC_DOMAIN["disparate_impact"]),
        "label_disparate_impact": entry(s.samples, st.label_statistic("disparate_impact", s.groups), resamples,
                                         domain=METRIC_DOMAIN["disparate_impact"]),
        **overall,
        "scales_agree": len(set(verdicts.values())) == 1,
        "why_scales_differ": "a model that selects fewer people overall than the labels do (predicted positive rate "
                             "below the base rate) shrinks differences of selection rates while it can widen their "
                             "ratio, and the reverse",
    }


def _headline_setting(settings: list[Setting]) -> Setting | None:
    base = [s for s in settings if s.key[2] == "none" and not s.key[3] and s.samples]
    natural = [s for s in base if is_natural(s.key[1])]
    return natural[0] if natural else max(base, key=lambda s: s.key[1], default=None)


def headline(settings: dict[tuple, Setting], resamples: int, *, probabilities: bool = True) -> dict[str, Any]:
    out = {}
    for protected in dict.fromkeys(k[0] for k in settings):
        s = _headline_setting([v for k, v in settings.items() if k[0] == protected])
        if s is None:
            out[protected] = {"available": False, "reason": "no unmitigated trial recorded test samples"}
            continue
        out[protected] = {
            "available": True,
            "setting": s.label,
            "seeds": s.seeds,
            "status": s.status(),
            "metrics": fairness_entries(s, resamples),
            "groups": group_entries(s, resamples),
            "threshold_free": threshold_free(s, resamples, probabilities=probabilities),
            "ece_omitted": None if probabilities else DECILE_NOT_PROBABILITY,
            "amplification": amplification(s, resamples),
        }
    return out


class BiasAnalysis:
    """fit(rows) → findings_: headline, representation, mitigation, prejudice remover over η, frontier, proxy
    ablation, COMPAS paired with the model (scikit-learn contract)."""

    def __init__(
        self,
        *,
        primary_metric: str = "average_odds_difference",
        resamples: int = 400,
        gap_tolerance: float = 0.02,
        orientation: str = "favourable",
        probabilities: bool = True,
    ) -> None:
        self.primary_metric = primary_metric
        self.resamples = resamples
        self.gap_tolerance = gap_tolerance
        self.orientation = orientation  # 'propublica': error rates named by the unfavourable decision (COMPAS)
        self.probabilities = probabilities  # False: scores only order samples (a decile), no ECE

    def fit(self, rows: pl.DataFrame) -> "BiasAnalysis":
        settings = collect(rows)
        self.settings_ = settings
        final = rows.filter(pl.col("step").is_null()) if "step" in rows.columns else rows
        r = self.resamples
        self.findings_ = {
            "trials": int(final["trial_id"].n_unique()) if final.height else 0,
            "seeds": sorted({seed for s in settings.values() for seed in s.seeds}),
            "primary_metric": self.primary_metric,
            "thresholds": {k: list(v) for k, v in THRESHOLDS.items()},
            "gap_tolerance": self.gap_tolerance,
            "interval_method": INTERVAL_METHOD,
            "test_samples": (
                int(np.median([len(a) for s in settings.values() for a in s.samples]))
                if any(s.samples for s in settings.values())
                else 0
            ),
            "orientation": self.orientation,
            "group_names": read_group_names(rows),
            "headline": headline(settings, r, probabilities=self.probabilities),
            "representation": representation_sweep(settings, r, self.gap_tolerance),
            "mitigation": mitigation_comparison(settings, r, self.primary_metric),
            "prejudice_remover": prejudice_remover_sweep(settings, r, self.primary_metric),
            "compas_pairing": compas_pairing(settings, r),
            "frontier": frontier(settings, r, self.primary_metric),
            "proxy_ablation": proxy_ablation(settings, r),
        }
        if not settings:
            self.findings_["available"] = False
            self.findings_["reason"] = "no trial of this study recorded test samples (every trial failed, or no rows)"
        return self
