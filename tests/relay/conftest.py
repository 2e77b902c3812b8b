from __future__ import annotations

from collections.abc import Iterator

import pytest
from relay_helpers import GITHUB_TOKEN

from dr.relay.github_stub import GitHubStub


@pytest.fixture
def github() -> Iterator[GitHubStub]:
    """A loopback GitHub that checks the token and records dispatches."""
    with GitHubStub(token=GITHUB_TOKEN) as stub:
        yield stub
