"""Start the real signal plane on 127.0.0.1 for integration tests.

The Debian binaries (prometheus, prometheus-alertmanager, prometheus-blackbox-exporter) run
with the committed monitoring/ files, localised by dr/monitoring.py to free loopback ports and
short intervals. Every process writes its log to the test's tmp dir and is stopped at the end.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from relay_helpers import free_port

LOGIN_PAGE = (
    b"<html><body><form method='post' action='j_spring_security_check'>"
    b'<input name="j_username"><input name="j_password" type="password"></form></body></html>'
)


def binary(name: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).exists():
        raise RuntimeError(f"{name} is not installed: apt-get install the Debian package")
    return path


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1
) -> float:
    """Poll until ``check()`` is true; returns the seconds it took."""
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except (httpx.HTTPError, OSError, ValueError, KeyError):
            pass
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def http_ok(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=2).status_code == 200


@dataclass
class Proc:
    name: str
    cmd: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        handle = open(self.log, "ab")  # noqa: SIM115 - owned by the child until stop()
        self.popen = subprocess.Popen(self.cmd, stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, kill: bool = False) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        if kill:
            self.popen.kill()
        else:
            self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    received: list[Any]
    login_ok: bool


class _JenkinsHandler(BaseHTTPRequestHandler):
    server: _Recorder

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/login"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(LOGIN_PAGE)))
            self.end_headers()
            self.wfile.write(LOGIN_PAGE)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


class _SinkHandler(BaseHTTPRequestHandler):
    server: _Recorder

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class LoopbackServer:
    """A tiny threaded HTTP server that can be killed and restored on the same port."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int | None = None) -> None:
        self.handler = handler
        self.port = port or free_port()
        self.received: list[Any] = []
        self._server: _Recorder | None = None

    def start(self) -> LoopbackServer:
        self._server = _Recorder(("127.0.0.1", self.port), self.handler)
        self._server.received = self.received
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def fake_jenkins() -> LoopbackServer:
    """Serves a Jenkins-like login form on /login."""
    return LoopbackServer(_JenkinsHandler)


def webhook_sink() -> LoopbackServer:
    """Records Alertmanager webhook bodies (the human receiver in the lab)."""
    return LoopbackServer(_SinkHandler)


@dataclass
class Stack:
    """Processes started so far, stopped in reverse order."""

    tmp: Path
    procs: list[Proc] = field(default_factory=list)

    def run(self, name: str, cmd: Sequence[str], ready_url: str, timeout: float = 30) -> Proc:
        proc = Proc(name, list(cmd), self.tmp / f"{name}.log").start()
        self.procs.append(proc)
        try:
            wait_until(lambda: proc.alive() and http_ok(ready_url)(), timeout, f"{name} ready")
        except TimeoutError as exc:
            raise RuntimeError(f"{name} did not become ready:\n{proc.tail()}") from exc
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.tail(15)}" for p in self.procs)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    def blackbox(self, config: Path) -> str:
        port = free_port()
        self.run(
            "blackbox",
            [
                binary("prometheus-blackbox-exporter"),
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            f"http://127.0.0.1:{port}/metrics",
        )
        return f"127.0.0.1:{port}"

    def prometheus(self, name: str, config: Path) -> str:
        port = free_port()
        data = self.tmp / f"{name}-data"
        self.run(
            name,
            [
                binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
            f"http://127.0.0.1:{port}/-/ready",
        )
        return f"127.0.0.1:{port}"

    def alertmanager(
        self, name: str, config: Path, *, cluster_port: int | None = None, peers: Sequence[int] = ()
    ) -> str:
        port = free_port()
        cluster = (
            [
                f"--cluster.listen-address=127.0.0.1:{cluster_port}",
                f"--cluster.advertise-address=127.0.0.1:{cluster_port}",
                *[f"--cluster.peer=127.0.0.1:{p}" for p in peers],
                # a short peer timeout makes the second member send sooner: more duplicates
                # reach the relay, which is what the test wants to exercise.
                "--cluster.peer-timeout=1s",
                "--cluster.settle-timeout=5s",
                "--cluster.gossip-interval=100ms",
                "--cluster.pushpull-interval=2s",
            ]
            if cluster_port is not None
            else ["--cluster.listen-address="]
        )
        self.run(
            name,
            [
                binary("prometheus-alertmanager"),
                f"--config.file={config}",
                f"--storage.path={self.tmp / (name + '-data')}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=info",
                *cluster,
            ],
            f"http://127.0.0.1:{port}/-/ready",
        )
        return f"127.0.0.1:{port}"


@contextlib.contextmanager
def stack(tmp: Path) -> Iterator[Stack]:
    s = Stack(tmp)
    try:
        yield s
    finally:
        s.close()


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    r = httpx.get(f"http://{prometheus}/api/v1/query", params={"query": promql}, timeout=5)
    r.raise_for_status()
    return list(r.json()["data"]["result"])
