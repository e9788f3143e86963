"""Parametric learning-curve families of error against training-set size n, their least-squares fit,
the check that a fit sits at a parameter bound, and inverting a curve for a target error.

Families as in Viering & Loog 2022, "The Shape of Learning Curves: a Review" (TPAMI), Table 1, and
LCDB (Mohr et al. 2022, "LCDB 1.0", ECML-PKDD), written for a decreasing error with asymptote c:
  pow2  a·n^(-b)                     power law without offset (pow3 with c = 0)
  pow3  c + a·n^(-b)                 power law with offset
  pow4  c + a·(n + d)^(-b)           shifted power law (pow3 at d = 0)
  mmf4  (a·b + c·n^d) / (b + n^d)    Morgan-Mercer-Flodin (a at n→0, c at n→∞)
  wbl4  c + b·exp(-a·n^d)            Weibull
LCDB fits each family by least squares on the mean curve from several starts; so do we (bounded
trust-region reflective). A fit whose optimum lies on a bound (mmf4 c = 4e-20 against c ≥ 0) is a
constrained fit of a simpler curve, not an estimate of that parameter: ``at_bound`` names it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Family:
    name: str
    f: Callable[..., np.ndarray]
    params: tuple[str, ...]
    bounds: tuple[tuple[float, ...], tuple[float, ...]]
    starts: Callable[[np.ndarray, np.ndarray], list[tuple[float, ...]]]

    @property
    def n_params(self) -> int:
        return len(self.params)


def _pow2(n, a, b):
    return a * np.power(n, -b)


def _pow3(n, a, b, c):
    return c + a * np.power(n, -b)


def _pow4(n, a, b, c, d):
    return c + a * np.power(n + d, -b)


def _mmf4(n, a, b, c, d):
    nd = np.power(n, d)
    return (a * b + c * nd) / (b + nd)


def _wbl4(n, a, b, c, d):
    return c + b * np.exp(-a * np.power(n, d))


def _pow_starts(n, y):
    lo = max(float(y.min()) * 0.5, 0.0)
    return [(float(y[0] * n[0] ** 0.5), 0.5, lo), (float(y[0] * n[0]), 1.0, 0.0), (float(y[0] * n[0] ** 0.2), 0.2, lo)]


def _mmf4_starts(n, y):
    return [
        (min(float(y[0]) * 1.2, 2), float(n[0]) ** 0.7, float(y.min()) * 0.5, 0.7),
        (min(float(y[0]) * 1.5, 2), float(np.median(n)), 0.0, 1.0),
    ]


def _wbl4_starts(n, y):
    return [
        (1.0 / float(np.median(n)) ** 0.5, float(y[0]), float(y.min()) * 0.5, 0.5),
        (1.0 / float(np.median(n)), float(y[0]), 0.0, 1.0),
    ]


FAMILIES: dict[str, Family] = {
    "pow2": Family("pow2", _pow2, ("a", "b"), ((0, 1e-3), (1e6, 4)), lambda n, y: [s[:2] for s in _pow_starts(n, y)]),
    "pow3": Family("pow3", _pow3, ("a", "b", "c"), ((0, 1e-3, 0), (1e6, 4, 1)), _pow_starts),
    "pow4": Family(
        "pow4",
        _pow4,
        ("a", "b", "c", "d"),
        ((0, 1e-3, 0, 0), (1e8, 4, 1, 1e5)),
        lambda n, y: [(*s, 1.0) for s in _pow_starts(n, y)] + [(*_pow_starts(n, y)[0], float(n[0]))],
    ),
    "mmf4": Family("mmf4", _mmf4, ("a", "b", "c", "d"), ((0, 1e-6, 0, 1e-2), (2, 1e9, 1, 4)), _mmf4_starts),
    "wbl4": Family("wbl4", _wbl4, ("a", "b", "c", "d"), ((0, 0, 0, 1e-2), (1e3, 2, 1, 2)), _wbl4_starts),
}


def fit_family(
    family: Family, n: np.ndarray, y: np.ndarray, *, start: np.ndarray | None = None, only_start: bool = False
) -> np.ndarray | None:
    """Least squares on the error scale from several starts (or only ``start``); None when none converge."""
    from scipy.optimize import OptimizeWarning, curve_fit

    best, best_sse = None, np.inf
    starts = ([tuple(start)] if start is not None else []) + (
        [] if only_start and start is not None else family.starts(n, y)
    )
    lo, hi = np.array(family.bounds[0], float), np.array(family.bounds[1], float)
    for p0 in starts:
        p0 = np.clip(np.asarray(p0, float), lo + 1e-9, hi - 1e-9)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", (OptimizeWarning, RuntimeWarning))
                params, _ = curve_fit(family.f, n, y, p0=p0, bounds=(lo, hi), method="trf", maxfev=4000)
        except (RuntimeError, ValueError):
            continue
        sse = float(np.sum((family.f(n, *params) - y) ** 2))
        if np.isfinite(sse) and sse < best_sse:
            best, best_sse = params, sse
    return best


def at_bound(family: Family, params: np.ndarray, *, rtol: float = 1e-6) -> list[str]:
    """Parameters that sit on a bound of the fit, e.g. ['c = 4e-20 at its lower bound 0']."""
    out = []
    for name, value, lo, hi in zip(family.params, params, *family.bounds):
        for side, bound in (("lower", lo), ("upper", hi)):
            if abs(value - bound) <= rtol * max(1.0, abs(bound)):
                out.append(f"{name} = {value:.3g} at its {side} bound {bound:g}")
    return out


def n_to_reach(family: Family, params: np.ndarray, target: float, *, n_min: float, n_cap: float) -> float:
    """Smallest n ≥ n_min with f(n) ≤ target (inf when not reached by n_cap)."""
    from scipy.optimize import brentq

    grid = np.geomspace(n_min, n_cap, 600)
    vals = family.f(grid, *params)
    hit = np.flatnonzero(vals <= target)
    if hit.size == 0:
        return float("inf")
    if hit[0] == 0:
        return float(n_min)
    return float(brentq(lambda x: family.f(x, *params) - target, grid[hit[0] - 1], grid[hit[0]]))


def sign_changes(grid: np.ndarray, diff: np.ndarray) -> list[tuple[float, str]]:
    """Where ``diff`` = DL error − baseline error changes sign along ``grid``: (n, direction), direction
    'dl_overtakes' (DL becomes better as n grows) or 'baseline_overtakes'; n is linearly interpolated in log n."""
    out = []
    s = np.sign(diff)
    for i in np.flatnonzero(s[:-1] * s[1:] < 0):
        t = diff[i] / (diff[i] - diff[i + 1])
        n = float(np.exp(np.log(grid[i]) + t * (np.log(grid[i + 1]) - np.log(grid[i]))))
        out.append((n, "dl_overtakes" if diff[i] > 0 else "baseline_overtakes"))
    return out
