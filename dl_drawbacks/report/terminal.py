"""The last lines `run` and `analyze` print: one line per drawback (the card's verdicts), the trials, the
report's path and the W&B group; at most ``MAX_LINES`` verdicts (the rest are in the report)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .card import Column
from .card_render import terminal_lines

MAX_LINES = 18


def summary_lines(card: list[Column], outcomes: pl.DataFrame, html: Path, *, wandb: str | None) -> list[str]:
    verdicts = terminal_lines(card)
    if len(verdicts) > MAX_LINES:
        verdicts = verdicts[: MAX_LINES - 1] + [f"  … {len(verdicts) - MAX_LINES + 1} more on the drawback card"]
    counts = ", ".join(f"{s} {n}" for s, n in outcomes.group_by("status").len().sort("status").iter_rows())
    lines = ["", *verdicts, "", f"trials: {counts}", f"report: {html}"]
    if wandb:
        lines.append(f"W&B: {wandb}")
    return lines


def print_summary(card: list[Column], outcomes: pl.DataFrame, html: Path, *, wandb: str | None, stream) -> None:
    for line in summary_lines(card, outcomes, html, wandb=wandb):
        print(line, file=stream)
