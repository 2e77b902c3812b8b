"""One DR run per stack on this machine. The engine's own stack lock protects the backend; this
lock stops two local runs (a retry while the first is still going) and names the holder."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from dr.errors import HybridOpsError


class RunLockedError(HybridOpsError):
    pass


class StackRunLock:
    def __init__(self, directory: Path, stack: str, *, run_id: str, operation: str) -> None:
        self.path = directory / f"{stack}.lock"
        self.stack = stack
        self.holder = {
            "run_id": run_id,
            "operation": operation,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(),
        }
        self._file: TextIO | None = None

    def __enter__(self) -> StackRunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = _parse(f.read())
            f.close()
            who = (
                f"run {holder.get('run_id')} ({holder.get('operation')}, pid {holder.get('pid')} on "
                f"{holder.get('host')}, since {holder.get('since')})"
                if holder
                else "another process"
            )
            raise RunLockedError(
                f"stack {self.stack!r} is locked by {who}; lock file {self.path}"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(json.dumps(self.holder))
        f.flush()
        self._file = f
        return self

    def __exit__(
        self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
    ) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _parse(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
