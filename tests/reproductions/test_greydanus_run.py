"""The MNIST-1D table end to end at a reduced budget (`-m slow`): the suite's own spec, run by `dl-drawbacks run`,
writes its Reproductions section and reproductions.json with one verdict per published value. The fast equivalent is
tests/reproductions/test_greydanus_fixture.py (the verdicts of committed rows from the spec's full run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.reproduce.verdict import VERDICTS

pytestmark = [pytest.mark.ray, pytest.mark.slow]
SPEC = Path(__file__).resolve().parents[2] / "studies" / "reproductions" / "greydanus2020-mnist1d.yaml"


def test_the_mnist1d_table_runs_end_to_end_at_a_reduced_budget(ray_cluster, tmp_path):
    out = tmp_path / "run"
    reduced = ["studies[0].seeds=[0,1]", "studies[0].treatment.min_steps=400", "studies[0].treatment.evaluations=8",
               "tracking.mode=disabled"]
    assert main(["run", str(SPEC), *reduced, "--out", str(out)]) == 0
    found = json.loads((out / "reproductions.json").read_text())
    assert found["paper"]["authors"] == "Greydanus"
    verdicts = {v["claim"]: v for v in found["verdicts"]}
    assert len(verdicts) == 5 and all(v["verdict"] in VERDICTS for v in verdicts.values())
    cnn = verdicts["CNN test accuracy"]["ours"]
    assert 0.3 < cnn["estimate"] < 1 and cnn["low"] < cnn["estimate"] < cnn["high"]
    assert cnn["over"] == "2 seeds × 1000 test samples"
    report = (out / "report.md").read_text()
    assert report.index("## Reproductions") < report.index("## data")
    assert "| paper | published | ours (interval, over) | tolerance | verdict | why |" in report
