"""`dl-drawbacks job submit|list|status|logs|stop` (and the top-level aliases) against a real Ray job server
with token auth.

The module starts its own head (`ray start --head --block` in a new session, its own temp dir and
free ports, RAY_AUTH_MODE=token with a test token) and ends exactly that session afterwards: it
never runs `ray stop`, which would end every Ray process on the machine.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import psutil
import pytest
import requests

from dl_drawbacks.cli import main

pytestmark = [pytest.mark.ray, pytest.mark.own_ray]  # its own cluster: runs beside the session's Ray tests
REPO = Path(__file__).resolve().parents[2]
SPEC = "tests/specs/tiny_submit.yaml"
WANDB_SECRET = "sentinel-wandb-key-c0ffee"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_pids(sid: int) -> list[int]:
    pids = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == sid:
                pids.append(proc.pid)
        except (ProcessLookupError, PermissionError):
            pass
    return pids


def _end_session(leader: subprocess.Popen, grace_s: float = 20.0) -> None:
    """SIGTERM to our `ray start --block` (it drains its node), then SIGKILL whatever is left of its session."""
    sid = leader.pid  # start_new_session: the leader's pid is the session id
    leader.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and leader.poll() is None:
        time.sleep(0.5)
    for pid in _session_pids(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    leader.wait(timeout=10)


@contextmanager
def _ray_head(base: Path, *, token: str | None):
    """A Ray head with the job server (3 CPUs) in its own session; token auth on when ``token`` is given."""
    temp = Path(tempfile.mkdtemp(prefix="ddbj", dir="/tmp"))  # short: Ray's socket paths have a length limit
    dash = _free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "token" if token else "disabled", "DL_DRAWBACKS_RUNS_DIR": str(base / "runs"),
           "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DATA_DIR": str(base / "wandb-data"),
           "WANDB_CACHE_DIR": str(base / "wandb-cache"), "WANDB_CONFIG_DIR": str(base / "wandb-config")}
    env.pop("WANDB_API_KEY", None)
    env.pop("RAY_AUTH_TOKEN", None)
    if token:
        env["RAY_AUTH_TOKEN"] = token
    log = open(base / "head.log", "w")
    leader = subprocess.Popen(
        ["ray", "start", "--head", "--block", "--port", str(_free_port()), "--dashboard-port", str(dash),
         "--ray-client-server-port", str(_free_port()), "--dashboard-agent-listen-port", str(_free_port()),
         "--num-cpus", "3", "--num-gpus", "0", "--include-dashboard=true", "--dashboard-host", "127.0.0.1",
         "--node-ip-address", "127.0.0.1", "--disable-usage-stats", "--temp-dir", str(temp),
         "--object-store-memory", str(512 * 2**20)],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"http://127.0.0.1:{dash}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        deadline = time.monotonic() + 150
        while True:
            assert leader.poll() is None, (base / "head.log").read_text()[-2000:]
            try:
                if requests.get(f"{address}/api/jobs/", headers=headers, timeout=3).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "job server not up after 150 s"
            time.sleep(1)
        yield {"address": address, "token": token, "runs": base / "runs", "base": base}
    finally:
        _end_session(leader)
        log.close()
        subprocess.run(["rm", "-rf", str(temp)], check=False)


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """The module's head, token auth on with a random test token."""
    with _ray_head(tmp_path_factory.mktemp("job-server"), token=secrets.token_hex(16)) as info:
        yield info


