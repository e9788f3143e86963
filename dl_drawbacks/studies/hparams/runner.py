"""Driver of a hyperparameter study: the search (random or Optuna TPE, through Ray Tune, with ASHA),
then the best k configurations over seeds, then the planned default and one-at-a-time trials.

That order keeps ``--resume`` complete: the planned default/OAT trials run last, so a run that
stops in any earlier phase still has planned trials pending and this driver is called again; every
phase skips the trials already finished (ids hash settings + seed).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import polars as pl
from ray.tune import Callback

from ...spec.models import StudySpec, TrialSpec
from ...tune_runner import TrialRunner
from ...store import is_finished, read_marker, trial_dir, write_trial
from .options import HparamsOptions
from .outcomes import objectives
from .trials import make_trial
from .worker import PARTIAL, search_trial


def cluster_concurrency(trial: TrialSpec) -> int:
    """Trials that fit at once: the cluster's CPUs over one trial's CPUs (GPUs likewise)."""
    import ray

    from ...cluster import trial_resources

    have, need = ray.cluster_resources(), trial_resources(trial)
    return max(1, int(min(have.get(k, 0.0) // v for k, v in need.items() if v)))


class SearchProgress(Callback):
    """One progress line per search trial; a trial ASHA stopped has no marker yet, only its snapshot."""

    def __init__(self, progress, run_dir: Path) -> None:
        self.progress, self.run_dir = progress, Path(run_dir)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        tid = (trial.last_result or {}).get("dl_trial_id") or (trial.config.get("trial") or {}).get("trial_id")
        if not tid:  # a TPE trial stopped before its final report: its id is in the snapshot's folder only
            self.progress.trial_finished(trial.trial_id, "stopped_early", None)
            return
        marker = read_marker(self.run_dir, tid)
        status = (marker or {}).get("status") or ("stopped_early" if (trial_dir(self.run_dir, tid) / PARTIAL).exists() else "unknown")
        self.progress.trial_finished(tid, status, (marker or {}).get("wall_seconds"))

    def __getstate__(self) -> dict:  # Tune pickles its run config; the stream stays behind
        return {"run_dir": self.run_dir, "progress": None}


def _tune(trainable, *, param_space: dict, search_alg, options: HparamsOptions, n_evals: int, num_samples: int,
          run_dir: Path, name: str, progress, concurrency: int) -> None:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    asha = options.asha
    scheduler = (ASHAScheduler(time_attr="training_iteration", metric="objective", mode="max", max_t=n_evals,
                               grace_period=min(asha.grace_period, n_evals), reduction_factor=asha.reduction_factor)
                 if asha.enabled else FIFOScheduler())
    tuner = tune.Tuner(
        trainable, param_space=param_space,
        tune_config=tune.TuneConfig(search_alg=search_alg, scheduler=scheduler, num_samples=num_samples,
                                    max_concurrent_trials=concurrency, reuse_actors=False),
        run_config=tune.RunConfig(name=f"{name}-{int(time.time())}", storage_path=str(run_dir / "ray_tune"), verbose=0,
                                  callbacks=[SearchProgress(progress, run_dir)]),
    )
    tuner.fit()


def finalize_stopped(run_dir: Path, trials: list[dict[str, Any]]) -> int:
    """Trials Tune stopped (no marker, a partial snapshot): their partial rows become their rows."""
    n = 0
    for t in trials:
        folder = trial_dir(run_dir, t["trial_id"])
        partial = folder / PARTIAL
        if read_marker(run_dir, t["trial_id"]) is None and partial.exists():
            rows = pl.read_parquet(partial)
            write_trial(run_dir, t["trial_id"], rows, {
                "status": "stopped_early", "error": None, "started": None, "finished": time.time(),
                "wall_seconds": float(rows.filter(pl.col("metric") == "wall_time_to_end")["value"][-1]),
                "sweep": t["sweep"], "study": t["study"]})
            n += 1
        if partial.exists() and read_marker(run_dir, t["trial_id"]) is not None:
            partial.unlink()
    return n


def _n_evals(trial: TrialSpec) -> int:
    return trial.trainer.budget.epochs or 1


def run_random(search: list[TrialSpec], options, *, run_dir, run_id, concurrency, progress) -> None:
    from ray import tune

    from ...cluster import tune_trial_resources

    if not search:
        return
    by_id = {t.trial_id: t for t in search}
    trainable = tune.with_resources(search_trial, resources=lambda cfg: tune_trial_resources(by_id[cfg["trial"]["trial_id"]]))
    space = {"trial": tune.grid_search([t.model_dump(mode="json") for t in search]),
             "run_dir": str(run_dir), "run_id": run_id, "max_failures": 0}
    _tune(trainable, param_space=space, search_alg=None, options=options, n_evals=_n_evals(search[0]), num_samples=1,
          run_dir=run_dir, name=f"search-{search[0].study}", progress=progress, concurrency=concurrency)
    finalize_stopped(run_dir, [t.model_dump(mode="json") for t in search])


def run_tpe(base: TrialSpec, options: HparamsOptions, *, run_dir, run_id, concurrency, progress) -> None:
    """Optuna TPE through Tune's OptunaSearch, warm-started with the finished search trials (resume)."""
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    from ...cluster import tune_trial_resources

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
    trainable = tune.with_resources(search_trial, resources=tune_trial_resources(base))
    space = {"base": base.model_dump(mode="json"), "sweep": "search", "trial": None,
             "run_dir": str(run_dir), "run_id": run_id, "max_failures": 0}
    progress.total += left
    _tune(trainable, param_space=space, search_alg=ConcurrencyLimiter(searcher, max_concurrent=concurrency), options=options,
          n_evals=_n_evals(base), num_samples=left, run_dir=run_dir, name=f"tpe-{base.study}", progress=progress,
          concurrency=concurrency)
    finalize_stopped(run_dir, _trials_in(run_dir, base.study))


