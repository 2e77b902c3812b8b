"""Hostile input never crashes the relay: every answer is 200/400/401/413/422, never a 5xx.

Three layers: hypothesis over raw bodies and mutated messages, schemathesis over the app's own
OpenAPI document (positive and negative cases), and a real ``hybridops relay serve`` process
hit with huge, deep and broken requests that must still answer /healthz afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relay_helpers import (
    AUTH_TOKEN,
    GITHUB_TOKEN,
    alert,
    auth,
    free_port,
    hybridops,
    message,
    relay_client,
)

from dr.relay.app import openapi_document
from dr.relay.github_stub import GitHubStub

ALLOWED = {200, 400, 401, 413, 422}
LIMIT = 64 * 1024

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, GitHubStub]]:
    with (
        GitHubStub(token=GITHUB_TOKEN) as stub,
        relay_client(stub, tmp_path_factory.mktemp("fuzz-state"), max_body_bytes=LIMIT) as (
            client,
            _,
        ),
    ):
        yield client, stub


def _mutate(base: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(base))
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


FIELD_PATHS: list[list[str | int]] = [
    ["version"],
    ["status"],
    ["alerts"],
    ["groupKey"],
    ["truncatedAlerts"],
    ["commonLabels"],
    ["alerts", 0],
    ["alerts", 0, "status"],
    ["alerts", 0, "labels"],
    ["alerts", 0, "startsAt"],
    ["alerts", 0, "fingerprint"],
    ["alerts", 0, "annotations"],
    ["alerts", 0, "endsAt"],
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=2048),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.tuples(st.sampled_from(FIELD_PATHS), json_values).map(
            lambda pv: json.dumps(_mutate(message(alert()), pv[0], pv[1])).encode()
        ),
    ),
    headers=st.sampled_from([auth(), {}, auth("wrong"), {"Authorization": "Basic x"}]),
)
def test_hypothesis_bodies_never_5xx(
    live: tuple[httpx.Client, GitHubStub], body: bytes, headers: dict
) -> None:
    """Random bytes, random JSON and valid messages with one field replaced by anything."""
    client, _ = live
    r = client.post("/alertmanager", content=body, headers=headers)
    assert r.status_code in ALLOWED, r.text
    if "Authorization" not in headers or headers != auth():
        assert r.status_code == 401


schema = schemathesis.openapi.from_dict(openapi_document(LIMIT))


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_schemathesis_openapi_cases(case: Any, live: tuple[httpx.Client, GitHubStub]) -> None:
    """Schema-derived positive and negative cases against the live server."""
    client, _ = live
    if case.path != "/alertmanager":
        return
    headers = {} if case.headers and "Authorization" in case.headers else auth()
    try:
        r = case.call(base_url=str(client.base_url), headers=headers, timeout=30)
    except (requests.exceptions.InvalidHeader, ValueError):
        return  # a header value no HTTP client can send (e.g. trailing space): not a server case
    if case.method.upper() != "POST":
        assert r.status_code == 405  # schemathesis also tries undeclared methods
        return
    assert r.status_code in ALLOWED, r.text


# ------------------------------------------------------------------ a real relay process


def _raw_request(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server may close early (413); read what it said
            pass
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.integration
def test_real_process_survives_hostile_requests(tmp_path: Path) -> None:
    """Huge, deep, chunked, binary and unauthenticated requests; the process stays up."""
    (tmp_path / "gh").write_text(GITHUB_TOKEN)
    (tmp_path / "auth").write_text(AUTH_TOKEN + "\n")
    port = free_port()
    with GitHubStub(token=GITHUB_TOKEN) as stub:
        proc = subprocess.Popen(
            hybridops(
                "relay",
                "serve",
                "--port",
                str(port),
                "--repo",
                "hybridops/dr",
                "--github-api-url",
                stub.url,
                "--github-token-file",
                str(tmp_path / "gh"),
                "--auth-token-file",
                str(tmp_path / "auth"),
                "--state-dir",
                str(tmp_path / "state"),
            ),
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "relay.log", "wb"),  # noqa: SIM115
            env={**os.environ, "HYBRIDOPS_RELAY_CONFIG": ""},
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 15
            while True:
                try:
                    if httpx.get(base + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, "relay did not start"
                time.sleep(0.1)
            cases: list[tuple[bytes, dict[str, str], set[int]]] = [
                (b"x" * (5 * 1024 * 1024), auth(), {413}),
                (b"[" * 200_000 + b"]" * 200_000, auth(), {400, 413}),
                (b'{"version": "4", "a": ' * 50_000, auth(), {400, 413}),
                (b"\xff\xfe\x00garbage", auth(), {400}),
                (b'{"version": "4", "x": 1e999999}', auth(), {400}),
                (json.dumps(message(alert())).encode(), {}, {401}),
                (json.dumps(message(alert())).encode(), {"Authorization": "Bearer \x7f"}, {401}),
            ]
            with httpx.Client(base_url=base, timeout=30) as client:
                for body, headers, expected in cases:
                    r = client.post("/alertmanager", content=body, headers=headers)
                    assert r.status_code in expected, (body[:40], r.status_code, r.text)

                # a chunked upload that never ends within the limit
                def endless() -> Iterator[bytes]:
                    for _ in range(2000):
                        yield b"a" * 8192

                r = client.post("/alertmanager", content=endless(), headers=auth())
                assert r.status_code == 413
            # a lying Content-Length and a truncated request at the socket level
            _raw_request(
                port,
                b"POST /alertmanager HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n"
                b"Authorization: Bearer " + AUTH_TOKEN.encode() + b"\r\n\r\n{",
            )
            _raw_request(
                port, b"POST /alertmanager HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"
            )
            _raw_request(port, b"\x00\x01 not http at all\r\n\r\n")
            assert proc.poll() is None
            assert httpx.get(base + "/healthz").json() == {"status": "ok"}
            assert stub.dispatches == []
        finally:
            proc.terminate()
            proc.wait(10)
    log = (tmp_path / "relay.log").read_text()
    assert "Traceback" not in log
    assert GITHUB_TOKEN not in log and AUTH_TOKEN not in log
