"""Registries by name: studies, datasets and models register with a decorator.

Adding a dataset or a model is one new module with one ``@DATASETS.register("name")`` (found by
``plugins``, the one discovery rule); a duplicate name raises at import time, an unknown name raises
a one-line error listing the known.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from .errors import SpecError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object map filled by a decorator."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._items:
                raise KeyError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return add

    @staticmethod
    def _discover() -> None:
        from .plugins import load_builtin  # one discovery rule for every registry

        load_builtin()

    def get(self, name: str) -> T:
        self._discover()
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise SpecError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        self._discover()
        return iter(sorted(self._items))

    def items(self) -> list[tuple[str, T]]:
        self._discover()
        return sorted(self._items.items())


STUDIES: Registry = Registry("study kind")
DATASETS: Registry = Registry("dataset")
MODELS: Registry = Registry("model family")
