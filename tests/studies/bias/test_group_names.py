"""Groups named from the data set's metadata (studies/bias/group_names.py); the report, headlines and figure
are checked in test_analysis.py on its fixture."""

from __future__ import annotations

import numpy as np

from dl_drawbacks.data.compas import GROUP_NAMES as COMPAS
from dl_drawbacks.data.uci_adult import GROUP_NAMES as ADULT
from dl_drawbacks.rows import RowBuffer, frame_from_records
from dl_drawbacks.studies.bias.group_names import named, read_group_names, record_group_names
from dl_drawbacks.studies.bias.kind import record_outcomes

N = 600
RNG = np.random.default_rng(3)
RACE = (RNG.random(N) < 0.5).astype(np.int64)
Y = (RNG.random(N) < 0.5).astype(np.int64)


def _trial(seed: int, names, dataset: str = "compas") -> dict:
    factors = {"sweep": "s", "dataset": dataset, "n_train": 100, "protected": "race", "unprivileged_share": None,
               "mitigation": "none", "drop_features": []}
    rows = RowBuffer("bias", "run", f"t-{seed}-{dataset}", seed, factors)
    rows.add("mitigation_feasible", 1.0, "flag", split="test")
    yhat = np.where(np.random.default_rng(seed).random(N) < 0.2, 1 - Y, Y).astype(np.int64)
    record_group_names(rows, names, ["race"])
    record_outcomes(rows, ["race"], Y, yhat, yhat * 0.6 + 0.2, {"race": RACE})
    return rows.to_records()


def test_names_are_declared_by_the_loaders_the_adult_and_compas_way():
    assert (COMPAS["race"][0], COMPAS["race"][1], COMPAS["sex"][1]) == ("African-American", "Caucasian", "female")
    assert (ADULT["sex"][0], ADULT["sex"][1]) == ("female", "male")
    assert named("sex=0,race=1", {"sex=0": "male", "race=1": "Caucasian"}) == "male, Caucasian"
    assert named("privileged", {"sex=0": "male"}) == "privileged" and named("sex=0", {}) == "sex=0"


def test_two_data_sets_naming_a_code_differently_keep_the_code():
    rows = frame_from_records([_trial(0, COMPAS), _trial(1, {"race": {0: "non-White", 1: "White"}}, "adult")])
    assert read_group_names(rows) == {"race=2": "other race"}  # only COMPAS names code 2
    assert read_group_names(frame_from_records([_trial(0, COMPAS)])) == {
        "race=0": "African-American", "race=1": "Caucasian", "race=2": "other race"}
