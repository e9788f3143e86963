"""How a study talks to Weights & Biases: project, entity, mode and tags, plus secret hygiene.

W&B is a mirror of what a study measured, never its source of truth (that is the parquet rows in
the run folder). ``mode="auto"`` goes online only when ``WANDB_API_KEY`` is set, so a laptop or a
CI job without a key writes offline runs that ``wandb sync`` can upload later.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_WANDB_MODES = {"offline": "offline", "dryrun": "offline", "online": "online", "run": "online",
                "disabled": "disabled"}


class TrackingSettings(BaseModel):
    """Where and whether trials are mirrored to W&B."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    project: str = Field("dl-drawbacks", description="W&B project that receives the runs.")
    entity: str | None = Field(None, description="W&B team or user; None uses the key's default.")
    mode: Literal["auto", "offline", "online", "disabled"] = Field(
        "auto", description="auto: WANDB_MODE if set, else online with WANDB_API_KEY, else offline.")
    tags: tuple[str, ...] = Field((), description="Tags put on every run of the study.")


def resolve_mode(mode: str) -> str:
    """The W&B mode to use: ``"offline"``, ``"online"`` or ``"disabled"``.

    ``auto`` follows ``WANDB_MODE`` when it names a mode (so the standard variable is never silently
    ignored), else goes online exactly when ``WANDB_API_KEY`` is set. The key is only checked for
    presence; a key stored by ``wandb login`` in ~/.netrc is not looked at.
    """
    if mode in ("offline", "online", "disabled"):
        return mode
    if mode != "auto":
        raise ValueError(f"tracking.mode: unknown mode {mode!r}; use auto, offline, online or disabled")
    env_mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if env_mode in _WANDB_MODES:
        return _WANDB_MODES[env_mode]
    return "online" if os.environ.get("WANDB_API_KEY", "").strip() else "offline"


def redact(value: Any) -> Any:
    """``value`` with the W&B API key masked wherever a string contains it (dicts/lists walked)."""
    key = os.environ.get("WANDB_API_KEY", "").strip()
    if not key:
        return value
    return _redact(value, key)


def _redact(value: Any, key: str) -> Any:
    if isinstance(value, str):
        return value.replace(key, "***")
    if isinstance(value, dict):
        return {_redact(k, key): _redact(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact(v, key) for v in value)
    return value
