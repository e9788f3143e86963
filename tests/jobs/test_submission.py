"""What `dl-drawbacks job submit` would send, the token rules and the `job` group's aliases, without a cluster."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.errors import ClusterError
from dl_drawbacks.jobs.client import auth_headers, normalise_address
from dl_drawbacks.jobs.submission import SubmitError, build_submission, run_folder_from_logs

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "tests" / "specs" / "tiny_submit.yaml"
SECRET = "sentinel-wandb-key-5b1e"


def _sh(entrypoint: str, env: dict[str, str]) -> str:
    """Run the entrypoint's first two commands (the folder announcement) under /bin/sh."""
    head = entrypoint.split("; exec dl-drawbacks run", 1)[0]
    return subprocess.run(["/bin/sh", "-c", head], env=env, capture_output=True, text=True, check=True).stdout


def test_entrypoint_runs_the_spec_from_the_project_root_and_announces_the_run_folder():
    sub = build_submission(SPEC, suffix="abc123", environ={})
    assert sub.submission_id == "dl-drawbacks-tiny-submit-abc123"
    assert sub.runtime_env["working_dir"] == str(REPO)
    assert {"runs/", ".git/", "wandb/", "__pycache__/"} <= set(sub.runtime_env["excludes"])
    assert sub.entrypoint.endswith('; exec dl-drawbacks run tests/specs/tiny_submit.yaml --out "$OUT" --address auto')
    assert sub.run_folder == "${DL_DRAWBACKS_RUNS_DIR:-~/runs}/tiny-submit-abc123"
    assert sub.metadata["dl_drawbacks_spec"] == "tests/specs/tiny_submit.yaml"
    # the folder is resolved by the cluster's shell: $DL_DRAWBACKS_RUNS_DIR, else ~/runs
    out = _sh(sub.entrypoint, {"HOME": "/home/u", "DL_DRAWBACKS_RUNS_DIR": "/mnt/runs"})
    assert run_folder_from_logs("noise\n" + out) == "/mnt/runs/tiny-submit-abc123"
    assert run_folder_from_logs(_sh(sub.entrypoint, {"HOME": "/home/u"})) == "/home/u/runs/tiny-submit-abc123"


def test_absolute_and_odd_out_paths_are_quoted():
    sub = build_submission(SPEC, out="/data/my runs/x;rm -rf ~", environ={})
    assert sub.run_folder == "/data/my runs/x;rm -rf ~"
    assert run_folder_from_logs(_sh(sub.entrypoint, {"HOME": "/h"})) == "/data/my runs/x;rm -rf ~"
    rel = build_submission(SPEC, out="exp/one", environ={})
    assert run_folder_from_logs(_sh(rel.entrypoint, {"HOME": "/h"})) == "/h/runs/exp/one"


def test_an_object_store_uri_is_the_run_folder_as_given():
    sub = build_submission(SPEC, out="s3://bucket/studies/tiny-1", environ={}, resume=True)
    assert sub.run_folder == sub.metadata["dl_drawbacks_out"] == "s3://bucket/studies/tiny-1"
    assert run_folder_from_logs(_sh(sub.entrypoint, {"HOME": "/h"})) == "s3://bucket/studies/tiny-1"
    assert sub.entrypoint.endswith('--out "$OUT" --address auto --resume')


def test_wandb_settings_pass_through_the_key_only_when_named_and_only_names_are_shown():
    environ = {"WANDB_API_KEY": SECRET, "WANDB_MODE": "offline", "WANDB_DATA_DIR": "/local/only", "OMP_NUM_THREADS": "3"}
    sub = build_submission(SPEC, environ=environ, env=["OMP_NUM_THREADS", "A=1"],
                           runtime_env_json=json.dumps({"env_vars": {"B": "2"}, "excludes": ["big/"], "pip": ["rich"]}))
    env = sub.runtime_env["env_vars"]
    assert env == {"WANDB_MODE": "offline", "OMP_NUM_THREADS": "3", "A": "1", "B": "2"}
    assert sub.env_names == ("A", "B", "OMP_NUM_THREADS", "WANDB_MODE") and sub.withheld == ("WANDB_API_KEY",)
    assert sub.runtime_env["pip"] == ["rich"] and "big/" in sub.runtime_env["excludes"]
    assert SECRET not in json.dumps(sub.runtime_env)  # the cluster reads the key from its Kubernetes Secret
    asked = build_submission(SPEC, environ=environ, env=["WANDB_API_KEY"])  # explicitly asked: the value goes
    assert asked.runtime_env["env_vars"]["WANDB_API_KEY"] == SECRET and asked.withheld == ()
    for text in (sub.entrypoint, json.dumps(sub.metadata), sub.run_folder, asked.entrypoint, json.dumps(asked.metadata)):
        assert SECRET not in text


@pytest.mark.parametrize("token", ["sec\nret-4f2a", "sec ret-4f2a", "sec\x00ret-4f2a", "sec\u00e9ret-4f2a"])
def test_a_token_with_whitespace_or_control_characters_is_one_line_without_it(token, tmp_path, capsys, monkeypatch):
    file = tmp_path / "tok"
    file.write_text(token)
    assert main(["submit", str(SPEC), "--address", "http://127.0.0.1:9", "--token-file", str(file)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds whitespace or control characters" in err and "--token-file" in err
    assert "sec" not in err.replace(str(file), "") and "ret-4f2a" not in err
    if "\x00" not in token:  # an environment variable cannot hold NUL
        monkeypatch.setenv("RAY_AUTH_TOKEN", token)
        with pytest.raises(ClusterError, match="token from RAY_AUTH_TOKEN holds whitespace") as info:
            auth_headers(None)
        assert "ret-4f2a" not in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1]", "must be a JSON object"),
    ('{"working_dir": "/x"}', "working_dir is the project root"),
    ('{"env_vars": [1]}', "env_vars must be an object"),
])
def test_bad_runtime_env_is_one_line(text, message):
    with pytest.raises(SubmitError, match=message):
        build_submission(SPEC, runtime_env_json=text, environ={})


