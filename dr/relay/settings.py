"""The relay's settings: defaults < config file < environment < command-line flags.

Environment variables (``HYBRIDOPS_RELAY_`` + the field name in upper case):
``HYBRIDOPS_RELAY_CONFIG``, ``_HOST``, ``_PORT``, ``_REPO``, ``_GITHUB_API_URL``,
``_GITHUB_TOKEN_FILE``, ``_AUTH_TOKEN_FILE``, ``_STATE_DIR``, ``_MAX_BODY_BYTES``,
``_DEDUPE_TTL_SECONDS``, ``_DISPATCH_DEADLINE_SECONDS``, ``_LOG_LEVEL``; and the secrets
themselves as ``HYBRIDOPS_RELAY_GITHUB_TOKEN`` / ``HYBRIDOPS_RELAY_AUTH_TOKEN`` when no file is
given (a file wins: it keeps the secret out of ``/proc/<pid>/environ``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from dr.errors import ConfigError

ENV_PREFIX = "HYBRIDOPS_RELAY_"


class RelaySettings(BaseModel):
    """Everything ``hybridops relay serve`` needs; ``extra="forbid"`` so typos fail loudly."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=9099, ge=0, le=65535)
    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    """``OWNER/NAME`` of the repository whose workflow receives the dispatch."""
    github_api_url: str = Field(default="https://api.github.com", pattern=r"^https?://")
    github_token_file: Path | None = None
    auth_token_file: Path | None = None
    state_dir: Path
    """Where the incident ledger lives; it must survive restarts (a volume, not tmpfs)."""
    max_body_bytes: int = Field(default=512 * 1024, ge=1024)
    dedupe_ttl_seconds: float = Field(default=7 * 24 * 3600, gt=0)
    dispatch_deadline_seconds: float = Field(default=8.0, gt=0)
    """Alertmanager gives a webhook at least 10 s (its notify timeout), so answer before that."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class RelaySecrets(BaseModel):
    github_token: SecretStr
    auth_token: SecretStr


_ENV_FIELDS = tuple(RelaySettings.model_fields)


def _from_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read relay config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"relay config {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"relay config {path} must be a mapping of settings")
    return data


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    return {
        name: env[ENV_PREFIX + name.upper()]
        for name in _ENV_FIELDS
        if env.get(ENV_PREFIX + name.upper())
    }


def load_settings(
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> RelaySettings:
    """Merge the sources; ``overrides`` are the command-line flags (None means not given)."""
    env = os.environ if env is None else env
    if config_file is None and env.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(env[ENV_PREFIX + "CONFIG"])
    merged: dict[str, Any] = _from_file(config_file) if config_file else {}
    merged.update(_from_env(env))
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return RelaySettings.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise ConfigError(f"invalid relay settings: {problems}") from None


def _secret(file: Path | None, env_name: str, what: str, env: Mapping[str, str]) -> SecretStr:
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the {what} file {file}: {exc.strerror}") from exc
        if not value:
            raise ConfigError(f"the {what} file {file} is empty")
        return SecretStr(value)
    value = env.get(env_name, "").strip()
    if not value:
        raise ConfigError(f"no {what}: give its file in settings, or set {env_name}")
    return SecretStr(value)


def load_secrets(settings: RelaySettings, env: Mapping[str, str] | None = None) -> RelaySecrets:
    """Read both tokens; error messages name the file or variable, never the value."""
    env = os.environ if env is None else env
    return RelaySecrets(
        github_token=_secret(
            settings.github_token_file, ENV_PREFIX + "GITHUB_TOKEN", "GitHub token", env
        ),
        auth_token=_secret(
            settings.auth_token_file, ENV_PREFIX + "AUTH_TOKEN", "webhook bearer token", env
        ),
    )
