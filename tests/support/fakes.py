"""Small fakes of the driver's interfaces (STYLE: fake the interface, never patch internals)."""

from __future__ import annotations

import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cost.plan import Plan
from dr.driver import GateOutcome
from dr.records import CostFigures


class FixedGate:
    """A cost gate that answers a fixed decision and records what it was asked."""

    def __init__(
        self, decision: str = "allow", reason: str = "within budget", planned: str = "900.00"
    ) -> None:
        self.decision = decision
        self.reason = reason
        self.planned = planned
        self.calls: list[dict[str, Any]] = []

    def evaluate(self, plan: Plan, **kw: Any) -> GateOutcome:
        self.calls.append({"plan": plan, **kw})
        return GateOutcome(
            decision=self.decision,  # type: ignore[arg-type]
            reason=self.reason,
            figures=CostFigures(
                currency="USD",
                past_monthly="500.00",
                planned_monthly=self.planned,
                diff_monthly="400.00",
                event_cost="12.34",
            ),
            record_path=f"output/artifacts/cost/cloud-dr/decision-{kw['run_id']}.json",
        )

    def planned_monthly(self, plan: Plan) -> Decimal:
        return Decimal(self.planned)


class HealthServer:
    """A loopback HTTP endpoint whose status (and delay) the test controls."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.delay = 0.0
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                if outer.delay:
                    threading.Event().wait(outer.delay)
                self.send_response(outer.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/login/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
