"""The DR profile of a stack: how the driver reaches the database pair and what it checks.

``stacks/dr/<stack>.yaml`` (pydantic, ``extra="forbid"``). Secrets are never in it: database
DSNs come from environment variables named here (set them from the CI secret store).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dr.errors import ConfigError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Transition(_Model):
    dr_mode: Literal["standby", "active"]
    traffic_target: Literal["onprem", "cloud"]


class DatabaseProfile(_Model):
    mode: Literal["postgres-streaming", "cnpg", "none"] = "none"
    """``postgres-streaming``: db-01 and a plain streaming standby (promotion by SQL);
    ``cnpg``: the cloud copy is a CloudNativePG replica cluster, promoted by the drMode
    transition itself; ``none``: no database steps."""
    onprem_dsn_env: str = "HYBRIDOPS_DB_ONPREM_DSN"
    """Env var holding db-01's DSN (a libpq URI/keyword string; may contain a password)."""
    cloud_dsn_env: str = "HYBRIDOPS_DB_CLOUD_DSN"
    """Env var holding the cloud replica's DSN."""
    fence_mode: Literal["read-only", "stop"] = "read-only"
    fence_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30
    promote_timeout_s: Annotated[float, Field(gt=0, le=900)] = 90
    switchover_timeout_s: Annotated[float, Field(gt=0, le=1800)] = 300
    lab_cluster_dir: Path | None = None
    """Host access for failback (rebuild/switchover need pg_ctl): a local lab cluster directory."""
    onprem_node: str = "primary"
    cloud_node: str = "standby"


class HealthProfile(_Model):
    urls: list[str] = Field(default_factory=list)
    """HTTP(S) endpoints that must answer 2xx/3xx before traffic moves to the cloud."""
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 300
    interval_s: Annotated[float, Field(gt=0, le=60)] = 5


class TriggerProfile(_Model):
    max_dispatch_age_s: Annotated[float, Field(gt=0)] = 3600
    """A dispatch older than this (its alert's startsAt) is treated as stale and refused."""
    onprem_probe_urls: list[str] = Field(default_factory=list)
    """If any of these answers healthy, a cutover needs --force (the alert may be stale)."""


class DrProfile(_Model):
    stack: str
    component: str
    """Cost artefact component (``output/artifacts/cost/<component>/``)."""
    cutover: Transition = Transition(dr_mode="active", traffic_target="cloud")
    failback: Transition = Transition(dr_mode="standby", traffic_target="onprem")
    database: DatabaseProfile = DatabaseProfile()
    health: HealthProfile = HealthProfile()
    onprem_health: HealthProfile = HealthProfile()
    """Checks that on-prem is healthy again before a failback."""
    trigger: TriggerProfile = TriggerProfile()


def profile_path(project_dir: Path, stack: str) -> Path:
    return project_dir / "stacks" / "dr" / f"{stack}.yaml"


def load_profile(project_dir: Path, stack: str, path: Path | None = None) -> DrProfile:
    path = path or profile_path(project_dir, stack)
    if not path.is_file():
        raise ConfigError(f"no DR profile for stack {stack!r}: {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        profile = DrProfile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise ConfigError(f"{path}: {problems}") from None
    if profile.stack != stack:
        raise ConfigError(f"{path}: stack: profile is for {profile.stack!r}, not {stack!r}")
    return profile
