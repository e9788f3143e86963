"""How a study talks to Weights & Biases: project, entity, mode and tags, plus secret hygiene.

W&B is a mirror of what a study measured, never its source of truth (that is the parquet rows in
the run folder). ``mode="auto"`` goes online when wandb itself would be logged in (the same sources,
in wandb's order: ``WANDB_API_KEY``, ``WANDB_IDENTITY_TOKEN_FILE``, the netrc entry of the W&B host,
``api_key`` in wandb's settings file), so a laptop or a CI job without credentials writes offline
runs that ``wandb sync`` can upload later. The driver decides once per run (``decide_mode``, with one
short HTTP probe of the W&B host for ``auto`` and ``online`` alike: a host that does not answer in time makes
the run offline, said in one line) and every trial follows that decision.
"""

from __future__ import annotations

import configparser
import netrc
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..spec.tracking import TrackingSettings  # the spec's model; the mode decided here

_WANDB_MODES = {"offline": "offline", "dryrun": "offline", "online": "online", "run": "online",
                "disabled": "disabled"}


def resolve_mode(mode: str) -> str:
    """The W&B mode to use without touching the network: ``"offline"``, ``"online"`` or ``"disabled"``.

    ``auto`` follows ``WANDB_MODE`` when it names a mode (so the standard variable is never silently
    ignored), else goes online exactly when :func:`credential_source` finds credentials.
    """
    if mode in ("offline", "online", "disabled"):
        return mode
    if mode != "auto":
        raise ValueError(f"tracking.mode: unknown mode {mode!r}; use auto, offline, online or disabled")
    env_mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if env_mode in _WANDB_MODES:
        return _WANDB_MODES[env_mode]
    return "online" if credential_source() else "offline"


def _settings_files() -> list[Path]:
    config_dir = os.environ.get("WANDB_CONFIG_DIR") or str(Path("~/.config/wandb").expanduser())
    return [Path(config_dir) / "settings", Path("wandb") / "settings"]


def _settings_value(name: str) -> str | None:
    """``name`` from wandb's settings files (the workspace file wins, as in wandb), or None."""
    value = None
    for path in _settings_files():
        parser = configparser.ConfigParser()
        try:
            parser.read(path)
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        value = parser.get("default", name, fallback=None) or value
    return value


def base_url() -> str:
    """The W&B server wandb would talk to: ``WANDB_BASE_URL``, the settings file's, else wandb's default."""
    url = os.environ.get("WANDB_BASE_URL", "").strip() or _settings_value("base_url")
    if url:
        return url
    try:
        import wandb

        return str(wandb.Settings().base_url)
    except Exception:  # noqa: BLE001 - no wandb, no opinion: the public server
        return "https://api.wandb.ai"


def credential_source() -> str | None:
    """Where wandb would find credentials (a name, never the value), or None when it has none."""
    if os.environ.get("WANDB_API_KEY", "").strip():
        return "WANDB_API_KEY"
    if os.environ.get("WANDB_IDENTITY_TOKEN_FILE", "").strip():
        return "WANDB_IDENTITY_TOKEN_FILE"
    path = Path(os.environ.get("NETRC") or "~/.netrc").expanduser()
    host = urlsplit(base_url()).netloc
    try:
        if host and (netrc.netrc(path).authenticators(host) or (None, None, None))[2]:
            return f"netrc ({path})"
    except (OSError, netrc.NetrcParseError):
        pass
    if _settings_value("api_key"):
        return "wandb settings file"
    return None


def reachable(url: str, *, timeout: float = 3.0) -> bool:
    """True when ``url``'s server sends an HTTP answer (any status) within ``timeout`` seconds, DNS included:
    a host that accepts connections but never answers (a captive or broken proxy) counts as unreachable."""
    if not urlsplit(url).hostname:
        return False
    answer: list[bool] = []

    def connect() -> None:
        try:
            urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
            answer.append(True)
        except urllib.error.HTTPError:
            answer.append(True)
        except (OSError, ValueError):
            answer.append(False)

    probe = threading.Thread(target=connect, daemon=True)  # getaddrinfo ignores socket timeouts
    probe.start()
    probe.join(timeout)
    return bool(answer and answer[0])


def decide_mode(settings: TrackingSettings, *, timeout: float = 3.0) -> tuple[str, str]:
    """(mode, why) for a whole run, decided once on the driver; ``auto`` online probes the host once."""
    if settings.mode == "online":
        url = base_url()
        if not reachable(url, timeout=timeout):
            return "offline", (f"tracking.mode online, but {urlsplit(url).netloc} did not answer within {timeout:g} s: "
                               f"check the network or WANDB_BASE_URL; `wandb sync` uploads later")
        return "online", "tracking.mode in the spec"
    if settings.mode != "auto":
        return settings.mode, "tracking.mode in the spec"
    env_mode = os.environ.get("WANDB_MODE", "").strip().lower()
    if env_mode in _WANDB_MODES:
        return _WANDB_MODES[env_mode], f"WANDB_MODE={env_mode}"
    source = credential_source()
    if source is None:
        return "offline", "no W&B credentials (WANDB_API_KEY, netrc or wandb settings); `wandb sync` uploads later"
    url = base_url()
    if not reachable(url, timeout=timeout):
        return "offline", f"credentials from {source}, but {urlsplit(url).netloc} did not answer within {timeout:g} s"
    return "online", f"credentials from {source}"


def redact(value: Any) -> Any:
    """``value`` with the W&B API key masked wherever a string contains it (dicts/lists walked)."""
    key = os.environ.get("WANDB_API_KEY", "").strip()
    if not key:
        return value
    return _redact(value, key)


def _redact(value: Any, key: str) -> Any:
    if isinstance(value, str):
        return value.replace(key, "***")
    if isinstance(value, dict):
        return {_redact(k, key): _redact(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact(v, key) for v in value)
    return value
