"""Study kind ``lcdb``: the data study's curve fitting on LCDB 1.0's shipped learning curves, no training.

Each trial reads the curves of one LCDB learner (``treatment.learner``, at most ``max_curves`` data sets) and runs
LCDB's extrapolation protocol (Mohr, Viering, Loog & van Rijn 2022, sec. 5; ``lcdb.py``) on the driver: per curve
and cut (``treatment.cuts``, default 10 / 30 / 50% of the largest n) one row per measured quantity (the chosen
family's, POW4's and MMF4's absolute error at the largest anchor; held-out anchors covered by the 95% band). The
analysis rebuilds the per-cut summaries from those rows alone (BCa over curves, ``statistics.bootstrap_interval``)
and adds the paired change of the chosen family's error from the first cut to the last (does more of the curve help?).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from ...registry import STUDIES
from ...rows import RowBuffer
from ...statistics import REAL, bootstrap_interval
from ..base import StudyKind
from .lcdb import CUTS, REFERENCES, extrapolate, lcdb_accuracy_csv, read_curves, summarize

ERRORS = ("best", *REFERENCES)


class LcdbTreatment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    learner: str = Field(description="the LCDB learner whose curves this trial fits (e.g. SVC_linear)")
    max_curves: int = Field(40, ge=1, description="at most this many of its curves (data sets in LCDB's order)")
    n_bootstrap: int = Field(100, ge=10, description="bootstrap replicates of each fit's 95% band")
    cuts: tuple[float, ...] = Field(CUTS, min_length=1, description="shares of the largest n whose anchors are fitted")
    path: str | None = Field(None, description="an LCDB accuracy CSV; default: the installed lcdb package's")


class LcdbOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    seed: int = Field(0, ge=0, description="seed of the bootstrap intervals over curves")


def _csv(path: str | None) -> Path:
    if path is None:
        return lcdb_accuracy_csv()
    if not Path(path).is_file():
        raise ValueError(f"treatment.path: no LCDB accuracy CSV at {path!r}")
    return Path(path)


def lcdb_rows(trial: Any, run_id: str) -> pl.DataFrame:
    """One trial's rows: per curve (group ``openmlid/learner``) and cut (``step``: percent of the largest n)."""
    t = LcdbTreatment.model_validate(trial.treatment)
    curves = read_curves(_csv(t.path), learners=[t.learner], max_curves=t.max_curves)
    rows = RowBuffer(trial.study, run_id, trial.trial_id, trial.seed, trial.factors)
    rows.add("curves", len(curves), "count", provenance="LCDB 1.0")
    for (oid, learner), curve in curves.items():
        group = f"{oid}/{learner}"
        for cut in t.cuts:
            r = extrapolate(curve, cut, n_bootstrap=t.n_bootstrap)
            step = round(cut * 100)
            if not r["available"]:
                rows.add("not_judged", 1.0, "flag", group=group, step=step, provenance=r["reason"])
                continue
            rows.add("anchors_used", r["anchors_used"], "count", group=group, step=step, provenance=r["family"])
            for name in ERRORS:
                value = r["abs_error"][name]
                rows.add(f"abs_error_{name}", float("nan") if value is None else value, "error", group=group,
                         step=step, provenance="fitted")
            rows.add("covered", r["covered"], "count", group=group, step=step)
            rows.add("held_out", r["held_out"], "count", group=group, step=step)
    return rows.frame()


def results_from_rows(rows: pl.DataFrame) -> dict[int, dict[str, dict[str, Any]]]:
    """cut (percent) -> curve -> the result dict ``extrapolate`` returned, rebuilt from the rows."""
    out: dict[int, dict[str, dict[str, Any]]] = {}
    measured = rows.filter(pl.col("step").is_not_null()).sort("step", "group")  # curves in one order: same intervals
    for (group, step), part in measured.group_by("group", "step", maintain_order=True):
        values = dict(zip(part["metric"].to_list(), part["value"].to_list()))
        notes = dict(zip(part["metric"].to_list(), part["provenance"].to_list()))
        if "not_judged" in values:
            result = {"available": False, "reason": notes["not_judged"]}
        else:
            errors = {n: values[f"abs_error_{n}"] for n in ERRORS}
            result = {"available": True, "family": notes["anchors_used"], "anchors_used": int(values["anchors_used"]),
                      "abs_error": {n: None if v is None or np.isnan(v) else v for n, v in errors.items()},
                      "covered": int(values["covered"]), "held_out": int(values["held_out"])}
        out.setdefault(int(step), {})[group] = result
    return out


