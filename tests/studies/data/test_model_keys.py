"""Model keys of the data study when families differ in their swept factors (a CNN next to an MLP with a width)."""

from __future__ import annotations

import json

import polars as pl

from dl_drawbacks.studies.data.tables import trial_table

from .rows import data_rows


def test_a_factor_one_family_lacks_is_left_out_of_its_key():
    rows = data_rows(anchors=(16, 32), seeds=(0,), test_size=10)
    cnn = json.dumps({"family": "cnn", "size": "mnist1d", "n_train": 16, "sweep": "cnn"}, sort_keys=True)
    mlp = json.dumps({"family": "mlp", "size": "s", "n_train": 32, "sweep": "mlp", "width": 100}, sort_keys=True)
    rows = rows.with_columns(pl.when(pl.col("trial_id") == "data-16-0").then(pl.lit(cnn)).otherwise(pl.lit(mlp))
                             .alias("factors"))
    keys = dict(trial_table(rows).select("trial_id", "model").iter_rows())
    assert keys == {"data-16-0": "cnn/mnist1d", "data-32-0": "mlp/s width=100"}
