"""The API as ops see it: a request id on every answer, one log line per request with the ids it
was about, Prometheus metrics on /metrics, and the projects by phase from Temporal's visibility.

Paths are logged and measured by their route's template (/p/{token}), never as sent: a personal
link carries its token in the path.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from domain.models import Phase
from workflows import search_attributes as sa

REQUEST_ID_HEADER = "X-Request-ID"
# A request id a client or proxy sends is kept when it looks like one (no log injection).
_GOOD_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")
# What the request was about, filled in while it is handled (the caller, once authenticated).
_about: ContextVar[dict[str, str] | None] = ContextVar("alliance_request_about", default=None)

log = structlog.get_logger("alliance.api")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RUNNING_PHASES = [p for p in Phase if p not in (Phase.closed, Phase.cancelled)]
# Any other method a client sends is counted as OTHER: no label value from outside.
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
INTERNAL_ERROR = (
    b'{"code": "internal_error", "message": "an unexpected error occurred; it was logged, and '
    b'retrying will not help until it is fixed"}'
)


# The routes whose path carries a secret (a personal link, an unsubscribe or console link).
_TOKEN_PATHS = re.compile(r"^(/p|/desabonnement|/connexion/lien-console)/[^/?#]+")
_URL_ATTRIBUTES = ("http.target", "http.url", "url.path", "url.full", "http.route")


_CLIENT_ATTRIBUTES = ("net.peer.ip", "client.address", "http.client_ip", "net.sock.peer.addr")


def without_personal_data(span: Any, scope: Scope) -> None:
    """FastAPI's instrumentation records the URL as sent and the client's address: for a path
    that carries a token, the span gets the route's template instead, and no span keeps the
    address of the person's machine."""
    if span is None or not span.is_recording():
        return
    for name in _CLIENT_ATTRIBUTES:
        span.set_attribute(name, "")
    path = scope.get("path", "")
    match = _TOKEN_PATHS.match(path)
    if match is None:
        return
    template = f"{match.group(1)}/{{token}}" + path[match.end() :]
    for name in _URL_ATTRIBUTES:
        span.set_attribute(name, template)


def note_actor(actor: str) -> None:
    """Called by authentication: who made the request, by role and id, never by name."""
    about = _about.get()
    if about is not None:
        about["actor"] = actor


class ApiMetrics:
    """The API's Prometheus registry (one per app: tests build several in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "alliance_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "alliance_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.actions = Counter(
            "alliance_partner_actions",
            "Partner actions answered, by action and outcome (recorded, refused, pending, failed)",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.action_latency = Histogram(
            "alliance_partner_action_duration_seconds",
            "Time from a partner action's request to its answer (recorded in Temporal, or refused)",
            ["action"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.projects = ProjectCounts()
        self.registry.register(self.projects)


class ProjectCounts:
    """Running projects by phase and those past their deadline, counted by Temporal's
    visibility when Prometheus scrapes, at most every 15 s and within 3 s: a scrape never waits
    on a Temporal that is down (the API would look down too). Every API replica reports the
    same counts: take their max; `alliance_projects_counted_timestamp_seconds` says how fresh."""

    FRESH_FOR = 15.0
    WITHIN = 3.0

    def __init__(self) -> None:
        self.by_phase: dict[str, int] = {}
        self.past_deadline: int | None = None
        self.counted_at = 0.0  # monotonic, of the last attempt
        self.succeeded_at: float | None = None  # wall clock, of the last counts

    async def refresh(self, client: Client | None) -> None:
        if client is None or time.monotonic() - self.counted_at < self.FRESH_FOR:
            return
        self.counted_at = time.monotonic()  # a failed attempt waits its turn too
        try:
            counts = await asyncio.wait_for(self._count(client), self.WITHIN)
        except Exception as e:  # Temporal down or slow: the last counts stay, with their age
            log.warning("projects not counted", error=type(e).__name__)
            return
        *phases, late = counts
        self.by_phase = {p.value: n for p, n in zip(RUNNING_PHASES, phases, strict=True)}
        self.past_deadline = late
        self.succeeded_at = time.time()

    @staticmethod
    async def _count(client: Client) -> list[int]:
        running = 'WorkflowType = "ProjectWorkflow" AND ExecutionStatus = "Running"'
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        queries = [f'{running} AND {sa.PHASE.name} = "{p.value}"' for p in RUNNING_PHASES]
        queries.append(f'{running} AND {sa.DEADLINE.name} < "{now}"')
        found = await asyncio.gather(
            *(client.count_workflows(q, rpc_timeout=timedelta(seconds=2)) for q in queries)
        )
        return [f.count for f in found]

    def collect(self) -> Any:
        phases = GaugeMetricFamily(
            "alliance_projects", "Running projects by phase (Temporal visibility)", labels=["phase"]
        )
        for phase, count in self.by_phase.items():
            phases.add_metric([phase], count)
        yield phases
        if self.past_deadline is not None:
            yield GaugeMetricFamily(
                "alliance_projects_past_deadline",
                "Running projects whose current deadline has passed",
                value=self.past_deadline,
            )
        if self.succeeded_at is not None:
            yield GaugeMetricFamily(
                "alliance_projects_counted_timestamp_seconds",
                "When the project counts were last read from Temporal (Unix time)",
                value=self.succeeded_at,
            )


async def metrics_response(request: Request) -> Response:
    metrics: ApiMetrics = request.app.state.metrics
    gateway = request.app.state.gateway
    await metrics.projects.refresh(gateway._client)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


class RequestTelemetry:
    """ASGI middleware: the request id (kept from X-Request-ID or made), bound to every log
    line written while the request is handled and returned in the same header; one log line
    and the metrics per request."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers", [])).get(REQUEST_ID_HEADER.lower().encode(), b"")
        request_id = sent.decode("latin-1")
        if not _GOOD_REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        about: dict[str, str] = {}
        about_token = _about.set(about)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        responding = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, responding
            if message["type"] == "http.response.start":
                status, responding = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # A bug of ours: logged here, while the request id is bound, by route template;
            # the 500 carries the request id to quote (Starlette's own would not).
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            log.exception("unexpected error", route=route)
            if responding:
                raise
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send_with_id({"type": "http.response.body", "body": INTERNAL_ERROR})
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER"
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            project_id = scope.get("path_params", {}).get("project_id")
            # Probes and scrapes every few seconds would drown the lines that matter.
            quiet = route in ("/metrics", "/healthz", "/readyz") or route.startswith("/static")
            if not quiet or status >= 500:
                fields: dict[str, Any] = {
                    "method": method,
                    "route": route,
                    "status": status,
                    "ms": round(elapsed * 1000, 1),
                    **about,
                }
                if project_id:
                    fields["project_id"] = project_id
                    fields["workflow_id"] = f"project-{project_id}"
                log.info("request", **fields)
            structlog.contextvars.unbind_contextvars("request_id")
            _about.reset(about_token)
