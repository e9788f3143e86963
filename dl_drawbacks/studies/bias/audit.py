"""Audit mode: the fairness of decisions someone else made. Nothing is trained; a table of existing
scores, labels and groups (here ProPublica's COMPAS file, ``data.compas``) is scored with the same
metrics, nested intervals and verdicts as the bias study.

What ProPublica reported (Angwin et al. 2016, compas-analysis notebook): COMPAS decile ≥ 5 ("medium"
or "high") = high risk; false positive rate = labelled high risk among those who did not reoffend in two
years, false negative rate = labelled low risk among those who did. With aif360's orientation used here
(label 1 = no reoffence, prediction 1 = low risk) ProPublica's FPR is P(ŷ=0 | y=1) = our ``fnr`` and its
FNR is P(ŷ=1 | y=0) = our ``fpr``; ``propublica_rates`` names them ProPublica's way. Calibration within
groups (Chouldechova 2017; Flores et al. 2016): the reoffence rate per decile, per group. The decisions
are fixed, so the intervals are over defendants only (test-sample bootstrap; no seeds).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from ...headline import Headline
from ...registry import STUDIES
from ...rows import RowBuffer
from ...storage.files import json_safe
from .compas_reference import decile_decisions
from .group_names import record_group_names
from .kind import BiasStudy, record_outcomes
from .settings import RATE, collect, entry

DECILES = range(1, 11)


class AuditTreatment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    protected: str | list[str] = Field(description="protected attribute(s) of the audited table: race, sex or both")
    high_risk_at: int = Field(
        5, ge=2, le=10, description="decile from which a defendant counts as high risk (ProPublica: 5)"
    )
    mitigation: Literal["none"] = Field("none", description="always none: an audit changes no decision")
    unprivileged_share: None = Field(None, description="always null: the table's own composition")

    @property
    def attributes(self) -> list[str]:
        return [self.protected] if isinstance(self.protected, str) else list(self.protected)


def audit_rows(trial, run_id: str) -> pl.DataFrame:
    """The audit trial's rows: COMPAS decisions scored like a model's test predictions."""
    from ...data.compas import GROUP_NAMES, read_compas

    t = AuditTreatment.model_validate(trial.treatment)
    frame = read_compas(trial.data.options.get("path"))
    decile = frame["decile_score"].to_numpy()
    y = frame["no_recid"].to_numpy().astype(np.int64)
    yhat, score = decile_decisions(decile, t.high_risk_at)  # ŷ 1 = low risk; decile = round(10.5 − 10·score)
    groups = {"race": frame["race_code"].to_numpy(), "sex": frame["sex_code"].to_numpy()}
    rows = RowBuffer(trial.study, run_id, trial.trial_id, trial.seed, trial.factors)
    rows.add("mitigation_feasible", 1.0, "flag", split="test", provenance="audit: no mitigation")
    rows.add("audited_rows", frame.height, "count", split="test", provenance="ProPublica filter")
    record_group_names(rows, GROUP_NAMES, t.attributes)
    record_outcomes(rows, t.attributes, y, yhat, score, {a: groups[a] for a in t.attributes})
    return rows.frame()


def _decile_rate(decile: int, group: str, groups: dict[str, np.ndarray]):
    from .sample_stats import split_sample

    def stat(s: np.ndarray) -> float:
        cell, y, _, score = split_sample(s)
        m = groups[group][cell] & (np.rint(10.5 - 10 * score).astype(int) == decile)
        return float(1 - y[m].mean()) if m.any() else float("nan")

    return stat


def audit_findings(rows: pl.DataFrame, resamples: int) -> dict[str, Any]:
    """ProPublica's error rates and calibration within groups for every audited setting."""
    out = {}
    for key, s in collect(rows).items():
        if not s.samples:
            out[key[0]] = {"available": False, "reason": "no audited rows"}
            continue
        from .sample_stats import group_rate

        groups = s.groups
        names = [g for g in groups if g not in ("all", "privileged", "unprivileged")]
        rates = {
            g: {
                "false_positive_rate": entry(s.samples, group_rate("fnr", g, groups), resamples, domain=RATE),
                "false_negative_rate": entry(s.samples, group_rate("fpr", g, groups), resamples, domain=RATE),
                "high_risk_rate": entry(
                    s.samples, lambda a, g=g: 1 - group_rate("selection_rate", g, groups)(a), resamples, domain=RATE
                ),
            }
            for g in names
        }
        calibration = {
            g: [
                {"decile": d, "reoffence_rate": entry(s.samples, _decile_rate(d, g, groups), resamples, domain=RATE)}
                for d in DECILES
            ]
            for g in ("privileged", "unprivileged")
        }
        out[key[0]] = {
            "available": True,
            "rows": len(s.samples[0]),
            "propublica_rates": rates,
            "calibration_within_groups": calibration,
            "definitions": {
                "false_positive_rate": "labelled high risk (decile ≥ cut) among those who did not reoffend",
                "false_negative_rate": "labelled low risk among those who reoffended within two years",
            },
        }
    return out


@STUDIES.register("bias_audit")
class BiasAuditStudy(BiasStudy):
    name = "bias_audit"
    question = "Are decisions someone else made (COMPAS decile scores, ≥ 5 = high risk) fair across races?"
    Treatment = AuditTreatment
    probabilities = False  # the audited score is a decile rank: reliability by decile, no ECE
    descriptors: ClassVar[dict[str, str]] = {"dataset": "data.name", "protected": "treatment.protected"}

    def check(self, study: Any, options: Any) -> None:
        from ...data.compas import compas_file

        if study.data.name != "compas":
            raise ValueError(
                f"data.name: the bias_audit kind audits the COMPAS decile scores (data.name: compas), "
                f"not {study.data.name!r}"
            )
        compas_file(study.data.options.get("path"))

    def run_trials(self, study: Any, options: Any, todo: list, *, runner: Any) -> None:
        """No training: each trial's rows come straight from the audited table (on the driver)."""
        for trial in todo:
            started = time.time()
            rows = audit_rows(trial, runner.run_id)
            runner.folder.write_trial(
                trial.trial_id,
                rows,
                {
                    "status": "completed",
                    "error": None,
                    "started": started,
                    "finished": time.time(),
                    "wall_seconds": time.time() - started,
                    "sweep": trial.sweep,
                    "study": trial.study,
                },
            )

    def analyze(self, rows: pl.DataFrame, options: Any, *, measure: Any) -> dict[str, Any]:
        findings = super().analyze(rows, options, measure=measure)
        findings["audit"] = audit_findings(rows, options.resamples)
        return json_safe(findings)

    def report(self, findings: dict[str, Any], figures: list) -> str:
        from .report import audit_markdown, bias_markdown

        return audit_markdown(findings) + "\n\n" + bias_markdown(findings, figures, group_table=False)

    def headlines(self, findings: dict[str, Any]) -> list[Headline]:
        from .report import audit_headlines

        from .report import bias_headlines

        return audit_headlines(findings) + bias_headlines(findings, group_errors=False)
