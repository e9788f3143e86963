"""The compute study's section of the report, and its headline rows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ...headline import Headline, from_interval
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


def _affine_rows(fits: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for family, f in fits.items():
        a = f["affine"]
        if not a["available"]:
            rows.append([family, "n/a", a["reason"], "", "", ""])
            continue
        rate = a["marginal_flops_per_s"]
        rows.append([family, _ci(a["seconds_per_tflop"]), _ci(a["overhead_s"], 1e3), fmt(a["overhead_share_smallest"]),
                     fmt(rate) if rate else "n/a (slope ≤ 0)",
                     f"{fmt(a['flops_per_step_range'][0])}–{fmt(a['flops_per_step_range'][1])}"])
    return rows


def _size_section(fits: dict[str, Any]) -> list[str]:
    out = ["### Cost against FLOPs and parameter count", ""]
    if fits.get("available") is False:
        return out + [f"Not measurable: {fits['reason']}.", ""]
    out += ["Steady-state step time (the mean step period after warm-up: every-10th-step loss reads inside, "
            "evaluation outside) against FLOPs per step, as a fixed overhead t0 plus a cost c per FLOP (Hockney's "
            "t0 + n/r∞; weighted least squares over size means, 95% Student-t intervals over model sizes):", "",
            table(["family", "c: s per TFLOP [95%]", "t0: overhead (ms) [95%]", "t0 share of smallest step",
                   "marginal FLOP/s (1/c)", "FLOPs per step"], _affine_rows(fits)), ""]
    rows = []
    for family, f in fits.items():
        for what, label in (("time", "step time"), ("energy", "energy")):
            s = f[what]
            if s.get("available") is False and "reason" in s:
                rows.append([family, label, "n/a", s["reason"], "", "", ""])
                continue
            interval = s["interval95"]
            rows.append([family, label, fmt(s["exponent"]),
                         f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval else s["interval"]["reason"],
                         fmt(s["r2"]), f"{s['distinct_x']} ({s['n_points']})",
                         f"{f['parameters_range'][0]:,}–{f['parameters_range'][1]:,}"])
    out += [table(["family", "cost", "exponent b (cost ∝ N^b)", "95% OLS interval (over size means)", "R²",
                   "sizes (trials)", "parameters"], rows), ""]
    return out + [f"Held fixed: {f['condition']}." for f in fits.values()] + [""]


def _host_section(load: dict[str, Any] | None) -> list[str]:
    out = ["### Host load", ""]
    if not load or not load["recorded"]:
        return out + ["No trial recorded its host load (rows written before it was recorded).", ""]
    lo, hi = load["load_per_cpu"]["low"], load["load_per_cpu"]["high"]
    steal = load["cpu_steal"]
    line = ("1-minute load average per CPU at the start and end of training, highest over ranks: "
            f"{fmt(lo)}–{fmt(hi)} (range over {load['recorded']} trials)")
    if steal["n"]:
        line += f"; CPU time stolen by the hypervisor during training {fmt(steal['low'])}–{fmt(steal['high'])}"
    above = load["above"]
    flag = (f" **{len(above)} of {load['trials']} trials ran above {fmt(load['max_load_per_cpu'])} per CPU**: their "
            "timings (and an energy estimate, which is CPU time × watts) measure the neighbours as well as the code; "
            "the timing headlines that rest on them say so." if above else
            f" No trial ran above {fmt(load['max_load_per_cpu'])} per CPU.")
    return out + [line + "." + flag, ""]


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
    mib = 2**-20
    rows = [[r[col], r["seeds"], _ci(r["step_time_s"], 1e3), _ci(r["relative_time"]),
             _ci(r["peak_memory_increase_bytes"], mib), _ci(r["relative_memory"]),
             fmt(r["model_states_expected_bytes"] * mib) if r.get("model_states_expected_bytes") is not None else "n/a",
             fmt(r["expected_saving_bytes"] * mib) if r.get("expected_saving_bytes") is not None else "n/a",
             _ci(r["measured_saving_bytes"], mib) if r[col] != found["baseline"] else "—"] for r in found["table"]]
    out += [table([col, "seeds", "median step time (ms), geo. mean", "relative time",
                   "peak memory increase / worker (MiB)", "relative memory", "model states / worker, expected (MiB)",
                   "expected saving (MiB)", "measured saving (MiB), paired"], rows), ""]
    out += ["Expected: parameters + gradients + optimizer states per worker by the ZeRO paper's count (Rajbhandari et "
            "al. 2020: 2Ψ + 2Ψ + KΨ bytes in 16-bit with Adam, K = 12; 4Ψ + 4Ψ + 8Ψ in fp32; partitioned over "
            "the workers by stage); the measured peak also holds activations, buffers and the allocator's reserve."]
    weak = [f"{col} {r[col]}: {r['dominance_reason']}" for r in found["table"]
            if r[col] != found["baseline"] and not r.get("model_states_dominate")]
    return out + ([f"Not headlined — {'; '.join(weak)}."] if weak else []) + [""]


def _range(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("low") is None:
        return "n/a"
    return fmt(entry["low"]) if entry["low"] == entry["high"] else f"{fmt(entry['low'])}–{fmt(entry['high'])}"


def _condition_section(f: dict[str, Any]) -> list[str]:
    out = ["### Energy, CO2e, cost and MFU per condition", "",
           "Geometric mean over seeds [95% Student-t interval of the logs over seeds, mapped back: every quantity here "
           "is positive]; one seed gives the value alone.", ""]
    rows = [[c["condition"], c["seeds"], _ci(c["energy_j_per_sample"]), _ci(c["energy_j_per_sample_steady"]),
             _ci(c["co2e_g_per_sample"]), _ci(c["cost_usd_per_sample"]),
             _ci(c["mfu"]) if c["mfu"].get("estimate") is not None else "not reported",
             _ci(c.get("achieved_flops")), _ci(c.get("matmul_calibration_flops")), _range(c.get("load_per_cpu"))]
            for c in f["per_condition"]]
    out += [table(["condition", "seeds", "J / sample", "J / sample (steady state)", "gCO2e / sample", "USD / sample",
                   "MFU (stated peak)", "achieved FLOP/s", "matmul calibration FLOP/s", "load / CPU"], rows), ""]
    out += ["MFU divides the achieved training FLOP/s by the device's stated dense peak (NVIDIA datasheets, "
            "``measure/peaks.py``); a device without a stated peak (every CPU) gets none. The matmul calibration is a "
            "large matmul timed in the trial's process on a host under the load beside it: a calibration, not a peak.",
            ""]
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
    peak = ", ".join(f["peak_flops_provenance"]) or "none stated (no MFU; the matmul calibration is a measured rate)"
    out += [f"Energy provenance: **{prov}**.{note} Peak FLOP/s: {peak}. Seeds: {f['seeds']}.", ""]
    out += _host_section(f.get("host_load"))
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


def _load_caveat(f: dict[str, Any], trial_ids: list[str] | None = None) -> str | None:
    """'timed on a loaded host: k of n trials above …' for the trials a timing headline rests on, or None."""
    load = f.get("host_load")
    if not load:
        return None
    ids = set(trial_ids) if trial_ids is not None else None
    above = [t for t in load["above"] if ids is None or t in ids]
    if not above:
        return None
    n = len(ids) if ids is not None else load["trials"]
    return (f"timed on a loaded host: {len(above)} of {n} trials above a load average of "
            f"{fmt(load['max_load_per_cpu'])} per CPU (highest {fmt(load['load_per_cpu']['high'])})")


def _flagged(h: Headline, caveat: str | None) -> Headline:
    if caveat is None:
        return h
    return replace(h, reason=f"{h.reason}; {caveat}" if h.reason else caveat)


def headline_rows(f: dict[str, Any]) -> list[Headline]:
    """Per family: steady-state step time per TFLOP of the affine fit and the step-time exponent in parameters
    (intervals over the size means of the size comparison), energy per sample of the largest size; the memory ratio
    of the highest ZeRO stage (over seeds) where model states dominate the RSS noise. Each is resolved by the
    headline policy (``dl_drawbacks.headline``); timings on a host above the stated load carry that caveat."""
    if "not_measurable" in f:
        return []
    out = []
    fits = f["scaling_with_parameters"]
    for family, fit in ({} if fits.get("available") is False else fits).items():
        caveat = _load_caveat(f, fit["trial_ids"])
        a = fit["affine"]
        overhead = a["overhead_s"].get("estimate")
        text = (f"steady-state step time per TFLOP, affine fit t = t0 + c·FLOPs ({family}; t0 "
                f"{fmt(overhead * 1e3) if overhead is not None else 'n/a'} ms; {fit['condition']})")
        out.append(_flagged(from_interval("compute", f"step_time_per_tflop/{family}", text, a["seconds_per_tflop"],
                                          unit="s/TFLOP", null=0.0, label="fitted",
                                          method="WLS over size means, evaluation excluded"), caveat))
        t = fit["time"]
        out.append(_flagged(from_interval("compute", f"step_time_exponent/{family}",
                                          f"steady-state step time ∝ parameters^b ({family}; {fit['condition']})",
                                          t["interval"], unit="exponent", null=0.0, estimate=t["exponent"],
                                          label="fitted", method="log-log OLS on size means, evaluation excluded"),
                            caveat))
    for family in sorted({c["factors"]["family"] for c in f["per_condition"]}):
        in_fit = set(fits.get(family, {}).get("trial_ids", [])) if fits.get("available") is not False else set()
        conds = [c for c in f["per_condition"] if c["factors"]["family"] == family]
        conds = [c for c in conds if set(c["trial_ids"]) <= in_fit] or conds  # the size comparison's conditions
        largest = max(conds, key=lambda c: (c["seeds"], c["parameters"] or 0))  # best-seeded, then largest
        estimated = largest["energy_provenance"] == ["estimate"]
        head = from_interval("compute", f"energy_per_sample/{family}",
                             f"energy per training sample, geometric mean ({largest['condition']})",
                             largest["energy_j_per_sample"], unit="J", label="estimate" if estimated else "measured",
                             method=",".join(largest["energy_provenance"]))
        out.append(_flagged(head, _load_caveat(f, largest["trial_ids"]) if estimated else None))  # ∝ CPU time
    zero = f["zero_tradeoff"]
    if zero.get("available") and len(zero["table"]) > 1:
        top = zero["table"][-1]
        expected = top.get("expected_saving_bytes")
        text = (f"peak memory per worker, ZeRO {top['zero_stage']} / ZeRO {zero['baseline']} (geometric mean of paired "
                f"seed ratios; the ZeRO paper expects a {fmt(expected / 2**20) if expected is not None else 'n/a'} "
                "MiB model-state saving)")
        out.append(from_interval("compute", "zero_memory_ratio", text, top["relative_memory"], unit="ratio", null=1.0,
                                 requires=(bool(top.get("model_states_dominate")),
                                           f"not measurable: {top.get('dominance_reason')}")))
    return out
