"""The gap between two deep-learning learners at each anchor — the MNIST-1D paper's CNN - MLP gap (Greydanus 2020,
Table 1: 94% vs 68% at 4,000 samples) read along the whole curve: error(first) - error(second) paired by seed (the
same subsample) and test sample, with the same nested interval and resolution rule as the DL-vs-baseline differences
(``anchors.paired_rows``). Needs no fitted curve, so it stands where every curve family fails."""

from __future__ import annotations

import itertools

from .anchors import Curve, paired_rows


def model_gaps(curves: dict[str, Curve], *, level: float = 0.95, min_test_samples: float = 5) -> list[dict]:
    """One entry per pair of deep-learning learners (in the order they appear), each with its per-anchor gap."""
    out = []
    for a, b in itertools.combinations(curves, 2):
        rows = paired_rows(curves[a], curves[b], level=level, min_test_samples=min_test_samples)
        for r in rows:
            r["lower_error"] = "unresolved" if not r["resolved"] else ("first" if r["difference"] < 0 else "second")
        out.append({"first": a, "second": b, "per_anchor": rows,
                    "test": f"paired by seed and test sample; {level:.0%} nested interval over seeds × test samples"})
    return out
