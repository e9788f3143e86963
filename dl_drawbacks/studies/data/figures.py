"""Figures of the data study: learning curves with interval bars, the fitted family and its
model-averaged band, crossovers marked; and the paired DL − baseline difference per anchor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .curves import FAMILIES
from ...report.figures import plt, save_figure as _save


def _learners(findings: dict[str, Any]):
    for kind, key in (("deep learning", "models"), ("baseline", "baselines")):
        for name, f in findings.get(key, {}).items():
            if f.get("available"):
                yield kind, name, f


def _bars(f: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Anchors, mean errors and interval half-widths, only where the mean can sit on a log axis."""
    n, m = np.array(f["anchors"]), np.array(f["mean_error"], float)
    ivs = f["anchor_intervals"]
    lo = np.array([m[i] - iv["low"] if iv["low"] is not None else 0.0 for i, iv in enumerate(ivs)])
    hi = np.array([iv["high"] - m[i] if iv["high"] is not None else 0.0 for i, iv in enumerate(ivs)])
    ok = np.isfinite(m) & (m > 0)
    return n[ok], m[ok], np.clip(np.nan_to_num(np.vstack([lo, hi])[:, ok]), 0, None)


def learning_curves(findings: dict[str, Any], out: Path) -> Path | None:
    learners = [(k, name, f) for k, name, f in _learners(findings) if _bars(f)[0].size]
    if not learners:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for kind, name, f in learners:
        n, m, err = _bars(f)
        line = ax.errorbar(
            n,
            m,
            yerr=err,
            fmt="o" if kind == "deep learning" else "s",
            ms=4,
            capsize=2,
            label=f"{name} ({f['family'] or 'no family passes'})",
            alpha=0.9,
        )
        color = line[0].get_color()
        if f["params"] is not None:
            xs = np.geomspace(n.min(), n.max() * 4, 100)
            ax.plot(
                xs,
                FAMILIES[f["family"]].f(xs, *f["params"]),
                "-" if f["extrapolation_allowed"] else ":",
                color=color,
                lw=1,
            )
        if f.get("band"):
            ax.fill_between(f["band"]["n"], f["band"]["low"], f["band"]["high"], color=color, alpha=0.12, lw=0)
    for m, per in findings.get("crossover", {}).items():
        for b, c in per.items():
            for x in c.get("observed", []):
                ax.axvspan(*x["between_n"], color="k" if x["resolved"] else "grey", alpha=0.06)
                ax.annotate(
                    f"{'DL' if x['direction'] == 'dl_overtakes' else b} ahead →",
                    (np.sqrt(np.prod(x["between_n"])), 0.98),
                    xycoords=("data", "axes fraction"),
                    fontsize=6,
                    ha="center",
                    va="top",
                    rotation=90,
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    lowest = min(float(_bars(f)[1].min()) for _, _, f in learners)
    ax.set_ylim(lowest / 5, 1.0)  # a t(k-1) band with 2-3 seeds is wide: keep the measured points readable
    ax.set_xlabel("training samples n")
    ax.set_ylabel(f"test error (mean, {findings.get('level', 0.95):.0%} interval over seeds × test samples)")
    ax.set_title(
        "learning curves: fit (dotted: extrapolation refused), model-averaged band, shaded: observed crossovers",
        fontsize=8,
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out / "data_learning_curves.png")


def dl_vs_baseline(findings: dict[str, Any], out: Path) -> Path | None:
    def plottable(c: dict) -> list[dict]:
        return [
            r
            for r in c.get("per_anchor", [])
            if r["dl_minus_baseline"] is not None and np.isfinite(r["dl_minus_baseline"])
        ]

    pairs = [
        (m, b, plottable(c)) for m, per in findings.get("crossover", {}).items() for b, c in per.items() if plottable(c)
    ]
    if not pairs:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for k, (m, b, rows) in enumerate(pairs):
        n = np.array([r["n"] for r in rows]) * (1 + 0.03 * k)  # dodge overlapping bars
        d = np.array([r["dl_minus_baseline"] for r in rows])
        lo = [r["dl_minus_baseline"] - r["interval"]["low"] if r["interval"]["low"] is not None else 0.0 for r in rows]
        hi = [
            r["interval"]["high"] - r["dl_minus_baseline"] if r["interval"]["high"] is not None else 0.0 for r in rows
        ]
        ax.errorbar(n, d, yerr=np.clip([lo, hi], 0, None), fmt="o-", ms=4, capsize=2, label=f"{m} − {b}")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("training samples n")
    ax.set_ylabel("test error: DL − baseline (below 0: DL better)")
    ax.set_title("paired difference per anchor, interval over seeds × test samples", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out / "data_dl_vs_baseline.png")
