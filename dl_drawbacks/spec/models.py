"""The study spec: frozen, keyword-only pydantic models, one line of description per field.

A spec file holds a *suite*: shared tracking and measurement settings plus one or more studies.
Each study names its kind (a registered drawback), the data, the model, the trainer and the sweep
axes; ``plan`` expands it into trials.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from .tracking import TrackingSettings
from .reproduction import ReproductionSpec

MAX_SEED = 2**32 - 1  # numpy's and torch's seed range
MAX_STEPS = 10**9  # a bound that no real trial reaches: `steps: 1e22` is a typo, not a budget
MAX_COUNT = 10**6  # epochs, workers, CPUs, micro-batch: far above any real setting
# Integers in specs are strict: `steps: true` is refused, not read as 1.
Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED)]


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class DataSpec(Strict):
    name: str = Field("digits", description="registered dataset name (see `dl-drawbacks list`)")
    options: dict[str, Any] = Field(default_factory=dict, description="options of the dataset loader")
    n_train: StrictInt | None = Field(
        None, ge=2, le=10**12, description="subsample the training split to this many rows (test split unchanged)"
    )


class ModelSpec(Strict):
    family: str = Field("mlp", description="registered model family (see `dl-drawbacks list`)")
    size: str = Field("s", description="named flavour of the family (its sizes are listed by `dl-drawbacks list`)")
    params: dict[str, Any] = Field(default_factory=dict, description="overrides of the flavour's parameters")


# Settings that drive the plain engine too, moved out of ``trainer.deepspeed`` (spec version of dl-drawbacks after
# run-folder format 2); the old keys are read for one more version with a one-line FutureWarning.
MOVED_TO_TRAINER = ("micro_batch", "precision", "compile")


_WARNED: dict = {}  # warnings' registry of the moved-key lines: each is printed once per process


def moved_key_warning(old: str, new: str) -> None:
    """One line on stderr (``dl-drawbacks:0: FutureWarning: …``), once per key, however many trials carry it."""
    import warnings

    warnings.warn_explicit(f"{old} is now {new} (it drives the plain engine too); the old key is read until the next "
                           f"version: rename it", FutureWarning, filename="dl-drawbacks", lineno=0, registry=_WARNED)


def current_path(path: str) -> str:
    """A dotted setting path with a moved key renamed (``trainer.deepspeed.micro_batch`` -> ``trainer.micro_batch``),
    warning once that the old name goes away."""
    parts = path.split(".")
    if parts[:2] == ["trainer", "deepspeed"] and len(parts) == 3 and parts[2] in MOVED_TO_TRAINER:
        moved_key_warning(path, f"trainer.{parts[2]}")
        return f"trainer.{parts[2]}"
    return path


def id_layout(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as trial ids hash them: the moved keys back under ``trainer.deepspeed``, so moving them changed no
    trial's id (a run folder of format 2 resumes, and other issues' ids stay)."""
    trainer = settings.get("trainer")
    if not isinstance(trainer, dict) or not any(k in trainer for k in MOVED_TO_TRAINER):
        return settings
    moved = {k: trainer[k] for k in MOVED_TO_TRAINER if k in trainer}
    rest = {k: v for k, v in trainer.items() if k not in MOVED_TO_TRAINER}
    return {**settings, "trainer": {**rest, "deepspeed": {**(trainer.get("deepspeed") or {}), **moved}}}


class DeepSpeedSpec(Strict):
    zero_stage: Literal[0, 1, 2, 3] = Field(0, description="DeepSpeed ZeRO stage (multi-worker trials only)")
    grad_accum: StrictInt = Field(1, ge=1, le=MAX_COUNT, description="micro-steps accumulated per optimizer step")


class OptimizerSpec(Strict):
    name: Literal["adamw", "sgd"] = Field("adamw", description="optimizer")
    lr: float = Field(1e-3, gt=0, description="learning rate")
    weight_decay: float = Field(0.0, ge=0, description="decoupled weight decay")
    momentum: float = Field(0.9, ge=0, lt=1, description="momentum (sgd only)")


