"""A family on data of a modality it does not declare is refused at planning: one line, exit 2."""

from __future__ import annotations

import pytest
import yaml

from dl_drawbacks.cli import main


def plan(tmp_path, capsys, study: dict) -> tuple[int, str, str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "modality", "version": 1, "studies": [{"kind": "compute", **study}]}))
    code = main(["plan", str(spec)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("family", "size", "data"), [("cnn", "s", "adult"), ("gpt", "nano", "digits"),
                                                      ("mlp", "s", "text_bytes")])
def test_family_on_a_modality_it_cannot_take_is_one_line_exit_2(tmp_path, capsys, family, size, data):
    code, out, err = plan(tmp_path, capsys, {"data": {"name": data}, "model": {"family": family, "size": size}})
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "studies[0].model.family: " in err and f"dataset {data!r} is" in err


def test_a_sweep_onto_another_modality_is_refused_at_that_point(tmp_path, capsys):
    code, _, err = plan(tmp_path, capsys, {"data": {"name": "digits"}, "model": {"family": "cnn", "size": "lenet5"},
                                           "sweeps": [{"name": "d", "axes": {"data.name": ["digits", "german"]}}]})
    assert code == 2 and "sweeps[d]: model.family: cnn takes image data, but dataset 'german' is tabular" in err


def test_cnn_plans_on_images_and_1d_signals(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DL_DRAWBACKS_CACHE", str(tmp_path))
    code, out, _ = plan(tmp_path, capsys, {"data": {"name": "mnist1d", "options": {"num_samples": 1000}},
                                           "model": {"family": "cnn", "size": "mnist1d"},
                                           "sweeps": [{"name": "d", "mode": "zip",
                                                       "axes": {"data.name": ["mnist1d", "digits"],
                                                                "data.options": [{"num_samples": 1000}, {}]}}]})
    assert code == 0 and out.count("model=cnn/mnist1d") == 2


def test_dataset_options_are_checked_at_planning_with_their_key_path(tmp_path, capsys):
    code, _, err = plan(tmp_path, capsys, {"data": {"name": "mnist1d", "options": {"noise": 0.1}},
                                           "model": {"family": "cnn", "size": "s"}})
    assert code == 2 and "studies[0].data.options: dataset 'mnist1d' option noise: unknown option" in err
