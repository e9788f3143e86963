"""Command-line overrides of a spec: ``PATH=VALUE`` set into the YAML mapping before it is validated.

Follows Hydra's/OmegaConf's dotlist (``a.b=1``, ``a[0].b=[1,2]``; the value is read as YAML), so an
override is validated exactly like the same value written in the file and fails with the same one line.
In a list of studies (or sweeps) a name selects by ``kind`` (or ``name``): ``studies.KIND.trainer.workers=2``.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Sequence

import yaml

from ..errors import SpecError

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def path_parts(path: str) -> list[str | int]:
    """``studies[0].seeds`` -> ``["studies", 0, "seeds"]``; one SpecError line for a malformed path."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "." and parts and pos + 1 < len(path):
            pos += 1
        match = _PART.match(path, pos)
        if match is None:
            raise SpecError(f"override {path!r}: malformed path at character {pos + 1}; write keys as a.b[0].c")
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not parts:
        raise SpecError(f"override {path!r}: empty path; write PATH=VALUE, e.g. studies[0].seeds=[0,1,2]")
    return parts


def _select(items: list[Any], key: str, where: str) -> int:
    """The index of the one item of a list of mappings whose ``kind`` (or ``name``) is ``key``."""
    hits = [i for i, item in enumerate(items) if isinstance(item, dict) and key in (item.get("kind"), item.get("name"))]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        known = [str(item.get("kind") or item.get("name")) for item in items if isinstance(item, dict)]
        raise SpecError(f"{where}.{key}: no entry with kind or name {key!r} (there are: {', '.join(known) or 'none'}); "
                        f"or give an index, {where}[0]")
    raise SpecError(f"{where}.{key}: {len(hits)} entries have kind or name {key!r} (indexes "
                    f"{', '.join(map(str, hits))}); give the index, e.g. {where}[{hits[0]}]")


def _where(parts: Sequence[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else ("." if i else "") + p for i, p in enumerate(parts))


def set_path(doc: dict[str, Any], parts: list[str | int], value: Any) -> None:
    """Set ``value`` at ``parts`` in ``doc``, creating missing mappings (the schema then checks the keys)."""
    node: Any = doc
    walked: list[str | int] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if isinstance(part, str):
                part = _select(node, part, _where(walked))
            if part >= len(node):
                raise SpecError(f"{_where(walked + [part])}: index out of range ({_where(walked)} has {len(node)} "
                                f"entries)")
        elif isinstance(node, dict):
            if isinstance(part, int):
                raise SpecError(f"{_where(walked)}: is a mapping, not a list; write {_where(walked)}.KEY")
            if not last and node.get(part) is None:
                node[part] = {} if isinstance(parts[i + 1], str) else []
        else:
            raise SpecError(f"{_where(walked)}: holds a value ({node!r}), not keys; override it as a whole")
        walked.append(part)
        if last:
            node[part] = value
        else:
            node = node[part]


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """``PATH=VALUE`` -> (path parts, the value read as YAML)."""
    path, sep, raw = text.partition("=")
    if not sep:
        raise SpecError(f"override {text!r}: expected PATH=VALUE, e.g. studies[0].seeds=[0,1,2]")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"override {path.strip()}: the value {raw!r} is not YAML ({problem})") from None
    return path_parts(path.strip()), value


def apply_overrides(doc: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A copy of the spec mapping ``doc`` with every ``PATH=VALUE`` of ``overrides`` set, in order."""
    out = copy.deepcopy(doc)
    for text in overrides:
        parts, value = parse_override(text)
        set_path(out, parts, value)
    return out
