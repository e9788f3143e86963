"""The data study on a streamed image folder: each anchor is a seeded, stratified subsample of the folder's index,
the same for every trial of one n and seed, streamed through Ray Data; the baselines read their rows whole.

- Fast, no Ray: the planned trials' splits are streams of the anchor's size, chosen from the index alone, and two
  trials of one n and seed (the CNN's and the MLP's) select the same rows.
- Slow (Ray Data pipelines take minutes on a loaded 2-core box): the study runs end to end with the cnn family, an
  MLP and logistic regression, and prints each paired per-anchor difference.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from dl_drawbacks.cli import main
from dl_drawbacks.data import clear_cache
from dl_drawbacks.plan import plan
from dl_drawbacks.rows import RowBuffer
from dl_drawbacks.spec import parse_spec
from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.train.context import StreamSplit, TrialContext
from image_folders import write_image_folder

SPEC = """\
name: data-stream
version: 1
tracking: {{mode: disabled}}
studies:
  - kind: data
    data: {{name: image_folder, options: {{path: "{path}"}}}}
    model: {{family: cnn, size: lenet5}}
    trainer:
      micro_batch: 16
      optimizer: {{lr: 0.01}}
    treatment: {{val_fraction: 0.2, baselines: [logistic_regression], epochs: 2, min_steps: 8, evaluations: 2,
                patience: 2}}
    seeds: [0, 1]
    analysis: {{n_bootstrap: 20, min_anchors: 3}}
    sweeps:
      - name: cnn
        axes: {{data.n_train: [16, 32, 48]}}
      - name: mlp
        axes: {{data.n_train: [16, 32, 48], model.family: [mlp], model.size: [xs]}}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return Path(write_image_folder(str(tmp_path_factory.mktemp("images") / "digits"), 200))


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _prepared(trial) -> TrialContext:
    kind = get_kind(trial.study)
    ctx = TrialContext(trial=trial, run_id="", rank=0, local_rank=0, world_size=1, device=torch.device("cpu"),
                       kind=kind, treatment=kind.Treatment.model_validate(trial.treatment),
                       rows=RowBuffer(trial.study, "", trial.trial_id, trial.seed, trial.factors, rank=0))
    kind.prepare_data(ctx)
    return ctx


def test_each_anchor_streams_the_same_stratified_rows_for_every_trial_of_its_n_and_seed(folder):
    trials = plan(parse_spec(yaml.safe_load(SPEC.format(path=folder))))
    assert sorted((t.model.family, t.data.n_train, t.seed) for t in trials) == [
        (f, n, s) for f in ("cnn", "mlp") for n in (16, 32, 48) for s in (0, 1)]
    picked: dict[tuple, list[np.ndarray]] = {}
    for trial in trials:
        ctx = _prepared(trial)
        assert all(isinstance(s, StreamSplit) for s in ctx.splits.values())  # streamed, nothing read yet
        sizes = tuple(len(ctx.splits[s]) for s in ("train", "val", "test"))
        assert sizes == (trial.data.n_train, 32, 40)  # 200 images: 40 test, 32 validation, the anchor
        rows = ctx.splits["train"].rows
        assert np.intersect1d(rows, ctx.splits["val"].rows).size == 0
        counts = np.bincount(ctx.dataset.train_labels[rows], minlength=4)
        assert counts.max() - counts.min() <= 1  # stratified over the 4 classes
        picked.setdefault((trial.data.n_train, trial.seed), []).append(np.sort(rows))
    for (n, seed), same in picked.items():
        assert len(same) == 2 and np.array_equal(*same), (n, seed)  # the CNN's and the MLP's trial
    assert not np.array_equal(picked[(16, 0)][0], picked[(16, 1)][0])


@pytest.mark.slow
@pytest.mark.ray
def test_the_data_study_runs_on_a_streamed_image_folder(ray_cluster, folder, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(path=folder))
    out = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(out)]) == 0
    findings = json.loads((out / "findings.json").read_text())["data"]
    assert findings  # analysed; the per-anchor paired differences are in the report
    assert "logistic_regression" in (out / "report.md").read_text()
