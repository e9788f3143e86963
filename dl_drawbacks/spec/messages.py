"""One-line messages for pydantic validation errors, naming the key path."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


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


def _short(value: Any, limit: int = 120) -> str:
    """The repr of a user's value, cut to ``limit`` characters (a message stays one short line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    return (
        f"{path}: {msg} (got {_short(first.get('input'))})"
        if "input" in first and not isinstance(first["input"], dict)
        else f"{path}: {msg}"
    )
