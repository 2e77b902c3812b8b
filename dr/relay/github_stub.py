"""A loopback stand-in for GitHub's ``POST /repos/{owner}/{repo}/dispatches``.

For tests, the benchmark and the local lab: it checks the bearer token, validates the body the
way GitHub documents it (``event_type`` of at most 100 characters, ``client_payload`` of at most
10 top-level properties: https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event),
records each accepted event and answers 204. ``fail_next`` scripts 5xx/429 answers (with
``Retry-After``) to exercise the relay's retries. ``GET /_stub/dispatches`` lists what arrived.

Run alone: ``python -m dr.relay.github_stub --port 8099 --token-file tok``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class ReceivedDispatch:
    repo: str
    event_type: str
    client_payload: dict[str, Any]
    received_at: float = field(default_factory=time.time)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    stub: GitHubStub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as api.github.com
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/_stub/dispatches":
            stub = self.server.stub
            self._answer(200, [vars(d) for d in stub.dispatches])
        else:
            self._answer(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        stub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        parts = self.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "repos" or parts[3] != "dispatches":
            self._answer(404, {"message": "Not Found"})
            return
        if stub.token is not None and self.headers.get("Authorization") != f"Bearer {stub.token}":
            self._answer(401, {"message": "Bad credentials"})
            return
        scripted = stub._next_failure()
        if scripted is not None:
            status, retry_after = scripted
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            self._answer(status, {"message": "scripted failure"}, headers)
            return
        try:
            body = json.loads(raw)
            event_type = body["event_type"]
            payload = body.get("client_payload", {})
            valid = (
                isinstance(event_type, str)
                and 0 < len(event_type) <= 100
                and isinstance(payload, dict)
                and len(payload) <= 10
                and len(raw) <= 65536
            )
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            self._answer(422, {"message": "Invalid request."})
            return
        stub._record(ReceivedDispatch(f"{parts[1]}/{parts[2]}", event_type, payload))
        self._answer(204)


class GitHubStub:
    """A threaded loopback server; use as a context manager."""

    def __init__(self, *, token: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._dispatches: list[ReceivedDispatch] = []
        self._failures: deque[tuple[int, int | None]] = deque()
        self.attempts = 0
        self._server = _Server((host, port), _Handler)
        self._server.stub = self
        # A short poll interval makes stop() quick (serve_forever checks for shutdown per poll).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def dispatches(self) -> list[ReceivedDispatch]:
        with self._lock:
            return list(self._dispatches)

    def events(self, event_type: str) -> list[ReceivedDispatch]:
        return [d for d in self.dispatches if d.event_type == event_type]

    def fail_next(self, status: int, count: int = 1, retry_after: int | None = None) -> None:
        """Answer the next ``count`` dispatches with ``status`` (and ``Retry-After``)."""
        with self._lock:
            self._failures.extend([(status, retry_after)] * count)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def _next_failure(self) -> tuple[int, int | None] | None:
        with self._lock:
            self.attempts += 1
            return self._failures.popleft() if self._failures else None

    def _record(self, dispatch: ReceivedDispatch) -> None:
        with self._lock:
            self._dispatches.append(dispatch)

    def start(self) -> GitHubStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> GitHubStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--token-file", type=Path)
    args = parser.parse_args()
    token = args.token_file.read_text().strip() if args.token_file else None
    stub = GitHubStub(token=token, host=args.host, port=args.port)
    print(f"github stub listening on {stub.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stub._server.serve_forever()


if __name__ == "__main__":
    main()
