"""Load a spec file into a validated :class:`SuiteSpec`; every failure is one :class:`SpecError` line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import SpecError
from .messages import validation_message
from .models import SuiteSpec


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: spec file not found")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{path}:{where}: malformed YAML: {problem}") from None
    if not isinstance(doc, dict):
        raise SpecError(f"{path}: a spec is a YAML mapping with keys name, version, studies (got {type(doc).__name__})")
    return doc


def parse_spec(doc: dict[str, Any], *, source: str = "spec") -> SuiteSpec:
    """Validate a spec mapping: the schema first, then (by planning it) what each study kind checks."""
    from ..plan import plan_suite

    try:
        suite = SuiteSpec.model_validate(doc)
    except ValidationError as err:
        raise SpecError(f"{source}: {validation_message(err, SuiteSpec)}") from None
    except (TypeError, ValueError) as err:
        raise SpecError(f"{source}: {str(err).splitlines()[0]}") from None
    plan_suite(suite, source=source)
    return suite


def load_spec(path: str | Path) -> SuiteSpec:
    return parse_spec(read_yaml(path), source=str(path))
