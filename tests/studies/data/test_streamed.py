"""The data study on a streamed image folder: each anchor is a seeded, stratified subsample of the folder's index,
the same for every trial of one n and seed, streamed through Ray Data; the baselines read their rows whole.

- Fast, no Ray: the planned trials' splits are streams of the anchor's size, chosen from the index alone, and two
  trials of one n and seed (the CNN's and the MLP's) select the same rows.
- Fast, session Ray cluster: a 2-worker trial's Ray Train data config (the one its TorchTrainer gets) gives the
  two ranks disjoint shards of train whose union is exactly the anchor's seeded stratified subsample (the rows the
  MLP's trial of that n and seed selects too), ``train_whole`` holds that subsample for the chief, and nothing is
  read before a rank iterates.
- Slow (Ray Data pipelines take minutes on a loaded 2-core box): the study runs end to end with the cnn family, an
  MLP and logistic regression, and prints each paired per-anchor difference; and with 2 DeepSpeed workers per
  trial (``ray.train.get_dataset_shard``), the chief's baselines reading their rows whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl
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
from process_sessions import end_session

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


TWO_WORKERS = "engine: deepspeed\n      workers: 2\n      micro_batch: 16"


def _pixel_keys(x: np.ndarray) -> list[bytes]:
    """Each row of decoded features (pixels / 255) as the bytes of its 8-bit pixels: one key per image."""
    return [row.tobytes() for row in np.rint(np.asarray(x) * 255).astype(np.uint8)]


def _file_keys(paths: np.ndarray) -> set[bytes]:
    from PIL import Image

    return {np.asarray(Image.open(p).convert("L"), np.uint8).tobytes() for p in paths.tolist()}


def _read(iterator) -> list[bytes]:
    return [k for b in iterator.iter_batches(batch_size=8, batch_format="numpy") for k in _pixel_keys(b["x"])]


@pytest.mark.ray
def test_two_workers_read_disjoint_shards_whose_union_is_the_anchors_subsample(ray_cluster, folder):
    from ray.data.dataset import MaterializedDataset

    from dl_drawbacks.train.stream_trainer import trainer_data

    spec = SPEC.format(path=folder).replace("micro_batch: 16", TWO_WORKERS)
    trials = {(t.model.family, t.data.n_train, t.seed): t for t in plan(parse_spec(yaml.safe_load(spec)))}
    cnn, mlp = trials[("cnn", 32, 1)], trials[("mlp", 32, 1)]
    data = trainer_data(cnn)
    assert sorted(data["datasets"]) == ["test", "train", "train_whole", "val"]
    assert not any(isinstance(d, MaterializedDataset) for d in data["datasets"].values())  # lazy
    ranks = data["dataset_config"].configure(data["datasets"], world_size=2, worker_handles=None,
                                             worker_node_ids=None)
    with ThreadPoolExecutor(2) as pool:  # a streaming split's shards are read at the same time
        shards = list(pool.map(_read, [ranks[0]["train"], ranks[1]["train"]]))
    ctx = _prepared(cnn)
    expected = _file_keys(ctx.dataset.train_paths[ctx.splits["train"].rows])
    assert len(expected) == 32 and [len(s) for s in shards] == [16, 16]
    assert not set(shards[0]) & set(shards[1])  # disjoint
    assert set(shards[0]) | set(shards[1]) == expected  # together: the anchor's subsample, nothing else
    assert set(_read(ranks[1]["train_whole"])) == expected  # what the chief's baselines read: train unsharded
    same_anchor = _prepared(mlp).splits["train"].rows  # the MLP's trial of this n and seed: the same rows
    assert np.array_equal(np.sort(same_anchor), np.sort(ctx.splits["train"].rows))

@pytest.mark.slow
def test_the_data_study_runs_with_two_deepspeed_workers_per_trial(folder, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(path=folder).replace("micro_batch: 16", TWO_WORKERS).replace(
        "seeds: [0, 1]", "seeds: [0]").split("      - name: mlp")[0])
    ray_tmp = tempfile.mkdtemp(prefix="ddds", dir="/tmp")
    env = {**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, "RAY_TMPDIR": ray_tmp,
           "RAY_AUTH_MODE": "disabled"}
    out = tmp_path / "run"
    # 4 logical CPUs on this 2-core machine: the Tune trial, 2 workers and the 1 CPU reserved for Ray Data's reads
    script = (f"import sys, ray; ray.init(address='local', num_cpus=4, include_dashboard=False, log_to_driver=False); "
              f"from dl_drawbacks.cli import main; sys.exit(main(['run', {str(spec)!r}, '--out', {str(out)!r}]))")
    driver = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = driver.communicate(timeout=1200)
    finally:
        end_session(driver.pid)
        subprocess.run(["rm", "-rf", ray_tmp], check=False)
    assert driver.returncode == 0, stderr[-3000:]
    rows = pl.read_parquet(out / "trials" / "*" / "rows.parquet")
    assert sorted(rows.filter(pl.col("metric") == "worker")["rank"].to_list()) == [0, 0, 0, 1, 1, 1]
    assert sorted(rows.filter(pl.col("metric") == "train_size")["value"].to_list()) == [16.0, 32.0, 48.0]
    baseline = rows.filter(pl.col("group").str.starts_with("baseline:logistic_regression/sample:"))
    assert baseline.height == 3 * 40  # the chief read every test sample, once per anchor
    findings = json.loads((out / "findings.json").read_text())["data"]
    assert findings and "logistic_regression" in (out / "report.md").read_text()
