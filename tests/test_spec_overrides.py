"""Command-line overrides (`run|plan SPEC PATH=VALUE …`): set into the YAML mapping, validated like the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dl_drawbacks.cli import main
from dl_drawbacks.errors import SpecError
from dl_drawbacks.spec.load import load_spec, read_yaml
from dl_drawbacks.spec.overrides import apply_overrides, path_parts

SPEC = Path(__file__).parent / "specs" / "tiny_compute.yaml"


def test_paths_parse_like_a_dotlist():
    assert path_parts("studies[0].seeds") == ["studies", 0, "seeds"]
    assert path_parts("studies.compute.trainer.workers") == ["studies", "compute", "trainer", "workers"]
    with pytest.raises(SpecError, match="malformed path"):
        path_parts("studies[x].seeds")


def test_index_and_kind_selection_set_values_read_as_yaml():
    suite = load_spec(SPEC, ["studies[0].seeds=[0,1,2]", "studies.compute.trainer.micro_batch=16",
                             "measure.pue=1.5"])
    study = suite.studies[0]
    assert study.seeds == [0, 1, 2] and study.trainer.micro_batch == 16 and suite.measure.pue == 1.5
    assert study.trainer.budget.steps == 6  # keys next to an overridden one are kept


def test_the_file_itself_is_untouched():
    doc = read_yaml(SPEC)
    apply_overrides(doc, ["studies[0].seeds=[5]"])
    assert "seeds" not in doc["studies"][0]


@pytest.mark.parametrize("override, fragment", [
    ("studies[0].trainer.wokers=2", "studies[0].trainer.wokers: unknown key; allowed: "),
    ("studies[0].seeds=[0,0]", "seed(s) 0 repeated"),
    ("studies[0].trainer.workers=two", "studies[0].trainer.workers: "),
    ("studies[3].seeds=[1]", "studies[3]: index out of range (studies has 1 entries)"),
    ("studies.bias.seeds=[1]", "studies.bias: no entry with kind or name 'bias' (there are: compute)"),
    ("studies[0].seeds", "expected PATH=VALUE"),
    ("name.x=1", "name: holds a value"),
    ("studies[0].seeds=[0,", "is not YAML"),
])
def test_a_bad_override_is_one_line_and_exit_2(override, fragment, capsys):
    assert main(["plan", str(SPEC), override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and fragment in err, err


def test_plan_with_overrides_lists_the_new_trials_and_their_swept_values(capsys):
    assert main(["plan", str(SPEC), "studies[0].seeds=[0,1]"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "10 trials"  # 5 settings x 2 seeds
    assert sum("seed=1" in line for line in lines) == 5
    assert any(line.endswith("swept: size=m workers=1 engine=auto zero_stage=0") for line in lines), lines[:3]


def test_resolved_spec_holds_the_override():
    from dl_drawbacks.execute import resolved_spec_text

    text = resolved_spec_text(load_spec(SPEC, ["studies[0].seeds=[3,4]"]))
    assert yaml.safe_load(text)["studies"][0]["seeds"] == [3, 4]


def test_overrides_may_follow_options(capsys, tmp_path):
    # the override after --resume is applied: its mistake is reported before anything runs
    assert main(["run", str(SPEC), "--out", str(tmp_path / "r"), "--resume", "studies[0].seeds=[0,0]"]) == 2
    assert "seed(s) 0 repeated" in capsys.readouterr().err and not (tmp_path / "r").exists()
    with pytest.raises(SystemExit) as exit_:
        main(["plan", str(SPEC), "--bogus"])
    assert exit_.value.code == 2 and "unrecognized arguments: --bogus" in capsys.readouterr().err
