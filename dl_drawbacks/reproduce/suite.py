"""`dl-drawbacks run FOLDER/`: every spec of a folder in order (by file name), one run folder per spec under
the output folder, then an index page (index.md, index.html, index.json) with each claim's verdict, the wall
time of each spec and a link to its report.

Every spec is parsed and planned before the first trial (a mistake in any of them stops the suite with one
line); a spec that then fails to run (its data is missing, every trial failed) is listed in the index with its
error and the next spec runs.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DrawbacksError, SpecError
from ..storage.run_folder import REPORT_HTML, LocalRunFolder
from .index import write_index


@dataclass(frozen=True)
class SpecRun:
    """One spec of the suite as it ran: its file, its run folder, wall seconds, and the error if it did not finish."""

    spec: Path
    name: str
    run_dir: Path
    seconds: float
    error: str | None = None


def spec_files(folder: Path) -> list[Path]:
    specs = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not specs:
        raise SpecError(f"{folder}: no .yaml spec in this folder")
    return specs


def source_commit() -> str:
    """The git commit of the package's source tree ('+dirty' with uncommitted changes), or 'unknown'."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", "."],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def run_spec_folder(folder: str | Path, *, out: str | Path | None, resume: bool, address: str | None,
                    dashboard: bool = False) -> tuple[Path, list[SpecRun]]:
    """Run every spec of ``folder`` in order into ``out/<spec name>`` (default runs/<folder name>); write the index."""
    from ..execute import RunInterrupted, run_study_file
    from ..plan import plan_suite
    from ..spec import load_spec

    folder = Path(folder)
    specs = spec_files(folder)
    suites = {path: load_spec(path) for path in specs}  # every spec checked before the first trial
    names = [s.name for s in suites.values()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SpecError(f"{folder}: spec name(s) {', '.join(repeated)} repeated; each spec needs its own run folder")
    for path, suite in suites.items():
        plan_suite(suite, source=str(path))
    root = Path(out or Path("runs") / folder.resolve().name)
    commit = source_commit()
    runs: list[SpecRun] = []
    for path in specs:
        name = suites[path].name
        started = time.monotonic()
        print(f"suite  {path.name}: running into {root / name}", file=sys.stderr)
        error = None
        try:
            run_study_file(path, out=root / name, resume=resume, address=address, dashboard=dashboard)
        except RunInterrupted as err:  # a signal stops the suite: the index keeps what ran, then the command exits
            runs.append(SpecRun(path, name, root / name, time.monotonic() - started, str(err)))
            write_index(root, [_entry(r) for r in runs], commit=commit)
            raise
        except DrawbacksError as err:  # this spec cannot run here; the others still do
            error = str(err)
            print(f"suite  {path.name}: error: {error}", file=sys.stderr)
        runs.append(SpecRun(path, name, root / name, time.monotonic() - started, error))
        write_index(root, [_entry(r) for r in runs], commit=commit)  # after each spec: a stopped suite keeps its index
    index = write_index(root, [_entry(r) for r in runs], commit=commit)
    print(f"suite  index: {index}", file=sys.stderr)
    return root, runs


def _entry(run: SpecRun) -> dict[str, Any]:
    """What the index shows of one spec: its verdicts (from its run folder), wall time, report and error."""
    from .section import read_verdicts

    folder = LocalRunFolder(run.run_dir)
    found = read_verdicts(folder) if run.run_dir.exists() else None
    return {
        "spec": run.spec.name,
        "name": run.name,
        "run_dir": run.run_dir.name,
        "report": f"{run.run_dir.name}/{REPORT_HTML}" if (run.run_dir / REPORT_HTML).exists() else None,
        "seconds": round(run.seconds, 1),
        "error": run.error,
        "paper": found[0] if found else None,
        "verdicts": [v.to_dict() for v in found[1]] if found else [],
    }
