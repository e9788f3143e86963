"""What a model family registers: its sizes (flavours), its parameters, a builder and a FLOP count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from ..errors import SpecError
from ..registry import MODELS


@dataclass(frozen=True)
class ModelFamily:
    """A registered model family.

    ``params`` validates the merged flavour + overrides; ``build(params, data_shape)`` returns a
    torch module; ``train_flops_per_sample(params, data_shape)`` is the analytic training cost
    (forward + backward) of one sample (one sequence for token models), with its source cited, or None
    where no standard formula fits those parameters: the trial then uses the FlopCounterMode count on
    the meta device, labelled counted. ``modalities`` are the data it takes, enforced at planning.
    ``activation_bytes_per_sample(params, data_shape, element_bytes)`` is the analytic memory of the tensors
    a training step saves for backward, per sample, with its source cited, or None: planning then measures
    it with a forward pass on the meta device (activation_memory.py).
    """

    name: str
    modalities: tuple[str, ...]
    sizes: dict[str, dict[str, Any]]
    params: type[BaseModel]
    build: Callable[..., Any]
    train_flops_per_sample: Callable[..., float | None]
    description: str = ""
    activation_bytes_per_sample: Callable[..., float] | None = None


@dataclass(frozen=True)
class DataShape:
    """What a model needs to know about its data: input size, classes/vocab, sequence length."""

    modality: str
    n_features: int
    n_classes: int
    seq_len: int = 0
    image_shape: tuple[int, ...] | None = None


def register_family(family: ModelFamily) -> ModelFamily:
    MODELS.register(family.name)(family)
    return family


def resolve_params(family: str, size: str, overrides: dict[str, Any]) -> BaseModel:
    """The family's validated parameters for a flavour plus overrides (one-line SpecError)."""
    fam: ModelFamily = MODELS.get(family)
    if size not in fam.sizes:
        raise SpecError(f"model.size: unknown size {size!r} of {family}; known: {', '.join(fam.sizes)}")
    try:
        return fam.params.model_validate({**fam.sizes[size], **overrides})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(fam.params.model_fields))
            raise SpecError(f"model.params.{key}: unknown parameter of {family}; allowed: {allowed}") from None
        where = f"model.params.{key}" if key else "model.params"
        raise SpecError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


def check_modality(family: str, data_name: str, data_options: dict[str, Any]) -> None:
    """Refuse (one-line SpecError) a family on data of a modality it does not declare in ``modalities``."""
    from ..data.base import dataset_modality
    from ..errors import DataError

    fam: ModelFamily = MODELS.get(family)
    try:
        modality = dataset_modality(data_name, data_options)
    except DataError as err:
        raise SpecError(f"data.options: {err}") from None
    if modality not in fam.modalities:
        takers = sorted(name for name, f in MODELS.items() if modality in f.modalities)
        raise SpecError(f"model.family: {family} takes {' or '.join(fam.modalities)} data, but dataset "
                        f"{data_name!r} is {modality}; use a family that takes {modality}: {', '.join(takers)}")


def count_parameters(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())
