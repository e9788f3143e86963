"""`dl-drawbacks describe KIND`: a study kind's `treatment:` and `analysis:` keys with type, default, description."""

from __future__ import annotations

import argparse
import json
import types
import typing
from typing import Any, Iterator

from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticUndefined


def _type_name(annotation: Any) -> str:
    """``float | None`` -> ``float | None``; ``Literal['a', 'b']`` -> ``'a' | 'b'``; classes by name."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is Ellipsis:
        return "..."
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds itself (``X`` or ``X | None``), not one inside a dict or list."""
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    candidates = typing.get_args(annotation) if union else (annotation,)
    return next((a for a in candidates if isinstance(a, type) and issubclass(a, BaseModel)), None)


def option_lines(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(key path, type, default, description) of every field of ``model``, nested models flattened."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = _nested_model(field.annotation)
        if nested is not None and nested is not model:
            yield path, nested.__name__, "(mapping)", field.description or ""
            yield from option_lines(nested, prefix=f"{path}.")
            continue
        if field.default is PydanticUndefined and field.default_factory is None:
            default = "(required)"
        else:  # as the value would be written in YAML (JSON flow style)
            value = field.default if field.default is not PydanticUndefined else field.default_factory()
            default = json.dumps(TypeAdapter(field.annotation).dump_python(value, mode="json"))
        yield path, _type_name(field.annotation), default, field.description or ""


def describe_kind(name: str) -> list[str]:
    """The lines `describe` prints for the registered study kind ``name``."""
    from ..registry import STUDIES

    kind = STUDIES.get(name)
    lines = [f"{name}: {kind.question}"]
    for key, model in (("treatment", kind.Treatment), ("analysis", kind.Options)):
        rows = list(option_lines(model))
        lines.append(f"{key}:" + ("" if rows else " (no keys)"))
        for path, type_name, default, text in rows:
            lines.append(f"  {path:<28} {type_name:<22} default {default:<12} {text}".rstrip())
    return lines


def _describe(args: argparse.Namespace) -> int:
    for line in describe_kind(args.kind):
        print(line)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("describe", help="a study kind's treatment: and analysis: keys (type, default, meaning)")
    p.add_argument("kind", metavar="KIND", help="registered study kind (`dl-drawbacks list`)")
    p.set_defaults(func=_describe)
