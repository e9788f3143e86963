"""Load a spec file into a validated :class:`SuiteSpec`; every failure is one :class:`SpecError` line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import SpecError
from .models import SuiteSpec


def format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("function-") or part in ("literal", "lax-or-strict"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "<top>"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found at ``loc`` (for the 'unknown key' message)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ()) or (ann,)
        current = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))


def validation_message(err: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """The first error of a pydantic ValidationError as one line naming the key path."""
    first = err.errors()[0]
    loc = tuple(first["loc"])
    path = (prefix + "." if prefix else "") + format_loc(loc) if loc else prefix or "<top>"
    path = path.replace(".[", "[")
    if first["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"{path}: unknown key{hint}"
    if first["type"] == "missing":
        return f"{path}: required key is missing"
    msg = first["msg"].removeprefix("Value error, ")
    return f"{path}: {msg} (got {first.get('input')!r})" if "input" in first and not isinstance(first["input"], dict) else f"{path}: {msg}"


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
    """Validate a spec mapping: the schema first, then what each study kind checks."""
    from ..drawbacks import check_study  # registry of kinds; imported late to avoid cycles

    try:
        suite = SuiteSpec.model_validate(doc)
    except ValidationError as err:
        raise SpecError(f"{source}: {validation_message(err, SuiteSpec)}") from None
    except (TypeError, ValueError) as err:
        raise SpecError(f"{source}: {str(err).splitlines()[0]}") from None
    for i, study in enumerate(suite.studies):
        check_study(study, prefix=f"{source}: studies[{i}]")
    return suite


def load_spec(path: str | Path) -> SuiteSpec:
    return parse_spec(read_yaml(path), source=str(path))
