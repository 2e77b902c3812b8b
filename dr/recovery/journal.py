"""The run journal: one JSON line per step transition, appended and fsynced, so a run that
crashed between two steps resumes at the first unfinished one."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dr.errors import HybridOpsError
from dr.recovery.model import DONE_OUTCOMES


class JournalError(HybridOpsError):
    pass


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, event: str, **fields: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"ts": datetime.now(UTC).isoformat(), "event": event, **fields}
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                # A torn last line (crash mid-write) is expected; anything else is corruption.
                if n == len(self.path.read_text(encoding="utf-8").splitlines()):
                    break
                raise JournalError(
                    f"{self.path}:{n}: not valid JSON; refusing to guess the run's state"
                ) from None
        return out

    def finished_steps(self) -> dict[str, dict[str, Any]]:
        """Steps whose last recorded outcome means 'do not repeat'."""
        last: dict[str, dict[str, Any]] = {}
        for entry in self.entries():
            if entry.get("event") == "step-finished":
                last[entry["step"]] = entry
        return {k: v for k, v in last.items() if v.get("outcome") in DONE_OUTCOMES}

    def run_started(self) -> dict[str, Any] | None:
        return next((e for e in self.entries() if e.get("event") == "run-started"), None)
