"""Figures of the compute study: cost vs parameters (log-log with fit), throughput vs workers, memory vs ZeRO stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ...report.figures import plt, save_figure as _save


def _mean(entry: dict[str, Any]) -> float:
    return float("nan") if entry.get("estimate") is None else entry["estimate"]


def _errors(entries: list[dict[str, Any]], scale: float = 1.0) -> np.ndarray:
    """Asymmetric error bars from interval dicts (0 where the interval is undefined)."""
    lo = [(_mean(e) - e["low"]) * scale if e.get("low") is not None else 0.0 for e in entries]
    hi = [(e["high"] - _mean(e)) * scale if e.get("high") is not None else 0.0 for e in entries]
    return np.array([lo, hi])


def cost_vs_parameters(table: pl.DataFrame, findings: dict[str, Any], out: Path) -> Path | None:
    fits = findings["scaling_with_parameters"]
    if fits.get("available") is False:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    panels = [("step_time_mean", "steady-state step time (s), evaluation excluded", "time"),
              ("energy", "energy (J)", "energy")]
    for ax, (col, label, key) in zip(axes, panels):
        for family, fit in fits.items():
            sub = table.filter(pl.col("trial_id").is_in(fit.get("trial_ids", [])) if fit.get("trial_ids")
                               else pl.col("family") == family).drop_nulls(["parameters", col])
            if sub.height == 0:
                continue
            line = ax.loglog(sub["parameters"], sub[col], "o", label=family)[0]
            s = fit[key]
            if s.get("available") and s.get("interval95"):
                xs = np.geomspace(sub["parameters"].min(), sub["parameters"].max(), 50)
                lo, hi = s["interval95"]
                ax.loglog(xs, s["prefactor"] * xs ** s["exponent"], "-", color=line.get_color(),
                          label=f"{family}: ∝ N^{s['exponent']:.2f} [{lo:.2f}, {hi:.2f}]")
        ax.set_xlabel("parameters N")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    note = " (estimate: ∝ CPU time by construction)" if findings.get("energy_note") else ""
    axes[1].set_title(f"energy provenance: {', '.join(findings['energy_provenance'])}{note}", fontsize=8)
    return _save(fig, out / "compute_cost_vs_parameters.png")


def throughput_vs_workers(findings: dict[str, Any], out: Path) -> Path | None:
    ws = findings["worker_scaling"]
    if not ws.get("available") or len(ws["table"]) < 2:
        return None
    fig, ax = plt.subplots(figsize=(5, 4))
    n = [r["workers"] for r in ws["table"]]
    x = [_mean(r["samples_per_second"]) for r in ws["table"]]
    ax.errorbar(n, x, yerr=_errors([r["samples_per_second"] for r in ws["table"]]), fmt="o-", capsize=3,
                label="measured (95% t over seeds)")
    ax.plot(n, [x[0] * k / n[0] for k in n], "--", label="ideal (linear)")
    ax.set_xlabel("workers")
    ax.set_ylabel("samples / s")
    ax.set_title(f"{ws['mode']} scaling", fontsize=9)
    ax.legend()
    ax.grid(True, alpha=0.3)
    return _save(fig, out / "compute_throughput_vs_workers.png")


def memory_vs_zero(findings: dict[str, Any], out: Path) -> Path | None:
    zero = findings["zero_tradeoff"]
    if not zero.get("available") or len(zero["table"]) < 2:
        return None
    rows = zero["table"]
    fig, ax1 = plt.subplots(figsize=(5, 4))
    stages = [str(r["zero_stage"]) for r in rows]
    memory = [r["peak_memory_increase_bytes"] for r in rows]
    ax1.bar(stages, [_mean(m) / 2**20 for m in memory], yerr=_errors(memory, 2**-20), color="tab:blue", alpha=0.7,
            capsize=3)
    ax1.set_xlabel("ZeRO stage")
    ax1.set_ylabel("peak memory increase per worker (MiB)", color="tab:blue")
    ax2 = ax1.twinx()
    times = [r["step_time_s"] for r in rows]
    ax2.errorbar(stages, [_mean(t) * 1e3 for t in times], yerr=_errors(times, 1e3), fmt="o-", color="tab:red",
                 capsize=3)
    ax2.set_ylabel("median step time (ms)", color="tab:red")
    ax1.set_title("bars/points: mean over seeds, 95% t interval", fontsize=8)
    return _save(fig, out / "compute_memory_vs_zero.png")
