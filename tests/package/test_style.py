"""House style that a reviewer would otherwise check by hand: lines of the package at most 120 characters, and no
undefined name (pyflakes)."""

from __future__ import annotations

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
    from pyflakes.api import checkPath
    from pyflakes.reporter import Reporter

    class Collect(Reporter):
        def __init__(self) -> None:
            self.found: list[str] = []

        def flake(self, message) -> None:
            if isinstance(message, (messages.UndefinedName, messages.UndefinedLocal, messages.UndefinedExport)):
                self.found.append(f"{Path(message.filename).relative_to(root.parent)}:{message.lineno} {message}")

        def unexpectedError(self, filename, msg) -> None:
            self.found.append(f"{filename}: {msg}")

        def syntaxError(self, filename, msg, lineno, offset, text) -> None:
            self.found.append(f"{filename}:{lineno}: {msg}")

    collect = Collect()
    for path in sorted(root.rglob("*.py")):
        checkPath(str(path), collect)
    return collect.found


def test_undefined_name_finder_finds_one(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("def f():\n    return get_kind('x')\n")
    assert len(undefined_names(tmp_path / "pkg")) == 1


def test_package_uses_no_undefined_name():
    found = undefined_names(ROOT)
    assert not found, f"{len(found)} undefined names, e.g. {found[:5]}"
