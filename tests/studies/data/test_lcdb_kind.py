"""The lcdb study kind: a spec plans one trial per learner without the lcdb package when treatment.path names an
LCDB accuracy CSV (here the committed excerpt), a trial's rows rebuild exactly what LCDB's extrapolation protocol
returned for each curve and cut, and a missing CSV stops the spec with a line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dl_drawbacks.plan import plan
from dl_drawbacks.spec.load import load_spec
from dl_drawbacks.studies.data.lcdb import extrapolate, read_curves
from dl_drawbacks.studies.data.lcdb_kind import lcdb_rows, results_from_rows

REPO = Path(__file__).resolve().parents[3]
EXCERPT = REPO / "tests" / "fixtures" / "reproductions" / "lcdb-excerpt.csv"
SPEC = REPO / "studies" / "reproductions" / "mohr2022-lcdb.yaml"


def test_a_trial_writes_rows_that_rebuild_the_protocol_results():
    trials = plan(load_spec(SPEC, [f"studies[0].treatment.path={EXCERPT}", "studies[0].treatment.max_curves=1",
                                   "studies[0].treatment.n_bootstrap=10", "studies[0].treatment.cuts=[0.5]"]))
    assert [t.treatment["learner"] for t in trials] == ["SVC_linear", "sklearn.linear_model.LogisticRegression"]
    rows = lcdb_rows(trials[0], "r")
    rebuilt = results_from_rows(rows)
    curve = read_curves(EXCERPT, learners=["SVC_linear"], max_curves=1)[(3, "SVC_linear")]
    assert list(rebuilt) == [50] and list(rebuilt[50]) == ["3/SVC_linear"]
    assert rebuilt[50]["3/SVC_linear"] == extrapolate(curve, 0.5, n_bootstrap=10)
    assert results_from_rows(lcdb_rows(trials[1], "r")) == {}  # the excerpt holds no logistic-regression curve


def test_a_missing_csv_is_one_line_naming_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"treatment.path: no LCDB accuracy CSV"):
        plan(load_spec(SPEC, [f"studies[0].treatment.path={tmp_path / 'none.csv'}"]))
