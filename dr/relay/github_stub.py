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
import asyncio
import json
import signal
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class ReceivedDispatch:
    repo: str
    event_type: str
    client_payload: dict[str, Any]
    received_at: float = field(default_factory=time.time)


_REASONS = {
    200: "OK",
    204: "No Content",
    401: "Unauthorized",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
}


class GitHubStub:
    """An asyncio HTTP/1.1 server (keep-alive) on its own thread; use as a context manager.

    asyncio rather than http.server: one thread and no per-connection threads keep the stub's
    own latency out of the relay benchmark's numbers.
    """

    def __init__(self, *, token: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._dispatches: list[ReceivedDispatch] = []
        self._failures: deque[tuple[int, int | None]] = deque()
        self.attempts = 0
        self._sock = socket.create_server((host, port), backlog=1024)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        host, port = self._sock.getsockname()[:2]
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

    # -- HTTP

    def _respond(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if method == "GET" and path == "/_stub/dispatches":
            return 200, [vars(d) for d in self.dispatches], {}
        parts = path.strip("/").split("/")
        if method != "POST" or len(parts) != 4 or parts[0] != "repos" or parts[3] != "dispatches":
            return 404, {"message": "Not Found"}, {}
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials"}, {}
        with self._lock:
            self.attempts += 1
            scripted = self._failures.popleft() if self._failures else None
        if scripted is not None:
            status, retry_after = scripted
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return status, {"message": "scripted failure"}, extra
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
            return 422, {"message": "Invalid request."}, {}
        with self._lock:
            self._dispatches.append(ReceivedDispatch(f"{parts[1]}/{parts[2]}", event_type, payload))
        return 204, None, {}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = [*lines[0].split(" "), "", ""][:3]
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                raw = await reader.readexactly(int(headers.get("content-length") or 0))
                status, body, extra = self._respond(method, path, headers, raw)
                data = b"" if body is None else json.dumps(body).encode()
                out = [
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
                    f"Content-Length: {len(data)}",
                ]
                if data:
                    out.append("Content-Type: application/json")
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            return
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, sock=self._sock)
            self._ready.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    def start(self) -> GitHubStub:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        def _close() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.call_later(0.05, self._loop.stop)

        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(_close)
            self._thread.join(5)
        self._sock.close()

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
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # before the server thread starts
    stub = GitHubStub(token=token, host=args.host, port=args.port).start()
    print(f"github stub listening on {stub.url}", flush=True)
    signal.sigwait(stop_signals)
    stub.stop()


if __name__ == "__main__":
    main()
