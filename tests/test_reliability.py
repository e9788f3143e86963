"""Inputs that used to run, hang or overwrite: refused in one line (exit 2) before Ray starts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

from dl_drawbacks.cli import main
from dl_drawbacks.errors import SpecError
from dl_drawbacks.plan import checked_spec
from dl_drawbacks.storage.files import atomic_write_bytes
from dl_drawbacks.storage.run_folder import LocalRunFolder

BASE = {"name": "t", "version": 1, "tracking": {"mode": "disabled"},
        "studies": [{"kind": "compute", "trainer": {"budget": {"steps": 2}}}]}


def _with(suite=None, **study):
    return {**BASE, **(suite or {}), "studies": [{**BASE["studies"][0], **study}]}


@pytest.mark.parametrize("doc, expected", [
    (_with(seeds=[0, 0]), "studies[0].seeds: seed(s) 0 repeated; give each seed once"),
    (_with(seeds=[-1]), "studies[0].seeds[0]: Input should be greater than or equal to 0"),
    (_with(seeds=[2**40]), "studies[0].seeds[0]: Input should be less than or equal to 4294967295"),
    (_with(seeds=[True]), "studies[0].seeds[0]: Input should be a valid integer"),
    (_with(trainer={"budget": {"steps": True}}), "trainer.budget.steps: Input should be a valid integer"),
    (_with(trainer={"budget": {"steps": 1e22}}), "trainer.budget.steps: Input should be a valid integer"),
    (_with(trainer={"budget": {"steps": 10**12}}), "trainer.budget.steps: Input should be less than or equal to 1000000000"),
    (_with(trainer={"budget": {"epochs": 2.5}}), "trainer.budget.epochs: Input should be a valid integer"),
    (_with(trainer={"budget": {"steps": 2}, "optimizer": {"lr": float("inf")}}), "trainer.optimizer.lr: Input should be a finite number"),
    (_with(trainer={"budget": {"steps": 2}, "optimizer": {"lr": float("nan")}}), "trainer.optimizer.lr: Input should be a finite number"),
    (_with({"name": "../../escaped\nline"}), "name: String should match pattern"),
    (_with({"name": ""}), "name: String should match pattern"),
    (_with({"name": "/abs"}), "name: String should match pattern"),
])
def test_out_of_range_inputs_are_refused_naming_the_key(doc, expected):
    with pytest.raises(SpecError) as info:
        checked_spec(doc, source="x.yaml")
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_seeds_repeated_exit_2_naming_seeds(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: t\nversion: 1\nstudies: [{kind: compute, seeds: [0, 0], trainer: {budget: {steps: 2}}}]\n")
    assert main(["plan", str(spec)]) == 2
    assert main(["run", str(spec), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("studies[0].seeds: seed(s) 0 repeated" in line for line in err)
    assert not (tmp_path / "run").exists()


def test_two_studies_of_one_kind_are_refused_in_one_line():
    doc = {**BASE, "studies": BASE["studies"] * 2}
    with pytest.raises(SpecError, match=r"studies\[1\]\.kind: a second 'compute' study \(the first is studies\[0\]\)"):
        checked_spec(doc, source="x.yaml")


def test_dead_cluster_address_is_one_line_within_60_s(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: t\nversion: 1\ntracking: {mode: disabled}\nstudies: [{kind: compute, trainer: {budget: {steps: 2}}}]\n")
    t0 = time.monotonic()  # a fresh process: the test session's own Ray connection must not answer for the address
    done = subprocess.run([sys.executable, "-m", "dl_drawbacks.cli", "run", str(spec), "--out", str(tmp_path / "run"),
                           "--address", "127.0.0.1:1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert time.monotonic() - t0 < 60
    err = done.stderr
    assert err.count("\n") == 1 and err.startswith("error: cannot reach the Ray cluster at '127.0.0.1:1'")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("below, expected", [
    ("", "is a file, not a folder"), ("run", "is a file, so the run folder cannot be made under it")])
def test_out_that_is_or_is_under_a_file(tmp_path, capsys, below, expected):
    blocker = tmp_path / "f"
    blocker.write_text("keep")
    spec = tmp_path / "s.yaml"
    spec.write_text("name: t\nversion: 1\nstudies: [{kind: compute, trainer: {budget: {steps: 2}}}]\n")
    assert main(["run", str(spec), "--out", str(blocker / below if below else blocker)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and blocker.read_text() == "keep"


def test_files_written_get_the_umask_mode(tmp_path):
    import polars as pl

    from dl_drawbacks.rows import ROW_SCHEMA
    from dl_drawbacks.storage.files import FILE_MODE, UMASK

    atomic_write_bytes(tmp_path / "a.json", b"{}")
    LocalRunFolder(tmp_path).write_trial("t1", pl.DataFrame(schema=ROW_SCHEMA), {"status": "failed"})
    for path in (tmp_path / "a.json", tmp_path / "trials" / "t1" / "rows.parquet", tmp_path / "trials" / "t1" / "trial.json"):
        assert stat.S_IMODE(path.stat().st_mode) == FILE_MODE == 0o666 & ~UMASK
    plain = tmp_path / "plain"
    plain.write_text("")
    assert stat.S_IMODE(plain.stat().st_mode) == FILE_MODE  # the same as open() gives


def test_a_figure_is_written_atomically_with_the_umask_mode(tmp_path, monkeypatch):
    from dl_drawbacks.report.figures import plt, save_figure
    from dl_drawbacks.storage.files import FILE_MODE

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "figures" / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and stat.S_IMODE(path.stat().st_mode) == FILE_MODE
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.png"]  # no temporary left
    fig, ax = plt.subplots()
    monkeypatch.setattr(fig, "savefig", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        save_figure(fig, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and sorted(p.name for p in path.parent.iterdir()) == ["f.png"]


def test_a_marker_that_is_json_but_not_an_object_is_named(tmp_path, capsys):
    from dl_drawbacks.errors import RunFolderError

    (tmp_path / "trials" / "t").mkdir(parents=True)
    (tmp_path / "trials" / "t" / "trial.json").write_text("[1, 2]")
    with pytest.raises(RunFolderError, match="trial.json: damaged completion marker"):
        LocalRunFolder(tmp_path).marker("t")


@pytest.mark.parametrize("name, data", [("spec.yaml", b"\xff\xfe"), ("spec.yaml", b"a: [\n"), ("env.json", b"{nope")])
def test_analyze_names_a_damaged_file(tmp_path, capsys, name, data):
    (tmp_path / "spec.yaml").write_text("name: t\nversion: 1\ntracking: {mode: disabled}\n"
                                        "studies: [{kind: compute, trainer: {budget: {steps: 2}}}]\n")
    (tmp_path / name).write_bytes(data)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["analyze", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / name) in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_trial_on_a_full_disk_is_its_own_failure(tmp_path, monkeypatch):
    """The rows cannot be written (ENOSPC): the trial records an empty failed marker and returns."""
    import dl_drawbacks.trial as trial_module

    monkeypatch.setattr(trial_module, "_train", lambda launch, trial: (_ for _ in ()).throw(
        OSError(28, "No space left on device", str(tmp_path / "x"))))
    real_write = LocalRunFolder.write_trial
    calls = []

    def write_once_fails(folder, trial_id, rows, outcome):
        calls.append(outcome["status"])
        if len(calls) == 1:
            raise OSError(28, "No space left on device", str(folder.root / "trials" / trial_id / "rows.parquet"))
        return real_write(folder, trial_id, rows, outcome)

    monkeypatch.setattr(LocalRunFolder, "write_trial", write_once_fails)
    from dl_drawbacks.launch import Launch
    from dl_drawbacks.plan import plan
    from dl_drawbacks.spec import load_spec

    trial = plan(load_spec("tests/specs/tiny_compute.yaml"))[0]
    outcome = trial_module.execute_trial(Launch(trials=[trial], address=str(tmp_path), run_id="r"), trial)
    assert outcome["status"] == "failed" and "cannot write the trial's rows: OSError: [Errno 28] No space" in outcome["error"]
    assert calls == ["failed", "failed"] and (tmp_path / "trials" / trial.trial_id / "trial.json").exists()
    assert os.access(tmp_path / "trials" / trial.trial_id / "error.txt", os.R_OK)


def test_a_duplicated_yaml_key_is_refused_naming_both_lines(tmp_path, capsys):
    spec = tmp_path / "dup.yaml"
    spec.write_text("name: a\nversion: 1\nname: b\nstudies: []\n")
    assert main(["plan", str(spec)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {spec}: line 3, column 1: malformed YAML: key 'name' given twice (first at line 1); keep one")


def test_a_merge_key_may_still_be_overridden(tmp_path):
    from dl_drawbacks.spec.load import read_yaml

    spec = tmp_path / "merge.yaml"
    spec.write_text("base: &b {steps: 2, eval_every: 1}\nbudget: {<<: *b, steps: 4}\n")
    assert read_yaml(spec)["budget"] == {"steps": 4, "eval_every": 1}


def test_a_grid_above_the_trial_limit_is_refused_before_it_is_built(tmp_path, capsys, monkeypatch):
    """300 x 300 x 300 = 27M trials: refused by counting them, not building them (that grew to 8.4 GB)."""
    import yaml

    from dl_drawbacks.plan import plan

    doc = _with(sweeps=[{"name": "big", "axes": {"trainer.optimizer.lr": [0.001 * (i + 1) for i in range(300)],
                                                  "trainer.budget.steps": list(range(1, 301)),
                                                  "trainer.micro_batch": list(range(1, 301))}}])
    spec = tmp_path / "big.yaml"
    spec.write_text(yaml.safe_dump(doc))
    assert main(["plan", str(spec)]) == 2
    assert capsys.readouterr().err.strip().endswith(
        ": studies[0].sweeps: the suite's sweeps plan 27,000,000 trials by studies[0], more than the "
        "limit of 10,000; shrink the grids or raise the limit with DL_DRAWBACKS_MAX_TRIALS=N")
    small = _with(sweeps=[{"name": "lr", "axes": {"trainer.optimizer.lr": [0.001, 0.002, 0.003]}}])
    monkeypatch.setenv("DL_DRAWBACKS_MAX_TRIALS", "2")
    with pytest.raises(SpecError, match="plan 3 trials by studies\\[0\\], more than the limit of 2"):
        checked_spec(small)
    monkeypatch.setenv("DL_DRAWBACKS_MAX_TRIALS", "3")
    assert len(plan(checked_spec(small))) == 3


def test_a_port_that_accepts_but_never_answers_is_named_within_the_probe_timeout():
    """A hung head (or any port that accepts TCP and stays silent) used to make `ray.init` wait 300 s."""
    import socket

    from dl_drawbacks.cluster import probe
    from dl_drawbacks.errors import ClusterError

    with socket.create_server(("127.0.0.1", 0)) as silent:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(ClusterError) as err:
            probe(address, 1.0)
        assert time.monotonic() - t0 < 5
    assert str(err.value) == (f"cannot reach the Ray cluster at '{address}': the port accepts connections but did "
                              f"not answer Ray's protocol in 1 s (a hung head?); check --address and the head node")


def test_an_http_port_given_for_the_gcs_is_named():
    import http.server
    import threading

    from dl_drawbacks.cluster import probe
    from dl_drawbacks.errors import ClusterError

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ClusterError, match="the port answers, but not as Ray's GCS .* the GCS port, default 6379"):
            probe(f"127.0.0.1:{server.server_address[1]}", 2.0)
    finally:
        server.shutdown()
