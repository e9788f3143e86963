"""Study kinds (one per drawback); importing this package registers all of them."""

from __future__ import annotations

import importlib
import pkgutil

from pydantic import ValidationError

from ..errors import SpecError
from ..registry import STUDIES
from .base import StudyKind

# Every module of this package is imported, so a new study kind is one new file with
# `@STUDIES.register("name")` and no edit here.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def get_kind(name: str) -> StudyKind:
    """An instance of the registered study kind ``name``."""
    return STUDIES.get(name)()


def check_study(study, *, prefix: str) -> None:
    """Validate what the schema cannot: registered names, kind settings, sweep axes."""
    from .. import data, models  # noqa: F401  (registration of datasets and model families)
    from ..models.base import resolve_params
    from ..plan import expand_study
    from ..registry import DATASETS, MODELS
    from ..spec.load import validation_message

    try:
        kind = get_kind(study.kind)
    except SpecError as err:
        raise SpecError(f"{prefix}.kind: {err}") from None
    for key, model in (("treatment", kind.Treatment), ("analysis", kind.Options)):
        try:
            model.model_validate(getattr(study, key))
        except ValidationError as err:
            raise SpecError(f"{prefix}.{validation_message(err, model, prefix=key)}") from None
    for key, registry, name in (("data.name", DATASETS, study.data.name), ("model.family", MODELS, study.model.family)):
        if name not in registry:
            raise SpecError(f"{prefix}.{key}: unknown {registry.kind} {name!r}; known: {', '.join(registry)}")
    try:
        resolve_params(study.model.family, study.model.size, dict(study.model.params))
        kind.check(study)
    except (SpecError, ValueError) as err:
        raise SpecError(f"{prefix}.{err}") from None
    expand_study(study, study_index=0, prefix=prefix)
