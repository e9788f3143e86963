"""Trial labels: a trial named by the factors its study sweeps, the model and the seed."""

from __future__ import annotations

from pathlib import Path

from dl_drawbacks.labels import trial_labels
from dl_drawbacks.plan import plan
from dl_drawbacks.progress import Progress
from dl_drawbacks.spec.load import load_spec

SPEC = Path(__file__).parent / "specs" / "tiny_compute.yaml"


def test_labels_name_model_swept_factors_and_seed():
    trials = plan(load_spec(SPEC, ["studies[0].seeds=[0,1]"]))
    labels = trial_labels(trials)
    assert len(set(labels.values())) == len(trials)  # the labels tell every trial apart, as the ids do
    by_id = {t.trial_id: t for t in trials}
    two_workers = next(i for i, t in by_id.items() if t.trainer.workers == 2 and t.seed == 1)
    assert labels[two_workers] == "mlp/xs workers=2 engine=deepspeed zero_stage=2 seed=1"


def test_progress_line_shows_the_label_then_the_id(capsys):
    progress = Progress(total=2, labels={"compute-abc": "mlp/s lr=0.003 seed=1"})
    progress.trial_finished("compute-abc", "completed", 1.5)
    progress.trial_finished("compute-def", "completed", None)
    first, second = capsys.readouterr().err.splitlines()
    assert first.startswith("[  1/2] completed") and first.endswith("mlp/s lr=0.003 seed=1 (compute-abc)")
    assert second.endswith("compute-def")
