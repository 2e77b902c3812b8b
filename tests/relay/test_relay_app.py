"""The webhook endpoint over real HTTP: auth, limits, validation, dispatch, retries, secrecy."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from relay_helpers import AUTH_TOKEN, GITHUB_TOKEN, REPO, alert, auth, message, relay_client

from dr.relay.github_stub import GitHubStub


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + AUTH_TOKEN},
        auth("wrong"),
        auth(AUTH_TOKEN + "x"),
        {"Authorization": "Bearer"},
    ],
    ids=["missing", "basic", "wrong", "longer", "no-credentials"],
)
def test_wrong_or_missing_bearer_is_401(github: GitHubStub, tmp_path: Path, headers: dict) -> None:
    """No valid bearer token: 401 with a WWW-Authenticate challenge, nothing dispatched."""
    with relay_client(github, tmp_path) as (client, _):
        r = client.post("/alertmanager", json=message(alert()), headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"error": "unauthorized", "detail": "missing or wrong bearer token"}
    assert github.dispatches == []


def test_body_over_the_limit_is_413(github: GitHubStub, tmp_path: Path) -> None:
    """Declared or streamed bodies over max_body_bytes are refused with 413."""
    big = json.dumps(message(alert(summary="x" * 70_000))).encode()
    with relay_client(github, tmp_path, max_body_bytes=64 * 1024) as (client, _):
        declared = client.post("/alertmanager", content=big, headers=auth())

        def chunks():  # no Content-Length: chunked transfer
            for i in range(0, len(big), 8192):
                yield big[i : i + 8192]

        streamed = client.post("/alertmanager", content=chunks(), headers=auth())
    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["error"] == "too_large"


@pytest.mark.parametrize(
    ("body", "error", "detail"),
    [
        (b"{not json", "invalid_json", "body is not JSON: JSONDecodeError"),
        (b"[1, 2]", "invalid_payload", "body must be a JSON object"),
        (
            b'{"version": "3", "alerts": []}',
            "unsupported_version",
            'only Alertmanager webhook version "4" is supported',
        ),
        (
            b'{"version": 4}',
            "unsupported_version",
            'only Alertmanager webhook version "4" is supported',
        ),
        (
            b'{"version": "4", "status": "firing", "alerts": [{"status": "firing"}]}',
            "invalid_payload",
            "alerts.0.labels: Field required; alerts.0.startsAt: Field required; "
            "alerts.0.fingerprint: Field required",
        ),
        (
            b'{"version": "4", "status": "odd", "alerts": "no"}',
            "invalid_payload",
            "status: Input should be 'firing' or 'resolved'; alerts: Input should be a valid list",
        ),
    ],
    ids=["malformed", "array", "v3", "int-version", "missing-fields", "wrong-types"],
)
def test_invalid_bodies_are_400_with_the_reason(
    github: GitHubStub, tmp_path: Path, body: bytes, error: str, detail: str
) -> None:
    """Malformed JSON, other versions and schema violations: 400 naming the problem."""
    with relay_client(github, tmp_path) as (client, _):
        r = client.post("/alertmanager", content=body, headers=auth())
    assert r.status_code == 400
    assert r.json() == {"error": error, "detail": detail}


def test_cutover_is_dispatched_once_with_the_contract_payload(
    github: GitHubStub, tmp_path: Path
) -> None:
    """One firing DR alert -> one dr-cutover; the HA twin and repeats are deduplicated."""
    with relay_client(github, tmp_path) as (client, _):
        first = client.post("/alertmanager", json=message(alert()), headers=auth())
        twin = client.post("/alertmanager", json=message(alert()), headers=auth())
        metrics = client.get("/metrics").text
    assert first.status_code == 200
    assert first.json() == {"dispatched": 1, "deduplicated": 0, "ignored": 0, "failed": 0}
    assert twin.json() == {"dispatched": 0, "deduplicated": 1, "ignored": 0, "failed": 0}
    assert first.headers["server-timing"].startswith("relay;dur=")
    [sent] = github.dispatches
    assert sent.repo == REPO
    assert sent.event_type == "dr-cutover"
    assert sent.client_payload["fingerprint"] == "a1b2c3d4e5f60718"
    assert sent.client_payload["startsAt"] == "2026-11-27T05:00:00.123456+00:00"
    assert _metric(metrics, 'hybridops_relay_dispatched_total{event_type="dr-cutover"}') == 1
    assert _metric(metrics, 'hybridops_relay_deduplicated_total{reason="duplicate"}') == 1
    assert _metric(metrics, "hybridops_relay_notifications_received_total") == 2


def test_resolve_then_stale_firing(github: GitHubStub, tmp_path: Path) -> None:
    """Resolved -> one dr-recovered; a stale firing afterwards is dropped and counted."""
    with relay_client(github, tmp_path) as (client, _):
        client.post("/alertmanager", json=message(alert()), headers=auth())
        client.post("/alertmanager", json=message(alert("resolved")), headers=auth())
        stale = client.post("/alertmanager", json=message(alert()), headers=auth())
        client.post("/alertmanager", json=message(alert("resolved")), headers=auth())
        metrics = client.get("/metrics").text
    assert [d.event_type for d in github.dispatches] == ["dr-cutover", "dr-recovered"]
    assert stale.json()["deduplicated"] == 1
    assert (
        _metric(metrics, 'hybridops_relay_deduplicated_total{reason="stale_after_resolved"}') == 1
    )


def test_non_dr_alerts_are_ignored_but_answered_200(github: GitHubStub, tmp_path: Path) -> None:
    with relay_client(github, tmp_path) as (client, _):
        r = client.post("/alertmanager", json=message(alert(dr_action=None)), headers=auth())
    assert r.status_code == 200
    assert r.json()["ignored"] == 1
    assert github.dispatches == []


def test_retries_5xx_and_429_honouring_retry_after(github: GitHubStub, tmp_path: Path) -> None:
    """502 then 429 with Retry-After: 1 -> the relay waits and the dispatch lands once."""
    github.fail_next(502)
    github.fail_next(429, retry_after=1)
    with relay_client(github, tmp_path) as (client, _):
        t0 = time.monotonic()
        r = client.post("/alertmanager", json=message(alert()), headers=auth())
        elapsed = time.monotonic() - t0
    assert r.status_code == 200
    assert github.attempts == 3
    assert len(github.dispatches) == 1
    assert elapsed >= 1.0


def test_undelivered_dispatch_is_502_and_the_retry_sends_it(
    github: GitHubStub, tmp_path: Path
) -> None:
    """GitHub down past the deadline: 502 (never 2xx); Alertmanager's retry then dispatches."""
    github.fail_next(503, count=1000)
    with relay_client(github, tmp_path, deadline_seconds=1.0) as (client, _):
        failed = client.post("/alertmanager", json=message(alert()), headers=auth())
        github.clear_failures()
        retried = client.post("/alertmanager", json=message(alert()), headers=auth())
    assert failed.status_code == 502
    assert failed.json()["failed"] == 1
    assert failed.json()["errors"] == ["dispatch not accepted within 1s: GitHub answered 503"]
    assert retried.status_code == 200
    assert [d.event_type for d in github.dispatches] == ["dr-cutover"]


