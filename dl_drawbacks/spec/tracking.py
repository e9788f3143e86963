"""The ``tracking:`` block of a spec: where and whether trials are mirrored to Weights & Biases.

A spec model, so the spec layer does not import the tracking package (``tracking.settings`` decides the mode
from it at run time and keeps the secret hygiene).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrackingSettings(BaseModel):
    """Where and whether trials are mirrored to W&B."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str = Field("dl-drawbacks", description="W&B project that receives the runs.")
    entity: str | None = Field(None, description="W&B team or user; None uses the key's default.")
    mode: Literal["auto", "offline", "online", "disabled"] = Field(
        "auto", description="auto: WANDB_MODE if set, else online when wandb has credentials (API key, "
        "netrc or settings) and its host answers, else offline.")
    tags: tuple[str, ...] = Field((), description="Tags put on every run of the study.")
