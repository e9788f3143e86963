"""Driver of a hyperparameter study: one search per data set (random or Optuna TPE, through Ray Tune),
each with its own ASHA scheduler, then the re-runs chosen from them, then the planned fixed trials.

Every phase recomputes its to-do list from the run folder (ids hash role + settings + seed), so no trial is
run twice and ``--resume`` continues.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import polars as pl
from ray.tune import Callback

from ...errors import RunFolderError
from ...launch import Launch
from ...spec.models import StudySpec, TrialSpec
from ...storage.run_folder import LocalRunFolder
from ...tune_runner import TrialRunner, first_trial
from ...tune_task import stepwise
from .followups import followup_trials
from .options import HparamsOptions
from .outcomes import objectives
from .worker import PARTIAL, SEARCH_ENTRY, search_trials


def cluster_concurrency(trial: TrialSpec) -> int:
    """Trials that fit at once: the cluster's CPUs over one trial's CPUs (GPUs likewise)."""
    import ray

    from ...cluster import trial_resources

    have, need = ray.cluster_resources(), trial_resources(trial)
    return max(1, int(min(have.get(k, 0.0) // v for k, v in need.items() if v)))


class SearchProgress(Callback):
    """One progress line per search trial (a trial ASHA stopped has no marker yet: it is stopped early)."""

    def __init__(self, progress, run_dir: Path) -> None:
        self.progress, self.run_dir = progress, Path(run_dir)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        tid = (trial.last_result or {}).get("dl_trial_id") or search_trials(trial)[0].trial_id
        try:
            found = LocalRunFolder(self.run_dir).marker(tid)
        except RunFolderError:  # damaged: the resume check names it
            found = None
        marker = dict(found.fields) if found is not None else {}
        status = marker.get("status") or ("stopped_early" if trial.checkpoint is not None else "unknown")
        self.progress.trial_finished(tid, status, marker.get("wall_seconds"))

    def __getstate__(self) -> dict:  # Tune pickles its run config; the stream stays behind
        return {"run_dir": self.run_dir, "progress": None}


def _search(runner: TrialRunner, trainable, param_space: dict, *, search_alg, options: HparamsOptions,
            n_evals: int, num_samples: int, name: str, concurrency: int):
    """One search on the run's Tune machinery (``TrialRunner.tune``) with its own ASHA scheduler: trials of one
    data set are only ever compared with each other. On a bucket run the trials write there, Tune's storage is
    there, and each finished trial is pulled into the driver's staging folder before its progress line."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    asha = options.asha
    scheduler = (ASHAScheduler(time_attr="training_iteration", metric="objective", mode="max", max_t=n_evals,
                               grace_period=min(asha.grace_period, n_evals), reduction_factor=asha.reduction_factor)
                 if asha.enabled else FIFOScheduler())
    return runner.tune(trainable, param_space, name=name, trials_of=search_trials, scheduler=scheduler,
                       search_alg=search_alg, num_samples=num_samples, max_concurrent=concurrency,
                       progress=SearchProgress(runner.progress, runner.run_dir), keep_checkpoints=1)


def finalize_stopped(run_dir: Path, results, *, study: str) -> list[str]:
    """Trials Tune stopped (no marker): the rows snapshot of their last checkpoint becomes their rows."""
    folder = LocalRunFolder(run_dir)
    stopped = []
    for result in results:
        if result.checkpoint is None:
            continue
        with result.checkpoint.as_directory() as checkpoint_dir:
            rows = pl.read_parquet(Path(checkpoint_dir) / PARTIAL)
        tid = rows["trial_id"][0]
        if folder.marker(tid) is not None:
            continue
        sweep = json.loads(rows["factors"][0]).get("sweep", "search")
        folder.write_trial(tid, rows, {
            "status": "stopped_early", "error": None, "started": None, "finished": time.time(),
            "wall_seconds": float(rows.filter(pl.col("metric") == "wall_time_to_end")["value"][-1]),
            "sweep": sweep, "study": study})
        stopped.append(tid)
    return stopped


def _n_evals(trial: TrialSpec) -> int:
    return trial.trainer.budget.epochs or 1


def run_search(search: list[TrialSpec], options, *, runner: TrialRunner, concurrency: int) -> None:
    """The random search of one data set: one Tuner, one scheduler, only that data set's trials."""
    from ray import tune

    from ...cluster import tune_trial_resources

    if not search:
        return
    assert len({(t.sweep, t.data.name) for t in search}) == 1, "one scheduler per data set"
    trainable = tune.with_resources(stepwise(SEARCH_ENTRY),
                                    resources=lambda cfg: tune_trial_resources(first_trial(cfg)))
    space = Launch.grid([runner.launch([t], train_checkpoints=False) for t in search])
    results = _search(runner, trainable, space, search_alg=None, options=options, n_evals=_n_evals(search[0]),
                      num_samples=1, name=f"{search[0].sweep}-{search[0].data.name}", concurrency=concurrency)
    finalize_stopped(runner.run_dir, results, study=search[0].study)


def run_tpe(base: TrialSpec, options: HparamsOptions, *, runner: TrialRunner, concurrency: int) -> None:
    """Optuna TPE through Tune's OptunaSearch, warm-started with the finished search trials (resume)."""
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    from ...cluster import tune_trial_resources

    run_dir = runner.run_dir
    done = objectives(run_dir, base.study, explode_factor=options.explode_factor)
    done = done.filter(pl.col("sweep") == "search") if done.height else done
    left = options.n_trials - done.height
    if left <= 0:
        return
    names = list(options.search_space)
    points = [{f"hp/{n}": r[n] for n in names} for r in done.iter_rows(named=True)] if done.height else None
    rewards = done["objective"].to_list() if done.height else None
    searcher = OptunaSearch(space={f"hp/{n}": d.optuna() for n, d in options.search_space.items()}, metric="objective",
                            mode="max", seed=options.sample_seed, points_to_evaluate=points, evaluated_rewards=rewards)
    trainable = tune.with_resources(stepwise(SEARCH_ENTRY), resources=tune_trial_resources(base))
    space = runner.launch([base.model_copy(update={"sweep": "search"})], train_checkpoints=False).to_config()
    runner.progress.total += left
    results = _search(runner, trainable, space, search_alg=ConcurrencyLimiter(searcher, max_concurrent=concurrency),
                      options=options, n_evals=_n_evals(base), num_samples=left, name=f"tpe-{base.study}",
                      concurrency=concurrency)
    finalize_stopped(run_dir, results, study=base.study)


def run_study(study: StudySpec, options: HparamsOptions, todo: list[TrialSpec], *, base: TrialSpec,
              runner: TrialRunner) -> None:
    """``base``: the study's settings on task A with the search seed (hyperparameters are overridden).

    Phases: each data set's search under its own scheduler, the one-at-a-time sweep and the full-budget
    sample, the re-runs chosen from those results (the variance design among them), then the planned default. A
    planned phase runs
    last, so a run stopped in any earlier phase still has planned trials pending on ``--resume``."""
    run_dir, progress = runner.run_dir, runner.progress
    concurrency = runner.max_concurrent or cluster_concurrency(base)
    progress.line(f"hparams: {options.search} search, ASHA {'on' if options.asha.enabled else 'off'} "
                  f"(one scheduler per data set), {concurrency} trials at once")
    if options.search == "tpe":
        run_tpe(base, options, runner=runner, concurrency=concurrency)
    for sweep in ("search", "transfer"):
        run_search(pending(runner, todo, sweep), options, runner=runner, concurrency=concurrency)
    runner.run(pending(runner, todo, "oat", "sample"), max_concurrent=concurrency)
    chosen = pending(runner, followup_trials(base, options, run_dir))
    if chosen:
        progress.total += len(chosen)
        runner.run(chosen, max_concurrent=concurrency)
    runner.run(pending(runner, todo, "default"), max_concurrent=concurrency)


def pending(runner: TrialRunner, trials: list[TrialSpec], *sweeps: str) -> list[TrialSpec]:
    """The trials (of ``sweeps``, when named) the run folder does not hold as finished, read now: each phase
    recomputes its to-do list, so no trial an earlier phase finished is run again."""
    if runner.staged is not None:
        runner.staged.pull()
    return [t for t in trials if (not sweeps or t.sweep in sweeps) and not runner.folder.is_finished(t.trial_id)]
