"""The panels of a study's W&B Report, declared as plain data by the study kind (``wandb_panels``).

A panel names the keys it plots (``tracking.keys`` makes them) and where each lives: ``history``
(per-step curves), ``summary`` (one value per run) or ``config`` (a factor column). From the same
declaration come the wandb-workspaces panel (``build``), the report spec written to the run folder
(``to_dict``) and the test that every key a panel plots was logged by the study's runs (``keys``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SECTIONS = ("history", "summary", "config")


@dataclass(frozen=True)
class Key:
    name: str
    section: str = "summary"

    def __post_init__(self) -> None:
        if self.section not in SECTIONS:
            raise ValueError(f"panel key {self.name!r}: section must be one of {SECTIONS}, not {self.section!r}")

    def build(self, wr: Any) -> Any:
        if self.section == "config":
            return wr.Config(self.name)
        return wr.SummaryMetric(self.name) if self.section == "summary" else self.name


def summary(name: str) -> Key:
    return Key(name, "summary")


def config(name: str) -> Key:
    return Key(name, "config")


@dataclass(frozen=True)
class Curves:
    """Line plot over training steps of history keys (e.g. ``loss/train``, ``loss/val``)."""

    title: str
    metrics: tuple[str, ...]
    log_y: bool = False

    def keys(self) -> list[Key]:
        return [Key(m, "history") for m in self.metrics]

    def build(self, wr: Any) -> Any:
        return wr.LinePlot(title=self.title, x="Step", y=list(self.metrics), log_y=self.log_y)


@dataclass(frozen=True)
class Scatter:
    """One point per run: ``y`` against ``x`` (summary or config keys)."""

    title: str
    x: Key
    y: Key
    log_x: bool = False
    log_y: bool = False

    def keys(self) -> list[Key]:
        return [self.x, self.y]

    def build(self, wr: Any) -> Any:
        return wr.ScatterPlot(title=self.title, x=self.x.build(wr), y=self.y.build(wr), log_x=self.log_x,
                              log_y=self.log_y)


@dataclass(frozen=True)
class Bars:
    """Summary values as bars; with ``group_by`` one bar per value of that config column (mean, min-max range)."""

    title: str
    metrics: tuple[Key, ...]
    group_by: str | None = None

    def keys(self) -> list[Key]:
        return [*self.metrics, *([config(self.group_by)] if self.group_by else [])]

    def build(self, wr: Any) -> Any:
        grouping = ({"groupby": wr.Config(self.group_by), "groupby_aggfunc": "mean", "groupby_rangefunc": "minmax"}
                    if self.group_by else {})
        return wr.BarPlot(title=self.title, metrics=[m.build(wr) for m in self.metrics], **grouping)


@dataclass(frozen=True)
class Parallel:
    """Parallel coordinates: one line per run through config and summary columns."""

    title: str
    columns: tuple[Key, ...] = field(default_factory=tuple)

    def keys(self) -> list[Key]:
        return list(self.columns)

    def build(self, wr: Any) -> Any:
        return wr.ParallelCoordinatesPlot(
            title=self.title, columns=[wr.ParallelCoordinatesPlotColumn(metric=c.build(wr)) for c in self.columns])


Panel = Curves | Scatter | Bars | Parallel


def to_dict(panel: Panel) -> dict[str, Any]:
    """The panel as JSON-ready data (its type and fields), for the report spec in the run folder."""
    return {"type": type(panel).__name__, **asdict(panel)}
