"""Load benchmark of the relay: 5,000 webhook posts at concurrency 50, 30% duplicates.

    python bench/relay_load.py [--posts 5000] [--concurrency 50] [--duplicates 0.3]

Starts a loopback GitHub stub (``python -m dr.relay.github_stub``) and the relay
(``hybridops relay serve``, default settings, JSON logs to a temp file) as separate processes on
127.0.0.1, posts Alertmanager v4 notifications (one alert each, every incident a new
fingerprint; duplicates re-send an earlier incident, some while it is still in flight) and
reports throughput, latency and the dispatch count, which must equal the number of distinct
incidents (exit 1 otherwise).

"Added latency" is the relay's own time per request: its handler time minus the time spent
waiting for GitHub, both read from the ``Server-Timing`` header. The client-observed round trip
is reported too; at concurrency 50 on a small machine it is mostly queueing, since the load
generator, the relay and the stub share the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

AUTH = "bench-webhook-token"
GITHUB = "bench-github-token"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} not ready after {timeout}s")


def _profiled() -> list[str]:
    """``RELAY_PROFILE=out.prof`` runs the relay under cProfile (for finding hot spots)."""
    out = os.environ.get("RELAY_PROFILE")
    return [sys.executable, "-m", "cProfile", "-o", out] if out else []


def _message(i: int) -> bytes:
    starts = f"2026-11-27T05:{i // 60 % 60:02d}:{i % 60:02d}.000000Z"
    alert = {
        "status": "firing",
        "labels": {
            "alertname": "jenkins_critical_down",
            "site": "onprem",
            "severity": "critical",
            "dr_action": "cutover",
            "instance": f"jenkins-{i}",
        },
        "annotations": {
            "summary": "Jenkins controller on onprem does not serve its login page",
            "runbook_url": "docs/runbooks/jenkins-controller-outage.md",
        },
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://central:9090/graph",
        "fingerprint": f"{i:016x}",
    }
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{instance="jenkins-{i}"}}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "dr-relay",
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [alert],
        }
    ).encode()


def _timing(header: str) -> dict[str, float]:
    out = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        out[name] = float(dur)
    return out


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _post(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, body: bytes
) -> tuple[int, dict[str, str]]:
    writer.write(
        b"POST /alertmanager HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % (port, AUTH.encode(), len(body))
        + body
    )
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    return int(head[0].split(" ")[1]), headers


async def _load(
    port: int, bodies: list[bytes], concurrency: int
) -> tuple[float, list[tuple[float, float, float, int]]]:
    """A minimal keep-alive HTTP/1.1 client per connection: the load generator must stay cheap
    (httpx spends milliseconds of CPU per request, which on two cores would be measured as the
    relay's latency)."""
    results: list[tuple[float, float, float, int]] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                body = queue.get_nowait()
                t0 = time.perf_counter()
                status, headers = await _post(reader, writer, port, body)
                rtt = (time.perf_counter() - t0) * 1000
                timing = _timing(headers.get("server-timing", "relay;dur=0, github;dur=0"))
                results.append((rtt, timing["relay"] - timing["github"], timing["github"], status))
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start, results


def main() -> int:
    parser = argparse.ArgumentParser(description="relay load benchmark")
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duplicates", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    distinct = round(args.posts * (1 - args.duplicates))
    order = list(range(distinct)) + [rng.randrange(distinct) for _ in range(args.posts - distinct)]
    rng.shuffle(order)
    bodies = [_message(i) for i in order]

    tmp = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    (tmp / "auth").write_text(AUTH)
    (tmp / "gh").write_text(GITHUB)
    gh_port, relay_port = _free_port(), _free_port()
    hybridops = Path(sys.executable).with_name("hybridops")
    procs = []
    try:
        stub = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dr.relay.github_stub",
                "--port",
                str(gh_port),
                "--token-file",
                str(tmp / "gh"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "stub.log", "wb"),  # noqa: SIM115
        )
        procs.append(stub)
        _wait(f"http://127.0.0.1:{gh_port}/_stub/dispatches", stub)
        relay = subprocess.Popen(
            [
                str(hybridops),
                "relay",
                "serve",
                "--port",
                str(relay_port),
                "--repo",
                "hybridops/dr",
                "--github-api-url",
                f"http://127.0.0.1:{gh_port}",
                "--github-token-file",
                str(tmp / "gh"),
                "--auth-token-file",
                str(tmp / "auth"),
                "--state-dir",
                str(tmp / "state"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "relay.log", "wb"),  # noqa: SIM115
            env={k: v for k, v in os.environ.items() if not k.startswith("HYBRIDOPS_RELAY_")},
        )
        procs.append(relay)
        relay_url = f"http://127.0.0.1:{relay_port}"
        _wait(relay_url + "/healthz", relay)

        wall, results = asyncio.run(_load(relay_port, bodies, args.concurrency))
        dispatched = len(
            httpx.get(f"http://127.0.0.1:{gh_port}/_stub/dispatches", timeout=30).json()
        )
    finally:
        cpu = {}
        for name, proc in zip(("stub", "relay"), procs, strict=False):
            proc.terminate()
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = 0
            cpu[name] = usage.ru_utime + usage.ru_stime

    rtt = [r[0] for r in results]
    added = [r[1] for r in results]
    github = [r[2] for r in results if r[2] > 0]
    statuses: dict[int, int] = {}
    for r in results:
        statuses[r[3]] = statuses.get(r[3], 0) + 1
    print(
        f"posts            {len(results)} ({distinct} distinct incidents, {len(results) - distinct} duplicates), concurrency {args.concurrency}"
    )
    print(f"statuses         {statuses}")
    print(f"throughput       {len(results) / wall:.0f} posts/s ({wall:.2f} s)")
    print(
        f"added latency    p50 {_pct(added, 50):.2f} ms  p99 {_pct(added, 99):.2f} ms  max {max(added):.2f} ms  (relay time minus GitHub wait)"
    )
    print(
        f"github (stub)    p50 {_pct(github, 50):.2f} ms  p99 {_pct(github, 99):.2f} ms  (dispatching posts only)"
    )
    print(
        f"client RTT       p50 {_pct(rtt, 50):.2f} ms  p99 {_pct(rtt, 99):.2f} ms  mean {statistics.fmean(rtt):.2f} ms"
    )
    print(f"dispatches       {dispatched} (expected {distinct})")
    print(
        f"cpu seconds      relay {cpu['relay']:.1f}, github stub {cpu['stub']:.1f}, load generator {time.process_time():.1f}"
    )
    goal = _pct(added, 99) < 10
    print(f"goal p99 added < 10 ms: {'met' if goal else 'MISSED'}")
    ok = dispatched == distinct and statuses == {200: len(results)}
    print(
        "dispatch count equals distinct incidents"
        if ok
        else "FAIL: dispatch count or statuses wrong"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
