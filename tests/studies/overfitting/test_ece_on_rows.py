"""The calibration statistics' nested intervals evaluate every bootstrap replicate at once (``on_rows``): the same
draws and bit-identical values as one replicate at a time, in one call per seed (the 200-trial sweep's `analyze`
took 57 s, 47 of them in 800,800 one-replicate ECE calls; 25 s after, findings byte-identical)."""

from __future__ import annotations

import numpy as np
import pytest

from dl_drawbacks.statistics import resample_test_sets
from dl_drawbacks.studies.overfitting.calibration import ece_of_signed, ece_of_signed_rows
from dl_drawbacks.studies.overfitting.calibration_trends import _ratio


def _signed(rng, n: int) -> np.ndarray:
    return np.where(rng.random(n) < 0.8, 1.0, -1.0) * rng.uniform(0.05, 1.0, n)


@pytest.mark.parametrize("seeds, n", [(1, 40), (3, 449), (12, 60)])
def test_every_replicate_at_once_equals_one_at_a_time(seeds, n):
    rng = np.random.default_rng(seeds)
    per_seed = [_signed(rng, n) for _ in range(seeds)]
    one_at_a_time = resample_test_sets(per_seed, lambda s: ece_of_signed(s), n_resamples=300, seed=7)
    assert np.array_equal(resample_test_sets(per_seed, ece_of_signed, n_resamples=300, seed=7), one_at_a_time)
    pairs = [np.column_stack([s, s * rng.uniform(0.3, 1.0, n)]) for s in per_seed]
    pairs[0][:, 0] = np.abs(pairs[0][:, 0])  # a seed whose raw ECE can be 0 on a replicate: NaN both ways
    assert np.array_equal(resample_test_sets(pairs, _ratio, n_resamples=300, seed=7),
                          resample_test_sets(pairs, lambda s: _ratio(s), n_resamples=300, seed=7), equal_nan=True)


def test_large_test_sets_are_resampled_in_blocks_with_the_same_values(monkeypatch):
    """Replicates x samples is bounded per pass (a 26,000-sample test split x 1,000 replicates would be 208 MB of
    indices alone); the blocks draw the same indices in the same order."""
    import dl_drawbacks.statistics as statistics

    rng = np.random.default_rng(5)
    per_seed = [_signed(rng, 300) for _ in range(3)]
    whole = resample_test_sets(per_seed, ece_of_signed, n_resamples=250, seed=2)
    monkeypatch.setattr(statistics, "ROWS_BLOCK_ELEMENTS", 300 * 7)  # 7 replicates per pass, a ragged last one
    assert np.array_equal(resample_test_sets(per_seed, ece_of_signed, n_resamples=250, seed=2), whole)
    assert np.array_equal(whole, resample_test_sets(per_seed, lambda s: ece_of_signed(s), n_resamples=250, seed=2))


def test_rows_are_each_their_own_ece_and_one_call_per_seed_is_made(monkeypatch):
    rng = np.random.default_rng(0)
    rows = np.stack([_signed(rng, 97) for _ in range(5)])
    assert np.array_equal(ece_of_signed_rows(rows), [ece_of_signed(r) for r in rows])
    assert np.isnan(ece_of_signed_rows(np.zeros((3, 0)))).all()
    calls = []

    def counted(samples):
        return ece_of_signed(samples)

    counted.on_rows = lambda block: calls.append(block.shape) or ece_of_signed_rows(block)
    resample_test_sets([_signed(rng, 50) for _ in range(4)], counted, n_resamples=200, seed=1)
    assert calls == [(200, 50)] * 4  # one call per seed over every replicate, not 800 calls


def _floor_one_draw_at_a_time(conf: np.ndarray, seed: int, n_draws: int = 200) -> float:
    from dl_drawbacks.studies.overfitting.calibration import ece_from_confidence

    rng = np.random.default_rng(seed)
    return float(np.mean([ece_from_confidence(conf, rng.random(conf.size) < conf) for _ in range(n_draws)]))


@pytest.mark.parametrize("n", [1, 7, 449])
def test_the_calibrated_floor_draws_every_row_at_once_with_the_same_values(n, monkeypatch):
    """``calibrated_ece_floor``'s Bernoulli draws in blocks of rows: the same uniforms and the same value as one
    draw at a time (the sweep's 200 trials called the one-draw ECE 40,000 times), a ragged last block included."""
    import dl_drawbacks.studies.overfitting.calibration as calibration

    conf = np.random.default_rng(n).uniform(0.1, 1.0, n)
    for seed in range(3):
        assert calibration.calibrated_ece_floor(conf, seed=seed) == _floor_one_draw_at_a_time(conf, seed)
    monkeypatch.setattr(calibration, "FLOOR_BLOCK_ELEMENTS", n * 7)  # 7 draws per block: 28 blocks and a ragged one
    assert calibration.calibrated_ece_floor(conf, seed=4) == _floor_one_draw_at_a_time(conf, 4)
