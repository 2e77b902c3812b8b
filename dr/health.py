"""HTTP health probes: poll until healthy or the deadline passes."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from dr.redact import redact_text


@dataclass(frozen=True)
class ProbeResult:
    url: str
    healthy: bool
    status: int | None
    detail: str
    attempts: int
    elapsed_s: float


def probe_once(url: str, timeout: float = 5.0) -> tuple[bool, int | None, str]:
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        return False, None, redact_text(f"{type(exc).__name__}: {exc}")[:200]
    healthy = 200 <= response.status_code < 400
    return healthy, response.status_code, f"HTTP {response.status_code}"


def wait_healthy(url: str, *, timeout_s: float, interval_s: float) -> ProbeResult:
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        remaining = timeout_s - (time.monotonic() - started)
        healthy, status, detail = probe_once(url, timeout=max(0.5, min(5.0, remaining)))
        elapsed = time.monotonic() - started
        if healthy or elapsed + interval_s > timeout_s:
            return ProbeResult(url, healthy, status, detail, attempts, round(elapsed, 3))
        time.sleep(interval_s)
