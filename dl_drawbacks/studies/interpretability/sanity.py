"""Sanity of attributions: the model-parameter randomisation test, and agreement between methods.

Cascading randomisation (Adebayo et al. 2018, "Sanity Checks for Saliency Maps", sec. 3): re-initialise
the layers of a copy of the model one at a time from the output layer down and compare the attributions
of each randomised copy with the trained model's. An explanation that depends on what the model learnt
must change; one that stays similar (high rank correlation / SSIM) fails the check. Sec. 4, the data
randomisation test: the same architecture trained on permuted labels must give different maps.
Adebayo et al. judge "similar" by eye and by a fixed rank correlation; here the reference is the
similarity between the trained model's maps and those of an *independently trained* model of the same
architecture (another seed, the same data): a method passes a test when the randomised model's maps
are less similar to the trained model's than an independently trained model's are (interval of the
per-sample difference above 0). A method that ignores the weights (an edge detector, or the input
itself) scores 1 against all three and fails both.
"""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

INPUT_REFERENCE = "input"  # the map |x|: a "method" that ignores the model, scored as every method's reference
AttributeFn = Callable[[nn.Module, np.ndarray, np.ndarray], np.ndarray]


def rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation per row (Pearson of average ranks); NaN where a row is constant."""
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra, rb = ra - ra.mean(1, keepdims=True), rb - rb.mean(1, keepdims=True)
    denom = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(1) / np.where(denom > 0, denom, 1.0), np.nan)


def rowwise_ssim(a: np.ndarray, b: np.ndarray, *, c1: float = 0.01**2, c2: float = 0.03**2) -> np.ndarray:
    """SSIM with one global window per row (Wang et al. 2004, eq. 13) of |maps| scaled to [0, 1] by their max."""

    def scaled(m: np.ndarray) -> np.ndarray:
        m = np.abs(m)
        top = m.max(1, keepdims=True)
        return m / np.where(top > 0, top, 1.0)

    a, b = scaled(a), scaled(b)
    ma, mb = a.mean(1), b.mean(1)
    va, vb = a.var(1), b.var(1)
    cov = ((a - ma[:, None]) * (b - mb[:, None])).mean(1)
    return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))


def similarity(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Mean over samples of Spearman of |a| vs |b| (Adebayo et al. use absolute maps) and SSIM-like."""
    return {
        "spearman": float(np.nanmean(rowwise_spearman(np.abs(a), np.abs(b)))),
        "ssim": float(np.mean(rowwise_ssim(a, b))),
    }


def spearman_abs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-sample Spearman of |a| vs |b| (absolute maps, as Adebayo et al. compare them)."""
    return rowwise_spearman(np.abs(a), np.abs(b))


def parameter_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that own parameters, in forward-definition order (input side first)."""
    return [(name, m) for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]


@torch.no_grad()
def _reinitialise(module: nn.Module, seed: int) -> None:
    torch.manual_seed(seed)
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
    else:
        for p in module.parameters(recurse=False):
            nn.init.normal_(p, std=0.02)


def cascading_randomisation(
    model: nn.Module,
    attribute: AttributeFn,
    x: np.ndarray,
    target: np.ndarray,
    *,
    original: np.ndarray | None = None,
    seed: int = 0,
) -> list[dict]:
    """Similarity to the trained model's attributions after randomising layers top-down, cumulatively.

    Returns one dict per cascade depth (1 = the output layer randomised): layer name, spearman, ssim
    (means over samples) and ``per_sample`` (the Spearman of every sample).
    ``target`` stays the trained model's class. The model itself is not changed (a deep copy is).
    """
    if original is None:
        original = attribute(model, x, target)
    randomised = copy.deepcopy(model)
    layers = parameter_layers(randomised)
    out = []
    for depth, (name, module) in enumerate(reversed(layers), start=1):
        _reinitialise(module, seed * 1000 + depth)
        maps = attribute(randomised, x, target)
        out.append(
            {"depth": depth, "layer": name, **similarity(original, maps), "per_sample": spearman_abs(original, maps)}
        )
    return out


def agreement(attributions: dict[str, np.ndarray]) -> dict[tuple[str, str], np.ndarray]:
    """Per-sample Spearman rank correlation of |attributions| for every pair of methods."""
    names = sorted(attributions)
    return {
        (a, b): rowwise_spearman(np.abs(attributions[a]), np.abs(attributions[b]))
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }
