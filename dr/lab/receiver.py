"""The lab's notification receiver: every human channel of the lab ends here.

``dr.notify.WebhookReceiver`` (the loopback receiver of the notifier tests), run as a process
that also appends each POST to a JSON-lines file, so drills and people can read what was
delivered after the fact (it is evidence, kept by ``lab down``). Two senders use it:

- the driver's notifier (``HYBRIDOPS_NOTIFY_WEBHOOK_URL`` = ``.../hooks/hybridops``), e.g. the
  cost gate's block notification;
- Alertmanager's human receiver ``platform-oncall`` (``.../alertmanager/platform-oncall``).

Run: ``python -m dr.lab.receiver --port 9000 --out posts.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any

from dr.notify import ReceivedPost, WebhookReceiver

_DROP_HEADERS = {"authorization", "cookie"}


class RecordingReceiver(WebhookReceiver):
    """A WebhookReceiver that also appends every post to ``out`` (one JSON object a line)."""

    def __init__(self, out: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.out = out
        self._file_lock = threading.Lock()

    def _record(self, post: ReceivedPost) -> None:
        super()._record(post)
        line = json.dumps(
            {
                "path": post.path,
                "received_at": post.received_at,
                "headers": {
                    k: v for k, v in post.headers.items() if k.lower() not in _DROP_HEADERS
                },
                "body": post.body,
            },
            default=str,
        )
        with self._file_lock, self.out.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


def read_posts(path: Path, since: float = 0.0) -> list[dict[str, Any]]:
    """The posts recorded in ``path`` received at or after ``since`` (epoch seconds)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    posts = []
    for line in lines:
        try:
            post = json.loads(line)
        except ValueError:  # a line being written right now
            continue
        if isinstance(post, dict) and float(post.get("received_at", 0)) >= since:
            posts.append(post)
    return posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # before the server thread starts
    receiver = RecordingReceiver(args.out, args.host, args.port).start()
    print(f"notification receiver listening on {receiver.url}", flush=True)
    signal.sigwait(stop_signals)
    receiver.stop()


if __name__ == "__main__":
    main()
