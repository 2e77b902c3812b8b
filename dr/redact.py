"""Keeping secrets out of logs, records, artefacts, PR comments and exceptions.

Two layers: known secret *values* (registered when read: config secrets, token files, DSNs
from the environment) are replaced wherever they appear; and *patterns* catch secrets we were
never told about (passwords in DSNs, bearer tokens, GitHub tokens, keys named like secrets).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # URL credentials: postgresql://user:pass@host -> postgresql://user:[redacted]@host
    (
        re.compile(r"(?P<pre>\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<secret>[^@\s]+)(?=@)", re.I),
        REDACTED,
    ),
    # keyword DSNs and key=value pairs: password=..., token=..., secret=...
    (
        re.compile(
            r"(?P<pre>\b(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key|shared[_-]?key|client[_-]?secret)\s*[=:]\s*)(?P<secret>'[^']*'|\"[^\"]*\"|[^\s,;&]+)",
            re.I,
        ),
        REDACTED,
    ),
    # Authorization headers
    (
        re.compile(r"(?P<pre>\b(?:bearer|token|basic)\s+)(?P<secret>[A-Za-z0-9._~+/=-]{8,})", re.I),
        REDACTED,
    ),
    # GitHub tokens (classic and fine-grained)
    (
        re.compile(
            r"(?P<pre>)(?P<secret>\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}))"
        ),
        REDACTED,
    ),
]

_SECRET_KEY = re.compile(
    r"(password|passwd|secret|token|api[_-]?key|shared[_-]?key|credential|private[_-]?key)", re.I
)


def _keep_prefix(match: re.Match[str], *, replacement: str) -> str:
    return match.group("pre") + replacement


class Redactor:
    """Replaces registered secret values and secret-looking patterns."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, value: str | None) -> None:
        """Register a secret value (ignored when too short to be a meaningful secret)."""
        if value and len(value) >= 4:
            with self._lock:
                self._values.add(value)

    def text(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(functools.partial(_keep_prefix, replacement=replacement), text)
        return text

    def data(self, obj: Any) -> Any:
        """Redact recursively: strings by value/pattern, and any value under a secret-looking key."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, Mapping):
            return {
                k: (
                    REDACTED
                    if isinstance(k, str)
                    and _SECRET_KEY.search(k)
                    and obj[k] not in (None, "", REDACTED, "[secret]")
                    else self.data(v)
                )
                for k, v in obj.items()
            }
        if isinstance(obj, list | tuple):
            return [self.data(v) for v in obj]
        return obj


redactor = Redactor()
"""The process-wide redactor: register every secret you read with ``redactor.add``."""


def redact_text(text: str) -> str:
    return redactor.text(text)


def redact_data(obj: Any) -> Any:
    return redactor.data(obj)
