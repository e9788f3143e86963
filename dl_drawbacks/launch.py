"""What crosses the Ray Tune boundary for one task: its planned trials, the run folder's address and how to run them.

The driver builds a ``Launch`` per Tune task and serialises it once (``to_config``/``grid``: one JSON string under
one key of the task's config); the task parses it once (``of_task``) and hands typed objects on: ``TrialSpec`` to
the worker, ``address`` to the storage helpers. A multi-worker trial's TorchTrainer workers get the one-trial ``Launch``
(``alone``) the same way. Nothing on either side reads a trial or a path out of the Tune config by key; a search
trial's config holds, besides its launch, only what Tune's searcher sampled (``hp``, read by the hparams worker).
Placement travels with each trial: ``TrialSpec.trainer`` (workers, CPUs and GPUs per worker, placement strategy)
is what ``cluster.tune_trial_resources`` reserves and the TorchTrainer's scaling config uses.
"""

from __future__ import annotations

from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field

from .spec.models import TrialSpec
from .storage.bucket import is_uri

KEY = "launch"  # the one key of a Tune task's config that the launch is serialised under


class Launch(BaseModel):
    """A Tune task: the trials it runs in order (one, or a batch of short single-worker ones) and where they write."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    trials: list[TrialSpec] = Field(min_length=1, description="the planned trials of the task, run in this order")
    address: str = Field(description="the run folder: a local path, or the bucket URI of a run on object storage")
    run_id: str = Field(description="the run's id, on every row")
    max_failures: int = Field(0, description="Ray Train restarts of a multi-worker trial from its checkpoint")
    checkpoint_every: int = Field(0, description="steps between a trial's checkpoints (0: none)")
    fault: list[dict[str, Any]] | None = Field(None, description="planted faults for the fault-tolerance tests")
    fence: dict[str, Any] | None = Field(None, description="the bucket lock's token (run id, fence number) each "
                                         "trial checks before it writes; none for a local run folder")
    hosts: str | None = Field(None, description="the run's pool of warm trial processes (``trial_hosts``, a named Ray "
                              "actor); none: the task runs in its Tune trial's own process")

    @property
    def on_bucket(self) -> bool:
        """The trials write to a bucket (each through a local mirror on its node, ``storage.trial_mirror``)."""
        return is_uri(self.address)

    @property
    def trial(self) -> TrialSpec:
        """The first (for a one-trial task: the) trial."""
        return self.trials[0]

    def alone(self, trial: TrialSpec) -> "Launch":
        """This launch for ``trial`` alone (what a TorchTrainer's workers and a search trial get)."""
        return self.model_copy(update={"trials": [trial]})

    def to_config(self) -> dict[str, str]:
        """The Tune config of one task: the launch serialised once."""
        return {KEY: self.model_dump_json()}

    @staticmethod
    def grid(launches: list["Launch"]) -> dict[str, Any]:
        """The Tune param space of a grid of tasks, one per launch, each serialised once."""
        from ray import tune

        return {KEY: tune.grid_search([launch.model_dump_json() for launch in launches])}

    @classmethod
    def of_task(cls, config: Mapping[str, Any]) -> "Launch":
        """The launch a Tune task's config carries, parsed once."""
        return cls.model_validate_json(config[KEY])
