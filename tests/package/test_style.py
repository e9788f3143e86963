"""House style that a reviewer would otherwise check by hand: lines of the package at most 120 characters; in the
package, its tests and its benchmarks no undefined name, no unused import and no f-string without a placeholder
(pyflakes; a package `__init__.py` may import a module only to register it)."""

from __future__ import annotations

import functools
from pathlib import Path

import dl_drawbacks

ROOT = Path(dl_drawbacks.__file__).resolve().parent
LIMIT = 120


def long_lines(root: Path, limit: int = LIMIT) -> list[str]:
    return [f"{p.relative_to(root.parent)}:{i}" for p in sorted(root.rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if len(line) > limit]


def test_long_line_finder_finds_one(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("x = 1\n" + "y = '" + "a" * 130 + "'\n")
    assert long_lines(tmp_path / "pkg") == ["pkg/m.py:2"]


def test_package_lines_are_at_most_120_characters():
    found = long_lines(ROOT)
    assert not found, f"{len(found)} lines over {LIMIT} characters, e.g. {found[:5]}"


def undefined_names(root: Path) -> list[str]:
    """Names used but never defined or imported (pyflakes' UndefinedName/UndefinedLocal/UndefinedExport): what a
    merge leaves when one side drops an import the other side's new code still uses."""
    from pyflakes import messages

    return flakes(root, (messages.UndefinedName, messages.UndefinedLocal, messages.UndefinedExport))


def unused_or_empty(root: Path) -> list[str]:
    """Unused imports (outside a package's registering `__init__.py`), redefined unused names and f-strings with
    no placeholder: what a merge or a moved line leaves behind."""
    from pyflakes import messages

    return flakes(root, (messages.UnusedImport, messages.RedefinedWhileUnused, messages.FStringMissingPlaceholders),
                  registering_inits=True)


def flakes(root: Path, kinds: tuple[type, ...], *, registering_inits: bool = False) -> list[str]:
    from pyflakes import messages

    return [f"{Path(m.filename).relative_to(root.parent)}:{m.lineno} {m}" for m in _pyflakes(root)
            if isinstance(m, kinds) and not (registering_inits and isinstance(m, messages.UnusedImport)
                                             and Path(m.filename).name == "__init__.py")]


@functools.lru_cache(maxsize=None)
def _pyflakes(root: Path) -> tuple:
    """Every pyflakes message under ``root`` (one pass per folder; a file it cannot parse fails the caller)."""
    from pyflakes.api import checkPath
    from pyflakes.reporter import Reporter

    class Collect(Reporter):
        def __init__(self) -> None:
            self.found: list = []

        def flake(self, message) -> None:
            self.found.append(message)

        def unexpectedError(self, filename, msg) -> None:
            raise AssertionError(f"{filename}: {msg}")

        def syntaxError(self, filename, msg, lineno, offset, text) -> None:
            raise AssertionError(f"{filename}:{lineno}: {msg}")

    collect = Collect()
    for path in sorted(root.rglob("*.py")):
        checkPath(str(path), collect)
    return tuple(collect.found)


def test_undefined_name_finder_finds_one(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("def f():\n    return get_kind('x')\n")
    assert len(undefined_names(tmp_path / "pkg")) == 1


def test_package_uses_no_undefined_name():
    found = undefined_names(ROOT)
    assert not found, f"{len(found)} undefined names, e.g. {found[:5]}"


def test_unused_import_finder_finds_one_and_spares_a_registering_init(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from . import m\n")
    (tmp_path / "pkg" / "m.py").write_text("import os\nx = f'no placeholder'\n")
    assert len(unused_or_empty(tmp_path / "pkg")) == 2


def test_package_tests_and_benchmarks_have_no_unused_import_or_empty_fstring():
    found = [f for root in (ROOT, ROOT.parent / "tests", ROOT.parent / "benchmarks") for f in unused_or_empty(root)]
    assert not found, f"{len(found)} unused imports or empty f-strings, e.g. {found[:5]}"
