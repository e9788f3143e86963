"""The compute study's section of the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...report.markdown import fmt, image, table


def compute_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    out = [f"*{f['question']}*", ""]
    prov = ", ".join(f["energy_provenance"])
    note = " Energy is an **estimate** (CPU power per busy core × utilisation × time): no RAPL or NVML counter was readable." if prov == "estimate" else ""
    out += [f"Energy provenance: **{prov}**.{note} Peak FLOP/s: {', '.join(f['peak_flops_provenance'])}.", ""]
    out += ["### Cost against parameter count", ""]
    rows = []
    for family, fits in f["scaling_with_parameters"].items():
        for what in ("time", "energy"):
            s = fits[what]
            rows.append([family, what, fmt(s["exponent"]), f"[{fmt(s['interval95'][0])}, {fmt(s['interval95'][1])}]", fmt(s["r2"]), s["n_points"],
                         f"{fits['parameters_range'][0]:,}–{fits['parameters_range'][1]:,}"])
    out += [table(["family", "cost", "exponent b (cost ∝ N^b)", "95% interval", "R²", "points", "parameters"], rows), ""]
    ws = f["worker_scaling"]
    if ws["table"]:
        out += [f"### Throughput against workers ({ws['mode']} scaling)", ""]
        out += [table(["workers", "global batch", "samples/s", "speedup", "ideal", "efficiency"],
                      [[r["workers"], r["global_batch"], fmt(r["samples_per_second"]), fmt(r["speedup"]), fmt(r["ideal_speedup"]), fmt(r["efficiency"])] for r in ws["table"]]), ""]
    for key, title, col in (("zero_tradeoff", "ZeRO stage: time and memory", "zero_stage"), ("precision", "Precision", "precision")):
        if f[key]:
            out += [f"### {title}", ""]
            out += [table([col, "median step time (ms)", "relative time", "peak memory increase / worker (MiB)", "relative memory", "trials"],
                          [[r[col], fmt(r["step_time_s"] * 1e3), fmt(r["relative_time"]), fmt(r["peak_memory_increase_bytes"] / 2**20),
                            fmt(r["relative_memory"]), r["trials"]] for r in f[key]]), ""]
    ps = f["per_sample"]
    out += ["### Energy, CO2e and cost", ""]
    out += [table(["per training sample", "median", "min", "max"],
                  [[k.replace("_", " "), fmt(v["median"]), fmt(v["min"]), fmt(v["max"])] for k, v in ps.items() if isinstance(v, dict) and "median" in v]), ""]
    a = ps["assumptions"]
    out += [f"Totals: {fmt(ps['energy_j_total'])} J, {fmt(ps['co2e_g_total'])} gCO2e, ${fmt(ps['cost_usd_total'])} "
            f"(carbon intensity {a['carbon_intensity_g_per_kwh']} g/kWh, PUE {a['pue']}, ${a['price_per_cpu_hour']}/CPU-core-hour, "
            f"${a['price_per_gpu_hour']}/GPU-hour).", ""]
    out += [f"MFU median {fmt(f['mfu']['median'])}, max {fmt(f['mfu']['max'])}. FLOPs counted by FlopCounterMode / analytic 6·N·D: "
            f"median {fmt(f['flops_counted_over_analytic']['median'])} (range {fmt(f['flops_counted_over_analytic']['min'])}–{fmt(f['flops_counted_over_analytic']['max'])}).", ""]
    if f.get("energy_to_target"):
        e = f["energy_to_target"]
        out += [f"Energy to reach test accuracy {e['target_accuracy']}: reached by {e['reached']} of {e['trials']} trials.", ""]
    out += [image(p) for p in figures]
    return "\n".join(out)
