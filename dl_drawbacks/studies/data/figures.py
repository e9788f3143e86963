"""Figures of the data study: log-log learning curves with fits and bands, extrapolation to the target
error, and deep learning against the classical baselines per anchor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .learning_curves import FAMILIES
from ...report.figures import plt, save_figure as _save


def _curves(findings: dict[str, Any]):
    for kind, key in (("deep learning", "models"), ("baseline", "baselines")):
        for name, f in findings[key].items():
            yield kind, name, f


def _points(findings: dict[str, Any], kind: str, name: str):
    pts = [r for r in findings["per_anchor"] if r["kind"] == kind and r["model"] == name]
    return (np.array([r["n"] for r in pts]), np.array([r["mean_error"] for r in pts]),
            np.array([r["std_error"] or 0.0 for r in pts]))


def learning_curves(findings: dict[str, Any], out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 5))
    for kind, name, f in _curves(findings):
        n, m, s = _points(findings, kind, name)
        line = ax.errorbar(n, m, yerr=s, fmt="o" if kind == "deep learning" else "s", ms=4, capsize=2,
                           label=f"{name} ({f['family'] or 'no fit'})", alpha=0.9)
        if f["params"] is not None:
            xs = np.geomspace(n.min(), n.max(), 100)
            ax.plot(xs, FAMILIES[f["family"]].f(xs, *f["params"]), "-" if f["extrapolation_allowed"] else ":",
                    color=line[0].get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training samples n")
    ax.set_ylabel("test error (mean ± sd over seeds)")
    ax.set_title("learning curves (dotted fit: extrapolation refused)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out / "data_learning_curves.png")


def extrapolation(findings: dict[str, Any], out: Path) -> Path | None:
    target = findings.get("target_error")
    if target is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 5))
    for kind, name, f in _curves(findings):
        t = f["data_to_target"]
        n, m, _ = _points(findings, kind, name)
        dots = ax.loglog(n, m, "o" if kind == "deep learning" else "s", ms=4, label=name)[0]
        if f["params"] is None or t["refused"]:
            continue
        right = max(n.max() * 10, (t["interval90"][1] or t["median"] or n.max() * 100) * 2)
        xs = np.geomspace(n.min(), min(right, f.get("n_cap", 1e9)), 200)
        fam = FAMILIES[f["family"]]
        ax.loglog(xs, fam.f(xs, *f["params"]), "-", color=dots.get_color(), lw=1)
        lo, hi = t["interval90"]
        if t["median"] is not None:
            ax.axvline(t["median"], color=dots.get_color(), ls="--", lw=0.8)
            ax.axvspan(lo or n.min(), hi or xs.max(), color=dots.get_color(), alpha=0.08)
    ax.axhline(target, color="k", ls=":", label=f"target error {target}")
    ax.set_xlabel("training samples n")
    ax.set_ylabel("test error")
    ax.set_title("extrapolation to the target (dashed: median n; band: 90% interval)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out / "data_extrapolation.png")


def dl_vs_baseline(findings: dict[str, Any], out: Path) -> Path | None:
    pairs = [(m, b, c) for m, per in findings["crossover"].items() for b, c in per.items()]
    if not pairs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m, b, c in pairs:
        d = c["dl_minus_baseline_by_n"]
        ax.semilogx([float(k) for k in d], list(d.values()), "o-", label=f"{m} − {b}")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("training samples n")
    ax.set_ylabel("test error: deep learning − baseline (below 0: DL better)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out / "data_dl_vs_baseline.png")
