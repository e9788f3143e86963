"""Attributions, faithfulness, sanity and localisation on models whose right answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dl_drawbacks.studies.interpretability.attributions import Explainer, predict, timed_attribute
from dl_drawbacks.studies.interpretability.faithfulness import (
    baseline_inputs,
    faithfulness,
    order_ranks,
    random_faithfulness,
)
from dl_drawbacks.studies.interpretability.planted import patch_indices, patch_scores, stamp_fraction
from dl_drawbacks.studies.interpretability.sanity import (
    cascading_randomisation,
    rowwise_spearman,
    rowwise_ssim,
    similarity,
)
from dl_drawbacks.studies.interpretability.robustness import infidelity_per_sample


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
    np.testing.assert_allclose(
        e.attribute(model, data, target, "integrated_gradients"), contribution, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(e.attribute(model, data, target, "occlusion"), contribution, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        e.attribute(model, data, target, "saliency"),
        np.abs(np.broadcast_to(model.weight[1].detach().numpy(), data.shape)),
        rtol=1e-6,
    )
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


def test_localisation_scores_are_rank_based_and_per_sample_normalised():
    idx = patch_indices((1, 8, 8), 2)
    assert idx.tolist() == [0, 1, 8, 9]
    on_patch = np.zeros((3, 64))
    on_patch[:, idx] = 1.0
    on_patch[2] *= 1000.0  # a sample's scale does not change its scores
    scores = patch_scores(on_patch, idx)
    np.testing.assert_allclose(scores["share"], 1.0)
    np.testing.assert_allclose(scores["auc"], 1.0)
    np.testing.assert_allclose(patch_scores(np.ones((2, 64)), idx)["auc"], 0.5)  # a constant map is chance
    off_patch = np.ones((1, 64))
    off_patch[0, idx] = 0.0
    assert patch_scores(off_patch, idx)["auc"][0] == pytest.approx(0.0)
    x = np.zeros((1000, 64), np.float32)
    y = np.arange(1000) % 10
    stamped, chosen = stamp_fraction(x, y, idx, 10, 0.3, seed=0)
    assert 0.25 < chosen.mean() < 0.35
    assert np.all(stamped[~chosen] == 0)
    values = stamped[chosen][:, 0]
    assert np.all(np.diff(np.unique(values)) > 0) and len(np.unique(values)) == 10  # one intensity per class
    assert np.all(stamped[chosen][:, idx] == values[:, None])


def test_baselines_differ_and_keep_shape():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 16)).astype(np.float32)
    train = rng.normal(size=(50, 16)).astype(np.float32)
    zero = baseline_inputs(x, "zero", image_shape=(1, 4, 4), train_x=train, seed=0)
    blur = baseline_inputs(x, "blur", image_shape=(1, 4, 4), train_x=train, seed=0)
    sample = baseline_inputs(x, "train_sample", image_shape=(1, 4, 4), train_x=train, seed=0)
    assert zero.shape == blur.shape == sample.shape == x.shape and not zero.any()
    assert blur.std() < x.std()  # smoothed, within each image
    np.testing.assert_allclose(blur.mean(1), x.mean(1), atol=0.3)
    assert all(any(np.array_equal(r, t) for t in train) for r in sample)
    with pytest.raises(ValueError, match="unknown deletion/insertion baseline"):
        baseline_inputs(x, "noise", image_shape=None, train_x=train, seed=0)


def test_infidelity_is_zero_for_the_attribution_its_perturbation_makes_exact(data):
    model = linear_model()
    target = np.ones(len(data), np.int64)
    w = np.broadcast_to(model.weight[1].detach().numpy()[None, :], data.shape)
    contribution = data * w  # exact for removals: f(x) − f(x with S zeroed) = Σ_S w_i x_i
    for exact, other, kind in ((w, contribution, "noise"), (contribution, w, "removal")):
        assert infidelity_per_sample(model, data, target, exact, perturbation=kind).mean() < 1e-8
        assert infidelity_per_sample(model, data, target, other, perturbation=kind).mean() > 1e-4


def test_noise_ensembles_and_guided_backprop_have_their_known_values(data):
    """Linear model: the gradient is w everywhere, so SmoothGrad-squared = w², VarGrad = 0 and Guided Backprop = w;
    one ReLU layer f = v·relu(Wx): Guided Backprop = Wᵀ(mask ⊙ max(v, 0)), the gradient Wᵀ(mask ⊙ v)."""
    model, target = linear_model(), np.ones(len(data), np.int64)
    w = np.broadcast_to(model.weight[1].detach().numpy(), data.shape)
    e = Explainer(batch=16, smooth_samples=8, smooth_noise=0.15)
    np.testing.assert_allclose(e.attribute(model, data, target, "smoothgrad_sq"), w**2, rtol=1e-5)
    np.testing.assert_allclose(e.attribute(model, data, target, "vargrad"), 0.0, atol=1e-10)
    np.testing.assert_allclose(e.attribute(model, data, target, "guided_backprop"), w, rtol=1e-6)
    torch.manual_seed(0)
    relu_net = nn.Sequential(nn.Linear(12, 6), nn.ReLU(), nn.Linear(6, 2))
    W, v = relu_net[0].weight.detach().numpy(), relu_net[2].weight[1].detach().numpy()
    mask = (data @ W.T + relu_net[0].bias.detach().numpy()) > 0
    guided = e.attribute(relu_net, data, target, "guided_backprop")
    np.testing.assert_allclose(guided, (mask * np.maximum(v, 0)) @ W, rtol=1e-5, atol=1e-6)
    assert not np.allclose(guided, (mask * v) @ W)  # v has negative entries: it is not the plain gradient
    assert (e.attribute(relu_net, data, target, "vargrad") > 0).any()  # noise crosses ReLU kinks: the gradient varies
    quiet = Explainer(batch=16, smooth_samples=4, smooth_noise=0.0)
    np.testing.assert_allclose(quiet.attribute(relu_net, data, target, "smoothgrad_sq"), ((mask * v) @ W) ** 2,
                               rtol=1e-5, atol=1e-7)
