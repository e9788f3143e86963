"""COMPAS loader: ProPublica's filter (6,172 rows), duplicated header, orientation, and a missing path."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.data import load_dataset
from dl_drawbacks.data.compas import ENV, compas_file, propublica_filter, read_compas
from dl_drawbacks.errors import DataError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "propublica-compas"
needs_file = pytest.mark.skipif(not (SHARED / "compas-scores-two-years.csv").exists(),
                                reason="ProPublica's file is not shipped (no licence); ../shared/datasets holds it here")


def test_filter_keeps_exactly_propublicas_rows():
    frame = pl.DataFrame({"days_b_screening_arrest": [0, 31, -30, 5, 5, 5], "is_recid": [0, 0, 1, -1, 1, 1],
                          "c_charge_degree": ["F", "F", "M", "F", "O", "F"], "score_text": ["Low", "Low", "High", "Low", "Low", "N/A"]})
    assert propublica_filter(frame).height == 2  # rows 0 and 2


README = Path(__file__).resolve().parents[2] / "README.md"


def test_missing_path_names_the_option_and_readme(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(DataError, match=r"data.options.path .*DL_DRAWBACKS_COMPAS.*README.md, section '([^']+)'") as e:
        compas_file(None)
    section = re.search(r"section '([^']+)'", str(e.value)).group(1)
    assert f"### {section}\n" in README.read_text()  # the section the message names exists
    with pytest.raises(DataError, match="does not exist"):
        compas_file(str(tmp_path))


def test_run_with_a_missing_compas_path_is_one_line_and_exit_2(tmp_path):
    spec = Path(__file__).resolve().parents[2] / "studies" / "bias-compas.yaml"
    text = spec.read_text().replace("../shared/datasets/propublica-compas", str(tmp_path / "nowhere"))
    (tmp_path / "compas.yaml").write_text(text)
    env = {k: v for k, v in os.environ.items() if k != ENV}
    done = subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(tmp_path / "compas.yaml"),
                           "--out", str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "data.options.path" in lines[0] and "README.md, section" in lines[0], lines
    assert not (tmp_path / "run" / "trials").exists()  # stopped before any trial


@needs_file
def test_real_file_filtered_oriented_and_split(monkeypatch):
    frame = read_compas(str(SHARED))
    assert frame.height == 6172 and "decile_score_duplicated_0" not in frame.columns
    assert frame["race_code"].value_counts().sort("race_code")["count"].to_list() == [3175, 2103, 894]
    assert (frame["no_recid"] == 1 - frame["two_year_recid"]).all()
    monkeypatch.setenv(ENV, str(SHARED))
    ds = load_dataset("compas", {"seed": 1})
    assert len(ds.y_test) == round(0.3 * 6172) and "decile_score" not in " ".join(ds.feature_names)
    assert set(np.unique(ds.protected_test["race"])) == {0, 1, 2}


@needs_file
def test_propublica_error_rates_on_the_two_year_file():
    f = read_compas(str(SHARED))
    black, white = (f.filter(pl.col("race") == r) for r in ("African-American", "Caucasian"))
    fpr = [(g.filter(pl.col("two_year_recid") == 0)["decile_score"] >= 5).mean() for g in (black, white)]
    assert fpr == pytest.approx([0.423, 0.220], abs=0.001)  # the widely reproduced two-year-file values
