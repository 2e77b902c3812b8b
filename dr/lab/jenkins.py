"""The lab's fake Jenkins controller: the monitored on-prem target.

It serves a login form the ``jenkins_login`` blackbox module accepts (HTTP 200 with
``name="j_username"``, monitoring/blackbox/blackbox.yml) and nothing else. The drill kills this
process with SIGKILL to simulate the controller's outage.

Run: ``python -m dr.lab.jenkins --port 8080``.
"""

from __future__ import annotations

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOGIN_PAGE = (
    b"<!doctype html><html><head><title>Sign in [Jenkins]</title></head><body>"
    b"<form method='post' action='j_spring_security_check'>"
    b'<input name="j_username"><input name="j_password" type="password">'
    b"<button type='submit'>Sign in</button></form></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # the blackbox probes every second
        pass

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] in ("/login", "/login/"):
            self._send(200, LOGIN_PAGE, "text/html;charset=utf-8")
        elif self.path == "/":
            self.send_response(302)
            self.send_header("Location", "/login")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Jenkins", "2.lab")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(port: int, host: str = "127.0.0.1") -> None:
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    print(f"fake jenkins listening on http://{host}:{port}/login", flush=True)
    server.serve_forever(poll_interval=0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(args.port, args.host)


if __name__ == "__main__":
    main()
