"""``<lab>/lab.json``: what ``hybridops lab up`` started, so ``down``/``status``/``drill`` can find it.

No secrets here (tokens and DSNs live in ``<lab>/secrets/``, mode 0600).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cost.atomic import write_json_atomic
from dr.lab.procs import LabError, ProcessRef

STATE_FILE = "lab.json"
STATE_VERSION = 1

ComponentName = Literal[
    "receiver",
    "jenkins",
    "runner",
    "relay",
    "alertmanager",
    "blackbox",
    "prometheus-leaf",
    "prometheus-central",
]
START_ORDER: tuple[ComponentName, ...] = (
    "receiver",
    "jenkins",
    "runner",
    "relay",
    "alertmanager",
    "blackbox",
    "prometheus-leaf",
    "prometheus-central",
)
"""Dependencies first; ``down`` stops in reverse (the runner cancels a running step)."""

ONPREM_NODE = "db-01"
CLOUD_NODE = "cloud-db"


class LabSettings(BaseModel):
    """The lab's short signal-plane timings (production: for 5m, 15 s intervals, group_wait 10 s)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert_for_s: int = 10
    """``for:`` of every alert that dispatches (label ``dr_action``) in the lab's rule copies."""
    scrape_interval_s: int = 1
    evaluation_interval_s: int = 1
    group_wait_s: int = 1
    group_interval_s: int = 2

    @property
    def floor_s(self) -> float:
        """The physical floor of detection: an outage cannot be dispatched sooner than the alert's
        ``for:`` plus one scrape, one rule evaluation and Alertmanager's ``group_wait``."""
        return float(
            self.alert_for_s
            + self.scrape_interval_s
            + self.evaluation_interval_s
            + self.group_wait_s
        )

    def floor_formula(self) -> str:
        return (
            f"for {self.alert_for_s} s + scrape {self.scrape_interval_s} s + evaluation "
            f"{self.evaluation_interval_s} s + group_wait {self.group_wait_s} s = {self.floor_s:g} s"
        )


class Component(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ComponentName
    port: int
    argv: list[str]
    log: str
    health: str
    """``http://...`` (200 means healthy) or ``tcp://127.0.0.1:<port>`` (accepts connections)."""
    process: ProcessRef | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class LabState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = STATE_VERSION
    project_dir: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    settings: LabSettings = LabSettings()
    repo: str = "hybridops/dr"
    components: dict[str, Component] = Field(default_factory=dict)

    @classmethod
    def load(cls, lab_dir: Path) -> LabState | None:
        path = lab_dir / STATE_FILE
        if not path.exists():
            return None
        try:
            state = cls.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise LabError(
                f"{path} is not a lab state file this hybridops understands: {exc}"
            ) from None
        if state.version > STATE_VERSION:
            raise LabError(f"{path} has version {state.version}; upgrade hybridops")
        return state

    def save(self, lab_dir: Path) -> None:
        write_json_atomic(lab_dir / STATE_FILE, self.model_dump_json(indent=2) + "\n")

    def component(self, name: ComponentName) -> Component:
        try:
            return self.components[name]
        except KeyError:
            raise LabError(f"the lab has no {name} component; run `hybridops lab up`") from None
