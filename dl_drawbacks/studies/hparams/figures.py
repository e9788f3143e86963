"""Figures of the hparams study (matplotlib Agg, PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ...report.figures import plt, save_figure


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
    """fANOVA importance per hyperparameter with its bootstrap interval, rank-1 frequency and the null's 95th
    percentile."""
    imp = findings["importance"].get("full_budget") or {}
    label = "at the full budget"
    if not imp.get("available"):
        imp = findings["importance"].get("early") or {}
        label = f"EARLY, at evaluation {imp.get('rung')}"
    if not imp.get("available"):
        return None
    names = imp["ranking"][::-1]
    p = [imp["params"][n] for n in names]
    point = np.array([np.nan_to_num(q["point"]) for q in p])
    low = np.array([q["interval"]["low"] if q["interval"]["low"] is not None else v for q, v in zip(p, point)])
    high = np.array([q["interval"]["high"] if q["interval"]["high"] is not None else v for q, v in zip(p, point)])
    fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(names) + 1.6))
    ax.barh(
        names, point, xerr=[np.clip(point - low, 0, None), np.clip(high - point, 0, None)], color="tab:blue", capsize=3
    )
    null = [q["null_p95"] for q in p]
    ax.scatter([v if v is not None else np.nan for v in null], names, marker="|", s=200, c="k", label="null 95th pct")
    for y, q in enumerate(p):
        if q["top1_frequency"] is not None:
            ax.annotate(
                f"first in {q['top1_frequency']:.0%}", (0, y), xytext=(3, 6), textcoords="offset points", fontsize=7
            )
    ax.set_xlabel(f"fANOVA main effect, share of variance, {label} ({imp['configurations_used']} configs)")
    ax.set_title("Which hyperparameters matter (bars: 95% bootstrap interval)")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, out_dir, "hparams_importance.png")


def parallel_coordinates(table: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> Path | None:
    if "sweep" not in table.columns:
        return None
    search = table.filter((pl.col("sweep") == "search") & pl.col("objective").is_not_null())
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


def variance_bar(findings: dict[str, Any], out_dir: Path) -> Path | None:
    """Shares of the design's variance: hyperparameters, seed, residual; interval of the hyperparameter share."""
    sv = findings["seed_variance"]
    if not sv.get("available"):
        return None
    fig, ax = plt.subplots(figsize=(5.5, 2.4))
    left = 0.0
    for key, color in (("hyperparameters", "tab:blue"), ("seed", "tab:orange"), ("residual", "tab:gray")):
        ax.barh([0], [sv["shares"][key]], left=[left], color=color, label=key)
        left += sv["shares"][key]
    iv = sv["hparam_share_interval"]
    if iv["low"] is not None:
        share = sv["hparam_share"]
        ax.errorbar([share], [0], xerr=[[share - iv["low"]], [iv["high"] - share]], color="k", capsize=4)
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel(f"share of variance ({sv['configs_used']} configs x {len(sv['seeds'])} seeds)")
    ax.legend(loc="upper right", fontsize=7)
    return _save(fig, out_dir, "hparams_seed_vs_hparam_variance.png")


def tunability_bars(findings: dict[str, Any], out_dir: Path) -> Path | None:
    """Test-accuracy gain over the default from tuning each hyperparameter alone, and all together."""
    t = findings["tunability"]
    if not t.get("available"):
        return None
    items = [(n, v) for n, v in t["per_hparam"].items() if v.get("available")]
    if t["overall"].get("available"):
        items.append(("all (tuned)", t["overall"]))
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(items) + 1.6))
    for y, (name, v) in enumerate(items):
        iv = v.get("interval") or {}
        ax.barh([y], [v["gain"]], color="tab:green" if name.startswith("all") else "tab:blue")
        if iv.get("low") is not None:
            ax.errorbar(
                [v["gain"]], [y], xerr=[[v["gain"] - iv["low"]], [iv["high"] - v["gain"]]], color="k", capsize=3
            )
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(range(len(items)), [n for n, _ in items])
    ax.set_xlabel("test accuracy gain over the default (fresh seeds; 95% t interval over seeds)")
    ax.set_title("Tunability (Probst et al. 2019)")
    return _save(fig, out_dir, "hparams_tunability.png")


def transfer_by_rung(findings: dict[str, Any], out_dir: Path) -> Path | None:
    """Spearman between the two data sets' searches at each evaluation both reached, with n per point."""
    tr = findings["transfer"]
    if not tr.get("available"):
        return None
    rungs = [r for r in tr["by_rung"] if r.get("available")]
    if not rungs:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.4))
    x = [r["eval"] for r in rungs]
    rho = [r["rho"] for r in rungs]
    low = [r["interval"]["low"] if r["interval"]["low"] is not None else r["rho"] for r in rungs]
    high = [r["interval"]["high"] if r["interval"]["high"] is not None else r["rho"] for r in rungs]
    ax.errorbar(x, rho, yerr=[np.subtract(rho, low), np.subtract(high, rho)], marker="o", capsize=3)
    for r in rungs:
        ax.annotate(f"n={r['configs']}", (r["eval"], r["rho"]), xytext=(4, 4), textcoords="offset points", fontsize=7)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("evaluation (rung) both searches reached")
    ax.set_ylabel("Spearman")
    ax.set_title(f"Transfer {tr['task_a']} -> {tr['task_b']}")
    return _save(fig, out_dir, "hparams_transfer.png")
