"""The Alliance HTTP API: thin over Temporal, no database of its own.

uvicorn api.app:app          # settings from ALLIANCE_* (settings.py); ./scripts/run serves it
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

import telemetry
from api.errors import ApiError, install_error_handlers
from api.gateway import ProjectGateway
from api.observability import ApiMetrics, RequestTelemetry, metrics_response, without_personal_data
from api.pages import console, mail_links, unsubscribe
from api.pages import mail as mail_pages
from api.pages import routes as pages
from api.routes import actions, health, participants, projects
from api.security import Authenticator
from settings import Settings
from texts.links import TokenSigner

try:
    VERSION = importlib.metadata.version("alliance")
except importlib.metadata.PackageNotFoundError:  # run from a source tree not installed
    VERSION = "unknown"


class BodyLimit:
    """413 for a body over the limit, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, "body_too_large", self._message())
            return message

        try:
            await self.app(scope, limited, send)
        except ApiError as e:
            if e.status != 413:
                raise
            await self._too_large(send)

    def _message(self) -> str:
        return f"the request body is larger than {self.max_bytes // 1024} KiB"

    async def _too_large(self, send: Send) -> None:
        body = json.dumps({"code": "body_too_large", "message": self._message()}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.token_secret is None:
        raise ValueError("set ALLIANCE_TOKEN_SECRET: it signs participants' personal tokens")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One Temporal client for the app; if Temporal is down it connects on first use.
        try:
            await app.state.gateway.client()
        except ApiError:
            pass
        yield
        await app.state.gateway.close()
        if tracing is not None:
            tracing.shutdown()  # the last spans

    tracing = telemetry.tracer_provider(settings, "alliance-api")
    app = FastAPIOffline(
        title="Alliance",
        version=VERSION,
        summary="Co-construction projects: launch, follow and act on them.",
        description=(
            "Every write is one Temporal workflow update (or the start); every read one query "
            "or one visibility look-up. Authenticate with `Authorization: Bearer <token>`: a "
            "coordinator credential, or a participant's personal token."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = ApiMetrics()
    app.state.gateway = ProjectGateway(
        settings,
        client,
        metrics=app.state.metrics,
        interceptors=telemetry.tracing_interceptors(tracing),
    )
    app.state.authenticator = Authenticator(
        TokenSigner(settings.token_secret.get_secret_value()),
        settings.coordinator_credentials,
        settings.ops_credentials,
    )
    install_error_handlers(app)
    app.state.html_not_found = pages.not_found_page
    for module in (health, projects, participants, actions):
        app.include_router(module.router)
    app.include_router(pages.router)
    app.include_router(console.router)
    if settings.notifications == "email":
        app.include_router(mail_links.router)
        app.include_router(unsubscribe.router)
    if settings.mail_catcher and settings.notifications == "email":
        # The local run's mail catcher keeps messages in data_dir: this lists them.
        app.include_router(mail_pages.router)
    app.mount("/static", pages.STATIC, name="static")
    # Prometheus scrapes it; the compose file's reverse proxy does not serve it outside.
    app.add_api_route("/metrics", metrics_response, include_in_schema=False)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if tracing is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # Spans are named by route template; the URL attributes of the routes whose path
        # carries a personal token are rewritten to the template (observability.py).
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=tracing,
            # Matched against the whole URL: anchored, so a host named static... is traced.
            excluded_urls="/metrics$,/healthz$,/readyz$,/static/",
            server_request_hook=without_personal_data,
        )
    app.add_middleware(RequestTelemetry, metrics=app.state.metrics)
    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn api.app:app` builds the app from the environment only when asked.
    if name == "app":
        return create_app()
    raise AttributeError(name)
