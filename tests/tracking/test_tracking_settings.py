"""TrackingSettings, the mode (credentials as wandb finds them, one probe per run) and redact:
no W&B run is started here."""

import json
import socket
import time

import pydantic
import pytest

from dl_drawbacks.tracking import settings as S
from dl_drawbacks.tracking.run_setup import run_group, run_mode, start_tracking
from dl_drawbacks.tracking.settings import TrackingSettings, credential_source, decide_mode, redact, resolve_mode


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.chdir(tmp_path)


def test_a_wandb_login_in_netrc_is_online(monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.example.org\n  login user\n  password " + "n" * 40 + "\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("WANDB_BASE_URL", "https://api.example.org")
    assert credential_source() == f"netrc ({netrc})" and resolve_mode("auto") == "online"
    monkeypatch.setenv("WANDB_BASE_URL", "https://other.example.org")  # a login for another host does not count
    assert credential_source() is None and resolve_mode("auto") == "offline"


def test_an_api_key_in_wandb_settings_is_online(tmp_path):
    (tmp_path / "wandb-config").mkdir()
    (tmp_path / "wandb-config" / "settings").write_text("[default]\napi_key = " + "s" * 40 + "\n")
    assert credential_source() == "wandb settings file" and resolve_mode("auto") == "online"


def test_an_unreachable_host_makes_the_run_offline_quickly(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    mode, why = decide_mode(TrackingSettings(), timeout=1.0)
    assert mode == "offline" and "did not answer" in why and "k" * 40 not in why
    assert time.monotonic() - started < 3


def _http_server():
    import http.server
    import threading

    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)  # answers 501 to HEAD: an answer
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_reachable_host_with_credentials_is_online(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    server = _http_server()
    try:
        monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
        assert decide_mode(TrackingSettings()) == ("online", "credentials from WANDB_API_KEY")
        assert decide_mode(TrackingSettings(mode="online")) == ("online", "tracking.mode in the spec")
    finally:
        server.shutdown()


@pytest.mark.parametrize("mode", ["auto", "online"])
def test_a_host_that_accepts_but_never_answers_makes_the_run_offline_after_one_probe(monkeypatch, mode):
    """`tracking.mode: online` on a machine whose W&B host hangs used to wait ~90 s per connection attempt."""
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        started = time.monotonic()
        chosen, why = decide_mode(TrackingSettings(mode=mode), timeout=1.0)
        assert time.monotonic() - started < 3
    assert chosen == "offline" and "did not answer within 1 s" in why and "k" * 40 not in why


def test_the_run_decides_once_and_keeps_its_group(tmp_path, monkeypatch, capsys):
    from dl_drawbacks.spec.models import SuiteSpec

    probes = []
    monkeypatch.setattr(S, "reachable", lambda url, timeout=3.0: probes.append(url) or False)
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    run = tmp_path / "run"
    run.mkdir()
    (run / "env.json").write_text(json.dumps({"host": "h"}))
    suite = SuiteSpec.model_validate({"name": "s", "version": 1,
                                      "studies": [{"kind": "compute", "data": {"name": "digits"}}]})
    group = start_tracking(run, suite)
    first = capsys.readouterr().err.splitlines()
    assert len(first) == 1 and first[0].startswith("W&B: offline (credentials from WANDB_API_KEY, but")
    env = json.loads((run / "env.json").read_text())
    assert env["host"] == "h" and env["wandb"]["group"] == group and env["wandb"]["mode"] == "offline"
    assert len(probes) == 1 and run_mode(run, TrackingSettings()) == "offline"  # trials read the decision
    assert run_mode(run, TrackingSettings(mode="disabled")) == "disabled"
    assert start_tracking(run, suite) == group == run_group(run, suite)  # a resume keeps the group
    (run / "env.json").write_text("{}")  # a rewritten env.json: the group comes back from the trials' rows
    import polars as pl

    (run / "trials" / "t1").mkdir(parents=True)
    pl.DataFrame({"run_id": [group]}).write_parquet(run / "trials" / "t1" / "rows.parquet")
    assert run_group(run, suite) == group


def test_auto_is_offline_without_a_key():
    assert resolve_mode("auto") == "offline"


def test_auto_is_online_with_a_key(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert resolve_mode("auto") == "online"


def test_auto_follows_wandb_mode(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert resolve_mode("auto") == "disabled"
    monkeypatch.setenv("WANDB_MODE", "dryrun")
    assert resolve_mode("auto") == "offline"


def test_explicit_modes_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "k" * 40)
    assert [resolve_mode(m) for m in ("offline", "online", "disabled")] == ["offline", "online", "disabled"]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown mode 'onlin'"):
        resolve_mode("onlin")


def test_settings_are_frozen_and_refuse_unknown_keys():
    settings = TrackingSettings(tags=("a",))
    assert settings.project == "dl-drawbacks" and settings.mode == "auto"
    with pytest.raises(pydantic.ValidationError, match="projekt"):
        TrackingSettings(projekt="x")
    with pytest.raises(pydantic.ValidationError):
        settings.project = "other"
    assert all(f.description for f in TrackingSettings.model_fields.values())


def test_redact_masks_the_api_key_everywhere(monkeypatch):
    key = "0123456789abcdef" * 2
    monkeypatch.setenv("WANDB_API_KEY", key)
    out = redact({"token": key, "nested": [f"Bearer {key}", 1.5], key: (key,)})
    assert key not in repr(out)
    assert out == {"token": "***", "nested": ["Bearer ***", 1.5], "***": ("***",)}
