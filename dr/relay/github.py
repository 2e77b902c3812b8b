"""The one adapter to GitHub: ``POST /repos/{owner}/{repo}/dispatches``.

API: https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event (204 on
success). Retries 5xx, 429 and rate-limited 403 with backoff, honouring ``Retry-After``
(https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit),
but never past the deadline: Alertmanager retries the webhook itself, so giving up in time and
answering 502 is better than holding its notification slot. The token is sent in a header only;
messages carry the status code and GitHub's short ``message``, never a header.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_before_delay

from dr.relay.errors import DispatchError

API_VERSION = "2022-11-28"
_MAX_BACKOFF_SECONDS = 4.0


class Dispatcher(Protocol):
    """What the relay needs from GitHub; tests use real loopback servers through the adapter."""

    async def dispatch(self, event_type: str, client_payload: Mapping[str, Any]) -> None:
        """Return once GitHub accepted the event; raise ``DispatchError`` otherwise."""
        ...

    async def aclose(self) -> None: ...


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _rate_limit_wait(response: httpx.Response) -> float | None:
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            return max(0.0, float(reset) - time.time())
    return None


def _github_message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message", "")
    except (ValueError, AttributeError):
        message = ""
    return str(message)[:200]


class GitHubDispatcher:
    """``repository_dispatch`` over httpx with bounded retries."""

    def __init__(
        self,
        *,
        api_url: str,
        repo: str,
        token: SecretStr,
        deadline_seconds: float = 8.0,
        client: httpx.AsyncClient | None = None,
        on_attempt: Callable[[float, int | None], None] | None = None,
    ) -> None:
        self._url = f"{api_url.rstrip('/')}/repos/{repo}/dispatches"
        self._token = token
        self._deadline = deadline_seconds
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(deadline_seconds),
            # A small pool: httpcore scans every pooled connection for each queued request, so
            # a large pool under a burst costs more CPU than it saves (see bench/relay_load.py).
            limits=httpx.Limits(max_connections=10, max_keepalive_connections=10),
        )
        self._on_attempt = on_attempt

    async def aclose(self) -> None:
        await self._client.aclose()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        # Full jitter (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
        return random.uniform(0, min(_MAX_BACKOFF_SECONDS, 0.1 * 2**state.attempt_number))

    async def _attempt(self, body: Mapping[str, Any], started: float) -> None:
        remaining = max(0.1, self._deadline - (time.monotonic() - started))
        t0 = time.perf_counter()
        status: int | None = None
        try:
            response = await self._client.post(
                self._url,
                json=body,
                timeout=remaining,
                headers={
                    "Accept": "application/vnd.github+json",
                    "Authorization": f"Bearer {self._token.get_secret_value()}",
                    "X-GitHub-Api-Version": API_VERSION,
                    "User-Agent": "hybridops-dr-relay",
                },
            )
            status = response.status_code
        except httpx.TransportError as exc:
            raise _Retryable(f"transport error: {type(exc).__name__}") from None
        finally:
            if self._on_attempt is not None:
                self._on_attempt(time.perf_counter() - t0, status)
        if 200 <= status < 300:
            return
        limited = status == 429 or (status == 403 and _rate_limit_wait(response) is not None)
        if status >= 500 or limited:
            raise _Retryable(f"GitHub answered {status}", _rate_limit_wait(response))
        raise DispatchError(
            f"GitHub refused the dispatch: {status} {_github_message(response)}".rstrip(),
            status_code=status,
        )

    async def dispatch(self, event_type: str, client_payload: Mapping[str, Any]) -> None:
        body = {"event_type": event_type, "client_payload": dict(client_payload)}
        started = time.monotonic()
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(_Retryable),
                wait=self._wait,
                # stop_before_delay: give up if the *next* sleep would cross the deadline.
                stop=stop_before_delay(self._deadline),
                reraise=True,
            ):
                with attempt:
                    await self._attempt(body, started)
        except _Retryable as exc:
            raise DispatchError(
                f"dispatch not accepted within {self._deadline:g}s: {exc}"
            ) from None
