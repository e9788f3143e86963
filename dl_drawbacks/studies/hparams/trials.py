"""Trials of a hyperparameter study, built from the study's base trial by setting hyperparameters.

Ids hash the trial's role (its sweep), settings and seed (``plan`` hashes settings and seed), so a
configuration sampled again in the same role — at plan time by the seeded random search, or during a TPE
search — is recognised by ``--resume``, and the same configuration and seed in two roles (a ``variance``
trial and a ``best_seeds`` re-run) are two trials, each finished once. Planned: ``search`` (task A) and
``transfer`` (the same configurations on task B), each under its own scheduler; ``oat`` (one hyperparameter at a time
around the default, and the default itself, at the search seed); ``sample`` (a scrambled Sobol sample of the
space trained to the full budget at the search seed, no early stopping); ``default`` (the library default over the
fresh seeds). Chosen from results (``followups``): ``best_seeds``, ``oat_best``, ``transfer_seeds`` and ``variance``
(the first K configurations of the full-budget sample that train, over the fresh seeds). Every
re-run uses the fresh seeds (never the search seed), so a re-run is never the run it was chosen on.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from ...models.base import resolve_params
from ...plan import SETTING_ROOTS, get_path, set_path, trial_id
from ...spec.models import DataSpec, TrialSpec
from .options import HparamsOptions
from .space import sample_configs, setting_path, sobol_configs


def config_id(config: dict[str, Any]) -> str:
    """Id of a hyperparameter configuration, the same on every task and seed."""
    return "cfg-" + hashlib.sha256(json.dumps(config, sort_keys=True, default=repr).encode()).hexdigest()[:8]


def task_label(data: DataSpec, study_data: DataSpec) -> str:
    """The data set's name, with the options in which it differs from the study's own data set when the names
    agree: a transfer to shuffled MNIST-1D is `mnist1d (shuffle=True)`, never a second `mnist1d` whose searches,
    savings and headlines would be merged with the first's by name."""
    if data.name != study_data.name:
        return data.name
    a, b = _flat(data.model_dump(mode="json")), _flat(study_data.model_dump(mode="json"))
    differ = [f"{k.removeprefix('options.')}={a.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return f"{data.name} ({', '.join(differ)})" if differ else data.name


def _flat(doc: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def default_config(base: TrialSpec, options: HparamsOptions) -> dict[str, Any]:
    """The values the base settings (the library defaults, as the spec writes them) give each hyperparameter."""
    settings = base.model_dump(mode="json", include=set(SETTING_ROOTS))
    params = resolve_params(base.model.family, base.model.size, dict(base.model.params)).model_dump()
    out = {}
    for name in options.search_space:
        path = setting_path(name)
        if path.startswith("model.params."):
            out[name] = params[path.removeprefix("model.params.")]
        else:
            out[name] = get_path(settings, path)
    return out


def make_trial(base: TrialSpec, config: dict[str, Any], *, sweep: str, seed: int, data: DataSpec | None = None,
               extra: dict[str, Any] | None = None, tune_reports: bool = False) -> TrialSpec:
    """``base`` with the configuration's hyperparameters set (validated), a seed and a role;
    ``tune_reports``: the trial reports each evaluation to its Tune scheduler (search trials)."""
    doc = base.model_dump(mode="json")
    settings = {k: copy.deepcopy(doc[k]) for k in SETTING_ROOTS}
    settings["treatment"] = {**settings["treatment"], "tune_reports": tune_reports}
    if data is not None:
        settings["data"] = data.model_dump(mode="json")
    for name, value in config.items():
        set_path(settings, setting_path(name), value, where=f"analysis.search_space.{name}")
    probe = TrialSpec.model_validate({**doc, **settings, "seed": seed})
    resolve_params(probe.model.family, probe.model.size, dict(probe.model.params))
    settled = probe.model_dump(mode="json", include=set(SETTING_ROOTS))
    hp = {name: get_path(settled, setting_path(name)) for name in config}
    factors = {"sweep": sweep, "task": task_label(probe.data, base.data), "config_id": config_id(hp), **hp,
               **(extra or {})}
    return TrialSpec.model_validate({**doc, **settled, "seed": seed, "sweep": sweep, "factors": factors,
                                     "trial_id": trial_id(base.study, {"role": sweep, **settled}, seed)})


def planned_trials(base: TrialSpec, options: HparamsOptions) -> list[TrialSpec]:
    """Everything that does not depend on results: the sampled search (random) and its transfer
    copy, the one-at-a-time sweep around the default (with the default at the search seed), the
    full-budget Sobol sample (search seed) and the default over the fresh seeds."""
    default = default_config(base, options)
    reports = options.asha.enabled or options.search == "tpe"
    out: list[TrialSpec] = []
    if options.search == "random":
        configs = sample_configs(options.search_space, options.n_trials, seed=options.sample_seed)
        out += [make_trial(base, c, sweep="search", seed=base.seed, tune_reports=reports) for c in configs]
        if options.transfer is not None:
            out += [make_trial(base, c, sweep="transfer", seed=base.seed, data=options.transfer, tune_reports=reports)
                    for c in configs]
    out.append(make_trial(base, default, sweep="oat", seed=base.seed, extra={"varied": "none"}))
    for name, dist in options.search_space.items():
        for value in dist.grid(options.oat_points):
            if value != default[name]:
                out.append(make_trial(base, {**default, name: value}, sweep="oat", seed=base.seed,
                                      extra={"varied": name}))
    out += [make_trial(base, c, sweep="sample", seed=base.seed)
            for c in sobol_configs(options.search_space, options.full_budget_configs, seed=options.sample_seed)]
    out += [make_trial(base, default, sweep="default", seed=s) for s in options.seeds]
    unique: dict[str, TrialSpec] = {}
    for t in out:  # a configuration drawn twice runs once
        unique.setdefault(t.trial_id, t)
    return list(unique.values())