@pytest.fixture
def authed(head, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_TOKEN", head["token"])
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    monkeypatch.chdir(REPO)
    return head


def _one_line_error(capsys, *secrets_) -> str:
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for s in secrets_:
        assert s not in captured.out + captured.err
    return err


def test_a_stopped_job_is_finished_by_a_followed_resume(authed, capsys, monkeypatch):
    """One job through the whole client: submitted without waiting into the cluster's default run folder, its
    status, logs, stop (twice) and list; then that run folder finished by a resubmission with `--resume --follow`,
    which is the submit-and-follow path (a secret passed by `--env` and never shown, the results on the cluster).
    Two jobs instead of three: the followed submission and the resume are one."""
    monkeypatch.setenv("WANDB_API_KEY", WANDB_SECRET)  # asked for with --env: passed to the job, never shown
    monkeypatch.setenv("WANDB_MODE", "offline")
    address = authed["address"]
    assert main(["job", "submit", SPEC, "--address", address, "--no-wait"]) == 0
    out, err = capsys.readouterr()
    job_id = out.strip()
    assert job_id.startswith("dl-drawbacks-tiny-submit-")
    run = authed["runs"] / job_id.removeprefix("dl-drawbacks-")  # the cluster's run folder, named by the job
    assert f"run folder on the cluster: ${{DL_DRAWBACKS_RUNS_DIR:-~/runs}}/{run.name}\n" in err  # the head's runs/
    assert main(["job", "status", job_id, "--address", address]) == 0
    status = capsys.readouterr().out
    assert status.splitlines()[0] == f"job        {job_id}"
    assert any(status.count(s) for s in ("PENDING", "RUNNING"))
    assert main(["job", "stop", job_id, "--address", address, "--wait"]) == 0
    assert f"job {job_id} STOPPED" in capsys.readouterr().err
    assert main(["job", "logs", job_id, "--address", address]) == 0
    capsys.readouterr()
    assert main(["logs", job_id, "--address", address, "--follow"]) == 3  # a stopped job's outcome
    assert main(["stop", job_id, "--address", address]) == 0
    assert "had already ended: STOPPED" in capsys.readouterr().err
    assert not (run / "findings.json").exists()
    assert main(["job", "list", "--address", address]) == 0
    (line,) = [row for row in capsys.readouterr().out.splitlines() if row.startswith(job_id)]
    assert line.split()[1] == "STOPPED"

    # finished by a resubmission with --resume at once: STOPPED is reported while the stopped driver may still hold
    # the run folder's lock (storage/stopping.py), and the resume waits for it
    t0 = time.monotonic()
    code = main(["job", "submit", SPEC, "--address", address, "--out", str(run), "--resume", "--follow",
                 "--env", "WANDB_API_KEY"])
    out, err = capsys.readouterr()
    assert code == 0, out[-3000:] + err
    resumed = out.splitlines()[0]
    assert resumed.startswith("dl-drawbacks-tiny-submit-") and resumed != job_id
    assert "WANDB_API_KEY" in err and "(values not shown)" in err
    assert WANDB_SECRET not in out + err and authed["token"] not in out + err
    assert f"job {resumed} SUCCEEDED; run folder on the cluster: {run}" in err
    findings = json.loads((run / "findings.json").read_text())
    assert findings["compute"]["per_condition"][0]["energy_j_per_sample"]["estimate"] > 0
    (trial,) = (run / "trials").iterdir()
    assert json.loads((trial / "trial.json").read_text())["status"] == "completed"
    assert pl.read_parquet(trial / "rows.parquet").height > 10
    assert "trials: completed 1" in out  # the driver's summary came through the followed log
    for path in run.rglob("*"):
        if path.is_file():
            assert WANDB_SECRET.encode() not in path.read_bytes(), path
    print(f"resume --follow took {time.monotonic() - t0:.1f} s")

    for command in (["job", "status"], ["status"]):  # the group's subcommand and its top-level alias
        assert main([*command, resumed, "--address", address]) == 0
        status = capsys.readouterr().out
        assert "status     SUCCEEDED" in status and f"run folder {run}" in status
        assert "spec       tests/specs/tiny_submit.yaml" in status and WANDB_SECRET not in status
        assert "--resume" in status.split("entrypoint", 1)[1]
    assert main(["job", "list", "--address", address]) == 0
    listed = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert listed[resumed][1] == "SUCCEEDED" and "tests/specs/tiny_submit.yaml" in listed[resumed]
    assert listed[job_id][1] == "STOPPED"


def test_wrong_or_missing_token_is_one_line(head, capsys, monkeypatch, tmp_path):
    wrong = tmp_path / "token"
    wrong.write_text("not-the-token-" + "x" * 20)
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    assert main(["status", "any", "--address", head["address"], "--token-file", str(wrong)]) == 2
    err = _one_line_error(capsys, "not-the-token-", head["token"])
    assert "rejected the token: set RAY_AUTH_TOKEN or --token-file" in err
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the client sends no token at all
    assert main(["submit", SPEC, "--address", head["address"]]) == 2
    # Alone this says "needs a token"; after the session's own ray.init, Ray's SDK may attach that
    # cluster's token itself, which this head rejects. Either way: one line naming the fix, no token shown.
    err = _one_line_error(capsys, head["token"])
    assert "needs a token" in err or "rejected the token: set RAY_AUTH_TOKEN or --token-file" in err


def test_unknown_job_is_one_line(authed, capsys):
    assert main(["logs", "no-such-job", "--address", authed["address"]]) == 2
    assert "no job 'no-such-job'" in _one_line_error(capsys, authed["token"])


@pytest.mark.slow
def test_cluster_without_token_auth(tmp_path, capsys, monkeypatch):
    """RAY_AUTH_MODE=disabled on both sides: no token is sent, even with ~/.ray/auth_token present."""
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.chdir(REPO)
    with _ray_head(tmp_path, token=None) as open_head:
        assert main(["submit", SPEC, "--address", open_head["address"], "--no-wait"]) == 0
        job_id = capsys.readouterr().out.strip()
        assert main(["stop", job_id, "--address", open_head["address"], "--wait"]) == 0
        assert f"job {job_id} STOPPED" in capsys.readouterr().err
        assert main(["status", job_id, "--address", open_head["address"]]) == 0
        assert "status     STOPPED" in capsys.readouterr().out
