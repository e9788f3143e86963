"""Trials named by what distinguishes them (``mlp/s lr=0.003 seed=1``) rather than only by their hash.

A factor is shown when its value differs between the trials of one study (what that study sweeps);
the model (family/size) and the seed are always shown.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from .spec.models import TrialSpec

_MODEL = ("family", "size")  # a label shows them as family/size


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value).replace(" ", "")


def swept_factors(trials: Iterable[TrialSpec]) -> dict[str, list[str]]:
    """Study name -> the factor names whose values differ between that study's trials, in first-seen order."""
    values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for trial in trials:
        for name, value in trial.factors.items():
            values[trial.study][name].add(_value(value))
    return {
        study: [name for name, seen in by_name.items() if len(seen) > 1 and name != "sweep"]
        for study, by_name in values.items()
    }


def swept_text(trial: TrialSpec, names: list[str]) -> str:
    """``lr=0.003 width=64``: the trial's values of the swept factor ``names`` it has (a null value, the study's
    default, is left out)."""
    return " ".join(f"{n.split('.')[-1]}={_value(trial.factors[n])}" for n in names
                    if trial.factors.get(n) is not None)


def trial_label(trial: TrialSpec, names: list[str]) -> str:
    """``mlp/s lr=0.003 seed=1``."""
    others = [n for n in names if n not in _MODEL]
    return " ".join(p for p in (f"{trial.model.family}/{trial.model.size}", swept_text(trial, others),
                                f"seed={trial.seed}") if p)


def trial_labels(trials: list[TrialSpec]) -> dict[str, str]:
    """Trial id -> its label, factors chosen per study."""
    swept = swept_factors(trials)
    return {t.trial_id: trial_label(t, swept.get(t.study, [])) for t in trials}
