"""A hyperparameter search space declared in the spec with Ray Tune's distribution names.

``lr: {loguniform: [1e-4, 0.3]}`` — one distribution per hyperparameter, written as a one-key
mapping (the name of the Tune sampler) to its arguments, with Tune's meaning: ``uniform`` /
``loguniform`` ``[low, high]``, ``quniform`` ``[low, high, q]``, ``randint`` ``[low, high)``
(upper bound exclusive, as ``tune.randint``), ``choice`` ``[values...]``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

# short name -> setting path of a trial (any dotted path under data/model/trainer/treatment works too)
HPARAM_PATHS = {
    "lr": "trainer.optimizer.lr",
    "batch_size": "trainer.micro_batch",
    "width": "model.params.width",
    "depth": "model.params.depth",
    "weight_decay": "trainer.optimizer.weight_decay",
    "dropout": "model.params.dropout",
    "optimizer": "trainer.optimizer.name",
    "momentum": "trainer.optimizer.momentum",
}
DISTRIBUTIONS = {"choice": None, "loguniform": 2, "quniform": 3, "randint": 2, "uniform": 2}


def setting_path(name: str) -> str:
    return HPARAM_PATHS.get(name, name)


class Dist(BaseModel):
    """One distribution: ``{<tune name>: [args]}`` in the spec."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str
    args: tuple[Any, ...]

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"kind", "args"}:
            return value
        allowed = ", ".join(DISTRIBUTIONS)
        if not isinstance(value, dict) or len(value) != 1:
            raise ValueError(
                f"write one distribution as {{name: [args]}}, e.g. {{loguniform: [1e-4, 0.1]}}; allowed: {allowed}"
            )
        ((kind, args),) = value.items()
        if kind not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {kind!r}; allowed: {allowed}")
        args = list(args) if isinstance(args, (list, tuple)) else [args]
        want = DISTRIBUTIONS[kind]
        if want is not None and len(args) != want:
            raise ValueError(f"{kind} takes {want} arguments, got {len(args)}")
        if kind == "choice" and not args:
            raise ValueError("choice needs at least one value")
        if kind != "choice":
            low, high = args[0], args[1]
            if not low < high:
                raise ValueError(f"{kind} needs low < high, got [{low}, {high}]")
            if kind == "loguniform" and low <= 0:
                raise ValueError(f"loguniform needs low > 0, got {low}")
            if kind == "randint" and not all(isinstance(a, int) for a in args):
                raise ValueError("randint takes integers [low, high)")
        return {"kind": kind, "args": tuple(args)}

    def sample(self, rng: np.random.Generator) -> Any:
        k, a = self.kind, self.args
        if k == "choice":
            return a[int(rng.integers(len(a)))]
        if k == "randint":
            return int(rng.integers(a[0], a[1]))
        if k == "loguniform":
            return float(math.exp(rng.uniform(math.log(a[0]), math.log(a[1]))))
        x = float(rng.uniform(a[0], a[1]))
        return self.quantize(x) if k == "quniform" else x

    def from_unit(self, u: float) -> Any:
        """The value at quantile ``u`` in [0, 1) of the distribution (maps a point of the unit cube)."""
        k, a = self.kind, self.args
        if k == "choice":
            return a[min(int(u * len(a)), len(a) - 1)]
        if k == "randint":
            return int(min(a[0] + math.floor(u * (a[1] - a[0])), a[1] - 1))
        if k == "loguniform":
            return float(math.exp(math.log(a[0]) + u * (math.log(a[1]) - math.log(a[0]))))
        x = float(a[0] + u * (a[1] - a[0]))
        return self.quantize(x) if k == "quniform" else x

    def quantize(self, x: float) -> Any:
        q = self.args[2]
        value = round(x / q) * q
        return int(round(value)) if all(isinstance(v, int) for v in self.args) else float(round(value, 12))

    def grid(self, n: int) -> list[Any]:
        """``n`` evenly spaced values (log-spaced for loguniform; every category for choice)."""
        k, a = self.kind, self.args
        if k == "choice":
            return list(a)
        if k == "randint":
            return sorted({int(round(v)) for v in np.linspace(a[0], a[1] - 1, n)})
        if k == "loguniform":
            return [float(v) for v in np.geomspace(a[0], a[1], n)]
        values = [float(v) for v in np.linspace(a[0], a[1], n)]
        return sorted({self.quantize(v) for v in values}) if k == "quniform" else values

    def optuna(self):
        """The matching optuna distribution (for fANOVA over imported trials and for TPE)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        k, a = self.kind, self.args
        if k == "choice":
            return CategoricalDistribution(list(a))
        if k == "randint":
            return IntDistribution(a[0], a[1] - 1)
        if k == "quniform":
            if all(isinstance(v, int) for v in a):
                return IntDistribution(a[0], a[0] + (a[1] - a[0]) // a[2] * a[2], step=a[2])
            return FloatDistribution(a[0], a[0] + math.floor((a[1] - a[0]) / a[2] + 1e-9) * a[2], step=a[2])
        return FloatDistribution(a[0], a[1], log=k == "loguniform")

    @property
    def log_scale(self) -> bool:
        """Sampled on a log scale: analysed as log10 of the value (optuna's fANOVA works on the raw scale)."""
        return self.kind == "loguniform"

    def analysis_distribution(self):
        """The optuna distribution importance is computed on: log10 bounds for a log-uniform parameter."""
        from optuna.distributions import FloatDistribution

        if self.log_scale:
            return FloatDistribution(math.log10(self.args[0]), math.log10(self.args[1]))
        return self.optuna()

    def analysis_value(self, value: Any) -> Any:
        return math.log10(value) if self.log_scale else value


def sample_configs(space: dict[str, Dist], n: int, *, seed: int) -> list[dict[str, Any]]:
    """``n`` configurations drawn independently (random search, Bergstra & Bengio 2012), seeded."""
    rng = np.random.default_rng(seed)
    return [{name: dist.sample(rng) for name, dist in space.items()} for _ in range(n)]


def sobol_configs(space: dict[str, Dist], n: int, *, seed: int) -> list[dict[str, Any]]:
    """``n`` configurations of a scrambled Sobol sequence (Owen 1998; ``scipy.stats.qmc.Sobol``): a space-filling
    sample whose every one-dimensional projection is stratified, seeded; the first ``n`` points of the sequence."""
    from scipy.stats import qmc

    if n == 0:
        return []
    sobol = qmc.Sobol(d=len(space), scramble=True, seed=seed)
    points = sobol.random_base2(math.ceil(math.log2(n)))[:n]
    return [{name: dist.from_unit(float(u)) for (name, dist), u in zip(space.items(), row)} for row in points]
