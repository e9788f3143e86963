"""Figures of the overfitting study: train (noisy and clean labels) / validation / test curves per headline
condition, test error against width per condition with intervals and the interpolation threshold, the
regularizer ablation with intervals, reliability diagrams per condition."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ...report.figures import plt, save_figure

CURVES = {
    "train": ("train, training labels", "-"),
    "train_clean": ("train, clean labels", "-."),
    "val": ("validation", "--"),
    "test": ("test", ":"),
}


def _band(iv: dict[str, Any]) -> tuple[float, float, float]:
    e = iv.get("estimate")
    lo, hi = iv.get("low"), iv.get("high")
    return (np.nan if e is None else e, np.nan if lo is None else lo, np.nan if hi is None else hi)


def train_val_curves(rows: pl.DataFrame, f: dict[str, Any], out: Path) -> Path | None:
    """Mean over seeds of accuracy per epoch, one colour per headline condition (one per label-noise level)."""
    picks = f.get("headline_conditions") or {}
    table = {r["trial_id"]: r for r in f.get("table", [])}
    cond_of = _trial_conditions(rows)
    if not picks:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ev = rows.filter(
        (pl.col("metric") == "accuracy") & pl.col("split").is_in(list(CURVES)) & pl.col("epoch").is_not_null()
    )
    for (noise, cond), color in zip(picks.items(), plt.cm.viridis(np.linspace(0, 0.85, len(picks)))):
        ids = [t for t, c in cond_of.items() if c == cond and t in table and not table[t]["diverged"]]
        sub = (
            ev.filter(pl.col("trial_id").is_in(ids))
            .group_by("split", "epoch")
            .agg(pl.col("value").mean())
            .sort("epoch")
        )
        for split, (name, ls) in CURVES.items():
            s = sub.filter(pl.col("split") == split)
            if s.height:
                ax.plot(s["epoch"] + 1, s["value"], ls, color=color, label=f"noise {noise}: {name}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"accuracy (mean over {len(f.get('seeds', []))} seeds)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    ax.set_title("widest unregularized model per label-noise level", fontsize=9)
    return save_figure(fig, out / "overfitting_train_val_curves.png")


def _trial_conditions(rows: pl.DataFrame) -> dict[str, str]:
    from .trials import trial_conditions

    return dict(trial_conditions(rows).select("trial_id", "condition").iter_rows())


def error_vs_width(f: dict[str, Any], out: Path) -> Path | None:
    dd = f.get("double_descent") or {}
    conds = [c for c in dd.get("conditions", []) if len(c["curve"]) > 1]
    if not conds:
        return None
    fig, (ax, ax_train) = plt.subplots(1, 2, figsize=(11, 4.5))
    for c, color in zip(conds, plt.cm.tab10(np.arange(len(conds)) % 10)):
        x = [p["width"] for p in c["curve"]]
        m, lo, hi = np.array([_band(p["test_error"]) for p in c["curve"]]).T
        ax.semilogx(x, m, "o-", color=color, label=c["label"])
        ax.fill_between(x, lo, hi, color=color, alpha=0.15)
        tr = np.array([_band(p["train_error_labels"]) for p in c["curve"]]).T
        ax_train.semilogx(x, tr[0], "o-", color=color)
        if c["interpolation_threshold"] is not None:
            for a in (ax, ax_train):
                a.axvline(c["interpolation_threshold"], color=color, ls="--", lw=0.8)
        if c.get("peak"):
            ax.plot([c["candidate_width"]], [m[x.index(c["candidate_width"])]], "*", color=color, ms=14)
    ax.set_ylabel("test error (95% nested band, seeds × test samples)")
    ax_train.set_ylabel("train error on the training labels (mean over seeds)")
    for a in (ax, ax_train):
        a.set_xlabel("hidden width")
        a.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6)
    ax.set_title("dashed: interpolation threshold; ★: peak that clears both sides", fontsize=9)
    return save_figure(fig, out / "overfitting_error_vs_width.png")


def regularizer_ablation(f: dict[str, Any], out: Path) -> Path | None:
    reg = f.get("regularization") or {}
    conds = [c for c in reg.get("conditions", []) if c.get("available")]
    if not conds:
        return None
    fig, axes = plt.subplots(len(conds), 2, figsize=(11, 3.2 * len(conds)), squeeze=False)
    for (ax_acc, ax_gap), c in zip(axes, conds):
        names = [e["regularizer"] for e in c["table"]]
        for ax, key, label in ((ax_acc, "test_accuracy", "test accuracy"), (ax_gap, "gap_clean", "clean-label gap")):
            m, lo, hi = np.array([_band(e[key]) for e in c["table"]]).T
            ax.errorbar(m, range(len(names)), xerr=[m - lo, hi - m], fmt="o", capsize=3)
            ax.set_yticks(range(len(names)), names, fontsize=7)
            ax.set_xlabel(f"{label} (95% nested interval)")
            ax.grid(True, alpha=0.3)
            ax.invert_yaxis()
        ax_acc.set_title(
            f"width {c['width']:g}, noise {c['label_noise']:g}, n {c['n_train']:g}, {c['epochs']:g} epochs", fontsize=8
        )
    return save_figure(fig, out / "overfitting_regularizers.png")


def reliability_diagrams(f: dict[str, Any], out: Path) -> Path | None:
    """Raw and temperature-scaled reliability per headline condition and per random-label condition."""
    cal = {c["condition"]: c for c in (f.get("calibration") or {}).get("conditions", [])}
    wanted = list((f.get("headline_conditions") or {}).values())
    wanted += [c for c, v in cal.items() if v["random_labels"] and c not in wanted]
    panels = [cal[c] for c in wanted if c in cal][:6]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.8), squeeze=False)
    for ax, c in zip(axes[0], panels):
        for key, color, label in (("raw", "tab:blue", "raw"), ("ts", "tab:orange", "temperature scaled")):
            b = c[f"reliability_{key}"]
            conf = np.array([np.nan if v is None else v for v in b["confidence"]])
            acc = np.array([np.nan if v is None else v for v in b["accuracy"]])
            ece = c[f"ece_{key}"].get("estimate")
            ax.plot(conf, acc, "o-", color=color, ms=3, label=f"{label} (ECE {ece:.3f})" if ece is not None else label)
        ax.plot([0, 1], [0, 1], "k--", lw=0.8)
        name = "random labels" if c["random_labels"] else f"noise {c['label_noise']:g}"
        ax.set_title(f"{name}, width {c['width']:g}, {c['regularizer']}", fontsize=8)
        ax.set_xlabel("confidence (15 equal-width bins)")
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("accuracy (test, pooled over seeds)")
    return save_figure(fig, out / "overfitting_reliability.png")
