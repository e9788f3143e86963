"""image_folder: an ImageFolder layout streamed through Ray Data, local or in a bucket.

- Fast, no Ray: the index (classes, stratified test split, image shape), the seeded stratified subsample that
  every trial of one n and seed shares, its own options (unknown keys named), and bad input as one line, exit 2,
  before any trial (no class sub-folders, a file that does not decode, mixed sizes).
- Fast, session Ray cluster: a 1-worker compute trial of the ``cnn`` family (LeNet-5 style, 2-D) on 200 generated
  PNGs reads them through Ray Data and learns.
- Slow (acceptance): a 2-worker DeepSpeed trial of the same ``cnn`` on 2,000 PNGs in the local moto bucket, in its
  own driver process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.data import clear_cache, load_dataset
from dl_drawbacks.data.streamed import selected_rows
from dl_drawbacks.errors import DataError
from image_folders import png_bytes, write_image_folder
from process_sessions import end_session

SPEC = """\
name: image-stream
version: 1
tracking: {{mode: disabled}}
studies:
  - kind: compute
    data: {{name: image_folder, options: {{path: "{path}"}}}}
    model: {{family: cnn, size: lenet5}}
    trainer:
      {trainer}
      micro_batch: 16
      deepspeed: {{{zero}}}
      budget: {{steps: {steps}, eval_every: {steps}, warmup_steps: 1}}
"""
# The LeNet-5-style 2-D net on 1x8x8 images and 4 classes: conv 1->6 k5 (156) + conv 6->12 k5 (1,812), pooled to
# 12x2x2, then 48->120 (5,880), 120->84 (10,164), 84->4 (340); an MLP on the flattened pixels has another count
LENET5_PARAMETERS = 18_352


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return Path(write_image_folder(str(tmp_path_factory.mktemp("images") / "digits"), 200))


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def test_index_lists_classes_and_a_stratified_test_split(folder):
    ds = load_dataset("image_folder", {"path": str(folder), "test_fraction": 0.25})
    assert (ds.n_classes, ds.image_shape, ds.n_features) == (4, (1, 8, 8), 64)
    assert len(ds.train_labels) == 150 and ds.n_test == 50
    assert np.bincount(ds.train_labels).tolist() == [38, 38, 37, 37] or sorted(np.bincount(ds.train_labels)) == [
        37, 37, 38, 38]
    assert set(ds.test_paths).isdisjoint(ds.train_paths) and len(set(ds.train_paths)) == 150


def test_subsample_is_stratified_seeded_and_the_same_for_every_trial_of_n_and_seed(folder):
    ds = load_dataset("image_folder", {"path": str(folder)})
    a = selected_rows(ds, n_train=40, seed=3)["train"]
    assert np.array_equal(a, selected_rows(ds, n_train=40, seed=3)["train"])
    assert not np.array_equal(a, selected_rows(ds, n_train=40, seed=4)["train"])
    assert np.bincount(ds.train_labels[a]).tolist() == [10, 10, 10, 10]
    held = selected_rows(ds, n_train=40, seed=3, val_fraction=0.25, val_seed=0)
    assert len(held["val"]) == 40 and np.intersect1d(held["val"], held["train"]).size == 0


def test_options_are_the_datasets_own_and_unknown_keys_are_named(folder):
    with pytest.raises(DataError, match=r"option seq_len: unknown option; known: .*path.*size"):
        load_dataset("image_folder", {"path": str(folder), "seq_len": 8})
    with pytest.raises(DataError, match=r"option size: "):
        load_dataset("image_folder", {"path": str(folder), "size": "big"})


def _run_line(spec_text: str, tmp_path: Path, capsys) -> tuple[int, str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text)
    code = main(["run", str(spec), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    return code, err


def _spec(path: Path | str, *, workers: int = 1, steps: int = 12) -> str:
    trainer = f"engine: deepspeed\n      workers: {workers}" if workers > 1 else "workers: 1"
    return SPEC.format(path=path, trainer=trainer, steps=steps, zero="zero_stage: 2" if workers > 1 else "")


@pytest.mark.parametrize("case", ["no_classes", "bad_image", "mixed_sizes"])
def test_bad_folders_are_one_line_exit_2_before_any_trial(case, tmp_path, capsys):
    root = tmp_path / "imgs"
    if case == "no_classes":
        root.mkdir()
        (root / "a.png").write_bytes(png_bytes(np.zeros((8, 8), np.uint8)))
        expected = "has 0 class sub-folder(s) with images (none); it needs PATH/<class>/<image>.png"
    else:
        write_image_folder(str(root), 20)
        if case == "bad_image":
            (root / "class_2" / "broken.png").write_bytes(b"\x89PNG not really")
            expected = f"{root / 'class_2' / 'broken.png'} does not decode as an image"
        else:
            (root / "class_1" / "big.png").write_bytes(png_bytes(np.zeros((9, 8), np.uint8)))
            expected = "set data.options.size: [HEIGHT, WIDTH]"
    code, err = _run_line(_spec(root), tmp_path, capsys)
    assert code == 2 and err.startswith("error: image_folder: ") and expected in err and "\n" not in err
    assert not (tmp_path / "out" / "trials").exists()


def test_a_study_that_needs_arrays_refuses_a_folder_too_big_for_memory_before_any_trial(folder, tmp_path, capsys):
    spec = _spec(folder).replace("kind: compute", "kind: interpretability").replace(
        'path: "', 'read_into_memory_mb: 0.01, path: "')
    code, err = _run_line(spec, tmp_path, capsys)
    assert code == 2 and err.endswith("the interpretability study reads it into memory, 0.0488 MB decoded, over "
                                      "data.options.read_into_memory_mb 0.01; raise it, subsample the data, or use a "
                                      "study that streams it (compute, data)"), err
    assert not (tmp_path / "out" / "trials").exists()


@pytest.mark.ray
def test_a_one_worker_trial_streams_the_folder_through_ray_data(ray_cluster, folder, tmp_path):
    out = tmp_path / "run"
    spec = tmp_path / "spec.yaml"
    spec.write_text(_spec(folder, steps=30))
    assert main(["run", str(spec), "--out", str(out)]) == 0
    rows = pl.read_parquet(out / "trials" / "*" / "rows.parquet")
    (status,) = [p.read_text() for p in out.glob("trials/*/trial.json")]
    assert '"completed"' in status
    test_acc = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "test"))["value"].to_list()
    assert test_acc[-1] > 0.5  # 4 classes: chance is 0.25; 40 test images
    assert rows.filter(pl.col("metric") == "train_size")["value"].to_list() == [160.0]
    assert rows.filter(pl.col("metric") == "parameters")["value"].to_list() == [LENET5_PARAMETERS]


@pytest.mark.slow
def test_two_deepspeed_workers_train_on_2000_pngs_in_the_bucket(s3, tmp_path):
    uri = write_image_folder(s3.uri("images2000"), 2000)
    spec = tmp_path / "spec.yaml"
    spec.write_text(_spec(uri, workers=2, steps=30))
    ray_tmp = tempfile.mkdtemp(prefix="ddis", dir="/tmp")
    env = {**{k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}, **s3.env, "RAY_TMPDIR": ray_tmp,
           "RAY_AUTH_MODE": "disabled"}
    out = tmp_path / "run"
    # 4 logical CPUs on this 2-core machine: the Tune trial, 2 workers and the 1 CPU reserved for Ray Data's reads
    script = (f"import sys, ray; ray.init(address='local', num_cpus=4, include_dashboard=False, log_to_driver=False); "
              f"from dl_drawbacks.cli import main; sys.exit(main(['run', {str(spec)!r}, '--out', {str(out)!r}]))")
    driver = subprocess.Popen([sys.executable, "-c", script],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        _, stderr = driver.communicate(timeout=900)
    finally:
        end_session(driver.pid)
        subprocess.run(["rm", "-rf", ray_tmp], check=False)
    assert driver.returncode == 0, stderr[-3000:]
    rows = pl.read_parquet(out / "trials" / "*" / "rows.parquet")
    workers = rows.filter(pl.col("metric") == "worker")
    assert sorted(workers["rank"].to_list()) == [0, 1]
    assert rows.filter(pl.col("metric") == "train_size")["value"].to_list() == [1600.0]
    assert set(rows.filter(pl.col("metric") == "parameters")["value"].to_list()) == {LENET5_PARAMETERS}
    test_acc = rows.filter((pl.col("metric") == "accuracy") & (pl.col("split") == "test"))["value"].to_list()
    assert test_acc[-1] > 0.5


def test_each_trial_reserves_cpus_for_ray_data_reads_in_its_placement_group(folder, tmp_path):
    from dl_drawbacks.cluster import check_fits, trial_resources, tune_trial_resources
    from dl_drawbacks.errors import ClusterError
    from dl_drawbacks.plan import plan
    from dl_drawbacks.spec import load_spec

    spec = tmp_path / "spec.yaml"
    spec.write_text(_spec(folder, workers=2))
    (trial,) = plan(load_spec(spec))
    assert trial_resources(trial) == {"CPU": 4.0}  # the Tune trial, 2 workers, 1 read CPU
    assert [dict(b) for b in tune_trial_resources(trial).bundles] == [{"CPU": 1.0}, {"CPU": 1.0}]
    with pytest.raises(ClusterError, match=r"needs 4 CPU but the cluster has 3"):
        check_fits([trial], {"CPU": 3.0}, 1)
    spec.write_text(_spec(folder).replace('path: "', 'read_cpus: 0.5, path: "'))
    (one,) = plan(load_spec(spec))
    assert [dict(b) for b in tune_trial_resources(one).bundles] == [{"CPU": 1.0}, {"CPU": 0.5}]


def test_trials_with_two_workers_run_only_as_many_at_once_as_the_cluster_holds_with_their_workers(folder, tmp_path):
    from dl_drawbacks.cluster import trials_at_once
    from dl_drawbacks.plan import plan
    from dl_drawbacks.spec import load_spec

    spec = tmp_path / "spec.yaml"
    spec.write_text(_spec(folder, workers=2))
    (two,) = plan(load_spec(spec))  # 4 CPUs: the Tune trial, 2 workers, 1 read CPU; Tune itself sees only 2
    spec.write_text(_spec(folder))
    (one,) = plan(load_spec(spec))
    assert [trials_at_once([two], {"CPU": cpus}) for cpus in (4.0, 7.0, 8.0)] == [1, 1, 2]
    assert trials_at_once([one, two], {"CPU": 8.0, "memory": 1e9}) == 2
    assert trials_at_once([one], {"CPU": 8.0}) is None  # 1-worker trials: Tune places each whole


def test_a_study_that_reads_the_folder_into_memory_refuses_several_workers_before_any_trial(folder, tmp_path, capsys):
    spec = _spec(folder, workers=2).replace("kind: compute", "kind: interpretability")
    code, err = _run_line(spec, tmp_path, capsys)
    assert code == 2 and err == ("error: dataset 'image_folder': the interpretability study reads it into memory on "
                                 "each worker, which cannot read streamed data from inside 2 Ray Train workers; set "
                                 "trainer.workers: 1 or use a study that streams it (compute, data)"), err
    assert not (tmp_path / "out" / "trials").exists()
