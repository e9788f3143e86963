"""What a study kind (one drawback) provides: its per-trial settings, its worker-side evaluation,
its analysis of the aggregated rows, its figures and its part of the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ..train.context import TrialContext


def default_splits(ctx: "TrialContext") -> None:
    """The data set's train split (subsampled to ``data.n_train``) and its test split."""
    from ..data import load_dataset
    from ..train.context import Split

    spec = ctx.trial.data
    ds = load_dataset(spec.name, spec.options)
    ctx.dataset = ds
    if spec.n_train is not None:
        ds = ds.subsample(spec.n_train, seed=ctx.trial.seed)
    ctx.splits["train"] = Split(ds.x_train, ds.y_train, dict(ds.protected_train))
    ctx.splits["test"] = Split(ds.x_test, ds.y_test, dict(ds.protected_test))


class NoOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StudyKind:
    """Base class of a registered study kind; subclasses override what they need."""

    name: ClassVar[str]
    question: ClassVar[str] = ""
    Treatment: ClassVar[type[BaseModel]] = NoOptions
    Options: ClassVar[type[BaseModel]] = NoOptions
    default_concurrency: ClassVar[int | None] = None  # None: as many trials as resources allow
    descriptors: ClassVar[dict[str, str]] = {}  # factor name -> setting path recorded with every trial

    def check(self, study: Any) -> None:
        """Kind-specific checks of a study spec; raise ValueError('<key path>: <what to fix>')."""

    def prepare_data(self, ctx: "TrialContext") -> None:
        """Worker side, before training: fill ``ctx.dataset`` and ``ctx.splits`` (train, test, ...)."""
        default_splits(ctx)

    def before_training(self, ctx: "TrialContext") -> None:
        """Worker side, after the model and engine are built and before the first step (e.g. input hooks)."""

    def on_step(self, ctx: "TrialContext", *, step: int, loss: float) -> None:
        """Worker side, after every optimizer step (e.g. to report to a Tune scheduler)."""

    def on_eval(self, ctx: "TrialContext", *, step: int, epoch: int, metrics: dict[str, dict[str, float]]) -> None:
        """Worker side (every rank), after each evaluation: ``metrics[split] = {"loss", "accuracy"}``."""

    def after_training(self, ctx: "TrialContext") -> None:
        """Worker side, after training: add the kind's evaluation rows to ``ctx.rows``."""

    def analyze(self, rows: pl.DataFrame, options: BaseModel, *, measure: Any) -> dict[str, Any]:
        """Findings (JSON-serialisable) from this study's aggregated rows."""
        return {}

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        return []

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        """This study's section of report.md (Markdown)."""
        return ""

    def headlines(self, findings: dict[str, Any]) -> list[dict[str, Any]]:
        """Rows of the cross-study summary: {finding, value, interval, unit, provenance}."""
        return []
