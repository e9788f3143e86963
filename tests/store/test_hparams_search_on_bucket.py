"""The hparams search trial on a bucket run: it works in a mirror on its node, its rows and marker land in the
bucket (rows first), and a re-proposed finished configuration (TPE on resume) is read back, not re-run."""

from __future__ import annotations

import polars as pl
import ray.tune

from dl_drawbacks import trial as trial_module
from dl_drawbacks.launch import Launch
from dl_drawbacks.plan import plan
from dl_drawbacks.spec.load import load_spec
from dl_drawbacks.storage import open_bucket
from dl_drawbacks.studies.hparams.worker import SEARCH_ENTRY
from dl_drawbacks.storage.run_folder import BucketRunFolder, LocalRunFolder
from dl_drawbacks.tune_task import stepwise


def test_search_trial_writes_to_the_bucket_and_reads_a_finished_one_back(s3, monkeypatch):
    runs, reports = [], []

    def fake_execute(launch, trial):  # stands in for the training: what execute_trial leaves in its run folder
        runs.append(launch)
        rows = pl.DataFrame({"metric": ["accuracy", "accuracy"], "split": ["val", "val"], "step": [10, 20],
                             "value": [0.5, 0.75]})
        LocalRunFolder(launch.address).write_trial(trial.trial_id, rows, {"status": "completed"})
        return {"status": "completed"}

    monkeypatch.setattr(trial_module, "execute_trial", fake_execute)
    monkeypatch.setattr(ray.tune, "report", reports.append)
    uri = s3.uri("hparams-run")
    trial = plan(load_spec("tests/specs/tiny_hparams.yaml"))[0]
    config = Launch(trials=[trial], address=uri, run_id="r").to_config()
    search_trial = stepwise(SEARCH_ENTRY)  # the Tune entry point, in its Tune trial's process (no hosts)
    search_trial(config)
    assert len(runs) == 1 and not runs[0].on_bucket and runs[0].address != uri  # the trial ran in a local mirror
    assert reports == [{"objective": 0.75, "dl_trial_id": trial.trial_id, "dl_outcome": "completed"}]
    assert BucketRunFolder(open_bucket(uri)).is_finished(trial.trial_id)  # rows and a marker whose checksum matches
    search_trial(config)  # proposed again: read from the bucket, not trained again
    assert len(runs) == 1 and reports[-1] == reports[0]
