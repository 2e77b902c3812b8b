"""Wire settings into the app and run it under uvicorn."""

from __future__ import annotations

import logging

from starlette.applications import Starlette

from dr.relay.app import build_app
from dr.relay.dedupe import IncidentStore
from dr.relay.github import GitHubDispatcher
from dr.relay.metrics import RelayMetrics
from dr.relay.service import Relay
from dr.relay.settings import RelaySecrets, RelaySettings

log = logging.getLogger("hybridops.relay")


def create_app(settings: RelaySettings, secrets: RelaySecrets) -> Starlette:
    metrics = RelayMetrics()
    store = IncidentStore(settings.state_dir, ttl_seconds=settings.dedupe_ttl_seconds)
    dispatcher = GitHubDispatcher(
        api_url=settings.github_api_url,
        repo=settings.repo,
        token=secrets.github_token,
        deadline_seconds=settings.dispatch_deadline_seconds,
        on_attempt=metrics.observe_github,
    )
    relay = Relay(store, dispatcher, metrics)
    return build_app(relay, auth_token=secrets.auth_token, max_body_bytes=settings.max_body_bytes)


def serve(settings: RelaySettings, secrets: RelaySecrets) -> None:
    import uvicorn

    from dr.relay import jsonlog

    jsonlog.configure(settings.log_level)
    app = create_app(settings, secrets)
    log.info(
        "relay listening",
        extra={
            "host": settings.host,
            "port": settings.port,
            "repo": settings.repo,
            "github_api_url": settings.github_api_url,
            "state_dir": str(settings.state_dir),
        },
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep our JSON handler
        access_log=False,
        server_header=False,
        # Alertmanager keeps connections alive; a generous keep-alive avoids reconnect churn.
        timeout_keep_alive=30,
        # a bound on request-line/headers size is uvicorn's (h11) own; the body limit is ours.
    )
