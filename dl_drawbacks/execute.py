"""The driver of `dl-drawbacks run`: validate, plan, connect, then run each study's pending
trials with Ray Tune, then aggregate, analyse and report.

Everything that can be refused is refused before the run folder is touched: the spec, the data
sets, the cluster's capacity, an existing folder without --resume, a folder that holds something
other than a run, a folder that cannot be written, a folder another run holds. Ctrl-C or SIGTERM
during the trials stops scheduling, records the unfinished trials as interrupted and reports
(interrupt.py). What the driver prints goes to the run folder's driver log too.

An ``--out`` URI (s3://, gs://) runs on a local staging folder that mirrors the bucket (storage/sync.py):
pulled when the run starts, after every trial and study, pushed after the driver writes; each trial
writes its rows and marker to the bucket from whichever node runs it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

import yaml

from .driver_log import driver_log
from .errors import DrawbacksError, RunFolderError
from .interrupt import StopRequest
from .plan import plan_suite
from .labels import trial_labels
from .progress import Progress, silence_tune_output
from .spec.load import load_spec
from .spec.models import SuiteSpec, TrialSpec
from .spec.extension import extension_difference
from .storage.run_folder import SPEC, LocalRunFolder, RunFolder, RunLock
from .storage.files import local_run_folder


def resolved_spec_text(suite: SuiteSpec) -> str:
    return yaml.safe_dump(suite.model_dump(mode="json"), sort_keys=False)


class RunInterrupted(DrawbacksError):
    """The run stopped on SIGINT/SIGTERM after recording what finished; exit 128 + the signal."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


def check_run_folder(out: Path, suite: SuiteSpec, *, resume: bool) -> None:
    """Refuse a folder that is not a directory, cannot be written, holds something other than a run
    of this spec, or holds a run without --resume: nothing of a user's is ever overwritten."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"--out {out} is a file, not a folder; choose a folder for the run")
    existing = next((p for p in [out, *out.parents] if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise RunFolderError(f"--out {out}: {existing} is a file, so the run folder cannot be made under it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunFolderError(f"--out {out}: {existing} is not writable by this user; choose another --out")
    try:
        check_held(LocalRunFolder(out), suite, resume=resume)
    except OSError as exc:
        raise RunFolderError(f"--out {out}: cannot list the folder ({exc.strerror})") from None


def check_held(folder: RunFolder, suite: SuiteSpec, *, resume: bool) -> None:
    """What the folder (local or bucket) holds: nothing, or a run of this spec and format with --resume."""
    held = folder.held()
    spec = folder.spec_text() if held else None
    if held and spec is None:
        shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise RunFolderError(f"--out {folder.address} holds files that are not a dl-drawbacks run "
                             f"(no {SPEC}: {shown}); choose a new or empty folder")
    if held and not resume:
        raise RunFolderError(f"{folder.address} already holds a run; pass --resume to finish it, or choose another "
                             f"--out")
    if held:
        folder.check_format()
        refuse_other_spec(spec, suite, folder.address)


def refuse_other_spec(held: str, suite: SuiteSpec, where: str) -> None:
    """Refuse resuming a run folder made from another spec, unless the new one only adds seeds or sweep values
    (then the finished trials keep their ids and rows, and only the new trials run)."""
    if held == resolved_spec_text(suite):
        return
    differs = extension_difference(yaml.safe_load(held), suite.model_dump(mode="json"))
    if differs is not None:
        raise RunFolderError(
            f"{where} was made from a different spec ({differs} differs; a resume may only add seeds or sweep "
            f"values); use a new --out (or `dl-drawbacks analyze {where}` to re-analyse it)"
        )


def preflight_data(trials: list[TrialSpec]) -> dict:
    """Load every distinct data set once on the driver: a missing or damaged file stops the run here;
    returns each one's shape for the model-memory check (model_memory.py)."""
    from .data import load_dataset
    from .data.base import parse_options
    from .data.in_memory import refuse_too_big, refuse_workers
    from .data.streamed import StreamedDataset, is_streamed
    from .model_memory import data_key, data_shape
    from .studies.base import get_kind

    shapes = {}
    for t in trials:
        if t.trainer.workers > 1 and is_streamed(t.data.name) and not get_kind(t.study).streams_data:
            refuse_workers(t.data.name, t.study, t.trainer.workers)
        key = data_key(t)
        if key not in shapes:
            ds = load_dataset(t.data.name, t.data.options)
            if isinstance(ds, StreamedDataset):
                if not get_kind(t.study).streams_data:  # the kind reads it into memory in each trial
                    refuse_too_big(ds, parse_options(t.data.name, t.data.options), t.study)
                ds.verify()  # here only: trials open the index again, never the files
            shapes[key] = data_shape(ds)
            n_rows = len(ds.train_labels) if isinstance(ds, StreamedDataset) else len(ds.y_train)
            if t.data.n_train is not None and t.data.n_train > n_rows:
                from .errors import DataError

                raise DataError(
                    f"data.n_train {t.data.n_train} exceeds the {n_rows} training rows of {t.data.name}; "
                    "lower it"
                )
    return shapes


