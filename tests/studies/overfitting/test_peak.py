"""Referee for the double-descent peak test: simulated test-error curves with a known answer, with and without a
peak — where the peak is (point), how often its excess intervals cover the true excess (coverage), and how often
a curve without a peak is called one (false peaks)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dl_drawbacks.studies.overfitting.peak import design_resolves, peak_test

WIDTHS = (2, 4, 8, 16, 32, 64, 128, 256)
PEAKED = (0.40, 0.33, 0.28, 0.30, 0.34, 0.29, 0.26, 0.25)  # rise 0.06 over width 8, fall 0.09 to width 256
N_TEST, SEEDS, REPS, RESAMPLES = 1000, 5, 40, 100


def simulate(curve, rng, *, seed_sd=0.005, shared=0.85):
    """Per width: seed -> 0/1 errors on one fresh test set. Sample difficulty is shared across widths and seeds
    (correlation ``shared`` of the latent), so paired differences are tighter than the errors themselves; each
    seed moves a width's error rate by N(0, seed_sd²). The true error of width i is curve[i]."""
    z = rng.standard_normal(N_TEST)
    out = []
    for p in curve:
        per_seed = {}
        for s in range(SEEDS):
            latent = shared * z + np.sqrt(1 - shared**2) * rng.standard_normal(N_TEST)
            per_seed[s] = (latent > stats.norm.ppf(1 - np.clip(p + rng.normal(0, seed_sd), 0.01, 0.99))).astype(float)
        out.append(per_seed)
    return out


def _run(curve, seed):
    rng = np.random.default_rng(seed)
    return peak_test(WIDTHS, simulate(curve, rng), level=0.95, n_resamples=RESAMPLES)


def test_a_true_peak_is_found_where_it_is_with_covering_intervals():
    runs = [_run(PEAKED, k) for k in range(REPS)]
    found = [r for r in runs if r["peak"]]
    assert len(found) >= 0.8 * REPS  # power at 5 seeds (at 3 seeds it is ~0.7: the adjusted level costs)
    assert all(r["candidate_width"] == 32 for r in found)  # point: the true peak width
    true_left, true_right = PEAKED[4] - PEAKED[2], PEAKED[4] - PEAKED[7]
    assert np.mean([r["excess_over_left"]["estimate"] for r in found]) == pytest.approx(true_left, abs=0.01)
    assert np.mean([r["excess_over_right"]["estimate"] for r in found]) == pytest.approx(true_right, abs=0.01)
    # coverage of the excess intervals (adjusted level ≈ 0.998): true excess inside in ≥ 95% of runs
    cover = [r["excess_over_left"]["low"] <= true_left <= r["excess_over_left"]["high"]
             and r["excess_over_right"]["low"] <= true_right <= r["excess_over_right"]["high"] for r in runs]
    assert np.mean(cover) >= 0.95


@pytest.mark.parametrize("curve", [
    (0.40, 0.33, 0.29, 0.28, 0.27, 0.26, 0.255, 0.25),  # monotone descent
    (0.30,) * 8,  # flat: the interior argmax is noise
], ids=["monotone", "flat"])
def test_no_peak_is_rarely_called_a_peak(curve):
    false_peaks = sum(_run(curve, 1000 + k)["peak"] for k in range(REPS))
    assert false_peaks <= 0.05 * REPS


def test_the_design_decides_whether_no_peak_is_a_finding():
    acc = [0.6, 0.7, 0.8, 0.9, 0.95, 1.0, 1.0, 1.0]
    assert design_resolves(WIDTHS, acc, 64, fit_threshold=0.99, past=4) == (
        True, "widths 2–256 span the threshold 64 up to 4× past it, and the widest interpolates")
    ok, why = design_resolves(WIDTHS[:-1], acc[:-1], 64, fit_threshold=0.99, past=4)
    assert not ok and "is 2× the interpolation threshold 64 (needs ≥ 4×" in why
    ok, why = design_resolves(WIDTHS, [0.5] * 8, None, fit_threshold=0.99, past=4)
    assert not ok and why.startswith("the widest width 256 does not interpolate")
    ok, why = design_resolves(WIDTHS, [1.0] * 8, 2, fit_threshold=0.99, past=4)
    assert not ok and "already interpolates" in why
