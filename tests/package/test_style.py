"""House style that a reviewer would otherwise check by hand: lines of the package at most 120 characters."""

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
