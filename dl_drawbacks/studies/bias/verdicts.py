"""Pass / fail / inconclusive against the common fairness thresholds, and equivalence ("the gap closed"),
both read from a 95% interval that counts seeds and test samples (``statistics.nested_interval``).

Thresholds: the four-fifths rule (EEOC 1978, 29 CFR 1607.4(D)) for disparate impact, |value| ≤ 0.1 for
the parity differences (the fair band of aif360's tutorials, Bellamy et al. 2018). A verdict passes
only when the whole interval lies inside the band, fails when it lies wholly outside, and is
inconclusive when it straddles a threshold. "Closed" is an equivalence test (two one-sided tests at
the interval's level): the interval lies inside ±tolerance; "contains 0" is never read as closed.
"""

from __future__ import annotations

from typing import Any

THRESHOLDS = {"disparate_impact": (0.8, 1.25), "statistical_parity_difference": (-0.1, 0.1),
              "equal_opportunity_difference": (-0.1, 0.1), "average_odds_difference": (-0.1, 0.1)}


def distance(metric: str, value: float) -> float:
    """How far from parity: |1 − DI| for disparate impact, |v| for differences, v for the Theil index."""
    return abs(1 - value) if metric == "disparate_impact" else abs(value)


def verdict(metric: str, interval: dict[str, Any]) -> dict[str, str]:
    """{'verdict': passes|fails|inconclusive|not measurable|no threshold, 'text': a sentence}."""
    low, high = interval.get("low"), interval.get("high")
    if low is None or high is None:
        return {"verdict": "not measurable", "text": f"not measurable: {interval.get('reason') or 'no interval'}"}
    if metric not in THRESHOLDS:
        return {"verdict": "no threshold", "text": "no common threshold (0 = every individual benefits equally)"}
    lo_t, hi_t = THRESHOLDS[metric]
    rule = "the four-fifths rule (0.8–1.25)" if metric == "disparate_impact" else "|value| ≤ 0.1"
    span = f"95% interval [{low:.3g}, {high:.3g}], {interval.get('method', '')}"
    if lo_t <= low and high <= hi_t:
        return {"verdict": "passes", "text": f"passes {rule} ({span})"}
    if high < lo_t or low > hi_t:
        side = "the unprivileged group is disadvantaged" if high < lo_t else "the privileged group is disadvantaged"
        return {"verdict": "fails", "text": f"fails {rule} — {side} ({span})"}
    return {"verdict": "inconclusive", "text": f"inconclusive: the interval straddles a threshold of {rule} ({span})"}


def equivalence(interval: dict[str, Any], tolerance: float) -> dict[str, str]:
    """'closed' (inside ±tolerance), 'open' (excludes 0), 'inconclusive', or 'not measurable'."""
    low, high = interval.get("low"), interval.get("high")
    if low is None or high is None:
        return {"verdict": "not measurable", "text": f"not measurable: {interval.get('reason') or 'no interval'}"}
    if -tolerance <= low and high <= tolerance:
        return {"verdict": "closed", "text": f"closed: the 95% interval lies within ±{tolerance:g}"}
    if low > 0 or high < 0:
        return {"verdict": "open", "text": "open: the 95% interval excludes 0"}
    return {"verdict": "inconclusive", "text": f"inconclusive: contains 0 but not within ±{tolerance:g}"}
