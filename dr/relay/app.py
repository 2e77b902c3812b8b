"""The relay's ASGI app (Starlette): ``POST /alertmanager``, ``GET /healthz``, ``GET /metrics``.

Order of checks on the webhook: bearer token (401, before reading the body), size (413), JSON
(400), ``version: "4"`` and the model (400 with the reason). Then the service answers 200 only
when every new dispatch was accepted by GitHub, else 502 so Alertmanager retries.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dr.relay.payload import WebhookMessage, webhook_json_schema
from dr.relay.service import Relay

DEFAULT_MAX_BODY_BYTES = 512 * 1024
_MAX_REASONS = 5


class _TooLarge(Exception):
    pass


def _reject(relay: Relay, reason: str, status: int, detail: str, **headers: str) -> JSONResponse:
    relay.metrics.rejected.labels(reason).inc()
    return JSONResponse({"error": reason, "detail": detail}, status_code=status, headers=headers)


def _validation_reason(exc: ValidationError) -> str:
    # include_input=False: never echo the sender's values (size, and whatever they contain).
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)[:_MAX_REASONS]
    ]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _authorized(header: str | None, expected: bytes) -> bool:
    scheme, _, credentials = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Constant time in the token's content (https://docs.python.org/3/library/hmac.html#hmac.compare_digest).
    return hmac.compare_digest(credentials.strip().encode("latin-1"), expected)


def openapi_document(max_body_bytes: int) -> dict[str, Any]:
    """The webhook's contract, for schemathesis and for readers."""
    schema = webhook_json_schema()
    components = schema.pop("$defs", {})
    components["WebhookMessage"] = schema
    error = {"$ref": "#/components/responses/Error"}
    return {
        "openapi": "3.0.3",
        "info": {"title": "HybridOps DR relay", "version": "1"},
        "paths": {
            "/alertmanager": {
                "post": {
                    "summary": "Alertmanager webhook (version 4) -> GitHub repository_dispatch",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "description": f"At most {max_body_bytes} bytes.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/WebhookMessage"}
                            }
                        },
                    },
                    "responses": {
                        "200": {"description": "Every new dispatch was accepted by GitHub."},
                        "400": error,
                        "401": error,
                        "413": error,
                        "502": error,
                    },
                }
            },
            "/healthz": {"get": {"responses": {"200": {"description": "Alive."}}}},
        },
        "components": {
            "schemas": components,
            "responses": {"Error": {"description": "Refused; `error` names the reason."}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def build_app(
    relay: Relay,
    *,
    auth_token: SecretStr,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Starlette:
    expected = auth_token.get_secret_value().encode("latin-1")
    openapi = openapi_document(max_body_bytes)

    async def alertmanager(request: Request) -> Response:
        started = time.perf_counter()
        if not _authorized(request.headers.get("authorization"), expected):
            return _reject(
                relay,
                "unauthorized",
                401,
                "missing or wrong bearer token",
                **{"WWW-Authenticate": "Bearer"},
            )
        try:
            body = await _read_limited(request, max_body_bytes)
        except _TooLarge:
            return _reject(relay, "too_large", 413, f"body over {max_body_bytes} bytes")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            return _reject(relay, "invalid_json", 400, f"body is not JSON: {type(exc).__name__}")
        if not isinstance(data, dict):
            return _reject(relay, "invalid_payload", 400, "body must be a JSON object")
        if data.get("version") != "4":
            return _reject(
                relay,
                "unsupported_version",
                400,
                'only Alertmanager webhook version "4" is supported',
            )
        try:
            message = WebhookMessage.model_validate(data)
        except ValidationError as exc:
            return _reject(relay, "invalid_payload", 400, _validation_reason(exc))
        except RecursionError:
            return _reject(relay, "invalid_payload", 400, "payload nested too deeply")

        outcome = await relay.handle(message)
        total_ms = (time.perf_counter() - started) * 1000
        github_ms = outcome.github_seconds * 1000
        # Server-Timing (https://www.w3.org/TR/server-timing/) lets the benchmark separate the
        # relay's own latency from GitHub's.
        timing = f"relay;dur={total_ms:.3f}, github;dur={github_ms:.3f}"
        status = 502 if outcome.failed else 200
        return JSONResponse(
            outcome.as_json(), status_code=status, headers={"Server-Timing": timing}
        )

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(relay.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def openapi_json(_: Request) -> Response:
        return JSONResponse(openapi)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await relay.dispatcher.aclose()
            relay.store.close()

    return Starlette(
        routes=[
            Route("/alertmanager", alertmanager, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/openapi.json", openapi_json, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
