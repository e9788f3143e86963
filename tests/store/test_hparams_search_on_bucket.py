"""The hparams search trial on a bucket run: it works in a mirror on its node, its rows and marker land in the
bucket (rows first), and a re-proposed finished configuration (TPE on resume) is read back, not re-run."""

from __future__ import annotations

import polars as pl
import ray.tune

from dl_drawbacks import trial as trial_module
from dl_drawbacks.storage import open_bucket
from dl_drawbacks.studies.hparams.worker import search_trial
from dl_drawbacks.storage.run_folder import BucketRunFolder, LocalRunFolder


def test_search_trial_writes_to_the_bucket_and_reads_a_finished_one_back(s3, monkeypatch):
    runs, reports = [], []

    def fake_execute(config):  # stands in for the training: what execute_trial leaves in its run folder
        runs.append(config)
        rows = pl.DataFrame({"metric": ["accuracy", "accuracy"], "split": ["val", "val"], "step": [10, 20],
                             "value": [0.5, 0.75]})
        LocalRunFolder(config["run_dir"]).write_trial(config["trial"]["trial_id"], rows, {"status": "completed"})
        return {"status": "completed"}

    monkeypatch.setattr(trial_module, "execute_trial", fake_execute)
    monkeypatch.setattr(ray.tune, "report", reports.append)
    uri = s3.uri("hparams-run")
    config = {"trial": {"trial_id": "hparams-abc"}, "run_dir": "/nonexistent/staging", "run_uri": uri}
    search_trial(config)
    assert len(runs) == 1 and runs[0]["run_uri"] is None and runs[0]["run_dir"] != "/nonexistent/staging"
    assert reports == [{"objective": 0.75, "dl_trial_id": "hparams-abc", "dl_outcome": "completed"}]
    assert BucketRunFolder(open_bucket(uri)).is_finished("hparams-abc")  # rows and a marker whose checksum matches
    search_trial(config)  # proposed again: read from the bucket, not trained again
    assert len(runs) == 1 and reports[-1] == reports[0]
