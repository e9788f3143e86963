"""Feature attributions through captum, batched with bounded memory on the model's device.

Every method explains the logit of ``target`` (the predicted class) for each sample and returns an
(n, d) float array in the model's flat input layout. The baseline is 0: on standardised data the
train mean. Image inputs (``image_shape``) are reshaped so that occlusion slides square windows.
The noise ensembles (captum ``NoiseTunnel`` over the raw gradient) are Hooker et al. 2019's SmoothGrad-squared
(mean of squared gradients) and VarGrad (their variance), with Gaussian noise of SD ``smooth_noise`` times each
batch's input range (Smilkov et al. 2017, sec. 3: 10-20% works well) and ``smooth_samples`` draws per input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from captum.attr import (GradientShap, GuidedBackprop, InputXGradient, IntegratedGradients, NoiseTunnel, Occlusion,
                         Saliency)
from torch import nn

from ...measure.memory import PeakMemory

METHODS = ("saliency", "integrated_gradients", "input_x_gradient", "occlusion", "gradient_shap", "guided_backprop",
           "smoothgrad_sq", "vargrad")


class _FlatInput(nn.Module):
    """Presents a flat-input model to captum as a model of image-shaped input."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.flatten(1))


@dataclass(frozen=True)
class Explainer:
    """How to explain one model: method settings shared by every call."""

    image_shape: tuple[int, ...] | None = None
    batch: int = 32  # samples per captum call: bounds memory (IG holds batch × ig_steps rows)
    ig_steps: int = 32
    shap_samples: int = 16
    occlusion_window: int = 2
    smooth_samples: int = 15  # noise draws per input of smoothgrad_sq and vargrad
    smooth_noise: float = 0.15  # their noise SD as a share of the batch's input range (max − min)

    def _call(
        self, method: str, model: nn.Module, x: torch.Tensor, target: torch.Tensor, background: torch.Tensor | None
    ) -> torch.Tensor:
        if method == "saliency":  # |∂f/∂x| (Simonyan et al. 2014)
            return Saliency(model).attribute(x, target=target, abs=True)
        if method == "input_x_gradient":  # x ⊙ ∂f/∂x (Shrikumar et al. 2016)
            return InputXGradient(model).attribute(x, target=target)
        if method == "integrated_gradients":  # (x − x') ⊙ ∫ ∂f/∂x dα (Sundararajan et al. 2017)
            return IntegratedGradients(model).attribute(x, baselines=0.0, target=target, n_steps=self.ig_steps)
        if method == "occlusion":  # f(x) − f(x with window set to 0) (Zeiler & Fergus 2014)
            if x.dim() > 2:
                window = (x.shape[1],) + (self.occlusion_window,) * (x.dim() - 2)
                strides = (x.shape[1],) + (1,) * (x.dim() - 2)
            else:
                window, strides = (1,), (1,)
            return Occlusion(model).attribute(
                x,
                sliding_window_shapes=window,
                strides=strides,
                baselines=0.0,
                target=target,
                perturbations_per_eval=16,
            )
        if method == "guided_backprop":  # ReLU backward passes only positive gradients (Springenberg et al. 2015)
            return GuidedBackprop(model).attribute(x, target=target)
        if method in ("smoothgrad_sq", "vargrad"):  # noise ensembles of the raw gradient (Hooker et al. 2019)
            sd = self.smooth_noise * float(x.detach().max() - x.detach().min())
            return NoiseTunnel(Saliency(model)).attribute(
                x, nt_type=method, nt_samples=self.smooth_samples, stdevs=sd, target=target, abs=False
            )
        if method == "gradient_shap":  # expected gradients over a background sample (Lundberg & Lee 2017)
            assert background is not None, "gradient_shap needs a background sample"
            return GradientShap(model).attribute(
                x, baselines=background, target=target, n_samples=self.shap_samples, stdevs=0.1
            )
        raise ValueError(f"unknown attribution method {method!r}; known: {', '.join(METHODS)}")

    def explain_tensor(
        self,
        model: nn.Module,
        x: torch.Tensor,
        target: torch.Tensor,
        method: str,
        *,
        background: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(n, d) attributions of a flat-input ``model`` for one batch of flat inputs (what captum's metrics call)."""
        wrapped = _FlatInput(model) if self.image_shape else model
        shape = (-1, *self.image_shape) if self.image_shape else (-1, x.shape[1])
        bg = None if background is None else background.reshape(shape)
        xb = x.detach().reshape(shape).requires_grad_(True)
        return self._call(method, wrapped, xb, target, bg).reshape(len(x), -1)

    def attribute(
        self,
        model: nn.Module,
        x: np.ndarray,
        target: np.ndarray,
        method: str,
        *,
        background: np.ndarray | None = None,
        seed: int = 0,
    ) -> np.ndarray:
        """(n, d) attributions of ``model`` (flat input) for ``x`` towards classes ``target``."""
        device = next(model.parameters()).device
        model = model.eval()
        bg = None if background is None else torch.as_tensor(np.asarray(background, np.float32), device=device)
        torch.manual_seed(seed)
        out = []
        for start in range(0, len(x), self.batch):
            xb = torch.tensor(np.asarray(x[start : start + self.batch], np.float32), device=device)
            tb = torch.as_tensor(np.asarray(target[start : start + self.batch]), device=device, dtype=torch.long)
            out.append(self.explain_tensor(model, xb, tb, method, background=bg).detach().float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, x.shape[1]), np.float32)

    def attribute_fn(self, method: str, *, background: np.ndarray | None = None, seed: int = 0) -> Callable:
        """``fn(model, x, target) -> (n, d)`` for one method (what the sanity test re-runs per layer)."""
        return lambda model, x, target: self.attribute(model, x, target, method, background=background, seed=seed)


@dataclass(frozen=True)
class Timed:
    values: np.ndarray
    seconds_per_sample: float
    peak_memory_increase: float  # bytes above the level at the start
    memory_provenance: str


def timed_attribute(
    explainer: Explainer,
    model: nn.Module,
    x: np.ndarray,
    target: np.ndarray,
    method: str,
    *,
    background: np.ndarray | None = None,
    seed: int = 0,
) -> Timed:
    """Attributions plus their cost: wall seconds per sample and peak memory (the interpretability tax)."""
    device = next(model.parameters()).device
    with PeakMemory(device) as mem:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        values = explainer.attribute(model, x, target, method, background=background, seed=seed)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
    return Timed(values, seconds / max(len(x), 1), float(mem.peak_bytes - mem.baseline_bytes), mem.provenance)


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, *, batch: int = 1024) -> np.ndarray:
    """Softmax probabilities (n, classes) in float32; the model is put in eval mode."""
    model = model.eval()
    device = next(model.parameters()).device
    out = [
        torch.softmax(model(torch.tensor(np.asarray(x[s : s + batch], np.float32), device=device)).float(), -1)
        .cpu()
        .numpy()
        for s in range(0, len(x), batch)
    ]
    return np.concatenate(out)