def _trials_in(run_dir: Path, study: str) -> list[dict[str, Any]]:
    root = Path(run_dir) / "trials"
    out = []
    for folder in root.iterdir() if root.exists() else []:
        partial = folder / PARTIAL
        if partial.exists():
            f = json.loads(pl.read_parquet(partial, n_rows=1)["factors"][0])
            out.append({"trial_id": folder.name, "sweep": f.get("sweep", "search"), "study": study})
    return out


def best_seed_trials(base: TrialSpec, options: HparamsOptions, run_dir: Path) -> list[TrialSpec]:
    """The best k completed search configurations of task A, re-run over ``options.seeds``."""
    table = objectives(run_dir, base.study, explode_factor=options.explode_factor)
    if table.height == 0:
        return []
    ranked = table.filter((pl.col("sweep") == "search") & (pl.col("status") == "completed")).sort(["objective", "config_id"], descending=[True, False])
    out = []
    for row in ranked.head(options.top_k).iter_rows(named=True):
        config = {n: row[n] for n in options.search_space}
        out += [make_trial(base, config, sweep="best_seeds", seed=s) for s in options.seeds]
    return out


def run_study(study: StudySpec, options: HparamsOptions, todo: list[TrialSpec], *, base: TrialSpec,
              runner: TrialRunner) -> None:
    """``base``: the study's settings on task A with the search seed (hyperparameters are overridden)."""
    run_dir, run_id, progress = runner.run_dir, runner.run_id, runner.progress
    concurrency = runner.max_concurrent or cluster_concurrency(base)
    progress.line(f"hparams: {options.search} search, ASHA {'on' if options.asha.enabled else 'off'}, {concurrency} trials at once")
    search = [t for t in todo if t.sweep in ("search", "transfer")]
    if options.search == "tpe":
        run_tpe(base, options, run_dir=run_dir, run_id=run_id, concurrency=concurrency, progress=progress)
    run_random(search, options, run_dir=run_dir, run_id=run_id, concurrency=concurrency, progress=progress)
    seeds = [t for t in best_seed_trials(base, options, run_dir) if not is_finished(run_dir, t.trial_id)]
    if seeds:
        progress.total += len(seeds)
        runner.run(seeds, max_concurrent=concurrency)
    fixed = [t for t in todo if t.sweep in ("default", "oat")]
    if fixed:
        runner.run(fixed, max_concurrent=concurrency)
