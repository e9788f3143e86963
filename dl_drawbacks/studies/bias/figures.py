"""Figures of the bias study (from findings alone): per-group bars, metrics against representation, the
accuracy–fairness frontier of every feasible mitigation, amplification and proxy-ablation bars — every
error bar the nested 95% interval over seeds × test samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .group_names import named  # noqa: E402
from .report import GROUP_COLUMNS  # noqa: E402
from .verdicts import THRESHOLDS  # noqa: E402
from ...report.figures import save_figure as _save  # noqa: E402

MARKERS = {
    "none": "o",
    "reweighing": "s",
    "calibrated_eq_odds": "^",
    "eq_odds": "v",
    "reject_option": "D",
    "prejudice_remover": "P",
}


def _err(mean: float, interval: list | None) -> list[float]:
    lo, hi = (v if v is not None else np.nan for v in (interval or [None, None]))
    return [max(mean - lo, 0) if np.isfinite(lo) else 0, max(hi - mean, 0) if np.isfinite(hi) else 0]


def group_bars(findings: dict[str, Any], out: Path) -> Path | None:
    heads = {k: h for k, h in findings.get("headline", {}).items() if h.get("available")}
    if not heads:
        return None
    columns = GROUP_COLUMNS[findings.get("orientation", "favourable")]
    metrics = [m for m in columns if m != "fnr" or "tpr" not in columns][:4]
    fig, axes = plt.subplots(len(heads), 4, figsize=(14, 3.2 * len(heads)), squeeze=False)
    for row, (protected, h) in zip(axes, heads.items()):
        for ax, metric in zip(row, metrics):
            g = [x for x in h["groups"] if x["metric"] == metric and x["mean"] is not None]
            means = [x["mean"] for x in g]
            err = np.array([_err(x["mean"], x["interval95"]) for x in g]).T.reshape(2, -1)
            labels = [named(x["group"], findings.get("group_names")) for x in g]
            ax.bar(labels, means, yerr=err, capsize=3, color="tab:blue", alpha=0.75)
            ax.set_title(f"{protected}: {columns[metric]}", fontsize=9)
            ax.tick_params(axis="x", labelrotation=30, labelsize=7)
            ax.set_ylim(0, 1)
    fig.suptitle(
        "Per-group rates, unmitigated (mean over seeds; 95% nested interval over seeds × test samples; "
        f"{'groups named by the data set' if findings.get('group_names') else '1 = privileged'})",
        fontsize=10,
    )
    return _save(fig, out / "bias_group_bars.png")


def metric_vs_representation(findings: dict[str, Any], out: Path) -> Path | None:
    rep = findings.get("representation", {})
    if not rep:
        return None
    panels = ("tpr_gap", "fpr_gap", "auc_gap", "disparate_impact", "statistical_parity_difference")
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6))
    for protected, r in rep.items():
        shares = [p["unprivileged_share"] for p in r["points"]]
        for ax, key in zip(axes, panels):
            pts = [p.get(key) for p in r["points"]]
            keep = [(s, p) for s, p in zip(shares, pts) if p and p.get("mean") is not None]
            if not keep:
                continue
            xs = [s for s, _ in keep]
            err = np.array([_err(p["mean"], p["interval95"]) for _, p in keep]).T
            ax.errorbar(xs, [p["mean"] for _, p in keep], yerr=err, marker="o", capsize=3, label=protected)
            ax.set_title(key.replace("_", " "), fontsize=9)
            ax.set_xlabel("unprivileged share of training data")
    for ax, key in zip(axes, panels):
        lo, hi = THRESHOLDS.get(key, (0.0, 0.0))
        if key in ("tpr_gap", "fpr_gap"):
            lo = hi = rep[next(iter(rep))]["tolerance"]
            ax.axhspan(-lo, hi, color="tab:blue", alpha=0.12)  # the equalized-odds tolerance
        ax.axhspan(lo, hi, color="tab:green", alpha=0.12) if key in THRESHOLDS else ax.axhline(0, color="grey", lw=0.8)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Unmitigated model against representation (95% nested interval; gaps unprivileged − privileged; "
                 "blue: equalized-odds tolerance; green: common fair band)", fontsize=10)
    return _save(fig, out / "bias_metric_vs_representation.png")


def frontier_plot(findings: dict[str, Any], out: Path) -> Path | None:
    front = {k: v["points"] for k, v in findings.get("frontier", {}).items() if v.get("points")}
    if not front:
        return None
    metric = findings["primary_metric"]
    fig, axes = plt.subplots(1, len(front), figsize=(5.5 * len(front), 4.2), squeeze=False)
    for ax, (protected, pts) in zip(axes[0], front.items()):
        for p in pts:
            share = "natural" if p["unprivileged_share"] is None else f"{p['unprivileged_share']:.2g}"
            ax.errorbar(
                p["distance"],
                p["accuracy"],
                yerr=np.array(_err(p["accuracy"], p["accuracy_interval95"])).reshape(2, 1),
                xerr=np.array(_err(p["distance"], p["distance_interval95"])).reshape(2, 1),
                marker=MARKERS.get(p["mitigation"], "o"),
                capsize=3,
                color="tab:red" if p["pareto"] else "tab:grey",
                label=f"{p['mitigation']} ({share})",
            )
        best = sorted((p for p in pts if p["pareto"]), key=lambda p: p["distance"])
        ax.plot([p["distance"] for p in best], [p["accuracy"] for p in best], "--", color="tab:red", lw=1)
        ax.set_xlabel(f"distance from parity of {metric.replace('_', ' ')}")
        ax.set_ylabel("test accuracy")
        ax.set_title(
            f"{protected}: accuracy vs fairness (red: Pareto front; collapsed/infeasible left out)", fontsize=8
        )
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
    return _save(fig, out / "bias_frontier.png")


def _bars(ax, labels: list[str], entries: list[dict], title: str) -> None:
    means = [e["mean"] if e and e.get("mean") is not None else np.nan for e in entries]
    err = np.array([_err(m, e.get("interval95") if e else None) for m, e in zip(means, entries)]).T.reshape(2, -1)
    ax.bar(labels, means, yerr=err, capsize=3, color="tab:purple", alpha=0.7)
    ax.set_title(title, fontsize=8)
    ax.tick_params(axis="x", labelrotation=20, labelsize=7)
    ax.grid(True, axis="y", alpha=0.3)


def amplification_and_proxies(findings: dict[str, Any], out: Path) -> Path | None:
    amp = {k: h["amplification"] for k, h in findings.get("headline", {}).items() if h.get("available")}
    prox = {k: v for k, v in findings.get("proxy_ablation", {}).items() if v.get("available")}
    if not amp and not prox:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    labels, entries = [], []
    for k, a in amp.items():
        labels += [f"{k}: labels", f"{k}: predictions"]
        entries += [a["label_disparate_impact"], a["prediction_disparate_impact"]]
    verdicts = "; ".join(f"{k}: {a['difference']['verdict']} (difference), {a['ratio']['verdict']} (ratio)"
                         for k, a in amp.items())
    _bars(axes[0], labels, entries, f"Disparate impact of labels vs predictions (test set)\n{verdicts}")
    axes[0].axhline(1, color="grey", lw=0.8)
    labels, entries = [], []
    for k, v in prox.items():
        m = v["metrics"]["statistical_parity_difference"]
        labels += [f"{k}: with", f"{k}: without"]
        entries += [m["with_proxies"], m["without_proxies"]]
    _bars(axes[1], labels, entries, "Proxy ablation: statistical parity difference with / without the proxies")
    axes[1].axhline(0, color="grey", lw=0.8)
    return _save(fig, out / "bias_amplification_proxies.png")


def make_figures(findings: dict[str, Any], out_dir: Path) -> list[Path]:
    made = [
        group_bars(findings, out_dir),
        metric_vs_representation(findings, out_dir),
        frontier_plot(findings, out_dir),
        amplification_and_proxies(findings, out_dir),
    ]
    return [p for p in made if p is not None]
