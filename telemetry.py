"""What ops see of a running Alliance: log lines, metrics and traces, for the worker and the API.

- Logs: structlog, one JSON object per line (a terminal gets readable colours instead), each
  with the ids of the project, workflow run, activity or HTTP request it is about, and never an
  e-mail address.
- Metrics: the worker's Temporal runtime (and the workflow's domain counters) on a Prometheus
  endpoint of its own port; the API's on its /metrics (api/metrics.py).
- Traces: OpenTelemetry, on only when an OTLP endpoint is set: Temporal's tracing interceptor
  on the one client (temporal_client.connect) and FastAPI's instrumentation on the app.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from structlog.types import EventDict
from temporalio import activity, workflow
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from settings import Settings

WORKFLOW_ID_PREFIX = "project-"
# An address in a log line is a leak whatever put it there (an exception's text, an SMTP
# reply): it is replaced before the line is written.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


# -- logs ---------------------------------------------------------------------------------------


def _drop_terminal_colours(_: object, __: str, event: EventDict) -> EventDict:
    # uvicorn adds a copy of each message with terminal colour codes: noise in a JSON line.
    event.pop("color_message", None)
    return event


def _temporal_ids(_: object, __: str, event: EventDict) -> EventDict:
    """The SDK's loggers pass their context as a nested dict: flattened to the fields ops
    filter on (project_id, workflow_id, run_id, activity), the rest dropped. A structlog line
    written inside an activity gets the same ids."""
    details = event.pop("temporal_workflow", None) or event.pop("temporal_activity", None)
    event.pop("workflow_info", None)
    event.pop("temporal_log", None)  # Core's record, already in the message
    if details is None and activity.in_activity():
        details = activity.info()._logger_details()
    if details:
        workflow_id = details.get("workflow_id")
        if workflow_id:
            event.setdefault("workflow_id", workflow_id)
            if workflow_id.startswith(WORKFLOW_ID_PREFIX):
                event.setdefault("project_id", workflow_id.removeprefix(WORKFLOW_ID_PREFIX))
        run_id = details.get("run_id") or details.get("workflow_run_id")
        if run_id:
            event.setdefault("run_id", run_id)
        for name in ("activity_type", "update_name", "attempt"):
            if details.get(name) is not None:
                event.setdefault(name, details[name])
    return event


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _EMAIL.sub("[e-mail]", value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _no_addresses(_: object, __: str, event: EventDict) -> EventDict:
    return {key: _scrub(value) for key, value in event.items()}


def wants_console(log_format: str, stream: Any = None) -> bool:
    if log_format == "auto":
        stream = stream or sys.stderr
        return bool(getattr(stream, "isatty", lambda: False)())
    return log_format == "console"


def configure_logging(settings: Settings | None = None, level: int = logging.INFO) -> None:
    """Every log record, structlog's and the standard library's (the SDK's workflow and
    activity loggers, uvicorn), rendered by structlog: JSON lines, or colours in a terminal."""
    log_format = settings.log_format if settings else "auto"
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.dev.ConsoleRenderer()
        if wants_console(log_format)
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _drop_terminal_colours,
                _temporal_ids,
                structlog.processors.format_exc_info,
                _no_addresses,
                renderer,
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        )
    )
    # The SDK appends its context to the message too; the fields above already carry it.
    activity.logger.activity_info_on_message = False
    workflow.logger.workflow_info_on_message = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The SDK's core logs through its own channel; httpx logs every request's URL (tokens).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )


# -- metrics ------------------------------------------------------------------------------------


def runtime(settings: Settings, *, metrics: bool) -> Runtime:
    """The process's Temporal runtime: Temporal Core's own log lines forwarded to Python's
    logging (so they are JSON lines, scrubbed, like every other), and for a worker with
    `worker_metrics_port` set, its metrics (the SDK's and the workflow's domain counters) for
    Prometheus at http://<metrics_host>:<worker_metrics_port>/metrics. One runtime per
    process: each worker on a host needs its own port."""
    prometheus = None
    if metrics and settings.worker_metrics_port:
        prometheus = PrometheusConfig(
            bind_address=f"{settings.metrics_host}:{settings.worker_metrics_port}",
            counters_total_suffix=True,
            unit_suffix=True,
            durations_as_seconds=True,
        )
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(
                    logger=logging.getLogger("temporalio.core"),
                    append_log_fields_to_message=False,
                ),
            ),
            metrics=prometheus,
        )
    )


def worker_runtime(settings: Settings) -> Runtime:
    return runtime(settings, metrics=True)


# -- traces -------------------------------------------------------------------------------------


def tracer_provider(settings: Settings, service: str) -> Any | None:
    """An OpenTelemetry tracer provider exporting to the OTLP endpoint (HTTP), or None when
    none is set: tracing costs nothing unless asked for. Not made global: the worker and the
    API each pass theirs to what they instrument."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    endpoint = settings.otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def tracing_interceptors(provider: Any | None) -> list[Any]:
    """Temporal's tracing interceptor for the client (and so for the worker built on it): a
    start or an update carries the caller's span in a header, and the workflow's and
    activities' spans continue that trace."""
    if provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(provider.get_tracer("alliance.temporal"))]
