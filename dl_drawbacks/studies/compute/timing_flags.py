"""The compute study's flags on the drawback card: timing dominated by overhead or by host load.

Overhead, two ways (from the findings alone): the share of a trial's training time spent outside its steady-state
steps (start-up, warm-up, evaluation: 1 − time_steady / train_time), and the fixed per-step overhead t0 of the
affine step-time fit as a share of the smallest model's step (Hockney's t0 against n/r∞: where t0 dominates, a
size comparison measures the overhead, not the cost per FLOP). Host load: trials timed above the study's
``max_load_per_cpu`` (``analysis.host_load``): "dominated by" when most of the family's trials were, else "partly
under". A flag names how many trials, or which share, it rests on.
"""

from __future__ import annotations

import statistics
from typing import Any

from ...report.markdown import fmt

DOMINATED = 0.5  # a share above one half: more of the time is overhead than work (or more trials loaded than not)


def overhead_shares(table: list[dict[str, Any]], family: str) -> list[float]:
    """1 − time_steady / train_time for each trial of ``family`` that recorded both."""
    out = []
    for row in table:
        steady, total = row.get("time_steady"), row.get("train_time")
        if row.get("family") == family and isinstance(steady, (int, float)) and isinstance(total, (int, float)) \
                and total > 0:
            out.append(1 - steady / total)
    return out


def timing_flags(findings: dict[str, Any], family: str) -> tuple[str, ...]:
    flags = []
    shares = sorted(overhead_shares(findings.get("table") or [], family))
    median = statistics.median(shares) if shares else None
    if median is not None and median > DOMINATED:
        flags.append(f"timing dominated by overhead: median {fmt(median)} of training time outside steady-state "
                     f"steps, over {len(shares)} trials")
    fits = findings.get("scaling_with_parameters") or {}
    t0_share = (fits.get(family) or {}).get("affine", {}).get("overhead_share_smallest")
    if isinstance(t0_share, (int, float)) and t0_share > DOMINATED:
        flags.append(f"step time dominated by fixed overhead: t0 is {fmt(t0_share)} of the smallest model's step")
    load = findings.get("host_load") or {}
    ids = {row.get("trial_id") for row in findings.get("table") or [] if row.get("family") == family}
    loaded = [t for t in load.get("above") or [] if t in ids]
    if loaded:
        share = "dominated by" if 2 * len(loaded) > len(ids) else "partly under"
        flags.append(f"timing {share} host load: {len(loaded)} of {len(ids)} trials ran above "
                     f"{fmt(load.get('max_load_per_cpu'))} load per CPU")
    return tuple(flags)
