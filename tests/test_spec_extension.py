"""A resume may extend a run's spec with seeds or sweep values only; any other change is named by its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from dl_drawbacks.spec.extension import extension_difference
from dl_drawbacks.spec.load import load_spec

SPEC = Path(__file__).parent / "specs" / "tiny_compute.yaml"


def _doc(*overrides: str) -> dict:
    return load_spec(SPEC, list(overrides)).model_dump(mode="json")


@pytest.mark.parametrize("overrides", [["studies[0].seeds=[0,1,2]"],
                                       ["studies[0].sweeps[0].axes={model.size: [xs, s, m, l]}"],
                                       ["studies[0].seeds=[2,0]", "studies[0].sweeps[0].axes={model.size: [l, xs, s, m]}"]])
def test_added_seeds_and_sweep_values_extend_the_spec(overrides):
    assert extension_difference(_doc(), _doc(*overrides)) is None


@pytest.mark.parametrize("overrides, path", [
    (["studies[0].seeds=[1]"], "studies[0].seeds"),  # seed 0 dropped
    (["studies[0].sweeps[0].axes={model.size: [xs, s]}"], "studies[0].sweeps[0].axes.model.size"),
    (["studies[0].trainer.optimizer.lr=0.1"], "studies[0].trainer.optimizer.lr"),
    (["version=3"], "version"),
])
def test_any_other_change_is_named(overrides, path):
    assert extension_difference(_doc(), _doc(*overrides)) == path


def test_zip_axes_may_only_grow_at_the_end():
    old = {"studies": [{"sweeps": [{"mode": "zip", "axes": {"a": [1, 2], "b": [3, 4]}}]}]}
    grown = {"studies": [{"sweeps": [{"mode": "zip", "axes": {"a": [1, 2, 5], "b": [3, 4, 6]}}]}]}
    shuffled = {"studies": [{"sweeps": [{"mode": "zip", "axes": {"a": [5, 1, 2], "b": [6, 3, 4]}}]}]}
    assert extension_difference(old, grown) is None
    assert extension_difference(old, shuffled) == "studies[0].sweeps[0].axes.a"
