"""Every study's analyze -> figures -> report -> headlines survives degenerate rows (issue: an analysis never takes
the report down): real rows of a quickstart run, mutated by hypothesis into one seed, one condition, a sweep or a
metric missing, diverged trials, NaN values, a few trials. No exception, strict-JSON findings, and an explicit
reason wherever a finding is missing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dl_drawbacks.spec.models import MeasureSpec
from dl_drawbacks.storage.files import json_safe
from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.headline import as_dicts

ROWS = Path(__file__).resolve().parents[1] / "fixtures" / "rows"
KINDS = sorted(p.stem for p in ROWS.glob("*.parquet"))
REASON_KEYS = ("reason", "not_measurable")


def _trials(rows: pl.DataFrame) -> list[str]:
    return sorted(set(rows["trial_id"].to_list()))


def one_seed(rows: pl.DataFrame, draw: Callable) -> pl.DataFrame:
    seed = draw(st.sampled_from(sorted(set(rows["seed"].to_list()))))
    return rows.filter(pl.col("seed") == seed)


def one_condition(rows: pl.DataFrame, draw: Callable) -> pl.DataFrame:
    """The trials of one setting (every seed of it): one anchor, one width, one mitigation."""
    factors = draw(st.sampled_from(sorted(set(rows["factors"].to_list()))))
    return rows.filter(pl.col("factors") == factors)


def without_sweep(rows: pl.DataFrame, draw: Callable) -> pl.DataFrame:
    sweeps = sorted({s for f in set(rows["factors"].to_list()) for s in str(json.loads(f).get("sweep", "")).split(",")})
    gone = draw(st.sampled_from(sweeps))
    keep = [f for f in set(rows["factors"].to_list()) if gone not in str(json.loads(f).get("sweep", "")).split(",")]
    return rows.filter(pl.col("factors").is_in(keep))


def without_metric(rows: pl.DataFrame, draw: Callable) -> pl.DataFrame:
    metric = draw(st.sampled_from(sorted(set(rows["metric"].to_list()))))
    return rows.filter(pl.col("metric") != metric)


def all_diverged(rows: pl.DataFrame, draw: Callable) -> pl.DataFrame:
    """Every trial diverged: its loss is NaN from the start and its diverged flag is set."""
    return rows.with_columns(
        pl.when(pl.col("metric") == "diverged").then(1.0)
        .when(pl.col("metric").is_in(["loss", "accuracy"])).then(float("nan")).otherwise(pl.col("value")).alias("value"))


MEASURED = ("loss", "accuracy", "step_time", "energy", "power", "train_time")


def nan_values(rows: pl.DataFrame, draw: Callable) -> pl.DataFrame:
    """A share of the measurements that can really come back non-finite (a diverged loss, a meter that failed);
    counts the workers record as integers (parameters, epochs, sample indices) stay as they are."""
    share = draw(st.sampled_from([0.1, 0.5, 1.0]))
    mask = pl.Series([(i * 7919) % 100 < share * 100 for i in range(rows.height)]) & rows["metric"].is_in(MEASURED)
    return rows.with_columns(pl.when(mask).then(float("nan")).otherwise(pl.col("value")).alias("value"))


def few_trials(rows: pl.DataFrame, draw: Callable) -> pl.DataFrame:
    trials = _trials(rows)
    keep = draw(st.lists(st.sampled_from(trials), min_size=1, max_size=min(3, len(trials)), unique=True))
    return rows.filter(pl.col("trial_id").is_in(keep))


MUTATIONS = [one_seed, one_condition, without_sweep, without_metric, all_diverged, nan_values, few_trials]


def missing_without_reason(node: Any, path: str = "") -> list[str]:
    """Paths of findings marked unavailable (``available: False``) that give no reason."""
    out = []
    if isinstance(node, dict):
        if node.get("available") is False and not any(node.get(k) for k in REASON_KEYS):
            out.append(path or "<top>")
        for key, value in node.items():
            out += missing_without_reason(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += missing_without_reason(value, f"{path}[{i}]")
    return out


FEWER_RESAMPLES = {"data": {"n_bootstrap": 20}, "bias": {"resamples": 50}}  # the fewest each allows: the question is
# survival, not an interval's width


def _analyze(kind_name: str, rows: pl.DataFrame, out_dir: Path) -> tuple[dict, str, list]:
    kind = get_kind(kind_name)
    options = kind.Options(**FEWER_RESAMPLES.get(kind_name, {}))
    findings = kind.analyze(rows, options, measure=MeasureSpec())
    figures = kind.figures(rows, findings, out_dir)
    return findings, kind.report(findings, figures), as_dicts(kind.headlines(findings))


def test_fixture_rows_cover_the_six_studies():
    from dl_drawbacks.registry import STUDIES

    six = {"compute", "data", "overfitting", "hparams", "bias", "interpretability"}
    assert six <= set(KINDS) <= set(STUDIES)


def test_the_reason_check_catches_a_silent_gap():
    assert missing_without_reason({"a": {"available": False}}) == ["a"]
    assert missing_without_reason({"a": {"available": False, "reason": "one seed"}, "b": [{"available": True}]}) == []


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_analysis_survives_degenerate_rows(kind, data, tmp_path):
    """Three mutations per study in the default run (18 analyses); the slow test below draws twelve per study."""
    _survives_degenerate_rows(kind, data, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_analysis_survives_many_degenerate_rows(kind, data, tmp_path):
    _survives_degenerate_rows(kind, data, tmp_path)


def _survives_degenerate_rows(kind: str, data: st.DataObject, tmp_path: Path) -> None:
    rows = pl.read_parquet(ROWS / f"{kind}.parquet")
    mutation = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    mutated = mutation(rows, data.draw)
    if mutated.height == 0:  # no rows at all is handled before the analysis (analyze: not measurable)
        return
    findings, section, headlines = _analyze(kind, mutated, tmp_path)
    json.dumps(json_safe(findings), allow_nan=False)
    assert isinstance(section, str) and section.strip()
    assert missing_without_reason(findings) == []
    for h in headlines:
        value = h.get("value")
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            assert any(h.get(k) for k in REASON_KEYS), f"headline {h.get('finding')!r} has no value and no reason"
