"""Figures of the hparams study (matplotlib Agg, PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ...report.figures import plt, save_figure

COLORS = {"completed": "tab:blue", "stopped_early": "tab:gray", "diverged": "tab:red"}


def _save(fig, out_dir: Path, name: str) -> Path:
    return save_figure(fig, out_dir / name)


def _numeric(col: pl.Series) -> tuple[np.ndarray, list | None, bool]:
    """Values on an axis: numbers as they are (log if they span > 2 decades), categories as codes."""
    if col.dtype.is_numeric():
        v = col.cast(pl.Float64).to_numpy()
        pos = v[np.isfinite(v) & (v > 0)]
        return v, None, bool(len(pos) and pos.min() > 0 and pos.max() / pos.min() > 100 and (v > 0).all())
    cats = sorted({str(x) for x in col.to_list()})
    return np.array([cats.index(str(x)) for x in col.to_list()], dtype=float), cats, False


def importance_bars(findings: dict[str, Any], out_dir: Path) -> Path | None:
    imp = findings["importance"]
    if not imp.get("available"):
        return None
    names = imp["ranking"]
    means = [imp["params"][n]["mean"] for n in names]
    lo = [imp["params"][n]["mean"] - imp["params"][n]["interval95"][0] for n in names]
    hi = [imp["params"][n]["interval95"][1] - imp["params"][n]["mean"] for n in names]
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(names) + 1.5))
    ax.barh(names[::-1], means[::-1], xerr=[lo[::-1], hi[::-1]], color="tab:blue", capsize=3)
    ax.set_xlabel("fANOVA main-effect importance (mean, 95% bootstrap interval)")
    ax.set_title("Which hyperparameters matter")
    return _save(fig, out_dir, "hparams_importance.png")


def parallel_coordinates(table: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> Path | None:
    search = table.filter(pl.col("sweep").str.contains("search"))
    if search.height < 2:
        return None
    names = [*findings["hparams"], "objective"]
    cols = []
    for n in names:
        v, _, log = _numeric(search[n])
        v = np.log10(v) if log else v
        span = np.nanmax(v) - np.nanmin(v)
        cols.append((v - np.nanmin(v)) / span if span > 0 else np.full_like(v, 0.5))
    data = np.array(cols)
    obj = search["objective"].to_numpy()
    cmap = plt.get_cmap("viridis")
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2, 4))
    norm = (obj - np.nanmin(obj)) / (np.nanmax(obj) - np.nanmin(obj) or 1)
    for i, status in enumerate(search["status"].to_list()):
        style = {"color": "tab:red", "ls": "--"} if status == "diverged" else {"color": cmap(norm[i])}
        ax.plot(range(len(names)), data[:, i], alpha=0.3 if status == "stopped_early" else 0.8, lw=1, **style)
    ax.set_xticks(range(len(names)), [f"{n}\n(log)" if _numeric(search[n])[2] else n for n in names])
    ax.set_yticks([])
    ax.set_title("Search trials (colour: objective; red dashed: diverged; faint: stopped by ASHA)")
    return _save(fig, out_dir, "hparams_parallel.png")


def outcome_vs_hparams(table: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> Path | None:
    pool = table.filter(pl.col("sweep").str.contains("search|oat"))
    if pool.height == 0:
        return None
    names = findings["hparams"]
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False, sharey=True)
    for ax, n in zip(axes[0], names):
        x, cats, log = _numeric(pool[n])
        for status, color in COLORS.items():
            m = (pool["status"] == status).to_numpy()
            ax.scatter(x[m], pool["objective"].to_numpy()[m], c=color, s=18, label=status, marker="x" if status == "diverged" else "o")
        if log:
            ax.set_xscale("log")
        if cats:
            ax.set_xticks(range(len(cats)), cats)
        ax.set_xlabel(n)
    axes[0][0].set_ylabel("validation accuracy (diverged: chance)")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Outcome vs each hyperparameter (search + one-at-a-time)")
    return _save(fig, out_dir, "hparams_outcome_vs_each.png")


def variance_bar(findings: dict[str, Any], out_dir: Path) -> Path | None:
    sv = findings["seed_variance"]
    if not sv.get("available"):
        return None
    fig, ax = plt.subplots(figsize=(5, 2.2))
    seed_share = sv["seed_share"]
    ax.barh([0], [seed_share], color="tab:orange", label="seeds")
    ax.barh([0], [1 - seed_share], left=[seed_share], color="tab:blue", label="hyperparameters")
    if sv.get("seed_share_interval95"):
        lo, hi = sv["seed_share_interval95"]
        ax.errorbar([seed_share], [0], xerr=[[seed_share - lo], [hi - seed_share]], color="k", capsize=4)
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel("share of outcome variance")
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, out_dir, "hparams_seed_vs_hparam_variance.png")


def transfer_scatter(findings: dict[str, Any], out_dir: Path) -> Path | None:
    tr = findings["transfer"]
    if not tr.get("available"):
        return None
    pts = pl.DataFrame(tr["points"])
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    full = (pts["a_status"] != "stopped_early") & (pts["b_status"] != "stopped_early")
    ax.scatter(pts["a"].to_numpy()[full.to_numpy()], pts["b"].to_numpy()[full.to_numpy()], label="full budget on both")
    ax.scatter(pts["a"].to_numpy()[~full.to_numpy()], pts["b"].to_numpy()[~full.to_numpy()], c="tab:gray", alpha=0.5, label="stopped early on one")
    rho = tr["spearman_final"]["rho"]
    ax.set_xlabel(f"objective on {tr['task_a']}")
    ax.set_ylabel(f"objective on {tr['task_b']}")
    ax.set_title(f"Transfer of configurations (Spearman {rho:.2f})" if rho is not None else "Transfer of configurations")
    ax.legend(fontsize=7)
    return _save(fig, out_dir, "hparams_transfer.png")
