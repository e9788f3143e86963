"""The drawback card: per model family, one row per drawback and one column per data set (and run), each cell
the drawback's verdict, its headline number with the interval and what the interval is over, a small figure
and flags; a cell a run cannot fill says why, and the card states its coverage (filled / possible).

It is built from a run folder's files alone (its spec, findings, headlines and figures, read through
``storage.run_folder``), like the report (HELM's summarize). The headlines the analysis pass stored reach the
card through one adapter, ``entry_from_headline``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RunFolderError
from ..headline import as_dicts
from .markdown import fmt

# Drawbacks in DESIGN.md's order; a kind outside it (a plug-in's) follows in name order.
DRAWBACKS = ("compute", "data", "overfitting", "hparams", "bias", "bias_audit", "interpretability")


@dataclass(frozen=True)
class CardEntry:
    """One headline as the card shows it."""

    finding: str
    estimate: float | None
    low: float | None
    high: float | None
    unit: str
    over: str
    provenance: str
    reason: str | None = None
    flags: tuple[str, ...] = ()

    @property
    def number(self) -> str:
        """``0.42 (95% interval 0.31 to 0.55, over 3 seeds)``, or why there is no number."""
        if self.estimate is None:
            return f"no value: {self.reason}" if self.reason else "no value"
        unit = f" {self.unit}" if self.unit and self.unit not in ("ratio", "count", "exponent") else ""
        text = f"{fmt(self.estimate)}{unit}"
        if self.low is not None and self.high is not None:
            text += f" ({interval_range(self.low, self.high)}"
            text += f", over {self.over})" if self.over else ")"
        elif self.over:
            text += f" (over {self.over})"
        return text

    @property
    def title(self) -> str:
        """The finding without its parenthesised conditions and remarks (those stay in the report's section)."""
        return short_finding(self.finding)

    @property
    def verdict(self) -> str:
        """One sentence: the finding and its number."""
        return f"{self.title[:1].upper()}{self.title[1:]}: {self.number}."


def short_finding(text: str, limit: int = 60) -> str:
    """``Training time ∝ parameters^b (mlp; family=mlp, …)`` -> ``Training time ∝ parameters^b``: parenthesised
    groups and a ' — ' remark dropped from a finding longer than ``limit`` characters."""
    if len(text) <= limit:
        return text
    out, depth = [], 0
    for ch in text.split(" — ")[0]:
        depth += ch in "(["
        if depth == 0:
            out.append(ch)
        depth -= ch in ")]" and depth > 0
    return " ".join("".join(out).split()).replace(" ,", ",").rstrip(" ,;:") or text[:limit]


def interval_range(low: float | None, high: float | None) -> str:
    """``430 to 618,941``: 'to' between the bounds, so a thousands separator never reads as a bound's end."""
    return f"{fmt(low)} to {fmt(high)}"


def _flags(h: dict[str, Any]) -> tuple[str, ...]:
    flags = []
    provenance = str(h.get("provenance") or "")
    if "estimate" in provenance:
        flags.append("estimate, not measured")
    if "extrapolat" in provenance:
        flags.append("extrapolated")
    value, interval = h.get("value"), h.get("interval") or [None, None]
    if value is None:
        flags.append("degenerate" if h.get("reason") else "no value")
    elif interval[0] is not None and interval[1] is not None:
        null = 1.0 if h.get("unit") == "ratio" else 0.0
        if interval[0] <= null <= interval[1] and h.get("unit") not in ("J", "s", "count"):
            flags.append(f"inconclusive (interval includes {fmt(null)})")
    elif isinstance(value, (int, float)):
        flags.append("no interval")
    return tuple(flags)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def entry_from_headline(h: dict[str, Any]) -> CardEntry:
    """The adapter from a stored headline's dict (``Headline.to_dict()``) to a card entry."""
    low, high = (list(h.get("interval") or []) + [None, None])[:2]
    return CardEntry(
        finding=str(h.get("finding", "")),
        estimate=_number(h.get("value")),
        low=_number(low),
        high=_number(high),
        unit=str(h.get("unit") or ""),
        over=str(h.get("over") or ""),
        provenance=str(h.get("provenance") or ""),
        reason=h.get("reason"),
        flags=_flags(h),
    )


@dataclass
class Cell:
    """A drawback in one column: its entry (the headline shown), the figure, other flags; or why it is empty."""

    entry: CardEntry | None = None
    figure: Path | None = None
    flags: tuple[str, ...] = ()
    more: int = 0  # further headlines of the study, in its report section
    empty: str = ""
    shown_under: str = ""  # a study-wide headline this cell leaves to that data set's column (not a cell to fill)


@dataclass
class Column:
    run: str
    run_dir: Path
    family: str
    dataset: str
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.dataset} ({self.run})"


def _not_converged(found: Any) -> bool:
    """A finding anywhere in the study's findings that says not every fit or anchor converged."""
    if isinstance(found, dict):
        return found.get("all_converged") is False or any(_not_converged(v) for v in found.values())
    if isinstance(found, list):
        return any(_not_converged(v) for v in found)
    return False


def _names(h: dict[str, Any], name: str) -> bool:
    words = "".join(c if c.isalnum() or c in "_-" else " " for c in str(h.get("finding", ""))).split()
    return name in words


def _pick(headlines: list[dict[str, Any]], family: str, dataset: str, pairs: list[tuple[str, str]]) -> dict | None:
    """The headline a cell shows: where the study trained several families (data sets), the first that names the
    cell's family (data set); else the study's first with a value (a study lists its headlines most important
    first)."""
    candidates = headlines
    if len({p[0] for p in pairs}) > 1:
        candidates = [h for h in candidates if _names(h, family)] or candidates
    if len({p[1] for p in pairs}) > 1:
        candidates = [h for h in candidates if _names(h, dataset)] or candidates
    return next((h for h in candidates if h.get("value") is not None), candidates[0] if candidates else None)


