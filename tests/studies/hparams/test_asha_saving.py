"""ASHA's saving is a projection, not an estimate with an interval: a stopped trial's energy and time are scaled by
planned / run steps (Li et al. 2020's accounting of the budget ASHA did not spend). Checked on a known answer: four
trials of 30 planned steps, two stopped after 10, so the full budget would have cost 2×E + 2×3E = 8E against 4E spent."""

from __future__ import annotations

import polars as pl
import pytest

from dl_drawbacks.studies.hparams.analysis import cost


def _table(energy: float) -> pl.DataFrame:
    return pl.DataFrame({
        "sweep": ["search"] * 4, "task": ["digits"] * 4,
        "status": ["completed", "completed", "stopped_early", "stopped_early"],
        "steps_planned": [30, 30, 30, 30], "steps": [30, 30, 10, 10],
        "energy_j": [energy] * 4, "train_s": [2.0] * 4, "energy_provenance": ["estimate"] * 4})


@pytest.mark.parametrize("energy", [1.0, 5.0])
def test_saving_is_the_projected_fraction_not_spent(energy):
    search = cost(_table(energy))["per_search"]["digits"]
    assert search["projected_full_budget_energy_j"] == pytest.approx(8 * energy)
    assert search["energy_saved_fraction"] == pytest.approx(0.5)
    assert search["time_saved_fraction"] == pytest.approx(0.5)


def test_no_stopped_trial_saves_nothing():
    t = _table(1.0).with_columns(pl.lit("completed").alias("status"), pl.lit(30).alias("steps"))
    assert cost(t)["per_search"]["digits"]["energy_saved_fraction"] == pytest.approx(0.0)
