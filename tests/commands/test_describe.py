"""`describe KIND`, `list` descriptions and `--version`."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from dl_drawbacks.cli import main


def test_describe_lists_treatment_and_analysis_keys_with_type_default_and_meaning(capsys):
    assert main(["describe", "bias"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("bias: Does the model treat groups differently")
    assert out.index("treatment:") < out.index("analysis:")
    line = next(x for x in out if x.strip().startswith("resamples "))
    assert "int" in line and "default 400" in line and "bootstrap resamples" in line
    line = next(x for x in out if x.strip().startswith("ceo_cost "))
    assert "'fnr' | 'fpr' | 'weighted'" in line and 'default "fnr"' in line


def test_describe_flattens_nested_options_but_not_mappings_of_them(capsys):
    assert main(["describe", "hparams"]) == 0
    out = capsys.readouterr().out
    assert "  asha.grace_period " in out and "  transfer.name " in out
    assert "search_space.kind" not in out and "dict[str, Dist]" in out


def test_describe_unknown_kind_is_one_line(capsys):
    assert main(["describe", "speed"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown study kind 'speed'; known: bias" in err


def test_list_describes_every_dataset_and_model(capsys):
    assert main(["list"]) == 0
    for line in capsys.readouterr().out.splitlines():
        kind, name, *description = line.split()
        assert description, f"{kind} {name} has no description"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"dl-drawbacks {version('dl-drawbacks')}"
