"""Referee for the data-to-target headline (README "Headlines and their referee tests"): curves simulated from a
known pow3 law with seed and shared-test-set noise; the n at which the true curve reaches the target is known in
closed form. Checked both ways — a target reached between the anchors (labelled interpolated) and one beyond them
(labelled extrapolated, never interpolated) — for the point (median within a factor) and the coverage of its
interval over replications (Mohr et al. 2022's LCDB extrapolation set-up; our parametric curve bootstrap)."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.studies.data.anchors import resampling_weights
from dl_drawbacks.studies.data.learning_curves import LearningCurveFit

from .synthetic import curve, pow3

A, B, C = 3.0, 0.6, 0.02
TRUE = {0.06: (A / (0.06 - C)) ** (1 / B), 0.035: (A / (0.035 - C)) ** (1 / B)}  # ~1,340 and ~8,420
# anchors run 16..1024: 0.06 is reached at n ≈ 1,340 (just past the last anchor) - use a denser, longer grid for it
ANCHORS = 2.0 ** np.arange(4, 13)  # 16 .. 4096: 0.06 is reached within the anchors, 0.035 beyond them


def _replicate(r: int, target: float) -> dict:
    c = curve(lambda n: pow3(n, A, B, C), seeds=3, test_size=2000, seed_sd=0.03, rng_seed=500 + r, anchors=ANCHORS)
    fit = LearningCurveFit(families=("pow3",), n_bootstrap=100, random_state=r)
    return fit.fit(c, weights=resampling_weights(c.test_size, 100, seed=r)).data_to_reach(target)


def _referee(reps: int, target: float) -> tuple[float, float, list[str]]:
    """Coverage and median point ratio over the replications that give a number (the true family fails its own
    held-out test in a minority of them: then there is no headline, which the policy allows but must stay rare)."""
    covered, ratios, labels = 0, [], []
    given = [t for t in (_replicate(r, target) for r in range(reps)) if t["available"]]
    assert len(given) >= 0.7 * reps, f"{reps - len(given)} of {reps} refused"
    for t in given:
        lo, hi = t["interval"]
        covered += lo is not None and lo <= TRUE[target] <= (hi if hi is not None else np.inf)
        ratios.append(t["median"] / TRUE[target])
        labels.append(t["provenance"])
    return covered / len(given), float(np.median(ratios)), labels


@pytest.mark.parametrize("target, label", [(0.06, "interpolated within the anchors"), (0.035, "extrapolated")])
def test_data_to_target_point_coverage_and_label_fast(target, label):
    coverage, ratio, labels = _referee(3, target)
    assert coverage >= 0.6
    assert ratio == pytest.approx(1.0, rel=0.35)
    assert set(labels) == {label}


@pytest.mark.slow
@pytest.mark.parametrize("target", [0.06, 0.035])
def test_data_to_target_interval_keeps_its_level(target):
    coverage, ratio, _ = _referee(30, target)
    assert coverage >= 0.85
    assert ratio == pytest.approx(1.0, rel=0.25)
