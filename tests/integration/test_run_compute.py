"""A tiny compute study through real Ray: 1-worker Tune trials (plain engine) and DeepSpeed ZeRO-2 under a
TorchTrainer at 1 and 2 workers; rows, findings, W&B offline files, resume, and refusals before anything runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from browser import chromium, measure
from dl_drawbacks.cli import main
from terminal_capture import captured_terminal
from wandb_offline_reader import find_offline_runs, read_offline_run

pytestmark = pytest.mark.ray
SENTINEL = "sentinel-wandb-key-7f3a9c"
TERMINAL: list[str] = []  # what the fixture's run printed


@pytest.fixture(scope="module")
def compute_run(ray_cluster, tmp_path_factory, request):
    spec = Path(__file__).resolve().parents[1] / "specs" / "tiny_compute.yaml"
    out = tmp_path_factory.mktemp("run") / "tiny"
    os.environ["WANDB_API_KEY"] = SENTINEL  # must never reach any output (tracking mode is offline)
    try:
        # an override equal to the default: the run's trials and resolved spec stay those of the file
        with captured_terminal() as printed:
            code = main(["run", str(spec), "studies.compute.seeds=[0]", "--out", str(out)])
        TERMINAL[:] = printed
        assert code == 0, printed[0][-3000:]
    finally:
        os.environ.pop("WANDB_API_KEY")
    return spec, out


def test_secrets_never_reach_the_run_folder(compute_run):
    _, out = compute_run
    secrets = [SENTINEL.encode()]
    token_file = Path("~/.ray/auth_token").expanduser()  # the Ray cluster's auth token, when token auth is on
    if token_file.exists() and token_file.read_text().strip():
        secrets.append(token_file.read_text().strip().encode())
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s in data for s in secrets), path


def test_rows_for_every_trial(compute_run):
    _, out = compute_run
    trials = sorted((out / "trials").iterdir())
    assert len(trials) == 5
    for folder in trials:
        marker = json.loads((folder / "trial.json").read_text())
        assert marker["status"] == "completed", marker
        rows = pl.read_parquet(folder / "rows.parquet")
        assert rows.height == marker["n_rows"] > 10
        assert set(rows.columns) >= {"study", "trial_id", "seed", "factors", "metric", "split", "step", "epoch", "value", "unit", "provenance"}


def test_deepspeed_trials_at_one_and_two_workers(compute_run):
    _, out = compute_run
    rows = pl.concat([pl.read_parquet(p) for p in (out / "trials").glob("*/rows.parquet")])
    deepspeed = rows.filter(pl.col("factors").str.contains('"engine":"deepspeed"'))
    clipping = deepspeed.filter(pl.col("metric") == "gradient_clipping")
    assert clipping["value"].to_list() == [0.0, 0.0] and set(clipping["group"]) == {"deepspeed"}
    two = deepspeed.filter(pl.col("factors").str.contains('"workers":2'))
    assert sorted(two.filter(pl.col("metric") == "peak_memory")["rank"].to_list()) == [0, 1]
    energy = two.filter(pl.col("metric") == "energy")
    if set(energy["provenance"]) == {"rapl"}:  # the node's counter, read once by local rank 0
        assert energy["rank"].to_list() == [0]
    else:  # each worker's own process tree: summing the ranks counts every CPU second once
        assert sorted(energy["rank"].to_list()) == [0, 1] and set(energy["group"].str.slice(0, 8)) == {"process:"}
    assert '"zero_stage":2' in two["factors"][0]
    assert two.filter(pl.col("metric") == "diverged")["value"][0] == 0.0
    samples = two.filter((pl.col("metric") == "samples_total") & (pl.col("rank") == 0))["value"][0]
    assert samples == 6 * 32 * 2  # steps x full micro-batch x workers: what was processed


def test_findings_have_compute_results(compute_run):
    _, out = compute_run
    findings = json.loads((out / "findings.json").read_text())
    c = findings["compute"]
    assert c["energy_provenance"] and set(c["energy_provenance"]) <= {"nvml", "rapl", "estimate"}
    fit = c["scaling_with_parameters"]["mlp"]["time"]
    assert fit["n_points"] == 3 and len(fit["interval95"]) == 2
    ws = c["worker_scaling"]  # both worker counts ran DeepSpeed: a clean comparison, weak scaling (micro-batch 32)
    assert ws["available"] and ws["mode"] == "weak" and "engine=deepspeed" in ws["condition"]
    assert c["zero_tradeoff"]["available"] is False  # one ZeRO stage only: said, not a crash
    assert all(cond["energy_j_per_sample"]["estimate"] > 0 for cond in c["per_condition"])
    assert all(cond["mfu"]["estimate"] is None and "no stated peak" in cond["mfu"]["reason"]  # a CPU has none
               and cond["matmul_calibration_flops"]["estimate"] > 0 for cond in c["per_condition"])
    affine = c["scaling_with_parameters"]["mlp"]["affine"]
    assert affine["y"] == "step_time_mean" and affine["seconds_per_tflop"]["n"] == {"sizes": 3, "trials": 3}
    assert c["host_load"]["recorded"] == 5 and c["host_load"]["load_per_cpu"]["low"] >= 0
    two = next(r for r in c["per_condition"] if r["factors"]["workers"] == 2)
    assert two["load_per_cpu"]["n"] == 1
    assert 0.9 < c["flops_counted_over_analytic"]["mlp"]["low"] <= c["flops_counted_over_analytic"]["mlp"]["high"] < 1.1
    for name in ("spec.yaml", "env.json", "report.md", "report.html"):
        assert (out / name).stat().st_size > 0
    assert list((out / "figures").glob("*.png"))
    report = (out / "report.md").read_text()
    assert "## Drawback card" in report and "## Appendix: every headline finding" in report


def test_wandb_offline_runs_hold_history_and_config(compute_run):
    _, out = compute_run
    runs_all = [read_offline_run(p) for p in find_offline_runs(out / "wandb")]
    runs = {r["job_type"]: r for r in runs_all}
    trial_runs = [r for r in runs_all if r["job_type"] == "compute"]
    assert len(trial_runs) == 5
    for run in trial_runs:
        assert run["config"]["study"] == "compute" and run["config"]["trial_id"] in run["run_id"]
        assert any("loss/train_batch" in h for h in run["history"])
        assert run["summary"]["outcome"] == "completed" and "completed" in run["tags"]
    assert "summary" in runs


def test_resume_skips_finished_trials_and_keeps_rows_byte_identical(compute_run, capsys):
    spec, out = compute_run
    before = {p: p.read_bytes() for p in (out / "trials").glob("*/rows.parquet")}
    assert main(["run", str(spec), "--out", str(out), "--resume"]) == 0
    assert "resuming: 5 of 5 trials already finished" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (out / "trials").glob("*/rows.parquet")} == before


def test_existing_run_without_resume_is_refused(compute_run, capsys):
    spec, out = compute_run
    assert main(["run", str(spec), "--out", str(out)]) == 2
    assert "already holds a run; pass --resume" in capsys.readouterr().err


def test_impossible_worker_count_is_refused_before_anything_runs(ray_cluster, tmp_path, capsys):
    spec = tmp_path / "big.yaml"
    spec.write_text("name: big\nversion: 1\nstudies:\n  - kind: compute\n    trainer: {workers: 8, budget: {steps: 1}}\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "needs 9 CPU but the cluster has 3" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_missing_dataset_file_is_refused(ray_cluster, tmp_path, capsys):
    spec = tmp_path / "nodata.yaml"
    spec.write_text(f"name: nd\nversion: 1\nstudies:\n  - kind: compute\n    data: {{name: adult, options: {{path: {tmp_path / 'nowhere'}}}}}\n    trainer: {{budget: {{steps: 1}}}}\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "adult" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_analyze_rebuilds_findings_from_rows(compute_run):
    _, out = compute_run
    before = json.loads((out / "findings.json").read_text())
    (out / "findings.json").unlink()
    (out / "report.md").unlink()
    assert main(["analyze", str(out)]) == 0
    after = json.loads((out / "findings.json").read_text())
    assert after["compute"]["scaling_with_parameters"] == before["compute"]["scaling_with_parameters"]
    assert (out / "report.md").exists()


def test_wandb_report_spec_is_written_and_publish_offline_says_so(compute_run, capsys):
    _, out = compute_run
    spec = json.loads((out / "wandb-reports" / "compute.json").read_text())  # written by the run itself
    text = json.dumps(spec)
    assert "steady-state step time (evaluation excluded) vs FLOPs per step" in text and "How do training time" in text
    (out / "wandb-reports" / "compute.json").unlink()
    assert main(["wandb-report", str(out), "--publish"]) == 0
    captured = capsys.readouterr()
    assert "not published (WANDB_MODE=offline)" in captured.err and captured.err.count("\n") == 1
    assert "compute" in captured.out and (out / "wandb-reports" / "compute.json").exists()


def test_the_terminal_ends_in_a_short_summary_without_ray_temp_paths(compute_run):
    _, out = compute_run
    lines = TERMINAL[0].rstrip("\n").splitlines()
    assert "ray/session_" not in TERMINAL[0] and "tensorboard" not in TERMINAL[0].lower(), TERMINAL[0][-3000:]
    assert "Configuration for experiment" not in TERMINAL[0]
    assert any(" completed " in line and " mlp/s workers=1 engine=auto zero_stage=0 seed=0 (compute-" in line
               for line in lines)  # named by factors
    tail = lines[lines.index(next(line for line in lines if line.startswith("[  5/5]"))) + 1:]
    assert len(tail) <= 30, tail
    assert tail[-2] == f"report: {out / 'report.html'}" and tail[-1].startswith("W&B: group tiny-compute-")
    assert any(line.startswith("  compute          mlp/digits: Steady-state step time") for line in tail)


@pytest.mark.skipif(chromium() is None, reason="no chromium (Debian package `chromium`; .ci/run installs it)")
def test_report_and_card_lay_out_in_a_real_browser_at_1280_px(compute_run, tmp_path, capsys):
    _, out = compute_run
    report = measure(out / "report.html")
    assert report["page_width"] <= report["width"] == 1280 and not report["wide"], report
    assert "drawback-card" in report["links"] and "compute" in report["links"] and not report["broken"], report
    assert main(["card", str(out), str(out), "-o", str(tmp_path / "card.html")]) == 0  # two runs side by side
    assert capsys.readouterr().out.strip() == f"{tmp_path / 'card.html'}: 2 of 2 cells filled"
    card = measure(tmp_path / "card.html", height=1024)
    assert card["cards"] and all(h <= 1024 for h in card["cards"]) and not card["wide"], card


def test_resume_with_an_added_sweep_value_runs_only_the_new_trial(compute_run, capsys):
    spec, out = compute_run
    before = {p: p.read_bytes() for p in (out / "trials").glob("*/rows.parquet")}
    grown = "studies[0].sweeps[0].axes={model.size: [xs, s, m, l]}"
    assert main(["run", str(spec), "--out", str(out), "--resume", "studies[0].trainer.optimizer.lr=0.1"]) == 2
    assert "studies[0].trainer.optimizer.lr differs; a resume may only add seeds or sweep values" in \
        capsys.readouterr().err
    assert main(["run", str(spec), grown, "--out", str(out), "--resume"]) == 0
    assert "resuming: 5 of 6 trials already finished" in capsys.readouterr().err
    after = {p: p.read_bytes() for p in (out / "trials").glob("*/rows.parquet")}
    assert len(after) == 6 and all(after[p] == rows for p, rows in before.items())  # finished rows untouched
    assert "- l" in (out / "spec.yaml").read_text()  # the folder's spec is the extended one


def test_compare_two_runs_prints_differences_and_says_they_are_unpaired(compute_run, capsys):
    _, out = compute_run
    assert main(["compare", str(out), str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "unpaired" in lines[1]
    compute = [line for line in lines[2:] if line.startswith("compute")]
    assert compute, lines
    for line in compute:  # a run against itself: every resolved headline differs by 0, an unresolved one has none
        assert ("A —, B —, B − A —" in line) != ("B − A 0 (" in line), line
