"""Figures of the interpretability study: attribution maps, deletion/insertion curves, randomisation
similarity per layer, faithfulness and sanity against model size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from ...report.figures import save_figure as _save  # noqa: E402


def _showcase_trial(findings: dict[str, Any]) -> str | None:
    """The trial with the most parameters (longest training among those), lowest seed."""
    table = findings.get("table") or []
    if not table:
        return None
    best = max(table, key=lambda r: (r.get("parameters") or 0, r.get("steps") or 0, r.get("epochs") or 0, -r["seed"]))
    return best["trial_id"]


def attribution_maps(rows: pl.DataFrame, findings: dict[str, Any], out: Path) -> Path | None:
    maps = rows.filter((pl.col("metric") == "attribution_map") & (pl.col("trial_id") == _showcase_trial(findings)))
    if maps.height == 0:
        return None
    groups = ["input"] + [g for g in findings["methods"] if g in set(maps["group"])]
    samples = sorted(set(maps["epoch"].to_list()))
    side = int(round(np.sqrt(maps.filter(pl.col("group") == "input")["step"].max() + 1)))
    fig, axes = plt.subplots(len(samples), len(groups), figsize=(1.7 * len(groups), 1.8 * len(samples)), squeeze=False)
    for i, s in enumerate(samples):
        for j, g in enumerate(groups):
            v = maps.filter((pl.col("group") == g) & (pl.col("epoch") == s)).sort("step")["value"].to_numpy()
            ax = axes[i][j]
            if v.size == side * side:
                lim = float(np.abs(v).max()) or 1.0
                ax.imshow(v.reshape(side, side), cmap="gray" if g == "input" else "bwr", vmin=None if g == "input" else -lim,
                          vmax=None if g == "input" else lim)
            else:
                ax.bar(np.arange(v.size), v)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(g.replace("_", " "), fontsize=8)
    fig.suptitle("attribution maps (largest model; red: evidence for the predicted class)", fontsize=9)
    return _save(fig, out / "interpretability_maps.png")


def deletion_insertion(rows: pl.DataFrame, findings: dict[str, Any], out: Path) -> Path | None:
    curves = rows.filter(pl.col("metric").is_in(["deletion_curve", "insertion_curve"]) & (pl.col("trial_id") == _showcase_trial(findings)))
    if curves.height == 0:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("deletion_curve", "insertion_curve")):
        for (group,), part in curves.filter(pl.col("metric") == metric).group_by("group", maintain_order=True):
            part = part.sort("step")
            x = part["step"].to_numpy() / max(part["step"].max(), 1)
            ax.plot(x, part["value"], "--k" if group == "random" else "-", label=group)
        ax.set_xlabel("fraction of features " + ("removed" if metric.startswith("del") else "inserted"))
        ax.set_ylabel("probability of the predicted class")
        ax.set_title(metric.replace("_", " ") + (" (lower area is better)" if metric.startswith("del") else " (higher is better)"), fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[1].legend(fontsize=7)
    return _save(fig, out / "interpretability_deletion_insertion.png")


def sanity_by_layer(findings: dict[str, Any], out: Path) -> Path | None:
    by = findings.get("sanity_by_depth") or {}
    if not by:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("spearman", "ssim")):
        for method, entries in by.items():
            ax.plot([0] + [e["depth"] for e in entries], [1.0] + [e[key]["mean"] for e in entries], "o-", label=method)
        ax.axhline(findings["sanity_threshold"], color="grey", ls=":", lw=1)
        ax.set_xlabel("layers randomised, from the output down (cascading)")
        ax.set_ylabel(f"{key} similarity to the trained model's maps")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("model-parameter randomisation test (Adebayo et al. 2018): similarity should fall", fontsize=9)
    return _save(fig, out / "interpretability_sanity_by_layer.png")


def faithfulness_vs_size(findings: dict[str, Any], out: Path) -> Path | None:
    rows = [r for r in findings["by_setting"] if r["metric"] in ("insertion_gain", "deletion_gain", "sanity_spearman_final") and r["mean"] is not None]
    if len({r["parameters"] for r in rows}) < 2:
        return None
    lengths = [(r["steps"], r["epochs"]) for r in rows]
    common = max(set(lengths), key=lengths.count)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, metric in zip(axes, ("deletion_gain", "insertion_gain", "sanity_spearman_final")):
        for method in findings["methods"]:
            pts = sorted((r for r in rows if r["method"] == method and r["metric"] == metric), key=lambda r: r["parameters"])
            if not pts:
                continue
            line = [r for r in pts if (r["steps"], r["epochs"]) == common]  # the size sweep: one training length
            other = [r for r in pts if (r["steps"], r["epochs"]) != common]  # other training lengths: unconnected markers
            drawn = None
            for part, fmt_ in ((line, "o-"), (other, "x")):
                if part:
                    x = np.array([r["parameters"] for r in part])
                    y = np.array([r["mean"] for r in part])
                    err = np.array([[r["mean"] - r["interval"][0], r["interval"][1] - r["mean"]] if r["interval"] else [0, 0] for r in part]).T
                    drawn = ax.errorbar(x, y, yerr=err, fmt=fmt_, capsize=3, alpha=0.8, color=drawn[0].get_color() if drawn else None,
                                        label=method if fmt_ == "o-" or not line else None)
        ax.set_xscale("log")
        ax.set_xlabel(f"parameters (line: steps={common[0] or '-'}, epochs={common[1] or '-'}; ×: other training lengths)", fontsize=8)
        ax.set_title({"deletion_gain": "deletion AUC: random − method (higher = more faithful)",
                      "insertion_gain": "insertion AUC: method − random (higher = more faithful)",
                      "sanity_spearman_final": "Spearman after full randomisation (lower = passes)"}[metric], fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7)
    return _save(fig, out / "interpretability_vs_size.png")

