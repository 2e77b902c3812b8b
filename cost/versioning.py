"""Versioned JSON models: one rule for every model we write (cost artefacts, decision records,
DR run records). A newer ``schema_version`` fails clearly; older ones are migrated step by step in a
``mode="before"`` validator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def migrate(data: Any, *, current: int, migrations: Mapping[int, Migration], what: str) -> Any:
    """Bring raw model data to ``current``; raise ValueError for a newer or unknown version."""
    if not isinstance(data, dict):
        return data
    version = data.get("schema_version", current)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"schema_version must be an integer, not {version!r}")
    if version > current:
        raise ValueError(
            f"schema_version {version} is newer than this hybridops reads ({current}); upgrade hybridops"
        )
    while version < current:
        step = migrations.get(version)
        if step is None:
            raise ValueError(f"schema_version {version} is not a known {what} version")
        data = step(dict(data))
        version = data["schema_version"] = version + 1
    return data
