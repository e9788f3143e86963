"""Plug-ins: a team's model family and dataset, from a package outside dl_drawbacks, planned and run through Ray."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from dl_drawbacks.errors import SpecError
from dl_drawbacks.plugins import plugin_sources
from dl_drawbacks.plan import checked_spec

PLUGIN_DIR = Path(__file__).resolve().parent / "plugins"


def _spec(plugins: list[str]) -> dict:
    return {"name": "team", "version": 1, "plugins": plugins, "tracking": {"mode": "disabled"},
            "studies": [{"kind": "compute", "data": {"name": "noisy_digits"}, "model": {"family": "tiny_cnn", "size": "s"},
                         "trainer": {"budget": {"steps": 4, "eval_every": 2}, "micro_batch": 32},
                         "seeds": [0]}]}


def test_unknown_plugin_module_is_one_line():
    with pytest.raises(SpecError, match=r"plugins: cannot import 'no_such_team_module'.*PYTHONPATH"):
        checked_spec(_spec(["no_such_team_module"]))


def test_without_the_plugin_the_names_are_unknown():
    with pytest.raises(SpecError, match="unknown dataset 'noisy_digits'"):
        checked_spec(_spec([]))


def test_plugin_sources_ship_local_packages_not_installed_ones(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    assert plugin_sources(["team_plugin"]) == [str(PLUGIN_DIR / "team_plugin")]
    assert plugin_sources(["yaml"]) == []  # an installed package: every node has it already


@pytest.mark.ray
def test_a_compute_study_runs_on_the_teams_model_and_data(ray_cluster, tmp_path):
    """The driver (a subprocess that has the plug-in on its path) joins the session's cluster, whose workers do
    not: the plug-in reaches them only by being shipped (and no second Ray cluster is started)."""
    import ray

    spec = tmp_path / "team.yaml"
    spec.write_text(yaml.safe_dump(_spec(["team_plugin"])))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PLUGIN_DIR), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "run"
    address = ray.get_runtime_context().gcs_address
    done = subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(spec), "--out", str(out),
                           "--address", address], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = pl.concat([pl.read_parquet(p) for p in out.glob("trials/*/rows.parquet")])
    params = rows.filter(pl.col("metric") == "parameters")["value"].to_list()
    assert params == [1 * 4 * 9 + 4 + 4 * 64 * 10 + 10]  # the plug-in's TinyCNN (channels 4) was built on the worker
    assert rows.filter(pl.col("metric") == "accuracy").height > 0
