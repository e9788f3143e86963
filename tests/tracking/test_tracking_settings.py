"""TrackingSettings, resolve_mode and redact: no W&B run is started here."""

import pydantic
import pytest

from dl_drawbacks.tracking.settings import TrackingSettings, redact, resolve_mode


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)


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
