"""What a study kind (one drawback) provides. Every hook is declared here with its default, so core
code calls each one unconditionally and never asks a kind what it has (torchtitan's TrainSpec).

Driver side: ``check`` and ``plan_trials`` while planning, ``run_trials`` to execute, then ``analyze``,
``figures``, ``report``, ``headlines`` and ``wandb_panels`` from the aggregated rows alone.
Worker side: ``prepare_data``, ``before_training``, ``on_step``, ``on_eval``, ``after_training``.
The kind's ``Options`` (analysis) are parsed once by the planner and handed on typed; they never
travel to workers. Its ``Treatment`` (per-trial settings) is parsed once per trial, into ``ctx.treatment``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from ..headline import Headline
    from ..spec.models import StudySpec, TrialSpec
    from ..train.context import TrialContext
    from ..tune_runner import TrialRunner


def default_splits(ctx: "TrialContext") -> None:
    """The data set's train split (subsampled to ``data.n_train``) and its test split."""
    from ..data import load_dataset
    from ..data.in_memory import load_arrays
    from ..data.streamed import StreamedDataset
    from ..train.context import Split
    from ..train.stream_splits import set_stream_splits

    spec = ctx.trial.data
    ds = load_dataset(spec.name, spec.options)
    if isinstance(ds, StreamedDataset) and ctx.kind.streams_data:
        ctx.dataset = ds
        set_stream_splits(ctx, ds)
        return
    ctx.dataset = ds = load_arrays(spec.name, spec.options)
    if spec.n_train is not None:
        ds = ds.subsample(spec.n_train, seed=ctx.trial.seed)
    ctx.splits["train"] = Split(ds.x_train, ds.y_train, dict(ds.protected_train))
    ctx.splits["test"] = Split(ds.x_test, ds.y_test, dict(ds.protected_test))


def holdout_splits(ctx: "TrialContext", val_fraction: float) -> None:
    """Validation held out first (seeded by the data options' seed, so it is the same for every size and
    seed), then the rest subsampled to ``data.n_train`` with the trial's seed; the test split never changes."""
    from ..data import load_dataset
    from ..data.in_memory import load_arrays
    from ..data.streamed import StreamedDataset
    from ..train.context import Split
    from ..train.stream_splits import set_stream_splits

    spec = ctx.trial.data
    ds = load_dataset(spec.name, spec.options)
    if isinstance(ds, StreamedDataset) and ctx.kind.streams_data:
        ctx.dataset = ds
        set_stream_splits(ctx, ds, val_fraction=val_fraction, val_seed=int(spec.options.get("seed", 0)))
        return
    ctx.dataset = rest = ds = load_arrays(spec.name, spec.options)
    if val_fraction > 0:
        rest, (x_val, y_val) = ds.split_validation(val_fraction, seed=int(spec.options.get("seed", 0)))
        ctx.splits["val"] = Split(x_val, y_val)
    if spec.n_train is not None:
        rest = rest.subsample(spec.n_train, seed=ctx.trial.seed)
    ctx.splits["train"] = Split(np.array(rest.x_train), np.array(rest.y_train), dict(rest.protected_train))
    ctx.splits["test"] = Split(ds.x_test, ds.y_test, dict(ds.protected_test))
    if ctx.is_chief:
        ctx.rows.add("train_size", len(rest.y_train), "count", provenance="spec")


class NoOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StudyKind:
    """Base class of a registered study kind; subclasses override what they need."""

    name: ClassVar[str]
    question: ClassVar[str] = ""
    Treatment: ClassVar[type[BaseModel]] = NoOptions
    Options: ClassVar[type[BaseModel]] = NoOptions
    streams_data: ClassVar[bool] = False  # streams a streamed data set (image_folder, token_shards): it reads
    # ctx.splits only through batches/evaluation, never their arrays (.x, .y); other kinds read it into memory
    default_concurrency: ClassVar[int | None] = None  # None: as many trials as resources allow
    descriptors: ClassVar[dict[str, str]] = {}  # factor name -> setting path recorded with every trial
    eval_logits: ClassVar[tuple[str, ...]] = ()  # splits whose logits each evaluation keeps for on_eval
    # (ctx.eval_logits): one forward pass serves the loss, the accuracy and the kind's own use
    plans_at_run_time: ClassVar[bool] = False  # True: it also runs trials chosen from results (a search, re-runs)
    row_columns: ClassVar[tuple[str, ...] | None] = None  # the row columns (rows.ROW_SCHEMA) its analyze and figures
    # read; analysis decodes only these from the rows files (None: every column)

    # planning (driver) -------------------------------------------------------------------------
    def check(self, study: "StudySpec", options: BaseModel) -> None:
        """Kind-specific checks of a study spec; raise ValueError('<key path>: <what to fix>')."""

    def plan_trials(self, study: "StudySpec", options: BaseModel, trials: list["TrialSpec"]) -> list["TrialSpec"]:
        """The study's trials from its grid trials (a kind that samples its own, e.g. a search, replaces them)."""
        return trials

    def run_trials(
        self, study: "StudySpec", options: BaseModel, todo: list["TrialSpec"], *, runner: "TrialRunner"
    ) -> None:
        """Run the pending trials; the default is one Tune grid over them."""
        runner.run(todo)

    # worker side ---------------------------------------------------------------------------------
    def prepare_data(self, ctx: "TrialContext") -> None:
        """Before training: fill ``ctx.dataset`` and ``ctx.splits`` (train, test, ...)."""
        default_splits(ctx)

    def before_training(self, ctx: "TrialContext") -> None:
        """After the model and engine are built and before the first step (e.g. input hooks)."""

    def on_step(self, ctx: "TrialContext", *, step: int, loss: float) -> None:
        """After every optimizer step (e.g. to report to a Tune scheduler)."""

    def on_eval(self, ctx: "TrialContext", *, step: int, epoch: int, metrics: dict[str, dict[str, float]]) -> None:
        """Every rank, after each evaluation: ``metrics[split] = {"loss", "accuracy"}``."""

    def after_training(self, ctx: "TrialContext") -> None:
        """After training: add the kind's evaluation rows to ``ctx.rows``."""

    # analysis and reporting (driver, from the aggregated rows alone) -------------------------------
    def analyze(self, rows: pl.DataFrame, options: BaseModel, *, measure: Any) -> dict[str, Any]:
        """Findings (JSON-serialisable) from this study's aggregated rows."""
        return {}

    def figures(self, rows: pl.DataFrame, findings: dict[str, Any], out_dir: Path) -> list[Path]:
        return []

    def report(self, findings: dict[str, Any], figures: list[Path]) -> str:
        """This study's section of report.md (Markdown)."""
        return ""

    def headlines(self, findings: dict[str, Any]) -> list[Headline]:
        """This study's summary lines (``headline.Headline``), most important first. Called once per analysis
        (``analyze``); the run folder keeps them for the report, the card, ``compare`` and W&B."""
        return []

    def card_flags(self, findings: dict[str, Any], family: str) -> tuple[str, ...]:
        """Flags the drawback card shows in this study's cell of model ``family`` (e.g. timing dominated by
        overhead or by host load), from its findings alone."""
        return ()

    def wandb_panels(self, findings: dict[str, Any]) -> list[Any]:
        """The panels of this study's W&B Report (``tracking.panels``), given its findings (maybe a failed
        analysis's); every key they name must be one the study's trial runs log (see ``tracking.keys``)."""
        from ..tracking.panels import Curves

        return [Curves("loss", ("loss/train", "loss/test")), Curves("accuracy", ("accuracy/train", "accuracy/test"))]


def get_kind(name: str) -> StudyKind:
    """An instance of the registered study kind ``name``."""
    from ..registry import STUDIES

    return STUDIES.get(name)()
