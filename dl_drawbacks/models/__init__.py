"""Model families: each module registers one (found by ``dl_drawbacks.plugins``)."""

from .base import DataShape, ModelFamily, count_parameters, resolve_params

__all__ = ["DataShape", "ModelFamily", "count_parameters", "resolve_params"]
