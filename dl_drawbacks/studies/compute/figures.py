"""Figures of the compute study: cost vs parameters (log-log with fit), throughput vs workers, memory vs ZeRO stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ...report.figures import plt, save_figure as _save


def cost_vs_parameters(table: pl.DataFrame, findings: dict[str, Any], out: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (col, label, key) in zip(axes, [("train_time", "training time (s)", "time"), ("energy", "energy (J)", "energy")]):
        for family, fits in findings["scaling_with_parameters"].items():
            sub = table.filter((pl.col("family") == family) & pl.col("sweep").str.contains("model_size"))
            sub = sub if sub.height else table.filter(pl.col("family") == family)  # the points the fit used
            line = ax.loglog(sub["parameters"], sub[col], "o", label=family)[0]
            fit = fits[key]
            if np.isfinite(fit["exponent"]):
                xs = np.geomspace(sub["parameters"].min(), sub["parameters"].max(), 50)
                lo, hi = fit["interval95"]
                ax.loglog(xs, fit["prefactor"] * xs ** fit["exponent"], "-", color=line.get_color(),
                          label=f"{family}: ∝ N^{fit['exponent']:.2f} [{lo:.2f}, {hi:.2f}]")
        ax.set_xlabel("parameters N")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[1].set_title(f"energy provenance: {', '.join(findings['energy_provenance'])}", fontsize=9)
    return _save(fig, out / "compute_cost_vs_parameters.png")


def throughput_vs_workers(findings: dict[str, Any], out: Path) -> Path | None:
    table = findings["worker_scaling"]["table"]
    if len(table) < 2:
        return None
    fig, ax = plt.subplots(figsize=(5, 4))
    n = [r["workers"] for r in table]
    x = [r["samples_per_second"] for r in table]
    ax.plot(n, x, "o-", label="measured")
    ax.plot(n, [x[0] * k / n[0] for k in n], "--", label="ideal (linear)")
    ax.set_xlabel("workers")
    ax.set_ylabel("samples / s")
    ax.set_title(f"{findings['worker_scaling']['mode']} scaling")
    ax.legend()
    ax.grid(True, alpha=0.3)
    return _save(fig, out / "compute_throughput_vs_workers.png")


def memory_vs_zero(findings: dict[str, Any], out: Path) -> Path | None:
    table = findings["zero_tradeoff"]
    if len(table) < 2:
        return None
    fig, ax1 = plt.subplots(figsize=(5, 4))
    stages = [str(r["zero_stage"]) for r in table]
    ax1.bar(stages, [r["peak_memory_increase_bytes"] / 2**20 for r in table], color="tab:blue", alpha=0.7)
    ax1.set_xlabel("ZeRO stage")
    ax1.set_ylabel("peak memory increase per worker (MiB)", color="tab:blue")
    ax2 = ax1.twinx()
    ax2.plot(stages, [r["step_time_s"] * 1e3 for r in table], "o-", color="tab:red")
    ax2.set_ylabel("median step time (ms)", color="tab:red")
    return _save(fig, out / "compute_memory_vs_zero.png")