def open_run_folder(target: str, suite: SuiteSpec, *, resume: bool):
    """(local folder the driver works in, the bucket or None): a bucket run works in a staging folder."""
    from .storage import BucketRunFolder, is_uri, open_bucket, staging_folder

    if not is_uri(target):
        out = local_run_folder(target)
        check_run_folder(out, suite, resume=resume)
        return out, None
    bucket = open_bucket(target)
    check_held(BucketRunFolder(bucket), suite, resume=resume)
    return staging_folder(bucket.uri), bucket


@contextlib.contextmanager
def locked_run_folder(out: Path, bucket, *, resume: bool = False) -> Iterator[Any]:
    """The run lock, then (bucket runs) a fresh staging folder pulled from the bucket and pushed back on exit,
    then the driver log; yields the StagedRun (None for a local folder)."""
    from .storage import BucketLock, StagedRun
    from .storage.lock import HEARTBEAT_S, STALE_S
    from .storage.stopping import STOPPING_WAIT_S

    stopping_wait_s = STOPPING_WAIT_S if resume else 0.0  # a run stopped a moment ago may still be writing its report
    if bucket is None:
        with RunLock(LocalRunFolder(out), stopping_wait_s=stopping_wait_s), driver_log(out):
            yield None
        return
    with BucketLock(bucket, wait_s=STALE_S + HEARTBEAT_S if resume else 0.0, stopping_wait_s=stopping_wait_s) as lock:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        staged = StagedRun(bucket, out, fence=lock.check, token=lock.token)
        staged.pull()
        try:
            with driver_log(out):
                yield staged
        finally:
            staged.push()


def run_study_file(
    spec_path: str | Path,
    *,
    out: str | Path | None,
    resume: bool,
    address: str | None,
    dashboard: bool = False,
    overrides: Sequence[str] = (),
) -> Path:
    from .cluster import check_fits, check_shared_folder, connect, largest_node_memory, node_count, resolve_address
    from .credentials import move_aws_credentials_to_file
    from .model_memory import check_model_memory, local_memory
    from .analyze import analyze_run

    suite = load_spec(spec_path, overrides)  # the resolved spec (overrides set) is what spec.yaml holds
    studies = plan_suite(suite, source=str(spec_path))
    trials = [t for s in studies for t in s.trials]
    target = str(out or Path("runs") / suite.name)
    move_aws_credentials_to_file()  # before anything opens the bucket or starts Ray: no log may hold them
    out, bucket = open_run_folder(target, suite, resume=resume)
    shapes = preflight_data(trials)
    local = resolve_address(address) in (None, "local")
    if local:  # before Ray starts: the workers share this machine
        check_model_memory(trials, shapes, local_memory(), where="this machine")
    import ray

    owns_ray = not ray.is_initialized()
    resources = connect(address, plugins=suite.plugins, dashboard=dashboard)
    check_fits(trials, resources, node_count())
    if not local:
        check_model_memory(trials, shapes, largest_node_memory())
    if bucket is None:
        check_shared_folder(out)
    else:  # each trial writes to the bucket from its own node
        from .storage.probe import check_nodes_reach

        check_nodes_reach(bucket)
    resume_command = shlex.join(
        ["dl-drawbacks", "run", str(Path(spec_path).resolve()), *overrides, "--out", bucket.uri if bucket else str(out),
         "--resume"]
    )
    with locked_run_folder(out, bucket, resume=resume) as staged:
        stop, progress, pending, ahead = _run_trials(out, suite, studies, resources, staged)
        not_run = record_interrupted(out, pending, stop.name, resume_command) if stop.signum else []
        if staged:
            staged.push()
        analyze_run(out, progress=progress, ahead=ahead)
        if staged:
            print(f"run folder: {bucket.uri} (local copy: {out})", file=sys.stderr)
    if stop.signum:
        if owns_ray:  # leaving Ray's core worker to the C exit handlers after a signal can deadlock there
            ray.shutdown()
        raise RunInterrupted(
            f"interrupted by {stop.name}: {len(not_run)} of {len(trials)} trials did not finish "
            f"(listed in the report of {bucket.uri if bucket else out}); finish them with: "
            f"{resume_command}",
            stop.signum,
        )
    return out


