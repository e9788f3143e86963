"""Figures of the overfitting study: train vs validation curves, test error vs width per noise level,
gap vs regularizer, reliability diagram."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ...report.figures import plt, save_figure as _save


def _trials_by(findings: dict[str, Any], **want: float) -> list[str]:
    return [r["trial_id"] for r in findings["table"] if all(r.get(k) == v for k, v in want.items())]


def train_val_curves(rows: pl.DataFrame, findings: dict[str, Any], out: Path) -> Path | None:
    """Mean over trials per label-noise level (true-label trials) of accuracy per epoch on train/val/test."""
    levels = sorted({r["label_noise"] for r in findings["table"] if not r["random_labels"]})
    if not levels:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ev = rows.filter(pl.col("split").is_in(["train", "val", "test"]) & pl.col("epoch").is_not_null())
    styles = {"train": "-", "val": "--", "test": ":"}
    for noise, color in zip(levels, plt.cm.viridis(np.linspace(0, 0.9, len(levels)))):
        ids = _trials_by(findings, label_noise=noise, random_labels=0.0)
        sub = ev.filter(pl.col("trial_id").is_in(ids)).group_by("metric", "split", "epoch").agg(pl.col("value").mean()).sort("epoch")
        for ax, metric in zip(axes, ("loss", "accuracy")):
            for split, ls in styles.items():
                s = sub.filter((pl.col("metric") == metric) & (pl.col("split") == split))
                ax.plot(s["epoch"] + 1, s["value"], ls, color=color, label=f"noise {noise:g} {split}" if metric == "accuracy" else None)
    axes[0].set_yscale("log")
    for ax, metric in zip(axes, ("loss (nats)", "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
    axes[1].legend(fontsize=6, ncol=2)
    axes[0].set_title("train (—), validation (--), test (··) mean over trials", fontsize=9)
    return _save(fig, out / "overfitting_train_val_curves.png")


def error_vs_width(findings: dict[str, Any], out: Path) -> Path | None:
    w = findings.get("width")
    if not w:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for key, v in w["per_noise"].items():
        c = v["curve"]
        x = [p["width"] for p in c]
        m = np.array([p["mean"] for p in c])
        lo = np.array([p["interval"][0] for p in c])
        hi = np.array([p["interval"][1] for p in c])
        line = ax.semilogx(x, m, "o-", label=f"label noise {key}")[0]
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15)
        if v["peak_width"]:
            ax.axvline(v["peak_width"], color=line.get_color(), ls=":", lw=0.8)
    ax.set_xlabel("hidden width")
    ax.set_ylabel("final test error (mean, 95% bootstrap band)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out / "overfitting_error_vs_width.png")


def gap_vs_regularizer(findings: dict[str, Any], out: Path) -> Path | None:
    reg = findings.get("regularization")
    if not reg or "table" not in reg:
        return None
    t = reg["table"]
    fig, ax1 = plt.subplots(figsize=(8, 4.5))
    names = [r["regularizer"] for r in t]
    gaps = [r["gap"]["mean"] for r in t]
    err = np.array([[r["gap"]["mean"] - r["gap"]["interval"][0], r["gap"]["interval"][1] - r["gap"]["mean"]] for r in t]).T
    ax1.bar(range(len(t)), gaps, yerr=err, color="tab:blue", alpha=0.7, capsize=3)
    ax1.set_ylabel("train − test accuracy gap", color="tab:blue")
    ax1.set_xticks(range(len(t)), names, rotation=25, ha="right", fontsize=8)
    ax2 = ax1.twinx()
    ax2.plot(range(len(t)), [r["test_accuracy"]["mean"] for r in t], "o", color="tab:red")
    ax2.set_ylabel("test accuracy", color="tab:red")
    ax1.set_title(f"best: {reg['best']}", fontsize=9)
    return _save(fig, out / "overfitting_gap_vs_regularizer.png")


def reliability_diagram(rows: pl.DataFrame, findings: dict[str, Any], out: Path) -> Path | None:
    tid = findings.get("reliability_trial")
    sub = rows.filter((pl.col("trial_id") == tid) & pl.col("metric").str.starts_with("reliability_"))
    if sub.height == 0:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    for ax, prov in zip(axes, ("calibration", "temperature_scaled")):
        s = sub.filter(pl.col("provenance") == prov).pivot(on="metric", index="group", values="value").sort("group")
        n = s.height
        centers = (np.arange(n) + 0.5) / n
        acc = s["reliability_accuracy"].fill_nan(0).to_numpy()
        ax.bar(centers, acc, width=1 / n, edgecolor="k", alpha=0.7, label="accuracy")
        ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect calibration")
        conf = s["reliability_confidence"].to_numpy()
        ax.plot(conf, s["reliability_accuracy"].to_numpy(), "r.", label="mean confidence")
        ece = rows.filter((pl.col("trial_id") == tid) & (pl.col("metric") == "ece") & (pl.col("provenance") == prov))["value"]
        ax.set_title(f"{'raw' if prov == 'calibration' else 'temperature scaled'}: ECE {ece[0]:.3f}", fontsize=9)
        ax.set_xlabel("confidence (15 bins)")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("accuracy")
    fig.suptitle(f"reliability diagram, test split, trial {tid}", fontsize=9)
    return _save(fig, out / "overfitting_reliability.png")
