"""Bad specs fail with one line that names the key path and what is allowed; exit code 2."""

from __future__ import annotations

import textwrap

import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.errors import SpecError
from dl_drawbacks.plan import checked_spec, load_checked

BASE = {"name": "t", "version": 1, "studies": [{"kind": "compute", "trainer": {"budget": {"steps": 2}}}]}


def _with(**study):
    return {**BASE, "studies": [{**BASE["studies"][0], **study}]}


@pytest.mark.parametrize(
    "doc, expected",
    [
        ({**BASE, "studys": []}, "studys: unknown key; allowed: description, measure, name, plugins, reproduces, studies, tracking, version"),
        (_with(kind="speed"), "studies[0].kind: unknown study kind 'speed'; known: "),
        (_with(trainer={"worker": 2}), "studies[0].trainer.worker: unknown key; allowed: budget, compile, cpus_per_worker, deepspeed"),
        (_with(trainer={"deepspeed": {"zero_stage": 5}}), "studies[0].trainer.deepspeed.zero_stage: Input should be 0, 1, 2 or 3"),
        (_with(trainer={"deepspeed": {"zero_stage": 2}, "budget": {"steps": 1}}), "zero_stage > 0 needs workers >= 2"),
        (_with(data={"name": "mnist"}), "studies[0].data.name: unknown dataset 'mnist'; known: adult, "),
        (_with(model={"family": "mlp", "size": "huge"}), "model.size: unknown size 'huge' of mlp; known: xs, s"),
        (_with(model={"family": "mlp", "params": {"widht": 3}}), "model.params.widht: unknown parameter of mlp; allowed: activation, depth, dropout, width"),
        (_with(sweeps=[{"name": "a", "axes": {"trainer.workrs": [1, 2]}}]), "studies[0].sweeps[a]: trainer.workrs: unknown key"),
        (_with(sweeps=[{"name": "a", "axes": {"lr": [1]}}]), "axis 'lr' must start with one of data, model, trainer, treatment"),
        (_with(analysis={"target": 0.9}), "studies[0].analysis.target: unknown key; allowed: max_load_per_cpu, target_accuracy"),
        (_with(sweeps=[{"name": "a", "mode": "zip", "axes": {"model.size": ["s", "m"], "trainer.workers": [1]}}]), "mode zip needs axes of equal length"),
    ],
)
def test_spec_error_names_the_key(doc, expected):
    with pytest.raises(SpecError) as info:
        checked_spec(doc, source="x.yaml")
    message = str(info.value)
    assert expected in message
    assert message.startswith("x.yaml: ") and "\n" not in message


def test_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: t\nversion: 1\nstudies:\n  - kind: compute\n    trainer: {workers: [1\n")
    assert main(["plan", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "malformed YAML" in err and "\n" not in err and "Traceback" not in err


def test_unknown_kind_via_cli(tmp_path, capsys):
    spec = tmp_path / "k.yaml"
    spec.write_text(textwrap.dedent("""
        name: t
        version: 1
        studies: [{kind: speed}]
    """))
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert "unknown study kind 'speed'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_shipped_specs_load(specs_dir):
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[1] / "studies").glob("*.yaml")):
        assert load_checked(path).studies, path
