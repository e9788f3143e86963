"""One discovery rule for everything that registers by name: study kinds, datasets, model families.

A *plug-in* is a module; importing it runs its ``@STUDIES.register`` / ``@DATASETS.register`` /
``register_family`` calls. A package is a plug-in whose direct children are imported too. The
built-in packages, the modules of the entry-point group ``dl_drawbacks.plugins`` (installed
packages) and a spec's ``plugins:`` list are all loaded by this one rule, on the driver and on
every Ray worker (the trial carries the spec's list). (HELM's run_spec discovery, lm-eval's tasks.)
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from pathlib import Path
from types import ModuleType

from .errors import SpecError

BUILTIN = ("dl_drawbacks.models", "dl_drawbacks.data", "dl_drawbacks.studies")
ENTRY_POINT_GROUP = "dl_drawbacks.plugins"
_loaded: set[str] = set()


def import_plugin(name: str) -> ModuleType:
    """Import module ``name``; if it is a package, import each of its direct children as well."""
    module = importlib.import_module(name)
    if name not in _loaded:
        _loaded.add(name)
        for child in pkgutil.iter_modules(getattr(module, "__path__", [])):
            importlib.import_module(f"{name}.{child.name}")
    return module


def load_builtin() -> None:
    """The package's own registrations and those of installed packages (entry-point group)."""
    if "<builtin>" in _loaded:
        return
    _loaded.add("<builtin>")
    for name in BUILTIN:
        import_plugin(name)
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        import_plugin(entry.value)


def load_plugins(names: tuple[str, ...] | list[str] = ()) -> None:
    """Built-ins plus a spec's ``plugins:``; an import failure is one line saying what to fix."""
    load_builtin()
    for name in names:
        try:
            import_plugin(name)
        except ImportError as exc:
            raise SpecError(
                f"plugins: cannot import {name!r} ({exc}); put it on PYTHONPATH or install its package"
            ) from None


def plugin_sources(names: tuple[str, ...] | list[str]) -> list[str]:
    """Paths of the plug-ins that are not installed packages, for Ray's ``runtime_env.py_modules``
    (so workers on other machines can import them too)."""
    out = []
    for name in names:
        top = importlib.import_module(name.split(".")[0])
        path = Path(getattr(top, "__file__", "") or "")
        if not path.name or "site-packages" in path.parts:
            continue
        out.append(str(path.parent if path.name == "__init__.py" else path))
    return sorted(set(out))
