"""Figures of the interpretability study: maps of the planted model and its control beside the patch mask,
deletion/insertion curves per baseline, the randomisation curves against the reference band, and the ROAR curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from ...report.figures import save_figure as _save  # noqa: E402


def _showcase(findings: dict[str, Any], role: str) -> str | None:
    """The lowest-seed trial of ``role`` in the headline condition (else the largest condition)."""
    table = [r for r in findings.get("table") or [] if r.get("role") == role]
    if not table:
        return None
    wanted = findings.get("headline_condition")
    pool = [r for r in table if r["condition"] == wanted] or table
    return max(pool, key=lambda r: (r.get("parameters") or 0, r.get("steps") or 0, -r["seed"]))["trial_id"]


def _image(ax, values: np.ndarray, signed: bool) -> None:
    side = int(round(np.sqrt(values.size)))
    if side * side != values.size:
        ax.bar(np.arange(values.size), values)
    else:
        lim = float(np.abs(values).max()) or 1.0
        ax.imshow(
            values.reshape(side, side),
            cmap="bwr" if signed else "gray",
            vmin=-lim if signed else None,
            vmax=lim if signed else None,
        )
    ax.set_xticks([])
    ax.set_yticks([])


def attribution_maps(rows: pl.DataFrame, findings: dict[str, Any], out: Path) -> Path | None:
    trials = [(label, _showcase(findings, role)) for label, role in (("planted", "planted"), ("control", "clean"))]
    maps = rows.filter(
        (pl.col("metric") == "attribution_map")
        & pl.col("group").str.starts_with("patched:")
        & pl.col("trial_id").is_in([t for _, t in trials if t])
    )
    mask = rows.filter((pl.col("metric") == "attribution_map") & (pl.col("group") == "patch_mask"))
    if maps.height == 0 or mask.height == 0:
        return None
    methods = sorted({g.removeprefix("patched:") for g in maps["group"].to_list()} - {"input"})
    columns = ["input", *methods]
    lines = [(label, tid) for label, tid in trials if tid]
    fig, axes = plt.subplots(
        len(lines), len(columns) + 1, figsize=(1.7 * (len(columns) + 1), 1.9 * len(lines)), squeeze=False
    )
    for i, (label, tid) in enumerate(lines):
        _image(
            axes[i][0], mask.filter(pl.col("trial_id") == mask["trial_id"][0]).sort("step")["value"].to_numpy(), False
        )
        axes[i][0].set_ylabel(label, fontsize=8)
        for j, g in enumerate(columns, start=1):
            v = maps.filter((pl.col("trial_id") == tid) & (pl.col("group") == f"patched:{g}") & (pl.col("epoch") == 0))
            if v.height:
                _image(axes[i][j], v.sort("step")["value"].to_numpy(), g != "input")
            if i == 0:
                axes[i][j].set_title(g.replace("_", " "), fontsize=8)
    axes[0][0].set_title("planted mask", fontsize=8)
    fig.suptitle(
        "maps of a patched test image: planted model vs negative control (red: evidence for the class)", fontsize=9
    )
    return _save(fig, out / "interpretability_maps.png")


def deletion_insertion(rows: pl.DataFrame, findings: dict[str, Any], out: Path) -> Path | None:
    curves = rows.filter(
        pl.col("metric").is_in(["deletion_curve", "insertion_curve"])
        & (pl.col("trial_id") == _showcase(findings, "clean"))
    )
    if curves.height == 0:
        return None
    baselines = sorted({g.partition("@")[2] for g in curves["group"].to_list()})
    fig, axes = plt.subplots(2, len(baselines), figsize=(4.2 * len(baselines), 7), squeeze=False)
    for col, base in enumerate(baselines):
        for row, metric in enumerate(("deletion_curve", "insertion_curve")):
            ax = axes[row][col]
            part = curves.filter((pl.col("metric") == metric) & pl.col("group").str.ends_with(f"@{base}"))
            for (group,), g in part.group_by("group", maintain_order=True):
                g = g.sort("step")
                ax.plot(
                    g["step"].to_numpy() / max(g["step"].max(), 1),
                    g["value"],
                    "--k" if group.startswith("random@") else "-",
                    label=group.partition("@")[0],
                )
            ax.set_title(f"{metric.split('_')[0]} to/from baseline {base}", fontsize=9)
            ax.set_xlabel("fraction of features " + ("removed" if row == 0 else "inserted"), fontsize=8)
            ax.grid(True, alpha=0.3)
        axes[0][col].set_ylabel("probability of the predicted class", fontsize=8)
    axes[1][-1].legend(fontsize=7)
    return _save(fig, out / "interpretability_deletion_insertion.png")


def sanity_by_layer(findings: dict[str, Any], out: Path) -> Path | None:
    chosen = next(
        (c for c in findings.get("conditions", []) if c["condition"] == findings.get("headline_condition")), None
    )
    chosen = chosen or next((c for c in reversed(findings.get("conditions", [])) if c["audit"].get("available")), None)
    sanity = (chosen or {}).get("audit", {}).get("sanity") or {}
    if not sanity:
        return None
    fig, axes = plt.subplots(1, len(sanity), figsize=(3.2 * len(sanity), 3.4), squeeze=False, sharey=True)
    for ax, (method, s) in zip(axes[0], sanity.items()):
        depth = [0] + [e["depth"] for e in s["by_depth"]]
        ax.plot(
            depth, [1.0] + [e["spearman"]["estimate"] for e in s["by_depth"]], "o-", label="cascading randomisation"
        )
        ref = s["independent"]
        if ref["low"] is not None:
            ax.axhspan(ref["low"], ref["high"], color="green", alpha=0.2, label="independently trained (reference)")
        if s["label_random"]["estimate"] is not None:
            ax.axhline(s["label_random"]["estimate"], color="red", ls=":", label="permuted labels")
        ax.set_title(method.replace("_", " "), fontsize=8)
        ax.set_xlabel("layers randomised (from the output)", fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("Spearman of |maps| to the trained model's", fontsize=8)
    axes[0][0].legend(fontsize=6)
    fig.suptitle(
        f"randomisation tests (Adebayo et al. 2018), {chosen['condition']}: the curve must fall below the band",
        fontsize=9,
    )
    return _save(fig, out / "interpretability_sanity_by_layer.png")


def _errorbar(ax, points: list[tuple[float, dict[str, Any]]], label: str, style: str) -> None:
    points = [(f, iv) for f, iv in points if iv.get("estimate") is not None]
    if not points:
        return
    est = np.array([iv["estimate"] for _, iv in points])
    low = np.array([iv["low"] if iv.get("low") is not None else iv["estimate"] for _, iv in points])
    high = np.array([iv["high"] if iv.get("high") is not None else iv["estimate"] for _, iv in points])
    ax.errorbar([f for f, _ in points], est, yerr=[est - low, high - est], fmt=style, capsize=3, label=label)


def roar_curves(findings: dict[str, Any], out: Path) -> Path | None:
    """ROAR: retrained test accuracy against the fraction removed, one line per ranking (random dashed)."""
    ran = [c for c in findings.get("conditions") or [] if (c.get("roar") or {}).get("available")]
    if not ran:
        return None
    fig, axes = plt.subplots(1, len(ran), figsize=(max(6.5, 5 * len(ran)), 4.4), squeeze=False, sharey=True)
    for ax, c in zip(axes[0], ran):
        r = c["roar"]
        start = [(0.0, r["clean_accuracy"])] if r["clean_accuracy"].get("estimate") is not None else []
        for method, curve in r["curves"].items():
            style = "--ok" if method == r["reference"] else "-o"
            _errorbar(ax, start + [(p["fraction"], p["accuracy"]) for p in curve], method.replace("_", " "), style)
        ax.set_title(c["condition"], fontsize=8)
        ax.set_xlabel("fraction of features removed (and retrained)", fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("test accuracy of the retrained model", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("ROAR (Hooker et al. 2019): falling faster than random (dashed) = an informative ranking\n"
                 "bars: nested intervals over seeds × test samples; fraction 0: the clean trials", fontsize=8)
    return _save(fig, out / "interpretability_roar.png")
