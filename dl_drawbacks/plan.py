"""Plan a suite: check each study against its kind, parse the kind's options once, and expand it into
trials: each sweep's grid (product of its axes), union over sweeps, duplicates removed, times seeds.
Trial ids hash the trial's settings, so a re-plan of the same spec gives the same ids and ``--resume``
can recognise finished trials."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .errors import SpecError
from .models.base import check_modality, resolve_params
from .plugins import load_plugins
from .registry import DATASETS, MODELS
from .spec.messages import validation_message
from .spec.models import StudySpec, SuiteSpec, TrialSpec, current_path, id_layout
from .studies.base import StudyKind, get_kind

SETTING_ROOTS = ("data", "model", "trainer", "treatment")


def set_path(doc: dict[str, Any], path: str, value: Any, *, where: str) -> None:
    """Set the setting at dotted ``path`` (``trainer.optimizer.lr``) in ``doc``; a bad path names ``where``."""
    parts = current_path(path).split(".")
    if parts[0] not in SETTING_ROOTS:
        raise SpecError(f"{where}: axis {path!r} must start with one of {', '.join(SETTING_ROOTS)}")
    node = doc
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise SpecError(f"{where}: axis {path!r} goes through a value that is not a mapping")
    node[parts[-1]] = value


def get_path(doc: dict[str, Any], path: str) -> Any:
    """The setting at dotted ``path`` in ``doc``."""
    for part in path.split("."):
        doc = doc[part]
    return doc


MAX_TRIALS_ENV = "DL_DRAWBACKS_MAX_TRIALS"
MAX_TRIALS = 10_000  # the default limit: a few days of the largest study in studies/ on a small cluster


def max_trials() -> int:
    value = os.environ.get(MAX_TRIALS_ENV, "").strip()
    if not value:
        return MAX_TRIALS
    if not value.isdigit():
        raise SpecError(f"{MAX_TRIALS_ENV}={value!r}: give a whole number of trials")
    return int(value)


def grid_size(study: StudySpec) -> int:
    """Trials the study's sweeps give before any is built: each grid's product (a zip's shortest axis),
    summed over sweeps (an upper bound: points two sweeps share run once), times seeds."""
    points = 0
    for sweep in study.sweeps:
        lengths = [len(values) for values in sweep.axes.values()]
        points += (min(lengths) if sweep.mode == "zip" else math.prod(lengths)) if lengths else 0
    return max(points, 1) * len(study.seeds)


def _grid(study: StudySpec) -> list[tuple[str, dict[str, Any]]]:
    if not study.sweeps:
        return [("base", {})]
    points = []
    for sweep in study.sweeps:
        paths = list(sweep.axes)
        combine = zip if sweep.mode == "zip" else itertools.product
        for values in combine(*(sweep.axes[p] for p in paths)):
            points.append((sweep.name, dict(zip(paths, values))))
    return points


def expand_study(
    study: StudySpec, *, study_index: int, prefix: str
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(sweep name, factors, settings) per distinct grid point, validated against the schema."""
    base = study.model_dump(include=set(SETTING_ROOTS))
    kind = get_kind(study.kind)
    seen: dict[str, int] = {}
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for sweep, factors in _grid(study):
        where = f"{prefix}.sweeps[{sweep}]"
        settings = copy.deepcopy(base)
        for path, value in factors.items():
            set_path(settings, path, value, where=where)
        try:
            checked = StudySpec.model_validate({**study.model_dump(exclude=set(SETTING_ROOTS)), **settings})
            kind.Treatment.model_validate(checked.treatment)
            resolve_params(checked.model.family, checked.model.size, dict(checked.model.params))
            check_modality(checked.model.family, checked.data.name, checked.data.options)
        except ValidationError as err:
            raise SpecError(f"{where}: {validation_message(err, StudySpec)} (at {factors})") from None
        except SpecError as err:
            raise SpecError(f"{where}: {err} (at {factors})") from None
        settled = checked.model_dump(include=set(SETTING_ROOTS))
        key = json.dumps(settled, sort_keys=True, default=str)
        if key in seen:  # the same setting in two sweeps runs once and belongs to both
            name, f, st = out[seen[key]]
            out[seen[key]] = (f"{name},{sweep}", {**f, **factors}, st)
            continue
        seen[key] = len(out)
        described = {name: get_path(settled, path) for name, path in kind.descriptors.items()}
        axes = {p: v for p, v in factors.items() if p.split(".")[-1] not in described}
        out.append((sweep, {**described, **axes}, settled))
    return out


def trial_id(kind: str, settings: dict[str, Any], seed: int) -> str:
    doc = json.dumps([kind, id_layout(settings), seed], sort_keys=True, default=str)
    digest = hashlib.sha256(doc.encode()).hexdigest()
    return f"{kind}-{digest[:10]}"


@dataclass(frozen=True)
class PlannedStudy:
    """One study of a suite, ready to run: its kind, its options parsed once, its trials."""

    index: int
    spec: StudySpec
    kind: StudyKind
    options: BaseModel
    trials: list[TrialSpec]


def _parse(model: type[BaseModel], value: dict[str, Any], *, prefix: str) -> BaseModel:
    try:
        return model.model_validate(value)
    except ValidationError as err:
        where, key = prefix.rsplit(".", 1)
        raise SpecError(f"{where}.{validation_message(err, model, prefix=key)}") from None


def check_study(study: StudySpec, *, prefix: str) -> tuple[StudyKind, BaseModel]:
    """What the schema cannot check: registered names, the kind's options and settings; returns
    the kind and its typed analysis options."""
    try:
        kind = get_kind(study.kind)
    except SpecError as err:
        raise SpecError(f"{prefix}.kind: {err}") from None
    options = _parse(kind.Options, study.analysis, prefix=f"{prefix}.analysis")
    _parse(kind.Treatment, study.treatment, prefix=f"{prefix}.treatment")
    for key, registry, name in (("data.name", DATASETS, study.data.name), ("model.family", MODELS, study.model.family)):
        if name not in registry:
            raise SpecError(f"{prefix}.{key}: unknown {registry.kind} {name!r}; known: {', '.join(registry)}")
    try:
        resolve_params(study.model.family, study.model.size, dict(study.model.params))
        check_modality(study.model.family, study.data.name, study.data.options)
        kind.check(study, options)
    except (SpecError, ValueError) as err:
        raise SpecError(f"{prefix}.{err}") from None
    return kind, options


def plan_suite(suite: SuiteSpec, *, source: str = "spec") -> list[PlannedStudy]:
    """Every study of the suite checked, its options typed, its trials expanded."""
    load_plugins(suite.plugins)
    limit, counted = max_trials(), 0
    for index, study in enumerate(suite.studies):
        counted += grid_size(study)
        if counted > limit:
            raise SpecError(
                f"{source}: studies[{index}].sweeps: the suite's sweeps plan {counted:,} trials by studies[{index}], "
                f"more than the limit of {limit:,}; shrink the grids or raise the limit with {MAX_TRIALS_ENV}=N"
            )
    planned = []
    first_of_kind: dict[str, int] = {}
    for index, study in enumerate(suite.studies):
        prefix = f"{source}: studies[{index}]"
        if study.kind in first_of_kind:  # findings, rows and reports are keyed by kind
            raise SpecError(
                f"{prefix}.kind: a second {study.kind!r} study (the first is studies[{first_of_kind[study.kind]}]); "
                f"findings are keyed by kind: merge them into one study with sweeps, or use two spec files"
            )
        first_of_kind[study.kind] = index
        kind, options = check_study(study, prefix=prefix)
        trials: list[TrialSpec] = []
        for sweep, factors, settings in expand_study(study, study_index=index, prefix=prefix):
            for seed in study.seeds:
                trials.append(
                    TrialSpec(
                        trial_id=trial_id(study.kind, settings, seed),
                        study=study.kind,
                        study_index=index,
                        sweep=sweep,
                        seed=seed,
                        factors={"sweep": sweep, **factors},
                        measure=suite.measure,
                        tracking=suite.tracking,
                        plugins=suite.plugins,
                        **settings,
                    )
                )
        try:
            trials = kind.plan_trials(study, options, trials)
        except (SpecError, ValueError) as err:
            raise SpecError(f"{prefix}.{err}") from None
        _refuse_repeated_ids(trials, prefix=prefix)
        planned.append(PlannedStudy(index=index, spec=study, kind=kind, options=options, trials=trials))
    return planned


def _refuse_repeated_ids(trials: list[TrialSpec], *, prefix: str) -> None:
    """Two trials with one id would write one folder; the schema makes it impossible, a kind's plan_trials must too."""
    seen: set[str] = set()
    for t in trials:
        if t.trial_id in seen:
            raise SpecError(
                f"{prefix}: trial {t.trial_id} is planned twice (sweep {t.sweep}, seed {t.seed}); "
                f"give each seed once and each setting once"
            )
        seen.add(t.trial_id)


def plan(suite: SuiteSpec) -> list[TrialSpec]:
    """All trials of the suite, study after study."""
    return [t for study in plan_suite(suite) for t in study.trials]


def describe(trial: TrialSpec) -> str:
    """One line per trial for `dl-drawbacks plan`."""
    t = trial.trainer
    ds = t.deepspeed
    budget = f"steps={t.budget.steps}" if t.budget.steps else f"epochs={t.budget.epochs}"
    treatment = " ".join(f"{k}={v}" for k, v in trial.treatment.items())
    return (
        f"{trial.trial_id}  {trial.study:<16} seed={trial.seed} model={trial.model.family}/{trial.model.size} "
        f"data={trial.data.name}{f'[n={trial.data.n_train}]' if trial.data.n_train else ''} workers={t.workers} "
        f"zero={ds.zero_stage} {t.precision} mb={t.micro_batch} {budget} gpu={'yes' if t.use_gpu else 'no'} "
        f"{treatment} sweeps={trial.sweep}"
    ).rstrip()


def checked_spec(doc: dict[str, Any], *, source: str = "spec") -> SuiteSpec:
    """A spec mapping validated against the schema (``spec.load``) and planned (what each study kind checks)."""
    from .spec.load import parse_spec

    suite = parse_spec(doc, source=source)
    plan_suite(suite, source=source)
    return suite


def load_checked(path: str | Path) -> SuiteSpec:
    """A spec file, loaded and checked as ``checked_spec`` does: a bad spec fails here."""
    from .spec.load import read_yaml

    return checked_spec(read_yaml(path), source=str(path))
