"""Finding the Pulumi project and its stack files."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from dr.errors import ConfigError

PROJECT_NAME = "hybridops-dr"
ENV_PROJECT_DIR = "HYBRIDOPS_PROJECT_DIR"


def _is_project(path: Path) -> bool:
    manifest = path / "Pulumi.yaml"
    if not manifest.is_file():
        return False
    try:
        data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and data.get("name") == PROJECT_NAME


def find_project_dir(explicit: Path | None = None) -> Path:
    """``--project-dir``, then ``$HYBRIDOPS_PROJECT_DIR``, then the nearest parent of the current
    directory holding this project's ``Pulumi.yaml``, then the source checkout this package runs from."""
    candidates: list[Path] = []
    if explicit is not None:
        if not _is_project(explicit):
            raise ConfigError(f"{explicit}: no Pulumi.yaml for project {PROJECT_NAME!r} here")
        return explicit.resolve()
    if env := os.environ.get(ENV_PROJECT_DIR):
        path = Path(env)
        if not _is_project(path):
            raise ConfigError(
                f"${ENV_PROJECT_DIR}={env}: no Pulumi.yaml for project {PROJECT_NAME!r} there"
            )
        return path.resolve()
    cwd = Path.cwd().resolve()
    candidates.extend([cwd, *cwd.parents])
    candidates.append(Path(__file__).resolve().parents[1])
    for path in candidates:
        if _is_project(path):
            return path
    raise ConfigError(
        f"no Pulumi.yaml for project {PROJECT_NAME!r} in {cwd} or its parents; "
        f"run from the repository or pass --project-dir / set ${ENV_PROJECT_DIR}"
    )


def stack_config_dir(project_dir: Path) -> Path:
    data = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    return project_dir / str(data.get("stackConfigDir", "."))


def stack_file(project_dir: Path, stack: str) -> Path:
    return stack_config_dir(project_dir) / f"Pulumi.{stack}.yaml"


def list_stacks(project_dir: Path) -> list[str]:
    return sorted(
        p.name[len("Pulumi.") : -len(".yaml")]
        for p in stack_config_dir(project_dir).glob("Pulumi.*.yaml")
    )
