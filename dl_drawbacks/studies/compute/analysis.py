"""Findings of the compute study, each from a one-factor comparison or one condition, with intervals over seeds.

How the field does it, followed here: steady-state step time (evaluation excluded) against FLOPs per step as
an affine law, fixed overhead + cost per FLOP (Hockney's t0 + n/r∞, ``affine.py``), and against model size as a
power law fitted in log space (Kaplan et al. 2020, eq. 1.1-1.3); MFU = analytic training FLOP/s over the
device's stated dense peak (PaLM, Chowdhery et al. 2022, appendix B: 6N + 12·L·d·T FLOPs per token), not
reported without one; strong/weak scaling efficiency against the smallest worker count with the engine held
fixed; ZeRO memory/time against stage 0 on the same workers, beside the model-state saving the ZeRO paper
expects (Rajbhandari et al. 2020); energy per sample from device counters, or an estimate labelled as one
(Strubell et al. 2019; Henderson et al. 2020 report energy with its measurement method). Every trial records
its host's load; timing findings over trials above ``max_load_per_cpu`` are flagged.
Every interval is a Student-t interval over seeds of one condition (``statistics.t_interval``); the strictly
positive quantities (times, ratios, energies, costs, MFU, throughput) on the log scale: geometric means and
per-seed log-ratios (``statistics.POSITIVE``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ...statistics import POSITIVE, REAL, Domain, Interval, t_interval, value_range
from .affine import AffineTimeFit
from .scaling import PowerLawFit, scaling_efficiency
from .table import CONDITION_FACTORS, condition_label, differing_factors, one_factor_groups

BASELINE_FIRST = ("fp32", "bf16", "fp16")  # precision order; numbers (ZeRO stage) sort as numbers
STEP_TIME = "step_time_mean"  # steady-state mean step period: every-10th-step flushes inside, evaluation outside
MFU_NOT_REPORTED = ("not reported: no stated peak for this device (a matmul calibration is recorded beside it, "
                    "never used as a peak)")
ESTIMATE_ONLY = ("energy is an estimate (each worker's CPU seconds x watts per core): it is proportional to CPU time "
                 "by construction, so its scaling with parameters repeats the time fit and is no evidence")


def over_seeds(values: Any, domain: Domain = POSITIVE) -> dict[str, Any]:
    """Mean (geometric for a positive quantity) and 95% Student-t interval over the seeds of one condition."""
    return t_interval(np.asarray(list(values), dtype=float), domain=domain, over="seeds").to_dict()


def energy_is_estimate(table: pl.DataFrame) -> bool:
    provenances = {p for ps in table["energy_provenance"].drop_nulls() for p in ps.split(",")}
    return provenances <= {"estimate"}


def _parameter_range(part: pl.DataFrame) -> list[int] | None:
    """[fewest, most] parameters of the finite counts (a range); None when no trial recorded one."""
    counts = part["parameters"].fill_nan(None).drop_nulls()
    return [int(counts.min()), int(counts.max())] if counts.len() else None


def size_scaling(table: pl.DataFrame) -> dict[str, Any]:
    """Per size comparison: steady-state step time against FLOPs per step (affine) and against parameters (power
    law), and, with a device counter, energy against parameters."""
    fits = {}
    for fixed, part in one_factor_groups(table, "size"):
        time_fit = PowerLawFit("parameters", STEP_TIME).fit(part)
        entry = {"family": fixed["family"], "condition": condition_label(fixed), "time": time_fit.summary(),
                 "affine": AffineTimeFit("flops_per_step", STEP_TIME).fit(part).summary(),
                 "parameters_range": _parameter_range(part),
                 "trials": part.height, "sizes": part["size"].n_unique(), "trial_ids": part["trial_id"].to_list()}
        entry["energy"] = ({"available": False, "reason": ESTIMATE_ONLY} if energy_is_estimate(part)
                           else PowerLawFit("parameters", "energy").fit(part).summary())
        fits.setdefault(str(fixed["family"]), entry)  # the first comparison per family (spec order)
    if not fits:
        return {"available": False, "reason": "no trials that differ only in model size"}
    return fits


def host_load(table: pl.DataFrame, threshold: float) -> dict[str, Any]:
    """Which trials were timed on a host above ``threshold`` (1-minute load average per CPU, the larger of the
    readings at the start and end of training on any rank), and the CPU time stolen from them."""
    load = table.select("trial_id", "load_per_cpu", "cpu_steal")
    recorded = load.filter(pl.col("load_per_cpu").is_not_null())
    above = recorded.filter(pl.col("load_per_cpu") > threshold)["trial_id"].to_list()
    return {"max_load_per_cpu": threshold, "trials": table.height, "recorded": recorded.height,
            "above": above, "load_per_cpu": value_range(recorded["load_per_cpu"].to_numpy(), over="trials").to_dict(),
            "cpu_steal": value_range(load["cpu_steal"].drop_nulls().to_numpy(), over="trials").to_dict()}


def worker_scaling(table: pl.DataFrame) -> dict[str, Any]:
    """Strong (global batch fixed) or weak (micro-batch fixed) scaling, the engine and ZeRO stage held fixed."""
    for fixed, part in one_factor_groups(table, "workers", also_vary=("micro_batch",)):
        mode, rows = scaling_efficiency(part)
        if mode != "mixed":
            return {"available": True, "mode": mode, "condition": condition_label(fixed), "table": rows}
    if table.height and table["workers"].n_unique() > 1:
        others = differing_factors(table, "workers")
        return {"available": False, "mode": "none", "table": [],
                "reason": "no trials differ only in workers (and micro-batch); they also differ in "
                          f"{', '.join(others)}: e.g. set trainer.engine: deepspeed so 1 and N workers use one engine"}
    return {"available": False, "mode": "none", "table": [], "reason": "one worker count only"}


def _paired_ratio(part: pl.DataFrame, base: pl.DataFrame, column: str) -> dict[str, Any]:
    """Ratio to the baseline condition, seed by seed (same seed paired): geometric mean of the per-seed ratios
    and the t interval of their logs mapped back (a log-ratio interval)."""
    joined = part.select("seed", column).join(base.select("seed", pl.col(column).alias("base")), on="seed")
    ratios = (joined[column] / joined["base"]).to_numpy() if joined.height else np.array([])
    return over_seeds(ratios[np.isfinite(ratios)])


def _paired_saving(cell: pl.DataFrame, base: pl.DataFrame) -> dict[str, Any]:
    """Measured peak-memory saving against the baseline, seed by seed (baseline − cell), t interval over seeds."""
    joined = cell.select("seed", "peak_memory_increase").join(
        base.select("seed", pl.col("peak_memory_increase").alias("base")), on="seed")
    return over_seeds((joined["base"] - joined["peak_memory_increase"]).to_numpy(), REAL)


def _model_states_dominate(expected: float | None, measured: dict[str, Any]) -> tuple[bool, str]:
    """(True, "") when the ZeRO paper's expected model-state saving exceeds the half-width of the measured saving's
    interval over seeds (the sampled-RSS noise); else (False, why)."""
    if expected is None or not np.isfinite(expected):
        return False, "no expected model-state saving recorded"
    if measured.get("low") is None:
        return False, f"the RSS noise is not measurable ({measured.get('reason')})"
    noise = (measured["high"] - measured["low"]) / 2
    if abs(expected) > noise:
        return True, ""
    return False, (f"model states do not dominate: the ZeRO paper expects a {expected / 2**20:.3g} MiB saving, inside "
                   f"±{noise / 2**20:.3g} MiB of sampled-RSS noise over seeds")


def factor_tradeoff(table: pl.DataFrame, factor: str) -> dict[str, Any]:
    """Step time and peak memory per value of ``factor`` (ZeRO stage, precision), everything else fixed, with the
    model-state bytes the ZeRO paper expects per worker and the saving it expects against the baseline."""
    for fixed, part in one_factor_groups(table, factor):
        values = sorted(part[factor].unique().to_list(),
                        key=lambda v: (BASELINE_FIRST.index(v) if v in BASELINE_FIRST else len(BASELINE_FIRST), v))
        base = part.filter(pl.col(factor) == values[0])
        base_states = base["model_states_expected"].drop_nulls()
        rows = []
        for value in values:
            cell = part.filter(pl.col(factor) == value)
            states = cell["model_states_expected"].drop_nulls()
            expected = float(base_states.mean() - states.mean()) if states.len() and base_states.len() else None
            measured = _paired_saving(cell, base)
            dominates = _model_states_dominate(expected, measured) if value != values[0] else (False, "baseline")
            rows.append({factor: value, "seeds": cell.height,
                         "model_states_expected_bytes": float(states.mean()) if states.len() else None,
                         "expected_saving_bytes": expected, "measured_saving_bytes": measured,
                         "model_states_dominate": dominates[0], "dominance_reason": dominates[1] or None,
                         "step_time_s": over_seeds(cell["step_time_median"]),
                         "peak_memory_increase_bytes": over_seeds(cell["peak_memory_increase"], REAL),
                         "relative_time": _paired_ratio(cell, base, "step_time_median"),
                         "relative_memory": _paired_ratio(cell, base, "peak_memory_increase")})
        return {"available": True, "condition": condition_label(fixed), "baseline": values[0], "table": rows}
    return {"available": False, "table": [], "reason": f"no trials that differ only in {factor}"}


def _mfu(part: pl.DataFrame) -> dict[str, Any]:
    """MFU over seeds against the stated peak; without a stated peak, the reason it is not reported."""
    if part["mfu"].drop_nulls().len() == 0:
        return Interval(None, None, None, "student-t", 0.95, "seeds", {"seeds": 0}, MFU_NOT_REPORTED,
                        str(POSITIVE)).to_dict()
    return over_seeds(part["mfu"])


def per_condition(table: pl.DataFrame, measure: Any) -> list[dict[str, Any]]:
    """Energy, CO2e and cost per training sample and MFU, one entry per condition, intervals over seeds."""
    out = []
    fixed = [c for c in CONDITION_FACTORS if c in table.columns]
    varying = tuple(c for c in fixed if table[c].n_unique() > 1) or ("family",)  # what tells conditions apart
    for key, part in table.group_by(fixed, maintain_order=True):
        condition = dict(zip(fixed, key))
        per_sample = part["energy"] / part["samples_total"]
        steady = part["energy_steady"] / part["samples_steady"]
        kwh = per_sample / 3.6e6
        cores = part["workers"] * part["cpus_per_worker"]
        hours = part["device_seconds"] / 3600
        price = [measure.price_per_gpu_hour * w if g else measure.price_per_cpu_hour * c
                 for w, g, c in zip(part["workers"], part["use_gpu"], cores)]
        cost = hours * pl.Series(price, dtype=pl.Float64) / part["samples_total"]
        out.append({"condition": condition_label(condition, only=varying), "factors": condition, "seeds": part.height,
                    "trial_ids": part["trial_id"].to_list(),
                    "parameters": float(part["parameters"].max()) if part["parameters"].drop_nulls().len() else None,
                    "energy_j_per_sample": over_seeds(per_sample), "energy_j_per_sample_steady": over_seeds(steady),
                    "co2e_g_per_sample": over_seeds(kwh * measure.pue * measure.carbon_intensity_g_per_kwh),
                    "cost_usd_per_sample": over_seeds(cost), "mfu": _mfu(part),
                    "achieved_flops": over_seeds(part["achieved_flops"]),
                    "matmul_calibration_flops": over_seeds(part["matmul_calibration_flops"]),
                    "load_per_cpu": value_range(part["load_per_cpu"].drop_nulls().to_numpy(), over="seeds").to_dict(),
                    "samples_per_second": over_seeds(part["samples_per_second"]),
                    "energy_provenance": sorted({p for ps in part["energy_provenance"].drop_nulls()
                                                 for p in ps.split(",")})})
    return out


def flop_check(table: pl.DataFrame) -> dict[str, Any]:
    """Counted (FlopCounterMode on the meta device, attention included) over analytic FLOPs, per family."""
    out = {}
    for (family,), part in table.group_by("family", maintain_order=True):
        ratio = (part["flops_per_sample_counted"] / part["flops_per_sample_analytic"]).drop_nulls()
        out[str(family)] = value_range(ratio.to_numpy(), over="model sizes and conditions").to_dict()
    return out or {"available": False, "reason": "no trials"}


def energy_to_target(rows: pl.DataFrame, table: pl.DataFrame, target: float) -> dict[str, Any]:
    """Energy until test accuracy first reaches ``target``, per condition: the trial's energy x (that step /
    steps run), i.e. energy attributed to steps in proportion (steps take equal time in steady state)."""
    acc = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "test") & pl.col("step").is_not_null())
    hit = acc.filter(pl.col("value") >= target).group_by("trial_id").agg(pl.col("step").min().alias("step_reached"))
    t = table.select("trial_id", "family", "size", "seed", "energy", "steps").join(hit, on="trial_id", how="left")
    t = t.with_columns((pl.col("energy") * pl.col("step_reached") / pl.col("steps")).alias("energy_to_target_j"))
    return {"target_accuracy": target, "reached": int(t["step_reached"].is_not_null().sum()), "trials": t.height,
            "table": t.drop("energy").to_dicts()}