def _run_trials(out: Path, suite: SuiteSpec, studies: list, resources: dict, staged) -> tuple:
    """Write spec and env (once), then run each study's pending trials (single-worker ones on the run's warm hosts,
    ``trial_hosts``, closed before this returns), each study analysed in the background once its trials have ended
    (``analysis_ahead``); returns (stop, progress, pending, the analyses done ahead)."""
    from .analysis_ahead import AnalysisAhead
    from .envinfo import environment
    from .tracking.run_setup import start_tracking  # the W&B group, kept with the environment; the mode, decided once
    from .tracking.trial_logger import TrialLogger
    from .trial_hosts import open_hosts
    from .tune_runner import TrialRunner

    folder = LocalRunFolder(out)
    spec_text, held = resolved_spec_text(suite), folder.spec_text()
    if held is None:
        folder.write_format()
    if held != spec_text:  # a new run, or a resume that adds seeds or sweep values (check_held allowed it)
        folder.write_spec(spec_text)
    if not folder.env():  # the environment the run started in; a resume keeps it
        folder.write_env(environment(resources))
    run_id = start_tracking(out, suite)
    if staged:
        staged.push()  # the spec and the environment before any trial: every trial's node reads them from the bucket
    trials = [t for s in studies for t in s.trials]
    pending = [t for t in trials if not folder.is_finished(t.trial_id)]
    progress = Progress(total=len(trials), done=len(trials) - len(pending), labels=trial_labels(trials))
    silence_tune_output()
    ahead = AnalysisAhead(out, studies, suite.measure, enabled=staged is None)  # a bucket run: at the end only
    with StopRequest() as stop, TrialLogger(out, settings=suite.tracking, group=run_id) as logger, \
            open_hosts(run_id) as hosts:
        for group in grid_groups([s for s in studies if any(t.study_index == s.index for t in pending)]):
            study = group[0]
            todo = [t for t in pending if t.study_index in {s.index for s in group}]
            if stop.signum:
                continue
            execution = study.spec.execution
            concurrency = execution.max_concurrent_trials or study.kind.default_concurrency
            timed_alone = concurrency == 1  # trials timed one at a time (compute): nothing of ours runs beside them,
            if timed_alone:  # and they start in their Tune run's own processes, so a trial's memory and time never
                ahead.quiet()  # carry what the studies before it left in a warm host
            runner = TrialRunner(
                run_dir=out,
                run_id=run_id,
                progress=progress,
                max_concurrent=concurrency,
                max_failures=execution.max_failures,
                checkpoint_every=execution.checkpoint_every,
                staged=staged,
                logger=logger,
                hosts=None if timed_alone else hosts,
            )
            if len(group) == 1:
                study.kind.run_trials(study.spec, study.options, todo, runner=runner)
            else:  # what the default run_trials does, over the trials of every study of the group
                runner.run(todo)
            if staged:
                staged.pull()  # trials a study ran its own way (a search) wrote here or in the bucket
                staged.push()
            if not stop.signum:
                for done in group:
                    ahead.submit(done)
    return stop, progress, pending, ahead.results()


def grid_groups(studies: list) -> list[list]:
    """The studies in order, consecutive ones merged where they leave running to the default Tune grid with the
    same concurrency, retries and checkpointing: one grid for them keeps its Tune actors (and the imports, data
    and models they hold) warm from one study to the next instead of starting fresh processes per study."""
    from .studies.base import StudyKind

    def key(study) -> tuple | None:
        if type(study.kind).run_trials is not StudyKind.run_trials:
            return None  # a study that runs its trials its own way (a search) runs alone
        e = study.spec.execution
        return e.max_concurrent_trials or study.kind.default_concurrency, e.max_failures, e.checkpoint_every

    groups: list[list] = []
    for study in studies:
        if groups and key(study) is not None and key(study) == key(groups[-1][0]):
            groups[-1].append(study)
        else:
            groups.append([study])
    return groups


def record_interrupted(out: Path, pending: list[TrialSpec], signame: str, resume_command: str) -> list[str]:
    """An ``interrupted`` marker (no rows: ``--resume`` runs it) for each pending trial that has no outcome."""
    import polars as pl

    from .rows import ROW_SCHEMA

    folder = LocalRunFolder(out)
    not_run = []
    for t in pending:
        marker = folder.marker(t.trial_id)
        if marker is not None and (marker.finished or marker.status == "failed"):
            continue
        folder.write_trial(
            t.trial_id,
            pl.DataFrame(schema=ROW_SCHEMA),
            {
                "status": "interrupted",
                "error": f"not run to the end: the run was interrupted ({signame}); " f"finish with `{resume_command}`",
                "sweep": t.sweep,
                "study": t.study,
                "wall_seconds": None,
            },
        )
        not_run.append(t.trial_id)
    return not_run
