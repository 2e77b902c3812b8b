"""The relay's errors, under the driver's root so the CLI prints them as one line."""

from __future__ import annotations

from dr.errors import HybridOpsError


class RelayError(HybridOpsError):
    """Root of the relay's errors."""


class DispatchError(RelayError):
    """GitHub did not accept a dispatch within the deadline; the webhook answers 502 so
    Alertmanager retries. The message never contains the token."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
