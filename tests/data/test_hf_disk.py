"""A Hugging Face datasets folder (save_to_disk) as a tabular classification data set (data/hf_disk.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.data import clear_cache, load_dataset
from dl_drawbacks.errors import DataError

datasets = pytest.importorskip("datasets")

N = 40


@pytest.fixture(scope="module")
def table() -> dict[str, list]:
    return {"age": [18.0 + 2 * i for i in range(N)], "sex": ["F", "M"] * (N // 2),
            "job": ["a", "b", "c", "d"] * (N // 4), "approved": [int(i % 3 != 0) for i in range(N)]}


@pytest.fixture(scope="module")
def folders(tmp_path_factory, table) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf")
    one = datasets.Dataset.from_dict(table)
    one.save_to_disk(str(root / "one"))
    datasets.DatasetDict({"train": one, "other": one.select(range(10))}).save_to_disk(str(root / "dict"))
    return {"one": root / "one", "dict": root / "dict", "root": root}


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def test_a_saved_dataset_is_a_table_with_label_protected_and_features(folders, table):
    ds = load_dataset("hf_disk", {"path": str(folders["one"]), "label": "approved", "favorable_label": 1,
                                  "protected": {"sex": ["M"]}})
    assert ds.modality == "tabular" and ds.n_classes == 2 and (len(ds.y_train), len(ds.y_test)) == (30, 10)
    assert ds.feature_names == ("age", "job=a", "job=b", "job=c", "job=d")  # sex is protected, kept out of x
    assert np.concatenate([ds.y_train, ds.y_test]).sum() == sum(table["approved"])
    assert ds.protected_train["sex"].sum() + ds.protected_test["sex"].sum() == N // 2
    assert abs(ds.x_train[:, 0].mean()) < 1e-6  # standardised with train statistics
    assert ds.provenance.startswith(f"datasets.load_from_disk: the Dataset in {folders['one']} (datasets ")


def test_a_dataset_dict_contributes_its_named_split(folders):
    ds = load_dataset("hf_disk", {"path": str(folders["dict"]), "split": "other", "label": "approved"})
    assert len(ds.y_train) + len(ds.y_test) == 10 and "split 'other' of" in ds.provenance


@pytest.mark.parametrize(("case", "expected"), [
    ("not_a_folder", "is neither a `Dataset` directory nor a `DatasetDict` directory; point data.options.path"),
    ("missing", "not found; point data.options.path at a folder written by"),
    ("bad_split", "has splits train, other, not 'test'; set data.options.split to one of them"),
    ("split_of_one", "holds one Dataset, not a DatasetDict; remove data.options.split"),
    ("unknown_option", "option columns: unknown option; known: "),
])
def test_a_bad_folder_is_one_line_exit_2(case, expected, folders, tmp_path, capsys):
    path, extra = {"not_a_folder": (folders["root"], ""), "missing": (folders["root"] / "nope", ""),
                   "bad_split": (folders["dict"], ", split: test"), "split_of_one": (folders["one"], ", split: train"),
                   "unknown_option": (folders["one"], ", columns: [age]")}[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""\
name: hf-disk
version: 1
tracking: {{mode: disabled}}
studies:
  - kind: compute
    data: {{name: hf_disk, options: {{path: "{path}", label: approved{extra}}}}}
    model: {{family: mlp, size: xs}}
""")
    code = main(["run", str(spec), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and expected in err and "\n" not in err, err
    assert not (tmp_path / "out" / "trials").exists()


def test_options_are_its_own(folders):
    with pytest.raises(DataError, match=r"option label: Field required"):
        load_dataset("hf_disk", {"path": str(folders["one"])})
