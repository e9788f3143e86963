"""Model families; importing this package registers all of them."""

from . import gpt, mlp  # noqa: F401  (registration)
from .base import DataShape, ModelFamily, count_parameters, resolve_params

__all__ = ["DataShape", "ModelFamily", "count_parameters", "resolve_params"]
