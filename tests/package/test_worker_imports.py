"""What a Ray worker imports to run a trial: the Tune trial function, every built-in study kind (a worker discovers
them all to find its own) and one real single-worker trial, in a fresh process as Ray starts it. Figures are drawn
on the driver only (no matplotlib); scikit-learn and scipy.stats are imported only where a classical baseline or an
interval is computed; DeepSpeed and W&B only where a trial uses them; torch.compile's compiler only where the spec
asks for compile. torch.optim itself imports ``torch._dynamo`` (torch 2.13: ``Optimizer.__init__`` and ``step``), so
the trial may hold that module, never its compiler (``torch._inductor.compile_fx``)."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from dl_drawbacks.launch import Launch
from dl_drawbacks.plan import plan
from dl_drawbacks.spec import load_spec

# seconds each to import; none is needed by an overfitting trial of an MLP on digits
HEAVY = ("matplotlib", "sklearn", "scipy.stats", "pandas", "deepspeed", "wandb", "captum", "aif360", "optuna",
         "torch._inductor.compile_fx", "dl_drawbacks.report", "dl_drawbacks.k8s")

CHECK = """
import json, sys
HEAVY = {heavy!r}
import dl_drawbacks.trial
from dl_drawbacks.studies.base import get_kind
from dl_drawbacks.registry import STUDIES
get_kind("compute")  # discovers every built-in kind
for name in list(STUDIES):
    get_kind(name)
assert len(list(STUDIES)) >= 6
seen = {{"discovery": sorted(m for m in HEAVY + ("torch._dynamo",) if m in sys.modules)}}
from dl_drawbacks.launch import Launch
from dl_drawbacks.trial import execute_trial
launch = Launch.of_task(json.loads(sys.argv[1]))
seen["status"] = execute_trial(launch, launch.trial)["status"]
seen["trial"] = sorted(m for m in HEAVY if m in sys.modules)
print(json.dumps(seen))
"""


def test_a_worker_imports_only_what_its_trial_uses(tmp_path):
    spec = {"name": "imports", "version": 1, "tracking": {"mode": "disabled"}, "studies": [{
        "kind": "overfitting", "data": {"name": "digits", "n_train": 200},
        "model": {"family": "mlp", "size": "s", "params": {"width": 16}},
        "trainer": {"micro_batch": 50, "budget": {"epochs": 1}}, "seeds": [0]}]}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    trials = plan(load_spec(tmp_path / "spec.yaml"))
    config = Launch(trials=trials[:1], address=str(tmp_path / "run"), run_id="r").to_config()
    out = subprocess.run([sys.executable, "-c", CHECK.format(heavy=HEAVY), json.dumps(config)], capture_output=True,
                         text=True, timeout=300, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"discovery": [], "status": "completed", "trial": []}, seen
