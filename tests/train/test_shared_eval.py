"""One forward pass per distinct input at each evaluation (train/loop._scores): splits that are rows of another
(`Split.rows_of`) are scored from its logits, and the logits a kind asks for are kept for its on_eval; the losses
and accuracies are those of a separate pass over each split."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dl_drawbacks.spec.models import TrainerSpec
from dl_drawbacks.train.context import Split
from dl_drawbacks.train.engine import PlainEngine
from dl_drawbacks.train.evaluate import loss_and_accuracy
from dl_drawbacks.train.loop import _scores


def _ctx(kind_logits: tuple[str, ...]):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    engine = PlainEngine(torch.nn.Linear(6, 4), TrainerSpec(), torch.device("cpu"))
    seen = []
    forward = engine.forward
    engine.forward = lambda x: (seen.append(len(x)), forward(x))[1]  # counts the samples each pass evaluates

    def split(n):
        return Split(rng.normal(size=(n, 6)).astype(np.float32), rng.integers(0, 4, n))

    train, val, test = split(50), split(9), split(30)
    clean = rng.integers(0, 4, 50)
    flips = np.flatnonzero(clean != train.y)
    splits = {"train": train, "val": val, "test": test,
              "train_clean": Split(train.x, clean, rows_of=("train", None)),
              "train_flipped": Split(train.x[flips], train.y[flips], rows_of=("train", flips))}
    ctx = SimpleNamespace(kind=SimpleNamespace(eval_logits=kind_logits), splits=splits, engine=engine, eval_logits={})
    return ctx, seen


@pytest.mark.parametrize("kind_logits", [(), ("test",)])
def test_each_input_is_evaluated_once_and_scored_as_a_pass_of_its_own_would(kind_logits):
    ctx, seen = _ctx(kind_logits)
    scores = _scores(ctx)
    assert sum(seen) == 50 + 9 + 30  # train once for itself, its clean labels and its flipped rows
    for name, split in ctx.splits.items():
        loss, acc = loss_and_accuracy(ctx.engine, split)
        assert scores[name][0] == pytest.approx(loss, rel=1e-6) and scores[name][1] == pytest.approx(acc), name
    assert set(ctx.eval_logits) == {"train", *kind_logits}
    if kind_logits:
        with torch.no_grad():
            expected = ctx.engine.module(torch.tensor(ctx.splits["test"].x))
        torch.testing.assert_close(ctx.eval_logits["test"], expected)


def test_the_data_kind_takes_its_per_sample_test_outcomes_from_the_evaluations_own_pass():
    """The data study's early stopping keeps per-sample test outcomes at each validation improvement: from the
    evaluation's kept logits (no second pass over test), equal to a pass of their own."""
    from dl_drawbacks.studies.data.kind import DataStudy
    from dl_drawbacks.train.evaluate import per_sample_correct

    ctx, seen = _ctx(DataStudy.eval_logits)
    ctx.kind = DataStudy()
    ctx.info = {"early_stopping": {"best": float("inf"), "step": None, "correct": None}}
    ctx.treatment = SimpleNamespace(min_delta=0.0)
    metrics = {name: {"loss": loss, "accuracy": acc} for name, (loss, acc) in _scores(ctx).items()}
    ctx.kind.on_eval(ctx, step=7, epoch=1, metrics=metrics)
    assert sum(seen) == 50 + 9 + 30, "the test split was forwarded a second time for on_eval"
    state = ctx.info["early_stopping"]
    assert state["step"] == 7 and state["best"] == metrics["val"]["loss"]
    np.testing.assert_array_equal(state["correct"], per_sample_correct(ctx.engine, ctx.splits["test"]))
