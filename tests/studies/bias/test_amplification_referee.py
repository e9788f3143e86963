"""Referee of the bias headline 'amplification, ratio scale': exp(|ln DI(ŷ)| − |ln DI(y)|) against a population
with a known answer, in both directions (amplifies, attenuates): the point and the coverage of its nested interval
over seeds × test samples (statistics.nested_interval on the log scale).

Population: half the people unprivileged; base rates 0.2 (unprivileged) and 0.4 (privileged), so DI(y) = 0.5;
predictions independent of the label given the group, selected at q_u and q_p, so DI(ŷ) = q_u / q_p and the
factor is exp(|ln(q_u / q_p)| − ln 2). Each replicate draws a fresh test set and three seeds of predictions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dl_drawbacks.studies.bias import sample_stats as st
from dl_drawbacks.studies.bias.samples import cell_codes, pack, unpack
from dl_drawbacks.studies.bias.settings import entry
from dl_drawbacks.statistics import POSITIVE

N = 1500
GROUPS = st.cell_groups(["sex"])
CASES = {"amplifies": (0.15, 0.45), "attenuates": (0.3, 0.4)}  # (q_u, q_p): DI(ŷ) 1/3 and 0.75 against DI(y) 0.5


def truth(q_u: float, q_p: float) -> float:
    return math.exp(abs(math.log(q_u / q_p)) - math.log(2))


def replicate(rng: np.random.Generator, q_u: float, q_p: float, seeds: int = 3) -> list[np.ndarray]:
    sex = (rng.random(N) < 0.5).astype(np.int64)
    y = (rng.random(N) < np.where(sex == 1, 0.4, 0.2)).astype(np.int64)
    cells = cell_codes({"sex": sex}, ["sex"])
    out = []
    for _ in range(seeds):
        yhat = (rng.random(N) < np.where(sex == 1, q_p, q_u)).astype(np.int64)
        out.append(unpack(pack(cells, y, yhat, yhat * 0.8 + 0.1, 1), N, 1))
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_ratio_amplification_point_verdict_and_coverage(case):
    q_u, q_p = CASES[case]
    target = truth(q_u, q_p)  # 1.5 (amplifies) or 0.667 (attenuates)
    rng = np.random.default_rng(11)
    estimates, covered, verdicts = [], 0, []
    reps = 30
    for _ in range(reps):
        e = entry(replicate(rng, q_u, q_p), st.amplification_ratio(GROUPS), 60, domain=POSITIVE)
        low, high = e["interval95"]
        estimates.append(e["mean"])
        covered += low <= target <= high
        verdicts.append("amplifies" if low > 1 else "attenuates" if high < 1 else "inconclusive")
    assert np.mean(estimates) == pytest.approx(target, rel=0.05)  # the point
    assert covered / reps >= 0.83  # nominal 0.95; 30 replicates (a 0.95 rate falls below 0.83 with p < 0.01)
    assert verdicts.count(case) >= 0.9 * reps  # the direction, both ways
