"""The Alliance HTTP API: thin over Temporal, no database of its own.

uvicorn api.app:app          # settings from ALLIANCE_* (settings.py); ./scripts/run serves it
"""

from __future__ import annotations

import importlib.metadata
import json
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

import startup
import telemetry
from api.errors import ApiError, ErrorBody, install_error_handlers
from api.gateway import RETRY_AFTER, ProjectGateway
from api.headers import SecurityHeaders
from api.limits import LinkLimiter
from api.observability import ApiMetrics, RequestTelemetry, metrics_response, without_personal_data
from api.pages import console, mail_links, templates_console, unsubscribe
from api.pages import mail as mail_pages
from api.pages import routes as pages
from api.routes import (
    actions,
    charter_files,
    health,
    organisation,
    participants,
    projects,
    templates,
)
from api.security import Authenticator
from domain.models import CHARTER_FILE_LIMIT
from settings import Settings
from texts.links import TokenSigner

try:
    VERSION = importlib.metadata.version("alliance")
except importlib.metadata.PackageNotFoundError:  # run from a source tree not installed
    VERSION = "unknown"

log = structlog.get_logger("alliance.api")

_READS = frozenset({"GET", "HEAD", "OPTIONS"})
# The contact directory's driver and pool, where an unreachable database shows.
_DIRECTORY_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "directory.")


async def storage_present(request: Request) -> None:
    """No write while the data directory is gone: the directory's SQLite file, if it was there,
    would take it into a deleted file and lose it. Two stat calls; reads go on (503 from
    /readyz meanwhile)."""
    if request.method in _READS:
        return
    problem = startup.data_dir_problem(request.app.state.settings)
    if problem is not None:
        raise ApiError(
            503,
            problem.code,
            f"{problem.message}; nothing was recorded",
            headers={"Retry-After": RETRY_AFTER},
        )


def _from_directory(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or any(
        str(frame.f_globals.get("__name__", "")).startswith(_DIRECTORY_MODULES)
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


async def storage_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """A store the API needs went away while it runs (the data directory, the contact
    directory's database): 503 saying which, never a 500."""
    settings = request.app.state.settings
    problem = startup.data_dir_problem(settings)
    if problem is None and _from_directory(exc):
        named, fix = startup.directory_named(settings)
        log.warning("contact directory unreachable", error=startup.directory_error(exc, settings))
        problem = startup.Problem("directory_unavailable", f"{named} could not be reached; {fix}")
    elif problem is None:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.exception("storage unavailable", route=route)
        problem = startup.Problem(
            "storage_unavailable",
            f"a file or service the API needs could not be used ({type(exc).__name__}); ops "
            "can see which in the log",
        )
    body = ErrorBody(
        code=problem.code,
        message=f"{problem.message}; try again in a few seconds, and tell ops if it lasts",
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=503,
        headers={"Retry-After": RETRY_AFTER},
    )


class BodyLimit:
    """413 for a body over the limit, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int, files: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Paths that carry a file (a charter's), with their own larger limit.
        self.files = files or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.files.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(send, limit)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, "body_too_large", self._message(limit))
            return message

        try:
            await self.app(scope, limited, send)
        except ApiError as e:
            if e.status != 413:
                raise
            await self._too_large(send, limit)

    def _message(self, limit: int) -> str:
        if limit >= 1024 * 1024:
            return (
                f"the request body is larger than {limit // 1024 // 1024} MB: a charter's "
                f"file may weigh up to {CHARTER_FILE_LIMIT // 1024 // 1024} MB"
            )
        return f"the request body is larger than {limit // 1024} KiB"

    async def _too_large(self, send: Send, limit: int) -> None:
        body = json.dumps({"code": "body_too_large", "message": self._message(limit)}).encode()
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
        # No /redoc: its styles are injected at run time, which a policy without
        # 'unsafe-inline' refuses; /docs says the same and runs under it.
        redoc_url=None,
        title="Alliance",
        version=VERSION,
        summary="Co-construction projects: launch, follow and act on them.",
        description=(
            "Every write is one Temporal workflow update (or the start); every read one query "
            "or one visibility look-up. Authenticate with `Authorization: Bearer <token>`: a "
            "coordinator credential, or a participant's personal token."
        ),
        lifespan=lifespan,
        dependencies=[Depends(storage_present)],
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
    app.state.link_limiter = LinkLimiter(settings.link_per_minute)
    install_error_handlers(app)
    for lost in (OSError, OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(lost, storage_unavailable)
    app.state.html_not_found = pages.not_found_page
    for module in (health, projects, participants, actions, templates, organisation, charter_files):
        app.include_router(module.router)
    app.include_router(pages.router)
    app.include_router(console.router)
    app.include_router(templates_console.router)
    if settings.notifications == "email":
        app.include_router(mail_links.router)
        app.include_router(unsubscribe.router)
    if settings.mail_catcher and settings.notifications == "email":
        # The local run's mail catcher keeps messages in data_dir: this lists them.
        app.include_router(mail_pages.router)
    app.mount("/static", pages.STATIC, name="static")
    # Prometheus scrapes it; the compose file's reverse proxy does not serve it outside.
    app.add_api_route("/metrics", metrics_response, include_in_schema=False)
    # A charter's file, and the multipart form around it.
    with_file = CHARTER_FILE_LIMIT + 256 * 1024
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        files={"/charter-files": with_file, "/console/lancer": with_file},
    )
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
    # Outermost: every response carries them, errors and the body limit's 413 included.
    app.add_middleware(SecurityHeaders)
    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn api.app:app` builds the app from the environment only when asked.
    if name == "app":
        return create_app()
    raise AttributeError(name)