def test_a_refused_dispatch_is_502_without_leaking_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong GitHub token: 502 naming GitHub's answer; neither token in logs or body."""
    caplog.set_level(logging.DEBUG)
    with GitHubStub(token="another-token") as stub, relay_client(stub, tmp_path) as (client, _):
        r = client.post("/alertmanager", json=message(alert()), headers=auth())
        bad = client.post("/alertmanager", json=message(alert()), headers=auth("nope"))
        metrics = client.get("/metrics").text
    assert r.status_code == 502
    assert r.json()["errors"] == ["GitHub refused the dispatch: 401 Bad credentials"]
    for text in (r.text, bad.text, metrics, caplog.text):
        assert GITHUB_TOKEN not in text
        assert AUTH_TOKEN not in text


def test_healthz_and_openapi(github: GitHubStub, tmp_path: Path) -> None:
    with relay_client(github, tmp_path) as (client, _):
        assert client.get("/healthz").json() == {"status": "ok"}
        doc = client.get("/openapi.json").json()
    assert set(doc["paths"]) == {"/alertmanager", "/healthz"}
    assert "WebhookMessage" in doc["components"]["schemas"]


def test_concurrent_identical_notifications_dispatch_once(
    github: GitHubStub, tmp_path: Path
) -> None:
    """An HA pair flushing at the same instant: 20 concurrent copies -> exactly one dispatch."""
    from concurrent.futures import ThreadPoolExecutor

    body = message(alert())
    with relay_client(github, tmp_path) as (client, _), ThreadPoolExecutor(20) as pool:
        answers = list(
            pool.map(lambda _: client.post("/alertmanager", json=body, headers=auth()), range(20))
        )
    assert [r.status_code for r in answers] == [200] * 20
    assert sum(r.json()["dispatched"] for r in answers) == 1
    assert sum(r.json()["deduplicated"] for r in answers) == 19
    assert len(github.dispatches) == 1