def test_bare_env_name_must_be_set_here():
    with pytest.raises(SubmitError, match="--env NOPE: not set here"):
        build_submission(SPEC, env=["NOPE"], environ={})


def test_spec_outside_any_project_is_refused(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.read_text())
    with pytest.raises(SubmitError, match="no pyproject.toml above it"):
        build_submission(spec, environ={})


def test_bad_spec_fails_before_any_connection(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text("")
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: x\nversion: 1\nstudies:\n  - kind: compute\n    trainer: {wokers: 2}\n")
    assert main(["submit", str(spec), "--address", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "wokers" in err and err.count("\n") == 1


def test_token_sources_in_order(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ray/auth_token here
    file = tmp_path / "tok"
    file.write_text("from-file\n")
    assert auth_headers(file, {"RAY_AUTH_TOKEN": "from-env"}) == {"Authorization": "Bearer from-file"}
    assert auth_headers(None, {"RAY_AUTH_TOKEN": "from-env"}) == {"Authorization": "Bearer from-env"}
    assert auth_headers(None, {}) == {}
    assert auth_headers(None, {"RAY_AUTH_MODE": "disabled", "RAY_AUTH_TOKEN": "x"}) == {}
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home")
    assert auth_headers(None, {}) == {"Authorization": "Bearer from-home"}
    with pytest.raises(ClusterError, match="no such file") as err:
        auth_headers(tmp_path / "missing", {"RAY_AUTH_TOKEN": "from-env"})
    assert "from-env" not in str(err.value)


def test_addresses():
    assert normalise_address("10.0.0.5:8265") == "http://10.0.0.5:8265"
    assert normalise_address("https://ray.example.org/") == "https://ray.example.org"
    with pytest.raises(ClusterError, match="not a ray:// or GCS address"):
        normalise_address("ray://head:10001")


def test_address_from_the_environment_in_ray_jobs_order():
    env = {"RAY_ADDRESS": "http://10.0.0.7:8265"}
    assert normalise_address(None, env) == "http://10.0.0.7:8265"
    assert normalise_address(None, {**env, "RAY_API_SERVER_ADDRESS": "10.0.0.8:8265"}) == "http://10.0.0.8:8265"
    assert normalise_address("10.0.0.9:8265", env) == "http://10.0.0.9:8265"  # an explicit --address wins
    with pytest.raises(ClusterError, match="^RAY_ADDRESS ray://head:10001: the job server speaks HTTP"):
        normalise_address(None, {"RAY_ADDRESS": "ray://head:10001"})
    with pytest.raises(ClusterError, match="or set RAY_ADDRESS"):
        normalise_address(None, {})


def test_submit_follows_by_default_and_no_wait_detaches():
    from dl_drawbacks.cli import build_parser

    parser = build_parser()
    assert not parser.parse_args(["job", "submit", str(SPEC)]).no_wait
    assert parser.parse_args(["job", "submit", str(SPEC), "--no-wait"]).no_wait
    with pytest.raises(SystemExit):  # following and detaching at once is a usage mistake
        parser.parse_args(["job", "submit", str(SPEC), "--no-wait", "--follow"])


def test_unreachable_address_is_one_line(capsys):
    assert main(["status", "some-job", "--address", "127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach a Ray job server at http://127.0.0.1:9") and err.count("\n") == 1


def test_resume_finishes_the_named_run_folder_and_needs_out():
    sub = build_submission(SPEC, out="exp/one", environ={}, resume=True)
    assert sub.entrypoint.endswith('--out "$OUT" --address auto --resume')
    assert "--resume" not in build_submission(SPEC, out="exp/one", environ={}).entrypoint
    with pytest.raises(SubmitError, match="--resume needs --out"):
        build_submission(SPEC, environ={}, resume=True)


ALIASES = {"submit": [str(SPEC)], "status": ["j1"], "logs": ["j1", "--follow"], "stop": ["j1", "--wait"]}


@pytest.mark.parametrize("name", ALIASES)
def test_each_old_top_level_name_is_an_alias_of_its_job_subcommand(name):
    from dl_drawbacks.cli import build_parser

    parser = build_parser()
    argv = [*ALIASES[name], "--address", "http://127.0.0.1:1"]
    alias, grouped = parser.parse_args([name, *argv]), parser.parse_args(["job", name, *argv])
    assert alias.func is grouped.func and alias.func.__name__ == f"_{name}"
    assert {k: v for k, v in vars(alias).items() if k != "command"} == {
        k: v for k, v in vars(grouped).items() if k not in ("command", "job_command")}
    assert f"alias of `job {name}`" in parser.format_help()


def test_job_list_is_in_the_group_and_the_top_level_list_still_lists_study_kinds(capsys):
    from dl_drawbacks.cli import build_parser

    assert build_parser().parse_args(["job", "list", "--address", "x"]).func.__name__ == "_list"
    assert main(["list"]) == 0
    assert "study    compute" in capsys.readouterr().out
    assert main(["job", "list", "--address", "127.0.0.1:9"]) == 2
    assert "cannot reach a Ray job server at http://127.0.0.1:9" in capsys.readouterr().err
