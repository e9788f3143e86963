"""Running a list of planned trials as one Ray Tune grid: what every study does by default, and what a
study that drives Tune itself (the hparams search) uses for its fixed phases.

Single-worker trials are batched: one Tune task runs several of them in sequence (``tune_task.tune_trial``, on one
of the run's warm hosts when the driver opened a pool: ``trial_hosts``),
each with its own rows and marker and its own report, so a grid of one-second trials is not dominated by
per-task costs; the driver's callbacks act on each planned trial as its task reports it (``TrialEnds``).
Batch sizes follow guided self-scheduling: large batches first, shrinking to single trials at the end, so a grid
pays few task starts and its slots still finish together.
"""

from __future__ import annotations

import math
import sys
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ray.tune import Callback

from .errors import RunFolderError
from .launch import Launch
from .spec.models import TrialSpec
from .storage.run_folder import DRIVER_LOG, RAY_TUNE, LocalRunFolder

GUIDED_SHARE = 2  # a batch takes 1 / (GUIDED_SHARE x slots) of its group's trials not batched yet


def batch_sizes(n: int, slots: int) -> list[int]:
    """Sizes of the batches of ``n`` equal-resource trials on ``slots``, in launch order, by guided self-scheduling
    (Polychronopoulos & Kuck 1987, with Hummel et al. 1992's factor 2 as in OpenMP's ``schedule(guided)``): each
    batch is ``ceil(remaining / (2 * slots))``, so the first batches are large (few task starts) and the last ones
    single trials (the slots' tails differ by about one trial, not one batch)."""
    sizes = []
    while n > 0:
        sizes.append(max(1, math.ceil(n / (GUIDED_SHARE * max(slots, 1)))))
        n -= sizes[-1]
    return sizes


def batches(trials: list[TrialSpec], slots: int, resources: Callable[[TrialSpec], Any]) -> list[list[TrialSpec]]:
    """The tasks of a grid: single-worker trials that reserve the same resources, in plan order, in batches of the
    sizes ``batch_sizes`` gives; a multi-worker trial (its own TorchTrainer) is a task alone. Tune starts tasks in
    this order, so each group's large batches run first."""
    groups: dict[str, list[TrialSpec]] = {}
    for t in trials:
        groups.setdefault(repr(resources(t)) if t.trainer.workers == 1 else f"alone:{t.trial_id}", []).append(t)
    tasks = []
    for group in groups.values():
        start = 0
        for size in batch_sizes(len(group), slots):
            tasks.append(group[start:start + size])
            start += size
    return tasks


def grid_trials(tune_trial: Any) -> list[TrialSpec]:
    """The planned trials of a task of ``TrialRunner.run`` (its ``Launch``)."""
    return Launch.of_task(tune_trial.config).trials


class TrialEnds(Callback):
    """Calls ``ended(trial, tune_trial, error)`` once per planned trial of a Tune task: when the task reports that
    trial's outcome (``dl_outcome`` in its result: a batch reports each trial as it ends), else when the task
    completes (``error`` False) or errs (True) for each of its trials not reported yet."""

    def __init__(self, trials_of: Callable[[Any], list[TrialSpec]] = grid_trials) -> None:
        self.trials_of = trials_of
        self.seen: set[str] = set()

    @abstractmethod
    def ended(self, trial: TrialSpec, tune_trial: Any, error: bool) -> None:
        """What to do once ``trial`` (a planned trial of ``tune_trial``) has ended."""

    def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
        if "dl_outcome" not in result:
            return
        for t in self.trials_of(trial):
            if t.trial_id == result.get("dl_trial_id") and t.trial_id not in self.seen:
                self.seen.add(t.trial_id)
                self.ended(t, trial, False)

    def _rest(self, tune_trial: Any, error: bool) -> None:
        for t in self.trials_of(tune_trial):
            if t.trial_id not in self.seen:
                self.seen.add(t.trial_id)
                self.ended(t, tune_trial, error)

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._rest(trial, error=False)

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._rest(trial, error=True)

    def __getstate__(self) -> dict:  # Tune pickles its run config; what the driver holds stays with the driver
        return {"trials_of": None, "seen": set()}


