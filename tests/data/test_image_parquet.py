"""image_folder as a parquet of (image bytes, label, protected columns), streamed through Ray Data.

- Fast, no Ray: the index reads labels, protected groups and row-group sizes (never the image bytes) and names rows
  by file position; parquet-only options are refused on a folder; bad input is one line, exit 2, before any trial.
- Fast, no Ray: the Ray Data transform of a split, run on the file itself, reads each row group that holds a
  selected row and keeps exactly the selected rows, decoded, with their labels and protected groups.
- Slow (Ray Data pipelines take minutes on a loaded 2-core box): a subsample read through Ray Data holds exactly the
  selected rows; the data set read into memory keeps its protected column and the bias study composes its splits
  from it; a tiny bias study on the images, planned and run end to end, reports group metrics by that column; a
  parquet in the moto bucket is indexed and read by position.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from PIL import Image

from dl_drawbacks.cli import main
from dl_drawbacks.data import clear_cache, load_dataset
from dl_drawbacks.data.image_parquet import ParquetImagesDataset
from dl_drawbacks.data.streamed import selected_rows
from dl_drawbacks.errors import DataError
from image_folders import write_image_parquet

OPTIONS = {"favorable_label": "class_1", "protected": {"site": ["north"]}}

BIAS_SPEC = """\
name: image-bias
version: 1
tracking: {{mode: disabled}}
studies:
  - kind: bias
    seeds: [0, 1]
    data: {{name: image_folder, options: {{path: "{path}", favorable_label: class_1, protected: {{site: [north]}}}}}}
    model: {{family: cnn, size: lenet5}}
    trainer:
      micro_batch: 32
      optimizer: {{lr: 0.01}}
      budget: {{steps: 40, eval_every: 40}}
    treatment: {{protected: site, unprivileged_share: null, mitigation: none}}
    analysis: {{resamples: 100}}
