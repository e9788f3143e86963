"""Attributions, faithfulness, sanity and localisation on models whose right answer is known."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from torch import nn

from dl_drawbacks.studies.interpretability.analysis import interval, method_frame
from dl_drawbacks.studies.interpretability.attributions import Explainer, predict, timed_attribute
from dl_drawbacks.studies.interpretability.faithfulness import faithfulness, order_ranks, random_faithfulness
from dl_drawbacks.studies.interpretability.planted import localisation, patch_indices, stamp_fraction
from dl_drawbacks.studies.interpretability.sanity import cascading_randomisation, rowwise_spearman, rowwise_ssim, similarity
from dl_drawbacks.rows import RowBuffer


def linear_model(d: int = 12, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    model = nn.Linear(d, 2)
    with torch.no_grad():
        model.bias.zero_()
    return model


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 12)).astype(np.float32)


def test_gradient_times_input_is_the_exact_linear_contribution(data):
    model = linear_model()
    target = np.ones(len(data), np.int64)
    contribution = data * model.weight[1].detach().numpy()[None, :]  # w_i · x_i
    e = Explainer(batch=7)  # several batches
    np.testing.assert_allclose(e.attribute(model, data, target, "input_x_gradient"), contribution, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e.attribute(model, data, target, "integrated_gradients"), contribution, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e.attribute(model, data, target, "occlusion"), contribution, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e.attribute(model, data, target, "saliency"),
                               np.abs(np.broadcast_to(model.weight[1].detach().numpy(), data.shape)), rtol=1e-6)
    shap = e.attribute(model, data, target, "gradient_shap", background=np.zeros((4, 12), np.float32))
    assert np.corrcoef(shap.ravel(), contribution.ravel())[0, 1] > 0.95  # linear: expected gradients ≈ w·(x − E[x'])


def test_image_shape_is_respected_and_cost_is_measured():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    x = np.random.default_rng(1).normal(size=(5, 16)).astype(np.float32)
    timed = timed_attribute(Explainer(image_shape=(1, 4, 4)), model, x, np.zeros(5, np.int64), "occlusion")
    assert timed.values.shape == (5, 16) and timed.seconds_per_sample > 0 and timed.peak_memory_increase >= 0


def test_perfect_attribution_beats_random_order_in_deletion_and_insertion(data):
    model = linear_model()
    proba = lambda a: predict(model, a)  # noqa: E731
    target = proba(data).argmax(1)
    w = model.weight.detach().numpy()
    exact = data * (w[target] - w[1 - target])  # contribution to the logit margin of the predicted class
    good = faithfulness(proba, data, target, exact, steps=12)
    rnd = random_faithfulness(proba, data, target, seed=0, steps=12)
    assert good.deletion_auc.mean() < rnd.deletion_auc.mean() - 0.05
    assert good.insertion_auc.mean() > rnd.insertion_auc.mean() + 0.05
    # endpoints: nothing removed = the model's own probability; everything removed = the baseline's (0.5, zero bias)
    np.testing.assert_allclose(good.deletion[0], proba(data)[np.arange(40), target].mean(), rtol=1e-6)
    np.testing.assert_allclose(good.deletion[-1], 0.5, atol=1e-6)
    np.testing.assert_allclose(good.insertion[-1], good.deletion[0], rtol=1e-6)


def test_order_ranks_puts_largest_attribution_first():
    ranks = order_ranks(np.array([[0.1, 3.0, -2.0, 1.0]]))
    assert ranks.tolist() == [[2, 0, 3, 1]]


def test_similarity_measures_known_values():
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert rowwise_spearman(a, a)[0] == pytest.approx(1.0)
    assert rowwise_spearman(a, a[:, ::-1])[0] == pytest.approx(-1.0)
    assert rowwise_ssim(a, 2 * a)[0] == pytest.approx(1.0)  # maps are scaled by their max
    assert rowwise_ssim(a, a[:, ::-1])[0] < 0.5


def trained_mlp(data: np.ndarray) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3))
    y = torch.tensor((data[:, 0] > 0).astype(np.int64) + (data[:, 1] > 0.5).astype(np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(100):
        opt.zero_grad()
        nn.functional.cross_entropy(model(torch.tensor(data)), y).backward()
        opt.step()
    return model


def test_randomisation_flags_an_attribution_that_ignores_the_weights(data):
    model = trained_mlp(data)
    target = predict(model, data).argmax(1)
    before = [p.detach().clone() for p in model.parameters()]
    input_itself = lambda m, x, t: x  # noqa: E731
    input_times_constant = lambda m, x, t: 3.0 * x  # noqa: E731
    for fake in (input_itself, input_times_constant):
        cascade = cascading_randomisation(model, fake, data, target, seed=0)
        assert [r["depth"] for r in cascade] == [1, 2, 3]
        assert all(r["spearman"] == pytest.approx(1.0) and r["ssim"] == pytest.approx(1.0) for r in cascade)
    saliency = Explainer().attribute_fn("saliency")
    cascade = cascading_randomisation(model, saliency, data, target, seed=0)
    assert cascade[-1]["spearman"] < 0.5  # a weight-dependent method changes once every layer is random
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # the trained model is untouched


def test_similarity_of_identical_maps_is_one(data):
    s = similarity(data, data)
    assert s["spearman"] == pytest.approx(1.0) and s["ssim"] == pytest.approx(1.0)


def test_localisation_and_planted_patch():
    idx = patch_indices((1, 8, 8), 2)
    assert idx.tolist() == [0, 1, 8, 9]
    on_patch = np.zeros((3, 64))
    on_patch[:, idx] = 1.0
    loc = localisation(on_patch, idx)
    assert loc["share"] == pytest.approx(1.0) and loc["lift"] == pytest.approx(16.0)
    assert localisation(np.ones((3, 64)), idx)["lift"] == pytest.approx(1.0)
    x = np.zeros((1000, 64), np.float32)
    y = np.arange(1000) % 10
    stamped, chosen = stamp_fraction(x, y, idx, 10, 0.3, seed=0)
    assert 0.25 < chosen.mean() < 0.35
    assert np.all(stamped[~chosen] == 0)
    values = stamped[chosen][:, 0]
    assert np.all(np.diff(np.unique(values)) > 0) and len(np.unique(values)) == 10  # one intensity per class
    assert np.all(stamped[chosen][:, idx] == values[:, None])


def test_interval_is_student_t_over_seeds():
    s = interval([1.0, 2.0, 3.0])
    assert s["mean"] == pytest.approx(2.0) and s["n"] == 3
    assert s["interval"] == pytest.approx([2 - 2.4841377, 2 + 2.4841377], rel=1e-5)
    assert interval([5.0])["interval"] is None


def test_gains_are_measured_against_the_random_order():
    rb = RowBuffer("interpretability", "r", "t1", 0, {})
    for group, d, i in (("random", 0.6, 0.5), ("saliency", 0.2, 0.9)):
        rb.add("deletion_auc", d, "probability", split="test_explain", group=group)
        rb.add("insertion_auc", i, "probability", split="test_explain", group=group)
    for depth, rho in ((1, 0.9), (2, 0.1)):
        rb.add("sanity_spearman", rho, "rho", split="test_explain", group="saliency", step=depth)
    long = {(r["method"], r["metric"]): r["value"] for r in method_frame(rb.frame()).to_dicts()}
    assert long[("saliency", "deletion_gain")] == pytest.approx(0.4)
    assert long[("saliency", "insertion_gain")] == pytest.approx(0.4)
    assert long[("saliency", "sanity_spearman_final")] == pytest.approx(0.1)
    assert isinstance(method_frame(rb.frame()), pl.DataFrame)
