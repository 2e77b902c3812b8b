"""Background processes of the lab: start detached, recognise later, stop only our own.

A PID alone is not an identity: after a reboot or a long time it may belong to someone else. We
record the PID together with the process start time from ``/proc/<pid>/stat`` (field 22, clock
ticks since boot) and refuse to signal a PID whose start time differs. Every process is started in
its own session, so it leads a process group and a stop can reach its children too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict

from dr.errors import HybridOpsError


class LabError(HybridOpsError):
    """The lab could not do what was asked; the message says which component and why."""


class MissingBinaryError(LabError):
    """A Debian binary the lab needs is not installed; the message names the package."""


# binary -> Debian package that ships it
DEBIAN_PACKAGES: dict[str, str] = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "jq": "jq",  # dr.yml's decide step parses the driver's JSON with jq
}


def find_binary(name: str) -> str:
    """Absolute path of a Debian binary, or MissingBinaryError naming the package to install."""
    path = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else None
    )
    if path is None:
        package = DEBIAN_PACKAGES.get(name, name)
        raise MissingBinaryError(
            f"{name} is not installed: apt-get install {package} (or run ./dev.sh setup)"
        )
    return path


class ProcessRef(BaseModel):
    """How to find a process again from another hybridops invocation."""

    model_config = ConfigDict(extra="forbid")

    pid: int
    start_ticks: int
    """Field 22 of /proc/<pid>/stat when we started it: guards against PID reuse."""


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after the last ')'
    return stat.rsplit(")", 1)[1].split()


def start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    # after ')' the list starts at field 3 (state): field 22 is index 19
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def is_alive(pid: int) -> bool:
    """Alive and not a zombie (PID 1 in a container may never reap what we leave behind)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def is_ours(ref: ProcessRef | None) -> bool:
    """True while ``ref`` names a live process that is still the one we started."""
    return ref is not None and is_alive(ref.pid) and start_ticks(ref.pid) == ref.start_ticks


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (children that outlive their leader)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def spawn(
    argv: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[subprocess.Popen[bytes], ProcessRef]:
    """Start ``argv`` detached (own session, stdin closed, output appended to ``log``)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    ticks = start_ticks(proc.pid)
    if ticks is None:  # died at once: report it with its log
        proc.wait(5)
        raise LabError(f"{argv[0]} exited at once (exit {proc.returncode}); see {log}")
    return proc, ProcessRef(pid=proc.pid, start_ticks=ticks)


def stop(ref: ProcessRef | None, *, timeout: float = 10.0, sig: int = signal.SIGTERM) -> bool:
    """Stop the process group led by ``ref`` (``sig``, then SIGKILL after ``timeout``).

    Returns False when there was nothing of ours to stop (already gone, or the PID now belongs
    to another process: then we never signal it).
    """
    if not is_ours(ref):
        return False
    assert ref is not None
    pid = ref.pid
    leads_group = _pgid(pid) == pid

    def send(s: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if leads_group:
                os.killpg(pid, s)
            else:
                os.kill(pid, s)

    send(sig)
    if not _wait(lambda: not _still_running(pid, leads_group), timeout):
        send(signal.SIGKILL)
        _wait(lambda: not _still_running(pid, leads_group), 5.0)
    return True


def kill(ref: ProcessRef | None) -> bool:
    """SIGKILL right away: the abrupt failure a drill injects."""
    return stop(ref, timeout=0.0, sig=signal.SIGKILL)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _still_running(pid: int, group: bool) -> bool:
    return is_alive(pid) or (group and bool(group_members(pid)))


def _wait(check: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> float:
    """Poll ``check`` (exceptions count as "not yet") until true; returns the seconds it took."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(httpx.HTTPError, OSError, ValueError, KeyError):
            if check():
                return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise LabError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tcp_open(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
