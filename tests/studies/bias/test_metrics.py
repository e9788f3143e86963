"""Fairness metrics on a hand-made example with known values, checked three ways: by hand, by our
count-based numpy code and by aif360 through the adapter; undefined groups; packed test samples and
the per-sample statistics the nested interval resamples; the adapter's aif360 workarounds; sampling."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from dl_drawbacks.studies.bias import aif360_adapter as adapter
from dl_drawbacks.studies.bias import sample_stats as st
from dl_drawbacks.studies.bias.calibration import GroupPlatt
from dl_drawbacks.studies.bias.metrics import FAIRNESS_METRICS, evaluate_groups, fairness_values, group_outcomes
from dl_drawbacks.studies.bias.samples import cell_codes, pack, unpack
from dl_drawbacks.studies.bias.sampling import holdout, representation_indices

# privileged (sex=1): y 1 1 0 0, yhat 1 1 1 0 -> selection 3/4, TPR 1, FPR 1/2
# unprivileged (sex=0): y 1 1 0 0, yhat 1 0 0 0 -> selection 1/4, TPR 1/2, FPR 0
Y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
YHAT = np.array([1, 1, 1, 0, 1, 0, 0, 0])
GROUPS = {"sex": np.array([1, 1, 1, 1, 0, 0, 0, 0])}
# benefits b = yhat - y + 1 = [1,1,2,1,1,0,1,1], mean 1: Theil = (2 ln 2) / 8
BY_HAND = {"disparate_impact": 1 / 3, "statistical_parity_difference": -0.5, "equal_opportunity_difference": -0.5,
           "average_odds_difference": -0.5, "theil_index": math.log(2) / 4}


def test_numpy_metrics_match_hand_computation():
    _, _, counts, groups = evaluate_groups(Y, YHAT, GROUPS, ["sex"])
    values = fairness_values(counts)
    for name, expected in BY_HAND.items():
        assert float(values[name]) == pytest.approx(expected), name
    assert groups == ["all", "sex=0", "sex=1"]
    priv = group_outcomes(counts, "sex=1")
    assert (priv["accuracy"].value, priv["tpr"].value, priv["fpr"].value, priv["selection_rate"].value) == (0.75, 1.0, 0.5, 0.75)


def test_aif360_adapter_matches_hand_computation():
    out = adapter.classification_metrics(Y, YHAT, GROUPS, ["sex"])
    for name, expected in BY_HAND.items():
        assert out[name].reason is None and out[name].value == pytest.approx(expected), name
    assert adapter.label_disparate_impact(Y, GROUPS, ["sex"]) == pytest.approx(1.0)


def test_adapter_agrees_with_numpy_on_random_intersectional_predictions():
    rng = np.random.default_rng(3)
    n = 3000
    groups = {"sex": rng.integers(0, 2, n), "race": (rng.random(n) < 0.8).astype(np.int64)}
    y = (rng.random(n) < 0.25 + 0.2 * groups["sex"]).astype(np.int64)
    yhat = (rng.random(n) < 0.2 + 0.3 * y + 0.1 * groups["race"]).astype(np.int64)
    ours = fairness_values(evaluate_groups(y, yhat, groups, ["sex", "race"])[2])
    theirs = adapter.classification_metrics(y, yhat, groups, ["sex", "race"])
    for name in FAIRNESS_METRICS:
        assert float(ours[name]) == pytest.approx(theirs[name].value, rel=1e-9, abs=1e-12), name


def test_degenerate_groups_are_explicitly_undefined():
    y = Y.copy()
    y[4:] = 0  # no positives in the unprivileged group
    out = adapter.classification_metrics(y, YHAT, GROUPS, ["sex"])
    for name in ("equal_opportunity_difference", "average_odds_difference"):
        assert math.isnan(out[name].value) and out[name].provenance == "undefined:no positives in unprivileged group"
    assert out["disparate_impact"].reason is None and out["statistical_parity_difference"].reason is None
    assert group_outcomes(evaluate_groups(y, YHAT, GROUPS, ["sex"])[2], "sex=0")["tpr"].reason == "no positives in sex=0"
    empty = adapter.classification_metrics(Y, YHAT, {"sex": np.ones(8, np.int64)}, ["sex"])
    assert all(empty[m].reason == "unprivileged group empty" for m in FAIRNESS_METRICS if m != "theil_index")
    assert empty["theil_index"].reason is None
    nobody_selected = adapter.classification_metrics(Y, np.where(GROUPS["sex"] == 1, 0, YHAT), GROUPS, ["sex"])
    assert nobody_selected["disparate_impact"].reason == "privileged selection rate is 0"


def _random_predictions(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    groups = {"sex": rng.integers(0, 2, n), "race": rng.integers(0, 3, n)}  # race 2: in neither group
    y = rng.integers(0, 2, n)
    score = np.clip(np.where(y == 1, 0.65, 0.35) + rng.normal(0, 0.2, n), 0, 1)
    return y, (score >= 0.5).astype(np.int64), score, groups


@pytest.mark.parametrize("attrs", [["sex"], ["sex", "race"]])
def test_packed_samples_round_trip(attrs):
    y, yhat, score, groups = _random_predictions()
    cells = cell_codes(groups, attrs)
    back = unpack(pack(cells, y, yhat, score, len(attrs)), len(y), len(attrs))
    cell, y2, yhat2, score2 = st.split_sample(back)
    assert (cell == cells).all() and (y2 == y).all() and (yhat2 == yhat).all()
    assert np.abs(score2 - score).max() <= 0.5 / 255 + 1e-12


@pytest.mark.parametrize("attrs", [["sex"], ["sex", "race"]])
def test_sample_statistics_match_aif360(attrs):
    y, yhat, score, groups = _random_predictions(seed=3)
    sample = unpack(pack(cell_codes(groups, attrs), y, yhat, score, len(attrs)), len(y), len(attrs))
    aif = adapter.classification_metrics(y, yhat, groups, attrs)
    for m in FAIRNESS_METRICS:
        assert st.fairness(m, st.cell_groups(attrs))(sample) == pytest.approx(aif[m].value, rel=1e-9)
    _, _, counts, _ = evaluate_groups(y, yhat, groups, attrs)
    for g in ("all", "sex=0", "sex=1"):
        for m, out in group_outcomes(counts, g).items():
            assert st.group_rate(m, g, st.cell_groups(attrs))(sample) == pytest.approx(out.value)


def test_threshold_free_statistics_match_sklearn():
    from sklearn.metrics import roc_auc_score

    y, yhat, _, groups = _random_predictions(seed=5)
    score = np.round(np.random.default_rng(1).random(len(y)) * 255) / 255 * 0.5 + y * 0.25  # exact 8-bit scores, ties
    score = np.round(score * 255) / 255
    sample = unpack(pack(cell_codes(groups, ["sex"]), y, yhat, score, 1), len(y), 1)
    g = st.cell_groups(["sex"])
    m = groups["sex"] == 0
    assert st.roc_auc("unprivileged", g)(sample) == pytest.approx(roc_auc_score(y[m], score[m]))
    bins = np.minimum((score[m] * 10).astype(int), 9)
    by_hand = sum(abs(y[m][bins == b].sum() - score[m][bins == b].sum()) for b in range(10)) / m.sum()
    assert st.ece("unprivileged", g)(sample) == pytest.approx(by_hand)
    assert st.generalized_rate("fnr", "unprivileged", g)(sample) == pytest.approx((1 - score[m & (y == 1)]).mean())


def test_calibrated_eq_odds_mix_rates_are_exposed_and_can_leave_the_unit_interval():
    rng = np.random.default_rng(0)
    n = 4000
    sex = rng.integers(0, 2, n)
    y = (rng.random(n) < np.where(sex == 1, 0.5, 0.1)).astype(np.int64)
    # privileged scores perfect, unprivileged scores inverted: no mixing with the base rate can equalize
    score = np.where(sex == 1, 0.05 + 0.9 * y, 0.95 - 0.9 * y).astype(float)
    post = adapter.fit_postprocessor("calibrated_eq_odds", y, score, {"sex": sex}, ["sex"], seed=0, cost="fnr")
    rates = adapter.ceo_mix_rates(post)
    assert not all(0 <= r <= 1 for r in rates.values())
    good = np.clip(np.where(y == 1, 0.7, 0.3) + rng.normal(0, 0.1, n), 0, 1)
    post = adapter.fit_postprocessor("calibrated_eq_odds", y, good, {"sex": sex}, ["sex"], seed=0, cost="fnr")
    assert all(0 <= r <= 1 for r in adapter.ceo_mix_rates(post).values())
    yhat, mixed = adapter.apply_postprocessor(post, good, {"sex": sex}, ["sex"])
    assert yhat.shape == mixed.shape == (n,) and set(np.unique(yhat)) <= {0, 1}


def test_group_platt_calibrates_within_groups():
    rng = np.random.default_rng(0)
    n = 6000
    cell = rng.integers(0, 2, n)
    truth = rng.random(n)
    y = (rng.random(n) < truth).astype(np.int64)
    skewed = np.where(cell == 1, truth**3, np.sqrt(truth))  # miscalibrated in opposite directions
    cal = GroupPlatt().fit(skewed[:3000], y[:3000], cell[:3000]).transform(skewed[3000:], cell[3000:])
    for c in (0, 1):
        m = cell[3000:] == c
        assert abs(cal[m].mean() - y[3000:][m].mean()) < 0.03
        assert abs(skewed[3000:][m].mean() - y[3000:][m].mean()) > 0.08 or c == 0


def test_eq_odds_and_reject_option_fit_on_validation():
    y, _, score, groups = _random_predictions(n=800, seed=2)
    for method in ("eq_odds", "reject_option"):
        post = adapter.fit_postprocessor(method, y, score, groups, ["sex"], seed=0)
        yhat, _ = adapter.apply_postprocessor(post, score, groups, ["sex"])
        assert yhat.shape == y.shape and set(np.unique(yhat)) <= {0, 1}


@pytest.mark.slow
def test_prejudice_remover_runs_kamishima_scripts_with_this_interpreter(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # 'python' on PATH would not be found without the workaround
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] + rng.normal(0, 0.5, 300) > 0).astype(np.int64)
    sex = rng.integers(0, 2, 300)
    scores = adapter.prejudice_remover(x, y, {"sex": sex}, x, {"sex": sex}, "sex", eta=1.0)
    assert ((scores >= 0.5) == y).mean() > 0.7


def test_reweighing_equalises_weighted_base_rates():
    w = adapter.reweighing_weights(Y[[0, 1, 2, 4, 5, 6, 7]], {"sex": GROUPS["sex"][[0, 1, 2, 4, 5, 6, 7]]}, ["sex"])
    y, s = Y[[0, 1, 2, 4, 5, 6, 7]], GROUPS["sex"][[0, 1, 2, 4, 5, 6, 7]]
    # Kamiran & Calders: w = P(s) P(y) / P(s, y); privileged positives: (3/7)(4/7)/(2/7) = 6/7
    assert w[0] == pytest.approx(6 / 7)
    rate = [np.sum(w[(s == k) & (y == 1)]) / np.sum(w[s == k]) for k in (0, 1)]
    assert rate[0] == pytest.approx(rate[1])


@pytest.mark.parametrize("method", ["calibrated_eq_odds", "reject_option"])
def test_postprocessing_keeps_rows_outside_the_compared_groups(method):
    rng = np.random.default_rng(5)
    n = 1500
    groups = {"sex": rng.integers(0, 2, n), "race": rng.integers(0, 2, n)}
    y = (rng.random(n) < 0.3 + 0.3 * groups["sex"]).astype(np.int64)
    score = np.clip(0.35 * y + 0.25 * groups["sex"] + 0.4 * rng.random(n), 0, 1)
    post = adapter.fit_postprocessor(method, y, score, groups, ["sex", "race"], seed=0)
    yhat, _ = adapter.apply_postprocessor(post, score, groups, ["sex", "race"])
    mixed = groups["sex"] != groups["race"]
    assert set(np.unique(yhat)) <= {0, 1}
    np.testing.assert_array_equal(yhat[mixed], (score[mixed] >= 0.5).astype(np.int64))
    assert not np.array_equal(yhat[~mixed], (score[~mixed] >= 0.5).astype(np.int64))


def test_binary_label_dataset_is_numeric_only():
    ds = adapter.binary_label_dataset(Y, GROUPS, ["sex"])
    frame, _ = ds.convert_to_dataframe()
    assert all(str(t) == "float64" for t in frame.dtypes)  # never pandas string columns (AIF360#560)


def test_adapter_import_is_quiet():
    done = subprocess.run([sys.executable, "-c", "import dl_drawbacks.studies.bias.aif360_adapter"], capture_output=True, text=True)
    assert done.returncode == 0 and "WARNING" not in done.stderr and "No module named" not in done.stderr


def test_representation_keeps_size_and_sets_share():
    rng = np.random.default_rng(0)
    y, unpriv = rng.integers(0, 2, 5000), rng.random(5000) < 0.3
    for share in (0.1, 0.5):
        idx = representation_indices(y, unpriv, n=1000, share=share, seed=2)
        assert len(idx) == len(set(idx)) == 1000 and unpriv[idx].mean() == pytest.approx(share)
    np.testing.assert_array_equal(idx, representation_indices(y, unpriv, n=1000, share=0.5, seed=2))
    with pytest.raises(ValueError, match="needs 1800 unprivileged"):
        representation_indices(y, unpriv, n=2000, share=0.9, seed=0)
    fit, val = holdout(y, unpriv, fraction=0.2, seed=0)
    assert len(val) == 1000 and not set(fit) & set(val)
