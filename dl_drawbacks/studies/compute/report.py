"""The compute study's section of the report, and its headline rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...headline import as_dicts, from_interval
from ...report.markdown import fmt, image, table


def _ci(entry: dict[str, Any] | None, scale: float = 1.0) -> str:
    """'mean [low, high]' of an interval dict over seeds, or the mean with its reason when undefined."""
    if not entry or entry.get("estimate") is None:
        return "n/a" + (f" ({entry['reason']})" if entry and entry.get("reason") else "")
    mean = fmt(entry["estimate"] * scale)
    if entry.get("low") is None:
        return f"{mean} (n={sum(entry['n'].values())})"
    flat = " (zero width: no spread, not certainty)" if entry["low"] == entry["high"] else ""
    return f"{mean} [{fmt(entry['low'] * scale)}, {fmt(entry['high'] * scale)}]{flat}"


def _size_section(fits: dict[str, Any]) -> list[str]:
    out = ["### Cost against parameter count", ""]
    if fits.get("available") is False:
        return out + [f"Not measurable: {fits['reason']}.", ""]
    rows = []
    for family, f in fits.items():
        for what in ("time", "energy"):
            s = f[what]
            if s.get("available") is False and "reason" in s:
                rows.append([family, what, "n/a", s["reason"], "", "", ""])
                continue
            interval = s["interval95"]
            rows.append([family, what, fmt(s["exponent"]),
                         f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval else s["interval"]["reason"],
                         fmt(s["r2"]), f"{s['distinct_x']} ({s['n_points']})",
                         f"{f['parameters_range'][0]:,}–{f['parameters_range'][1]:,}"])
    out += [table(["family", "cost", "exponent b (cost ∝ N^b)", "95% OLS interval (over size means)", "R²",
                   "sizes (trials)", "parameters"], rows), ""]
    return out + [f"Held fixed: {f['condition']}." for f in fits.values()] + [""]


def _workers_section(ws: dict[str, Any]) -> list[str]:
    out = ["### Throughput against workers", ""]
    if not ws.get("available"):
        return out + [f"Not measurable: {ws['reason']}.", ""]
    out += [f"{ws['mode'].capitalize()} scaling, held fixed: {ws['condition']}. Intervals: 95% Student-t over seeds "
            "(speedup paired by seed).", ""]
    rows = [[r["workers"], r["global_batch"], r["seeds"], _ci(r["samples_per_second"]), _ci(r["speedup"]),
             fmt(r["ideal_speedup"]), _ci(r["efficiency"])] for r in ws["table"]]
    return out + [table(["workers", "global batch", "seeds", "samples/s", "speedup", "ideal", "efficiency"], rows), ""]


def _tradeoff_section(found: dict[str, Any], title: str, col: str) -> list[str]:
    out = [f"### {title}", ""]
    if not found.get("available"):
        return out + [f"Not measurable: {found['reason']}.", ""]
    out += [f"Held fixed: {found['condition']}. Relative to {col} {found['baseline']}, paired by seed; times and "
            "ratios are geometric means over seeds with the 95% Student-t interval of their logs (ratios: per-seed "
            "log-ratios); memory increases are means with a plain 95% t interval.", ""]
    rows = [[r[col], r["seeds"], _ci(r["step_time_s"], 1e3), _ci(r["relative_time"]),
             _ci(r["peak_memory_increase_bytes"], 2**-20), _ci(r["relative_memory"])] for r in found["table"]]
    return out + [table([col, "seeds", "median step time (ms), geo. mean", "relative time",
                         "peak memory increase / worker (MiB)", "relative memory"], rows), ""]


def _condition_section(f: dict[str, Any]) -> list[str]:
    out = ["### Energy, CO2e, cost and MFU per condition", "",
           "Geometric mean over seeds [95% Student-t interval of the logs over seeds, mapped back: every quantity here "
           "is positive]; one seed gives the value alone.", ""]
    rows = [[c["condition"], c["seeds"], _ci(c["energy_j_per_sample"]), _ci(c["energy_j_per_sample_steady"]),
             _ci(c["co2e_g_per_sample"]), _ci(c["cost_usd_per_sample"]), _ci(c["mfu"])] for c in f["per_condition"]]
    out += [table(["condition", "seeds", "J / sample", "J / sample (steady state)", "gCO2e / sample", "USD / sample",
                   "MFU"], rows), ""]
    a, totals = f["totals"]["assumptions"], f["totals"]
    out += [f"Total energy {fmt(totals['energy_j'])} J (carbon intensity {a['carbon_intensity_g_per_kwh']} g/kWh, "
            f"PUE {a['pue']}, ${a['price_per_cpu_hour']}/CPU-core-hour, ${a['price_per_gpu_hour']}/GPU-hour).", ""]
    return out


def compute_markdown(f: dict[str, Any], figures: list[Path]) -> str:
    out = [f"*{f['question']}*", ""]
    if "not_measurable" in f:
        return "\n".join(out + [f"Not measurable: {f['not_measurable']}."])
    prov = ", ".join(f["energy_provenance"]) or "none"
    note = f" {f['energy_note'][0].upper()}{f['energy_note'][1:]}." if f.get("energy_note") else ""
    out += [f"Energy provenance: **{prov}**.{note} Peak FLOP/s: {', '.join(f['peak_flops_provenance'])}. "
            f"Seeds: {f['seeds']}.", ""]
    out += _size_section(f["scaling_with_parameters"])
    out += _workers_section(f["worker_scaling"])
    out += _tradeoff_section(f["zero_tradeoff"], "ZeRO stage: time and memory", "zero_stage")
    out += _tradeoff_section(f["precision"], "Precision", "precision")
    out += _condition_section(f)
    ratios = f["flops_counted_over_analytic"]
    if ratios.get("available") is not False:
        text = "; ".join(f"{k} {fmt(v['low'])}–{fmt(v['high'])} (range over {v['n']} trials)"
                         for k, v in ratios.items())
        out += ["FLOPs counted by FlopCounterMode on the meta device (attention included) / analytic "
                f"(MLP 6N − first layer's input gradient; GPT 6N + 12·L·d·T per token): {text}.", ""]
    if f.get("energy_to_target"):
        e = f["energy_to_target"]
        out += [f"Energy to reach test accuracy {e['target_accuracy']}: reached by {e['reached']} of {e['trials']} "
                "trials.", ""]
    out += [image(p) for p in figures]
    return "\n".join(out)


def headline_rows(f: dict[str, Any]) -> list[dict[str, Any]]:
    """Time exponent per family (interval over the size means of the size comparison), energy per sample of the
    largest size in each family's size comparison and the memory ratio of the highest ZeRO stage (over seeds),
    each resolved by the headline policy (``dl_drawbacks.headline``)."""
    if "not_measurable" in f:
        return []
    out = []
    fits = f["scaling_with_parameters"]
    for family, fit in ({} if fits.get("available") is False else fits).items():
        t = fit["time"]
        out.append(from_interval("compute", f"time_exponent/{family}",
                                 f"training time ∝ parameters^b ({family}; {fit['condition']})", t["interval"],
                                 unit="exponent", null=0.0, estimate=t["exponent"], method="log-log OLS on size means"))
    for family in sorted({c["factors"]["family"] for c in f["per_condition"]}):
        in_fit = set(fits.get(family, {}).get("trial_ids", [])) if fits.get("available") is not False else set()
        conds = [c for c in f["per_condition"] if c["factors"]["family"] == family]
        conds = [c for c in conds if set(c["trial_ids"]) <= in_fit] or conds  # the size comparison's conditions
        largest = max(conds, key=lambda c: (c["seeds"], c["parameters"] or 0))  # best-seeded, then largest
        estimated = largest["energy_provenance"] == ["estimate"]
        out.append(from_interval("compute", f"energy_per_sample/{family}",
                                 f"energy per training sample, geometric mean ({largest['condition']})",
                                 largest["energy_j_per_sample"], unit="J",
                                 label="estimate" if estimated else "measured",
                                 method=",".join(largest["energy_provenance"])))
    zero = f["zero_tradeoff"]
    if zero.get("available") and len(zero["table"]) > 1:
        top = zero["table"][-1]
        out.append(from_interval("compute", "zero_memory_ratio",
                                 f"peak memory per worker, ZeRO {top['zero_stage']} / ZeRO {zero['baseline']} "
                                 "(geometric mean of paired seed ratios)", top["relative_memory"], unit="ratio",
                                 null=1.0))
    return as_dicts(out)
