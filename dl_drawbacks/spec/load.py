"""Load a spec file into a validated :class:`SuiteSpec`; every failure is one :class:`SpecError` line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import ValidationError

from ..errors import SpecError
from .messages import validation_message
from .models import SuiteSpec
from .overrides import apply_overrides


MAX_VALUES = 100_000  # a spec is a few hundred values; YAML aliases must not expand it past this


def read_text(path: Path, what: str = "spec file") -> str:
    """The file's text, or one SpecError line naming it (missing, unreadable, not UTF-8)."""
    if not path.is_file():
        raise SpecError(f"{path}: {what} not found" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
                        f"save the {what} as UTF-8") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def expanded_size(doc: Any, limit: int = MAX_VALUES) -> int:
    """Values in ``doc`` once YAML aliases are expanded (counting stops past ``limit``)."""
    memo: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        if id(node) not in memo:
            children = list(node.keys()) + list(node.values()) if isinstance(node, dict) else node
            total = 1
            for child in children:
                total += size(child)
                if total > limit:
                    break
            memo[id(node)] = total
        return memo[id(node)]

    return size(doc)


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last silently; the
    YAML 1.2 spec requires keys to be unique). Keys brought in by a ``<<`` merge may still be overridden."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in first:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key {key!r} given twice (first at line {first[key].line + 1}); keep one",
                        key_node.start_mark)
                first[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    text = read_text(path)
    try:
        doc = yaml.load(text, Loader=UniqueKeyLoader)
        too_big = expanded_size(doc) > MAX_VALUES
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{path}:{where}: malformed YAML: {str(problem)[:200]}") from None
    except RecursionError:
        raise SpecError(f"{path}: malformed YAML: nested too deeply (or an alias refers to itself)") from None
    if too_big:
        raise SpecError(f"{path}: YAML aliases expand to more than {MAX_VALUES} values (an alias bomb?); "
                        f"write the spec out without nested aliases")
    if not isinstance(doc, dict):
        raise SpecError(f"{path}: a spec is a YAML mapping with keys name, version, studies (got {type(doc).__name__})")
    return doc


def parse_spec(doc: dict[str, Any], *, source: str = "spec") -> SuiteSpec:
    """Validate a spec mapping against the schema; what each study kind checks is the planner's
    (``plan.plan_suite``), which every command calls next."""
    try:
        suite = SuiteSpec.model_validate(doc)
    except ValidationError as err:
        raise SpecError(f"{source}: {validation_message(err, SuiteSpec)}") from None
    except (TypeError, ValueError) as err:
        raise SpecError(f"{source}: {str(err).splitlines()[0]}") from None
    return suite


def load_spec(path: str | Path, overrides: Sequence[str] = ()) -> SuiteSpec:
    """The spec file at ``path`` with the command line's ``PATH=VALUE`` overrides set (spec/overrides.py)."""
    doc = apply_overrides(read_yaml(path), overrides) if overrides else read_yaml(path)
    return parse_spec(doc, source=str(path))
