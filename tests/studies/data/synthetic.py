"""Synthetic learning curves with a known shape: seeds vary each anchor's error, and one shared test set
(each test sample has a difficulty u; a model with error e gets every sample with u < e wrong) adds
test-set noise correlated across seeds, anchors and learners, as a real shared test set does."""

from __future__ import annotations

import numpy as np

from dl_drawbacks.studies.data.anchors import Curve

ANCHORS = 2.0 ** np.arange(4, 11)  # 16 .. 1024


def pow3(n, a, b, c):
    return c + a * np.power(n, -b)


def correctness(true_error, *, seeds: int, difficulty: np.ndarray, seed_sd: float, rng, anchors=ANCHORS):
    """(n, seed, correct) rows: per anchor and seed an error around ``true_error(n)`` (relative sd ``seed_sd``)."""
    n, s, rows = [], [], []
    for a in anchors:
        for k in range(seeds):
            e = float(np.clip(true_error(a) * np.exp(rng.normal(0, seed_sd) - seed_sd**2 / 2), 0, 1))
            n.append(a)
            s.append(k)
            rows.append((difficulty >= e).astype(float))
    return np.array(n), np.array(s), np.array(rows)


def curve(true_error, *, seeds: int = 5, test_size: int = 449, seed_sd: float = 0.1, rng_seed: int = 0,
          difficulty: np.ndarray | None = None, anchors=ANCHORS) -> Curve:
    rng = np.random.default_rng(rng_seed)
    u = rng.uniform(size=test_size) if difficulty is None else difficulty
    return Curve.from_correct(*correctness(true_error, seeds=seeds, difficulty=u, seed_sd=seed_sd, rng=rng, anchors=anchors))