class BudgetSpec(Strict):
    steps: StrictInt | None = Field(
        None, ge=1, le=MAX_STEPS, description="optimizer steps per trial (exclusive with epochs)"
    )
    epochs: StrictInt | None = Field(
        None, ge=1, le=MAX_COUNT, description="passes over the training data (exclusive with steps)"
    )
    eval_every: StrictInt = Field(
        0, ge=0, le=MAX_STEPS, description="evaluate every this many steps (0: at the end of each epoch / of training)"
    )
    warmup_steps: StrictInt = Field(2, ge=0, le=MAX_STEPS, description="first steps left out of steady-state step time")

    @model_validator(mode="after")
    def _one_budget(self) -> "BudgetSpec":
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("give exactly one of steps or epochs")
        return self


class TrainerSpec(Strict):
    workers: StrictInt = Field(
        1,
        ge=1,
        le=MAX_COUNT,
        description="Ray Train workers (1: in the Tune trial process; N: TorchTrainer + DeepSpeed)",
    )
    engine: Literal["auto", "plain", "deepspeed"] = Field(
        "auto",
        description="plain (one process) or deepspeed (Ray Train, any worker count); auto: plain at 1 worker, "
        "deepspeed at N. Set deepspeed to compare worker counts with the same engine",
    )
    cpus_per_worker: StrictInt = Field(1, ge=1, le=MAX_COUNT, description="CPUs reserved per worker")
    use_gpu: bool = Field(False, description="one GPU per worker")
    placement: Literal["PACK", "SPREAD", "STRICT_SPREAD"] = Field(
        "PACK", description="Ray placement strategy of workers"
    )
    micro_batch: StrictInt = Field(64, ge=1, le=MAX_COUNT, description="samples per worker per micro-step")
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="training precision (fp16 needs a GPU)")
    compile: bool = Field(False, description="torch.compile the model (engine.compile() under DeepSpeed)")
    deepspeed: DeepSpeedSpec = Field(default_factory=DeepSpeedSpec, description="DeepSpeed settings")
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec, description="optimizer settings")
    budget: BudgetSpec = Field(default_factory=lambda: BudgetSpec(epochs=1), description="training budget")

    @property
    def resolved_engine(self) -> str:
        """The engine this trial trains with: ``engine``, or for auto plain at 1 worker and deepspeed at N."""
        if self.engine != "auto":
            return self.engine
        return "plain" if self.workers == 1 else "deepspeed"

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: Any) -> Any:
        """``trainer.deepspeed.{micro_batch,precision,compile}`` read as ``trainer.*`` (with a warning); both is
        refused."""
        ds = data.get("deepspeed") if isinstance(data, dict) else None
        moved = [k for k in MOVED_TO_TRAINER if isinstance(ds, dict) and k in ds]
        if not moved:
            return data
        for key in moved:
            if key in data:
                raise ValueError(f"{key} given twice, as trainer.{key} and trainer.deepspeed.{key} (its old name); "
                                 f"keep trainer.{key}")
            moved_key_warning(f"trainer.deepspeed.{key}", f"trainer.{key}")
        return {**data, **{k: ds[k] for k in moved}, "deepspeed": {k: v for k, v in ds.items() if k not in moved}}

    @model_validator(mode="after")
    def _consistent(self) -> "TrainerSpec":
        ds = self.deepspeed
        if self.engine == "plain" and self.workers > 1:
            raise ValueError("engine plain runs one process: use engine deepspeed (or auto) for workers > 1")
        if ds.zero_stage > 0 and self.resolved_engine == "plain":
            raise ValueError(
                "deepspeed.zero_stage > 0 needs workers >= 2 or engine deepspeed (ZeRO partitions over DeepSpeed ranks)"
            )
        if self.precision == "fp16" and not self.use_gpu:
            raise ValueError("precision fp16 needs use_gpu: true (DeepSpeed refuses fp16 on CPU); use bf16")
        return self


class SweepSpec(Strict):
    name: str = Field(description="name of this grid (a column in reports)")
    axes: dict[str, list[Any]] = Field(description="dotted setting path -> values")
    mode: Literal["product", "zip"] = Field(
        "product", description="product: every combination; zip: the i-th values together (axes of equal length)"
    )

    @model_validator(mode="after")
    def _non_empty(self) -> "SweepSpec":
        for path, values in self.axes.items():
            if not values:
                raise ValueError(f"axis {path!r} has no values")
        if self.mode == "zip" and len({len(v) for v in self.axes.values()}) > 1:
            raise ValueError("mode zip needs axes of equal length")
        return self


