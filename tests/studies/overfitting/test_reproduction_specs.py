"""The double-descent and Guo reproduction specs name findings the overfitting analysis writes, and their verdicts
go both ways on synthetic rows of the specs' shape (a curve with a peak / without one; a design that cannot
resolve fails its control)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dl_drawbacks.reproduce.verdict import CONTROL_FAILED, INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, judge
from dl_drawbacks.spec.load import load_spec
from dl_drawbacks.storage.files import json_safe
from dl_drawbacks.studies.overfitting.analysis import overfitting_findings
from dl_drawbacks.studies.overfitting.kind import OverfitOptions

SPECS = Path(__file__).resolve().parents[3] / "studies" / "reproductions"
WIDTHS = (4, 8, 16, 32, 64, 256)
PEAKED = (0.80, 0.82, 0.84, 0.66, 0.80, 0.86)
FAST = OverfitOptions(n_bootstrap=100)


def _findings(synth, noisy_acc, train=(0.7, 0.9, 0.95, 1.0, 1.0, 1.0)):
    rng = np.random.default_rng(0)
    frames = [
        synth.trial_rows(seed=s, sweep="width", width=w, label_noise=noise, train_acc=tr, train_clean=0.9,
                         flipped_acc=tr - 0.1 if noise else None, test_correct=synth.correct(acc, rng))
        for s in range(2)
        for noise, curve in ((0.0, (0.80, 0.84, 0.86, 0.87, 0.88, 0.89)), (0.15, noisy_acc))
        for w, tr, acc in zip(WIDTHS, train, curve)
    ]
    return {"overfitting": json.loads(json.dumps(json_safe(overfitting_findings(synth.concat(frames), FAST))))}


_PEAKED: dict[str, dict] = {}


@pytest.fixture
def peaked(synth):
    """The findings of a peaked noisy curve, computed once for this module."""
    if not _PEAKED:
        _PEAKED.update(_findings(synth, PEAKED))
    return _PEAKED


def test_double_descent_reproduced_on_a_peaked_curve_and_refused_by_a_design_that_cannot_resolve(synth, peaked):
    spec = load_spec(SPECS / "double-descent.yaml").reproduces
    verdicts = judge(spec, peaked)
    assert [v.verdict for v in verdicts] == [REPRODUCED] * 3, [v.reason for v in verdicts]
    never = judge(spec, _findings(synth, PEAKED, train=(0.5,) * 6))
    assert {v.verdict for v in never} == {CONTROL_FAILED}
    assert "the noisy design could show a peak: 0 < 1" in never[0].reason


def test_guo_claims_name_calibration_findings(peaked):
    spec = load_spec(SPECS / "calibration-guo.yaml").reproduces
    slope, ratio = judge(spec, peaked)
    # the synthetic rows carry one ECE at every width (0.1 raw per trial): no slope, so never "reproduced" (an exactly
    # zero spread over seeds has no interval: inconclusive; a rounding-level one lies inside ± 0.002: no effect)
    assert slope.verdict in (NOT_REPRODUCED, INCONCLUSIVE) and "not found" not in slope.reason
    assert slope.ours.estimate == pytest.approx(0.0, abs=1e-12)
    assert ratio.ours.estimate is not None and "not found" not in ratio.reason