def error_change(by_cut: dict[int, dict[str, dict[str, Any]]], first: int, last: int, *, seed: int) -> dict:
    """The chosen family's absolute error at the first cut minus at the last, paired by curve (positive: seeing
    more of the curve helps), BCa over the curves judged at both."""
    a, b = by_cut.get(first, {}), by_cut.get(last, {})
    pairs = [a[c]["abs_error"]["best"] - b[c]["abs_error"]["best"] for c in sorted(a)
             if c in b and a[c]["available"] and b[c]["available"]]
    return bootstrap_interval(np.array(pairs), domain=REAL, over="curves", seed=seed).to_dict()


@STUDIES.register("lcdb")
class LcdbStudy(StudyKind):
    name = "lcdb"
    question = (
        "On real learning curves (LCDB 1.0), does the data study's curve fitting extrapolate as well as LCDB's "
        "reference families, better with more anchors, and do its 95% bands cover the held-out anchors?"
    )
    Treatment = LcdbTreatment
    Options = LcdbOptions
    descriptors: ClassVar[dict[str, str]] = {"learner": "treatment.learner"}

    def check(self, study: Any, options: Any) -> None:
        """A CSV the spec names must exist; the optional lcdb package is looked for when the trials run, so that a
        suite without it lists this spec as not run and runs the others."""
        if study.treatment.get("path") is not None:
            _csv(study.treatment["path"])

    def run_trials(self, study: Any, options: Any, todo: list, *, runner: Any) -> None:
        """No training: each trial's rows come from LCDB's curves, fitted on the driver."""
        for trial in todo:
            started = time.time()
            rows = lcdb_rows(trial, runner.run_id)
            runner.folder.write_trial(trial.trial_id, rows, {
                "status": "completed", "error": None, "started": started, "finished": time.time(),
                "wall_seconds": time.time() - started, "sweep": trial.sweep, "study": trial.study})

    def analyze(self, rows: pl.DataFrame, options: LcdbOptions, *, measure: Any) -> dict[str, Any]:
        by_cut = results_from_rows(rows)
        cuts = {f"{c}%": summarize(list(by_cut[c].values()), seed=options.seed) for c in sorted(by_cut)}
        first, last = min(by_cut, default=0), max(by_cut, default=0)
        return {
            "question": self.question,
            "learners": sorted({g.partition("/")[2] for part in by_cut.values() for g in part}),
            "cuts": cuts,
            "error_change": {"first_cut": f"{first}%", "last_cut": f"{last}%",
                             "interval": error_change(by_cut, first, last, seed=options.seed)},
            "intervals": "95% BCa bootstrap over curves; not measurable below 10 curves",
        }

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        def cell(iv: dict[str, Any]) -> str:
            if iv.get("low") is None:
                return f"not measurable ({iv.get('reason')})"
            return f"{iv['estimate']:.3g} [{iv['low']:.3g}, {iv['high']:.3g}]"

        lines = [f"**{findings['question']}**", "",
                 f"Learners: {', '.join(findings['learners'])}. {findings['intervals']}.", "",
                 "| cut | curves judged | abs. error (chosen) | chosen − POW4 | chosen − MMF4 | band coverage |",
                 "|---|---|---|---|---|---|"]
        for cut, s in findings["cuts"].items():
            lines.append(f"| {cut} | {s['judged']} of {s['curves']} | {cell(s['abs_error_best'])} | "
                         f"{cell(s['best_minus_pow4'])} | {cell(s['best_minus_mmf4'])} | {cell(s['coverage'])} |")
        change = findings["error_change"]
        lines += ["", f"Error at {change['first_cut']} minus at {change['last_cut']} (paired by curve): "
                      f"{cell(change['interval'])}."]
        return "\n".join(lines)