class ExecutionSpec(Strict):
    max_concurrent_trials: StrictInt | None = Field(
        None,
        ge=1,
        le=MAX_COUNT,
        description="trials at once (default: the study kind's choice; compute runs 1 for clean timings)",
    )
    max_failures: StrictInt = Field(
        0,
        ge=0,
        le=MAX_COUNT,
        description="Ray Train restarts of a failed multi-worker trial (from its last checkpoint)",
    )
    checkpoint_every: StrictInt = Field(
        0,
        ge=0,
        le=MAX_STEPS,
        description="multi-worker trials: checkpoint (DeepSpeed state, RNG, rows) every this many steps; 0: never",
    )


class StudySpec(Strict):
    kind: str = Field(description="registered study kind (compute, data, overfitting, hparams, bias, interpretability)")
    description: str = Field("", description="what this study asks, in one sentence")
    data: DataSpec = Field(default_factory=DataSpec, description="data set")
    model: ModelSpec = Field(default_factory=ModelSpec, description="model family and size")
    trainer: TrainerSpec = Field(default_factory=TrainerSpec, description="training settings")
    treatment: dict[str, Any] = Field(default_factory=dict, description="per-trial settings of the study kind")
    sweeps: list[SweepSpec] = Field(default_factory=list, description="grids of settings; trials are their union")
    seeds: list[Seed] = Field(
        default_factory=lambda: [0],
        min_length=1,
        description=f"distinct seeds in 0..{MAX_SEED}; every setting runs once per seed",
    )
    analysis: dict[str, Any] = Field(default_factory=dict, description="options of the kind's analysis")
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec, description="how trials are scheduled")

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        if repeated:  # two trials with one id would share one folder
            raise ValueError(f"seed(s) {', '.join(map(str, repeated))} repeated; give each seed once")
        return seeds


class MeasureSpec(Strict):
    cpu_watts_per_core: float = Field(
        10.0, gt=0, description="CPU power per busy core for the energy estimate where no RAPL counter is readable"
    )
    carbon_intensity_g_per_kwh: float = Field(400.0, ge=0, description="grid carbon intensity (gCO2e/kWh)")
    pue: float = Field(1.2, ge=1, description="data-centre power usage effectiveness")
    price_per_cpu_hour: float = Field(0.05, ge=0, description="price of one CPU core-hour (USD)")
    price_per_gpu_hour: float = Field(2.5, ge=0, description="price of one GPU-hour (USD)")


NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"  # a single, safe path component


class SuiteSpec(Strict):
    name: str = Field(
        pattern=NAME_PATTERN,
        description="name of the suite (letters, digits, '.', '_', '-'; "
        "at most 100 characters, starting with a letter or digit); the default run folder is runs/<name>",
    )
    version: StrictInt = Field(ge=1, le=MAX_COUNT, description="bump when a change alters results")
    description: str = Field("", description="what this spec asks")
    plugins: list[str] = Field(
        default_factory=list,
        description="modules (on PYTHONPATH or installed) that register "
        "model families, datasets or study kinds; imported on the driver and on every Ray worker",
    )
    tracking: TrackingSettings = Field(default_factory=TrackingSettings, description="Weights & Biases settings")
    measure: MeasureSpec = Field(default_factory=MeasureSpec, description="energy, carbon and cost settings")
    studies: list[StudySpec] = Field(min_length=1, description="the studies to run")
    reproduces: ReproductionSpec | None = Field(
        None, description="the published result this spec reruns and how its verdict is judged (README: reproductions)"
    )


class TrialSpec(Strict):
    """One planned trial: a study's settings with the sweep values substituted, and one seed."""

    trial_id: str
    study: str
    study_index: int
    sweep: str
    seed: int
    factors: dict[str, Any]
    data: DataSpec
    model: ModelSpec
    trainer: TrainerSpec
    treatment: dict[str, Any]
    measure: MeasureSpec
    tracking: TrackingSettings
    plugins: list[str] = Field(default_factory=list)
