"""The driver of `dl-drawbacks run`: validate, plan, connect, then run each study's pending
trials with Ray Tune, then aggregate, analyse and report.

Everything that can be refused is refused before the run folder is touched: the spec, the data
sets, the cluster's capacity, an existing folder without --resume, a folder another run holds.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import RunFolderError
from .plan import plan_suite
from .progress import Progress
from .spec.load import load_spec
from .spec.models import SuiteSpec, TrialSpec
from .store import RunLock, atomic_write_bytes, atomic_write_json, is_finished


def resolved_spec_text(suite: SuiteSpec) -> str:
    return yaml.safe_dump(suite.model_dump(mode="json"), sort_keys=False)


def check_run_folder(out: Path, suite: SuiteSpec, *, resume: bool) -> None:
    spec_file = out / "spec.yaml"
    if out.exists() and any(p.name != ".lock" for p in out.iterdir()):
        if not resume:
            raise RunFolderError(f"{out} already holds a run; pass --resume to finish it, or choose another --out")
        if spec_file.exists() and spec_file.read_text() != resolved_spec_text(suite):
            raise RunFolderError(f"{out} was made from a different spec; use a new --out (or `dl-drawbacks analyze {out}` to re-analyse it)")


def preflight_data(trials: list[TrialSpec]) -> None:
    """Load every distinct data set once on the driver: a missing or damaged file stops the run here."""
    from .data import load_dataset

    seen = set()
    for t in trials:
        key = (t.data.name, repr(sorted(t.data.options.items())))
        if key not in seen:
            seen.add(key)
            ds = load_dataset(t.data.name, t.data.options)
            if t.data.n_train is not None and t.data.n_train > len(ds.y_train):
                from .errors import DataError

                raise DataError(f"data.n_train {t.data.n_train} exceeds the {len(ds.y_train)} training rows of {t.data.name}; lower it")


def run_study_file(spec_path: str | Path, *, out: str | Path | None, resume: bool, address: str | None) -> Path:
    from .cluster import check_fits, connect, node_count
    from .envinfo import environment
    from .postprocess import analyze_run
    from .tune_runner import TrialRunner

    suite = load_spec(spec_path)
    studies = plan_suite(suite, source=str(spec_path))
    trials = [t for s in studies for t in s.trials]
    out = Path(out or Path("runs") / suite.name).resolve()
    check_run_folder(out, suite, resume=resume)
    preflight_data(trials)
    resources = connect(address, plugins=suite.plugins)
    check_fits(trials, resources, node_count())
    with RunLock(out):
        if not (out / "spec.yaml").exists():
            atomic_write_bytes(out / "spec.yaml", resolved_spec_text(suite).encode())
        atomic_write_json(out / "env.json", environment(resources))
        run_id = f"{suite.name}-{int((out / 'spec.yaml').stat().st_mtime)}"
        pending = [t for t in trials if not is_finished(out, t.trial_id)]
        progress = Progress(total=len(trials), done=len(trials) - len(pending))
        for study in studies:
            todo = [t for t in pending if t.study_index == study.index]
            if not todo:
                continue
            execution = study.spec.execution
            runner = TrialRunner(run_dir=out, run_id=run_id, progress=progress,
                                 max_concurrent=execution.max_concurrent_trials or study.kind.default_concurrency,
                                 max_failures=execution.max_failures, checkpoint_every=execution.checkpoint_every)
            study.kind.run_trials(study.spec, study.options, todo, runner=runner)
        analyze_run(out, progress=progress)
    return out