def _shown_elsewhere(picked: dict[str, Any], family: str, dataset: str, pairs: list[tuple[str, str]]) -> str:
    """Where a study trained ``family`` on several data sets and the headline names none of them (a study-wide
    finding, e.g. hparams' tunability), the data set whose column shows it; '' where this cell shows it."""
    datasets = [d for f, d in pairs if f == family]
    if len(datasets) < 2 or any(_names(picked, d) for d in datasets) or dataset == datasets[0]:
        return ""
    return datasets[0]


def _figure(run_dir: Path, found: dict[str, Any], family: str) -> Path | None:
    paths = [run_dir / p for p in found.get("figures", []) if (run_dir / p).is_file()]
    return next((p for p in paths if family in p.stem), paths[0] if paths else None)


def read_run(run_dir: str | Path) -> tuple[Any, dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """(suite spec, findings, each study's headline dicts) of a run folder; one line naming what is missing."""
    from ..spec.load import parse_spec, read_yaml
    from ..storage.run_folder import SPEC, LocalRunFolder

    folder = LocalRunFolder(run_dir)
    if folder.spec_text() is None:
        raise RunFolderError(f"{run_dir}: no spec; is this a dl-drawbacks run folder?")
    findings = folder.findings()
    if findings is None:
        raise RunFolderError(f"{run_dir}: not analysed; run `dl-drawbacks analyze {run_dir}` first")
    headlines = {kind: as_dicts(items) for kind, items in folder.headlines().items()}
    return parse_spec(read_yaml(folder.path(SPEC)), source=folder.url(SPEC)), findings, headlines


def run_columns(run_dir: str | Path, *, run: str | None = None) -> list[Column]:
    """The card's columns of one run folder: one per (family, data set) its studies trained on."""
    from ..plan import plan_suite
    from ..storage.run_folder import SPEC, LocalRunFolder
    from ..studies.base import get_kind

    run_dir = Path(run_dir)
    suite, findings, stored = read_run(run_dir)
    run = run or suite.name
    columns: dict[tuple[str, str], Column] = {}
    for study in plan_suite(suite, source=LocalRunFolder(run_dir).url(SPEC)):
        kind = study.spec.kind
        pairs = list(dict.fromkeys((t.model.family, t.data.name) for t in study.trials))
        found = findings.get(kind, {})
        analysed = found and "analysis_error" not in found and "not_measurable" not in found  # no trials: no headline
        headlines = stored.get(kind, []) if analysed else []
        for family, dataset in pairs:
            column = columns.setdefault((family, dataset), Column(run, run_dir, family, dataset))
            if "analysis_error" in found:
                column.cells[kind] = Cell(empty=f"analysis failed: {found['analysis_error']}")
                continue
            picked = _pick(headlines, family, dataset, pairs)
            if picked is None:
                why = found.get("not_measurable") or found.get("reason") or "no headline (no finished trials?)"
                column.cells[kind] = Cell(empty=str(why))
                continue
            first = _shown_elsewhere(picked, family, dataset, pairs)
            if first:
                column.cells[kind] = Cell(empty=f"study-wide (names no data set): shown once, under {first}",
                                          shown_under=first)
                continue
            column.cells[kind] = Cell(
                entry=entry_from_headline(picked),
                figure=_figure(run_dir, found, family),
                flags=(("not converged",) if _not_converged(found) else ()) + get_kind(kind).card_flags(found, family),
                more=len(headlines) - 1,
            )
    return list(columns.values())


def drawback_rows(columns: list[Column]) -> list[str]:
    """Every drawback a column has, in DESIGN.md's order, then others by name."""
    kinds = {k for c in columns for k in c.cells}
    return [k for k in DRAWBACKS if k in kinds] + sorted(kinds - set(DRAWBACKS))


def fill_empty(columns: list[Column]) -> None:
    """Per model family, a cell for every drawback measured on that family in any column; the empty ones say
    why. (A drawback no run measured on a family is not a row of that family's table.)"""
    for cols in by_family(columns).values():
        for kind in drawback_rows(cols):
            for column in cols:
                why = f"not run: {column.run} has no {kind} study on {column.family} × {column.dataset}"
                column.cells.setdefault(kind, Cell(empty=why))


def coverage(columns: list[Column]) -> tuple[int, int]:
    """(filled cells, possible cells) of the card; a cell whose study-wide headline another column shows is
    neither."""
    cells = [cell for c in columns for cell in c.cells.values() if not cell.shown_under]
    return sum(cell.entry is not None for cell in cells), len(cells)


def build_card(run_dirs: list[str | Path]) -> list[Column]:
    """Columns of every run folder (runs named by their spec's name, made unique by position), cells filled."""
    columns: list[Column] = []
    names: dict[str, int] = {}
    for run_dir in run_dirs:
        suite_name = read_run(run_dir)[0].name
        names[suite_name] = names.get(suite_name, 0) + 1
        label = suite_name if names[suite_name] == 1 else f"{suite_name} #{names[suite_name]}"
        columns += run_columns(run_dir, run=label)
    fill_empty(columns)
    return columns


def by_family(columns: list[Column]) -> dict[str, list[Column]]:
    out: dict[str, list[Column]] = {}
    for column in columns:
        out.setdefault(column.family, []).append(column)
    return out
