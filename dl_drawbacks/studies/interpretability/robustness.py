"""captum's infidelity and max-sensitivity of an attribution method (Yeh et al. 2019, "On the (In)fidelity and
Sensitivity of Explanations"; captum.metrics).

- ``infidelity``: E_I[(Iᵀ·Φ(x) − (f(x) − f(x − I)))²] over perturbations I, f the explained logit, with
  ``normalize=True`` so that Φ is rescaled by the β that minimises the error (captum): the score does not
  favour a method's scale. Lower is more faithful. The perturbation decides which explanation is optimal
  (Yeh et al. sec. 2.2: the gradient for small noise, x ⊙ gradient / IG-like contributions for removals),
  so both are scored, apart: ``noise`` I ~ N(0, σ²) per feature (σ in SDs of standardised data; no
  baseline enters) and ``removal``: a random quarter of the features set to 0, with I the 0/1 mask
  (captum: I need not equal x minus the perturbed input), so Iᵀ·Φ sums Φ over the removed features.
- ``sensitivity_max``: max over perturbations δ ~ U(−r, r)^d of ‖Φ(x + δ) − Φ(x)‖ / ‖Φ(x)‖ (captum's
  default perturbation, relative to the explanation's norm). Lower is more robust; gradient SHAP's own
  sampling noise counts as sensitivity.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.metrics import infidelity, sensitivity_max
from torch import nn

from .attributions import Explainer


def _tensors(model: nn.Module, x: np.ndarray, target: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    device = next(model.parameters()).device
    return (
        torch.as_tensor(np.asarray(x, np.float32), device=device),
        torch.as_tensor(np.asarray(target), device=device, dtype=torch.long),
    )


PERTURBATIONS = ("noise", "removal")


def infidelity_per_sample(
    model: nn.Module,
    x: np.ndarray,
    target: np.ndarray,
    attributions: np.ndarray,
    *,
    perturbation: str = "noise",
    sigma: float = 0.1,
    removed: float = 0.25,
    n_perturb: int = 16,
    seed: int = 0,
) -> np.ndarray:
    """(n,) captum infidelity of ``attributions`` under ``noise`` (scale ``sigma``) or ``removal``
    (share ``removed``)."""
    assert perturbation in PERTURBATIONS, perturbation
    xt, tt = _tensors(model, x, target)
    generator = torch.Generator(device=xt.device).manual_seed(seed)

    def perturb(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if perturbation == "noise":
            noise = sigma * torch.randn(inputs.shape, generator=generator, device=inputs.device)
            return noise, inputs - noise
        mask = (torch.rand(inputs.shape, generator=generator, device=inputs.device) < removed).to(inputs.dtype)
        return mask, inputs * (1 - mask)  # Iᵀ·Φ = the attribution summed over the removed features

    attr = torch.as_tensor(np.asarray(attributions, np.float32), device=xt.device)
    with torch.no_grad():
        score = infidelity(model.eval(), perturb, xt, attr, target=tt, n_perturb_samples=n_perturb, normalize=True)
    return score.detach().cpu().numpy().astype(float)


def sensitivity_per_sample(
    explainer: Explainer,
    model: nn.Module,
    x: np.ndarray,
    target: np.ndarray,
    method: str,
    *,
    background: np.ndarray | None = None,
    radius: float = 0.1,
    n_perturb: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """(n,) captum max-sensitivity of ``method`` under uniform perturbations of radius ``radius``."""
    xt, tt = _tensors(model, x, target)
    bg = None if background is None else torch.as_tensor(np.asarray(background, np.float32), device=xt.device)
    model = model.eval()

    def explain(inputs: torch.Tensor | tuple[torch.Tensor], target: torch.Tensor) -> tuple[torch.Tensor]:
        flat = inputs[0] if isinstance(inputs, tuple) else inputs  # captum hands and expects 1-tuples
        return (explainer.explain_tensor(model, flat, target, method, background=bg),)

    torch.manual_seed(seed)
    score = sensitivity_max(explain, (xt,), perturb_radius=radius, n_perturb_samples=n_perturb, target=tt)
    return score.detach().cpu().numpy().astype(float)