"""


@pytest.fixture(scope="module")
def parquet(tmp_path_factory) -> Path:
    return Path(write_image_parquet(str(tmp_path_factory.mktemp("pq") / "images.parquet"), 240))


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def test_index_holds_labels_groups_and_row_group_sizes_not_images(parquet):
    ds = load_dataset("image_folder", {"path": str(parquet), **OPTIONS})
    assert isinstance(ds, ParquetImagesDataset)
    assert (ds.n_classes, ds.image_shape, ds.n_features, len(ds.train_labels), ds.n_test) == (2, (1, 8, 8), 64, 192, 48)
    assert np.bincount(ds.train_labels).tolist() == [96, 96]
    assert ds.protected["site"].tolist()[:6] == [1, 0, 0, 1, 0, 0]  # every third row is north (privileged)
    assert ds.group_starts.tolist() == [0, 64, 128, 192, 240]  # written in row groups of 64
    assert "label 'label' (1 = 'class_1'), protected site" in ds.provenance
    all_classes = load_dataset("image_folder", {"path": str(parquet)})
    assert all_classes.classes == ("class_0", "class_1") and all_classes.n_classes == 2


def test_parquet_options_on_a_folder_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"option\(s\) favorable_label, protected apply to a .parquet path only"):
        load_dataset("image_folder", {"path": str(tmp_path), **OPTIONS})


def _run_line(spec_text: str, tmp_path: Path, capsys) -> tuple[int, str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text)
    code = main(["run", str(spec), "--out", str(tmp_path / "out")])
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("case", ["missing_column", "bad_image", "one_class", "too_big"])
def test_bad_parquet_is_one_line_exit_2_before_any_trial(case, tmp_path, capsys):
    import pyarrow.parquet as pq

    path = write_image_parquet(str(tmp_path / "images.parquet"), 30)
    spec = BIAS_SPEC.format(path=path)
    if case == "missing_column":
        spec = spec.replace("site: [north]", "region: [north]")
        expected = "has no column(s) 'region'; its columns: image, label, site"
    elif case == "bad_image":
        table = pq.read_table(path)
        images = table.column("image").to_pylist()
        images[17] = b"\x89PNG not really"
        pq.write_table(table.set_column(0, "image", [images]), path)
        expected = f"{path} row 17 ('image') does not decode as an image"
    elif case == "one_class":
        spec = spec.replace("favorable_label: class_1", "favorable_label: class_9")
        expected = "label column 'label' of"
    else:
        spec = spec.replace("favorable_label: class_1,", "favorable_label: class_1, read_into_memory_mb: 0.001,")
        expected = ("the bias study reads it into memory, 0.00732 MB decoded, over "
                    "data.options.read_into_memory_mb 0.001")
    code, err = _run_line(spec, tmp_path, capsys)
    assert code == 2 and err.startswith("error: ") and expected in err and "\n" not in err, err
    assert not (tmp_path / "out" / "trials").exists()


def test_the_split_transform_keeps_the_selected_rows_decoded_with_their_groups(parquet):
    import pyarrow.fs as pafs

    from dl_drawbacks.data.image_parquet import ParquetImageFeatures, ParquetRowGroups

    ds = load_dataset("image_folder", {"path": str(parquet), **OPTIONS})
    wanted = np.sort(ds.train_rows[selected_rows(ds, n_train=40, seed=3)["train"]])
    groups = np.unique(wanted // 64)  # the row groups of 64 rows that hold a selected row
    reader = ParquetRowGroups(pafs.LocalFileSystem(), str(parquet), ds.group_starts, groups, wanted,
                              ParquetImageFeatures(ds.options, ds.classes))
    parts = [part for unit in range(len(groups)) for part in reader({"id": np.array([unit])})]
    out = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    assert out["x"].shape == (40, 64) and 0 <= out["x"].min() and out["x"].max() <= 1
    assert np.array_equal(out["y"], (wanted % 2 == 1).astype(np.int64))  # class_1 (odd rows) is favourable
    assert np.array_equal(out["group:site"], ds.protected["site"][wanted])
    first = np.asarray(Image.open(io.BytesIO(pq.read_table(parquet)["image"][int(wanted[0])].as_py())), np.float32)
    assert np.array_equal(out["x"][0], first.reshape(-1) / 255)  # the pixels of that very row


@pytest.mark.slow
@pytest.mark.ray
def test_a_subsample_read_through_ray_data_holds_exactly_the_selected_rows(ray_cluster, parquet):
    from dl_drawbacks.data.in_memory import load_arrays

    ds = load_dataset("image_folder", {"path": str(parquet), **OPTIONS})
    rows = selected_rows(ds, n_train=40, seed=3)["train"]
    batches = list(ds.read("train", rows).iter_batches(batch_format="numpy"))
    y = np.concatenate([b["y"] for b in batches])
    assert len(y) == 40 and np.bincount(y).tolist() == [20, 20]
    arrays = load_arrays("image_folder", {"path": str(parquet), **OPTIONS})
    assert arrays.x_train.shape == (192, 64) and 0 <= arrays.x_train.min() and arrays.x_train.max() <= 1
    assert np.array_equal(arrays.y_train, ds.train_labels)  # index order: positions name the same rows
    assert np.array_equal(arrays.protected_train["site"], ds.protected["site"][ds.train_rows])
    assert np.array_equal(arrays.protected_test["site"], ds.protected["site"][ds.test_rows])


@pytest.mark.slow
@pytest.mark.ray
def test_the_bias_study_composes_its_splits_from_the_parquets_protected_column(ray_cluster, parquet):
    import torch
    import yaml

    from dl_drawbacks.plan import plan
    from dl_drawbacks.rows import RowBuffer
    from dl_drawbacks.spec import parse_spec
    from dl_drawbacks.studies.bias.kind import BiasStudy
    from dl_drawbacks.train.context import TrialContext

    trial = plan(parse_spec(yaml.safe_load(BIAS_SPEC.format(path=parquet))))[0]
    kind = BiasStudy()
    ctx = TrialContext(trial=trial, run_id="", rank=0, local_rank=0, world_size=1, device=torch.device("cpu"),
                       kind=kind, treatment=kind.Treatment.model_validate(trial.treatment),
                       rows=RowBuffer(trial.study, "", trial.trial_id, trial.seed, trial.factors, rank=0))
    kind.prepare_data(ctx)
    index = load_dataset("image_folder", {"path": str(parquet), **OPTIONS})
    test = ctx.splits["test"]
    assert test.x.shape == (48, 64) and np.array_equal(test.groups["site"], index.protected["site"][index.test_rows])
    assert len(ctx.splits["train"]) + len(ctx.splits["val"]) == 192
    assert set(np.unique(ctx.splits["train"].groups["site"])) == {0, 1}


@pytest.mark.slow
@pytest.mark.ray
def test_a_tiny_bias_study_on_parquet_images_runs_end_to_end(ray_cluster, parquet, tmp_path):
    out = tmp_path / "run"
    spec = tmp_path / "spec.yaml"
    spec.write_text(BIAS_SPEC.format(path=parquet))
    assert main(["run", str(spec), "--out", str(out)]) == 0
    rows = pl.read_parquet(out / "trials" / "*" / "rows.parquet")
    final = rows.filter(pl.col("step").is_null())
    assert set(final.filter(pl.col("metric") == "group_accuracy")["group"]) == {"all", "site=0", "site=1"}
    assert final.filter(pl.col("metric") == "test_samples_n")["value"].unique().to_list() == [48.0]
    findings = json.loads((out / "findings.json").read_text())["bias"]
    assert "site" in findings["headline"]


@pytest.mark.slow
@pytest.mark.ray
def test_a_parquet_in_the_bucket_is_indexed_and_read_by_position(s3, ray_cluster):  # the endpoint before Ray
    from dl_drawbacks.data.in_memory import load_arrays

    uri = write_image_parquet(s3.uri("images.parquet"), 60)
    ds = load_dataset("image_folder", {"path": uri, **OPTIONS})
    ds.verify()
    arrays = load_arrays("image_folder", {"path": uri, **OPTIONS})  # refuses labels that differ from the index
    assert arrays.x_train.shape == (48, 64) and np.array_equal(arrays.y_train, ds.train_labels)
    assert np.array_equal(arrays.protected_test["site"], ds.protected["site"][ds.test_rows])
