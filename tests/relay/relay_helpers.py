"""Builders for Alertmanager v4 messages and an in-process relay wired to a loopback GitHub."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette

from dr.relay.app import build_app
from dr.relay.dedupe import IncidentStore
from dr.relay.github import GitHubDispatcher
from dr.relay.github_stub import GitHubStub
from dr.relay.metrics import RelayMetrics
from dr.relay.service import Relay

AUTH_TOKEN = "relay-webhook-token-7f3a9c"
GITHUB_TOKEN = "ghp_stub0000secret1111token2222"
REPO = "hybridops/dr"
STARTS_AT = "2026-11-27T05:00:00.123456789Z"


def alert(
    status: str = "firing",
    *,
    name: str = "jenkins_critical_down",
    fingerprint: str = "a1b2c3d4e5f60718",
    starts_at: str = STARTS_AT,
    dr_action: str | None = "cutover",
    drill: bool = False,
    **labels: str,
) -> dict[str, Any]:
    all_labels = {"alertname": name, "severity": "critical", "site": "onprem", **labels}
    if dr_action is not None:
        all_labels["dr_action"] = dr_action
    if drill:
        all_labels["drill"] = "true"
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {
            "summary": "Jenkins controller on onprem does not serve its login page",
            "runbook_url": "docs/runbooks/jenkins-controller-outage.md",
        },
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-27T05:10:00Z",
        "generatorURL": "http://central:9090/graph?g0.expr=...",
        "fingerprint": fingerprint,
    }


def message(
    *alerts: dict[str, Any], group_key: str = '{}/{dr_action="cutover"}:{}'
) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "dr-relay",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def auth(token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def hybridops(*args: str) -> list[str]:
    """The installed console script (``dr.cli:main``), as CI and operators run it."""
    script = Path(sys.executable).with_name("hybridops")
    return [str(script), *args] if script.exists() else ["hybridops", *args]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(app: Starlette) -> Iterator[str]:
    """Run ``app`` under a real uvicorn server on a loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def relay_client(
    stub: GitHubStub,
    state_dir: Path | None,
    *,
    max_body_bytes: int = 64 * 1024,
    deadline_seconds: float = 5.0,
) -> Iterator[tuple[httpx.Client, Relay]]:
    """The real app under uvicorn, dispatching to the stub; a client with its base URL."""
    metrics = RelayMetrics()
    dispatcher = GitHubDispatcher(
        api_url=stub.url,
        repo=REPO,
        token=SecretStr(GITHUB_TOKEN),
        deadline_seconds=deadline_seconds,
        on_attempt=metrics.observe_github,
    )
    relay = Relay(IncidentStore(state_dir), dispatcher, metrics)
    app = build_app(relay, auth_token=SecretStr(AUTH_TOKEN), max_body_bytes=max_body_bytes)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client, relay
