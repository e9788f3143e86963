"""Expand a suite spec into trials: each sweep's grid (product of its axes), union over sweeps,
duplicates removed, times seeds. Trial ids hash the trial's settings, so a re-plan of the same
spec gives the same ids and ``--resume`` can recognise finished trials."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from typing import Any

from pydantic import ValidationError

from .errors import SpecError
from .spec.models import StudySpec, SuiteSpec, TrialSpec

SETTING_ROOTS = ("data", "model", "trainer", "treatment")


def _set_path(doc: dict[str, Any], path: str, value: Any, *, where: str) -> None:
    parts = path.split(".")
    if parts[0] not in SETTING_ROOTS:
        raise SpecError(f"{where}: axis {path!r} must start with one of {', '.join(SETTING_ROOTS)}")
    node = doc
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise SpecError(f"{where}: axis {path!r} goes through a value that is not a mapping")
    node[parts[-1]] = value


def _get_path(doc: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        doc = doc[part]
    return doc


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


def expand_study(study: StudySpec, *, study_index: int, prefix: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(sweep name, factors, settings) per distinct grid point, validated against the schema."""
    from .drawbacks import get_kind
    from .models.base import resolve_params
    from .spec.load import validation_message

    base = study.model_dump(include=set(SETTING_ROOTS))
    kind = get_kind(study.kind)
    seen: dict[str, int] = {}
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for sweep, factors in _grid(study):
        where = f"{prefix}.sweeps[{sweep}]"
        settings = copy.deepcopy(base)
        for path, value in factors.items():
            _set_path(settings, path, value, where=where)
        try:
            checked = StudySpec.model_validate({**study.model_dump(exclude=set(SETTING_ROOTS)), **settings})
            kind.Treatment.model_validate(checked.treatment)
            resolve_params(checked.model.family, checked.model.size, dict(checked.model.params))
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
        described = {name: _get_path(settled, path) for name, path in kind.descriptors.items()}
        axes = {p: v for p, v in factors.items() if p.split(".")[-1] not in described}
        out.append((sweep, {**described, **axes}, settled))
    return out


def trial_id(kind: str, settings: dict[str, Any], seed: int) -> str:
    digest = hashlib.sha256(json.dumps([kind, settings, seed], sort_keys=True, default=str).encode()).hexdigest()
    return f"{kind}-{digest[:10]}"


def plan(suite: SuiteSpec) -> list[TrialSpec]:
    from .drawbacks import get_kind

    trials: list[TrialSpec] = []
    for index, study in enumerate(suite.studies):
        study_trials: list[TrialSpec] = []
        for sweep, factors, settings in expand_study(study, study_index=index, prefix=f"studies[{index}]"):
            for seed in study.seeds:
                study_trials.append(
                    TrialSpec(
                        trial_id=trial_id(study.kind, settings, seed),
                        study=study.kind,
                        study_index=index,
                        sweep=sweep,
                        seed=seed,
                        factors={"sweep": sweep, **factors},
                        measure=suite.measure,
                        tracking=suite.tracking,
                        analysis=study.analysis,
                        **settings,
                    )
                )
        kind = get_kind(study.kind)
        if hasattr(kind, "expand_trials"):  # kinds that sample their own trials (e.g. a random search)
            study_trials = kind.expand_trials(study, study_trials)
        trials.extend(study_trials)
    return trials


def describe(trial: TrialSpec) -> str:
    """One line per trial for `dl-drawbacks plan`."""
    t = trial.trainer
    ds = t.deepspeed
    budget = f"steps={t.budget.steps}" if t.budget.steps else f"epochs={t.budget.epochs}"
    treatment = " ".join(f"{k}={v}" for k, v in trial.treatment.items())
    return (
        f"{trial.trial_id}  {trial.study:<16} seed={trial.seed} model={trial.model.family}/{trial.model.size} "
        f"data={trial.data.name}{f'[n={trial.data.n_train}]' if trial.data.n_train else ''} workers={t.workers} "
        f"zero={ds.zero_stage} {ds.precision} mb={ds.micro_batch} {budget} gpu={'yes' if t.use_gpu else 'no'} "
        f"{treatment} sweeps={trial.sweep}"
    ).rstrip()