class PullTrial(TrialEnds):
    """Before the progress line of a trial: its rows and marker from the bucket into the staging folder, and
    the driver log to the bucket (so a killed driver's log is there up to its last finished trial)."""

    def __init__(self, staged: Any, trials_of: Callable[[Any], list[TrialSpec]] = grid_trials) -> None:
        super().__init__(trials_of)
        self.staged = staged

    def ended(self, trial: TrialSpec, tune_trial: Any, error: bool) -> None:
        try:
            self.staged.pull_trial(trial.trial_id)
            self.staged.push_file(DRIVER_LOG)
        except (OSError, RunFolderError) as exc:  # unreachable now (the pull after the study catches up), or damaged
            print(f"cannot copy trial {trial.trial_id} from the bucket now ({exc})", file=sys.stderr)

    def __getstate__(self) -> dict:  # the staging folder stays with the driver
        return {**super().__getstate__(), "staged": None}


@dataclass(frozen=True)
class TrialRunner:
    """Where and how the trials of one study run: the run folder, the W&B group, concurrency, retries."""

    run_dir: Path
    run_id: str
    progress: Any
    max_concurrent: int | None = None
    max_failures: int = 0
    checkpoint_every: int = 0
    staged: Any = None  # storage.StagedRun of a run on a bucket: trials write there, the driver pulls
    logger: Any = None  # tracking.trial_logger.TrialLogger: the run's one W&B logger of trial runs
    hosts: str | None = None  # the run's pool of warm trial processes (trial_hosts.open_hosts); None: every task
    # runs in its Tune trial's own process

    @property
    def folder(self) -> LocalRunFolder:
        """The run folder the driver reads and writes (a bucket run's staging folder)."""
        return LocalRunFolder(self.run_dir)

    @property
    def run_uri(self) -> str | None:
        return self.staged.bucket.uri if self.staged is not None else None

    @property
    def run_fence(self) -> dict | None:
        """The bucket lock's fencing token, which every trial checks before it writes to the bucket."""
        return self.staged.token if self.staged is not None else None

    @property
    def address(self) -> str:
        """The run folder the trials write to: the bucket of a bucket run, else the local folder."""
        return self.run_uri or str(self.run_dir)

    def launch(self, trials: list[TrialSpec], *, train_checkpoints: bool = True) -> Launch:
        """The ``Launch`` of a Tune task running ``trials`` in this run. ``train_checkpoints`` False: no Ray Train
        checkpoints, restarts or planted faults (a search trial's Tune checkpoints are its scheduler reports)."""
        from .train.checkpoint import fault_from_env

        if not train_checkpoints:
            return Launch(trials=trials, address=self.address, run_id=self.run_id, fence=self.run_fence,
                          hosts=self.hosts)
        return Launch(trials=trials, address=self.address, run_id=self.run_id, max_failures=self.max_failures,
                      checkpoint_every=self.checkpoint_every, fault=fault_from_env(), fence=self.run_fence,
                      hosts=self.hosts)

    @property
    def storage_path(self) -> str:
        """Ray Tune's experiment storage: ``ray_tune`` in the run folder (in the bucket of a bucket run)."""
        return f"{self.run_uri}/{RAY_TUNE}" if self.run_uri else str(self.run_dir / RAY_TUNE)

    def callbacks(self, trials_of: Callable[[Any], list[TrialSpec]] = grid_trials,
                  progress: Callback | None = None) -> list[Callback]:
        """Per finished trial, in this order: pulled from the bucket, its progress line (``progress``, else the
        run's), its W&B run queued."""
        pull = [PullTrial(self.staged, trials_of)] if self.staged else []
        log = [self.logger.callback(trials_of)] if self.logger is not None else []
        return [*pull, progress or self.progress.tune_callback(self.run_dir, trials_of), *log]

    def tune(self, trainable: Any, param_space: dict[str, Any], *, name: str,
             trials_of: Callable[[Any], list[TrialSpec]] = grid_trials, scheduler: Any = None,
             search_alg: Any = None, num_samples: int = 1, max_concurrent: int | None = None,
             progress: Callback | None = None, dirname: Callable[[Any], str] | None = None,
             keep_checkpoints: int | None = None) -> Any:
        """One Tuner of this run, its result grid returned: Tune's storage in the run folder (the bucket of a bucket
        run), the run's callbacks, actors reused. The hooks a study that drives Tune itself sets (the hparams
        search): its ``trainable`` and ``param_space``, a ``scheduler`` (ASHA) and ``search_alg`` with
        ``num_samples``, how a task names its planned trials (``trials_of``), its progress callback, and the
        experiment ``name`` (fixed, so ``Tuner.restore`` finds it again)."""
        from ray import tune

        from .tune_state_sync import quiet_state_upload_race

        quiet_state_upload_race()
        tuner = tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=tune.TuneConfig(search_alg=search_alg, scheduler=scheduler, num_samples=num_samples,
                                        max_concurrent_trials=max_concurrent or self.max_concurrent,
                                        reuse_actors=True, trial_dirname_creator=dirname),
            run_config=tune.RunConfig(name=name, storage_path=self.storage_path, verbose=0,
                                      callbacks=self.callbacks(trials_of, progress),
                                      checkpoint_config=tune.CheckpointConfig(num_to_keep=keep_checkpoints)),
        )
        return tuner.fit()

    def run(self, trials: list[TrialSpec], *, max_concurrent: int | None = None) -> None:
        """One Tune grid over ``trials``: each task runs ``trial.tune_trial`` on a batch of them (``batches``).
        Trials of a batch whose process died before they started have no outcome: they run again, each alone
        (a stop request stops that grid too, and the driver records them as interrupted)."""
        self._grid(trials, max_concurrent=max_concurrent, batched=True)
        self._grid([t for t in trials if not self._recorded(t.trial_id)], max_concurrent=max_concurrent,
                   batched=False)

    def _recorded(self, trial_id: str) -> bool:
        """The trial has a marker here (a bucket run's trials were pulled as they ended) or, pulled now, in the
        bucket; a damaged one or an unreachable bucket counts as recorded (the resume check names it)."""
        try:
            if self.folder.marker(trial_id) is not None or self.staged is None:
                return self.folder.marker(trial_id) is not None
            self.staged.pull_trial(trial_id)
            return self.folder.marker(trial_id) is not None
        except (OSError, RunFolderError):
            return True

    def _grid(self, trials: list[TrialSpec], *, max_concurrent: int | None, batched: bool) -> None:
        if not trials:
            return
        import ray
        from ray import tune

        from .cluster import trials_at_once, tune_trial_resources
        from .tune_task import tune_trial

        cluster = ray.cluster_resources()
        max_concurrent = max_concurrent or self.max_concurrent or trials_at_once(trials, cluster)
        slots = max_concurrent or max(1, int(cluster.get("CPU", 1)))  # at most
        tasks = batches(trials, slots, tune_trial_resources) if batched else [[t] for t in trials]
        trainable = tune.with_resources(tune_trial, resources=lambda cfg: tune_trial_resources(first_trial(cfg)))
        self.tune(trainable, Launch.grid([self.launch(task) for task in tasks]), name=f"tune-{trials[0].study}",
                  max_concurrent=max_concurrent, dirname=_task_dirname)


def first_trial(config: Mapping[str, Any]) -> TrialSpec:
    """The first trial of a task's config (its resources are the batch's: ``batches`` groups by them)."""
    return Launch.of_task(config).trial


def _task_dirname(tune_trial: Any) -> str:
    ids = [t.trial_id for t in grid_trials(tune_trial)]
    return ids[0] if len(ids) == 1 else f"{ids[0]}+{len(ids) - 1}"
