"""What ops see of a whole project: the worker's and the API's metrics, JSON log lines with the
ids they are about (and no address), and one trace from an HTTP request through the workflow
and its activities, received by an OTLP endpoint over HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import structlog
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

import telemetry
import temporal_client
from api.app import create_app
from api.observability import RUNNING_PHASES
from settings import Settings
from tests.api_helpers import ApiProject
from tests.conftest import api_settings, make_harness_settings
from tests.helpers import free_port
from worker import build_worker

PARTNERS = ["p1", "p2", "p3"]


class OtlpReceiver:
    """An OTLP/HTTP trace endpoint in this process: it keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        received = self.spans

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    service = next(
                        a.value.string_value
                        for a in resource.resource.attributes
                        if a.key == "service.name"
                    )
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            received.append(
                                {
                                    "service": service,
                                    "name": span.name,
                                    "trace_id": span.trace_id.hex(),
                                    "span_id": span.span_id.hex(),
                                    "parent": span.parent_span_id.hex(),
                                    "links": [link.trace_id.hex() for link in span.links],
                                    "attributes": {
                                        a.key: a.value.string_value for a in span.attributes
                                    },
                                }
                            )
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Alliance's logging as in production (JSON lines), written to a buffer for the test."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    telemetry.configure_logging(Settings(log_format="json"))
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)
    yield buffer
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    structlog.reset_defaults()


def metrics_of(text: str) -> dict[str, list[Any]]:
    families: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            families.setdefault(sample.name, []).append(sample)
    return families


async def test_metrics_logs_and_a_trace_from_a_whole_project(dev_env, tmp_path, json_logs):
    receiver = OtlpReceiver()
    metrics_port = free_port()
    address = dev_env.client.service_client.config.target_host
    settings = make_harness_settings(
        tmp_path,
        temporal_address=address,
        worker_metrics_port=metrics_port,
        otlp_endpoint=receiver.endpoint,
    )
    worker_tracing = telemetry.tracer_provider(settings, "alliance-worker")
    worker_client = await temporal_client.connect(
        settings,
        runtime=telemetry.worker_runtime(settings),
        interceptors=telemetry.tracing_interceptors(worker_tracing),
    )
    app = create_app(api_settings(SimpleNamespace(settings=settings)))
    try:
        async with (
            build_worker(worker_client, settings, workflow_failure_exception_types=[Exception]),
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://alliance.test"
            ) as http,
        ):
            project = await ApiProject.launch(http)
            await project.to_decision(PARTNERS)
            answered = await http.put(
                f"/projects/{project.id}/answer",
                json={"kind": "consent"},
                headers={**project.auth("p1"), "X-Request-ID": "req-from-the-proxy-42"},
            )
            assert answered.status_code == 200, answered.text
            # The request id a proxy sent is kept and returned; one is made otherwise.
            assert answered.headers["X-Request-ID"] == "req-from-the-proxy-42"
            for pid in PARTNERS[1:]:
                await project.ok("PUT", "/answer", pid, {"kind": "consent"})
            refused = await project.call("PUT", "/answer", "p1", {"kind": "consent"})
            assert refused.status_code == 409
            # A personal link opened in a browser: traced, its token nowhere in the trace.
            opened = await http.get(f"/p/{project.tokens['p2']}")
            assert opened.status_code == 303
            assert len(refused.headers["X-Request-ID"]) == 32

            # The worker's endpoint: Temporal's runtime metrics and the domain counters.
            async with httpx.AsyncClient() as plain:
                worker_text = (await plain.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            worker = metrics_of(worker_text)
            assert "temporal_workflow_task_execution_latency_seconds_bucket" in worker
            # Messages, the report and the closing go at their first try as local activities.
            assert "temporal_local_activity_execution_latency_seconds_bucket" in worker
            answers = {
                s.labels["answer"]: s.value for s in worker["alliance_answers_recorded_total"]
            }
            assert answers == {"consent": 3}
            decisions = {s.labels["outcome"]: s.value for s in worker["alliance_decisions_total"]}
            assert decisions == {"adopted": 1}
            recorded = {
                s.labels["action"]: s.value
                for s in worker["alliance_partner_actions_recorded_total"]
            }
            assert recorded["answer"] == 3 and recorded["add_contribution"] == len(PARTNERS)
            # Messages: sent at once, by channel, and how long after their event.
            sent = {
                (s.labels["channel"], s.labels["path"]): s.value
                for s in worker["alliance_messages_sent_total"]
            }
            assert sent[(settings.notifications, "at_once")] > 0, sent
            assert "alliance_message_delay_seconds_bucket" in worker

            # The API's: requests by route template (never a token), actions by outcome, and
            # the running projects by phase from Temporal's visibility.
            api = metrics_of((await http.get("/metrics")).text)
            routes = {s.labels["route"] for s in api["alliance_http_requests_total"]}
            assert "/projects/{project_id}/answer" in routes
            assert not any(project.tokens["p1"] in route for route in routes)
            outcomes = {
                (s.labels["action"], s.labels["outcome"]): s.value
                for s in api["alliance_partner_actions_total"]
            }
            assert outcomes[("answer", "recorded")] == 3 and outcomes[("answer", "refused")] == 1
            assert "alliance_partner_action_duration_seconds_bucket" in api
            # The same count as Temporal's visibility (other tests' projects share the
            # server), ours among them once visibility caught up with the workflow.
            in_action = (
                'WorkflowType = "ProjectWorkflow" AND ExecutionStatus = "Running" '
                'AND AlliancePhase = "action"'
            )
            ours = f'{in_action} AND WorkflowId = "project-{project.id}"'
            for _ in range(50):
                app.state.metrics.projects.counted_at = 0.0
                api = metrics_of((await http.get("/metrics")).text)
                phases = {s.labels["phase"]: s.value for s in api.get("alliance_projects", [])}
                expected = (await dev_env.client.count_workflows(in_action)).count
                if (await dev_env.client.count_workflows(ours)).count == 1 and phases.get(
                    "action"
                ) == expected:
                    break
                await asyncio.sleep(0.3)
            assert phases.get("action") == expected >= 1, phases
            assert set(phases) == {p.value for p in RUNNING_PHASES}
            assert "alliance_projects_past_deadline" in api
    finally:
        worker_tracing.shutdown()
        receiver.close()

    # Logs: JSON lines with the ids they are about, and never an address.
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    assert lines, "no log line"
    assert "@example.org" not in json_logs.getvalue()
    answer_line = next(line for line in lines if line.get("request_id") == "req-from-the-proxy-42")
    assert answer_line["route"] == "/projects/{project_id}/answer"
    assert answer_line["project_id"] == project.id
    assert answer_line["workflow_id"] == f"project-{project.id}"
    assert answer_line["actor"] == "partner:p1" and answer_line["status"] == 200
    workflow_lines = [line for line in lines if line.get("event") == "phase opened"]
    assert {line["phase"] for line in workflow_lines} >= {"co_design", "decision", "action"}
    assert all(line["project_id"] == project.id and line["run_id"] for line in workflow_lines), (
        workflow_lines
    )
    activity_lines = [line for line in lines if line.get("activity_type")]
    assert activity_lines and all(line["project_id"] == project.id for line in activity_lines)

    # One trace from the launch's request to the workflow and its activities.
    spans = receiver.spans
    link_spans = [s for s in spans if s["name"] == "GET /p/{token}"]
    assert link_spans and link_spans[0]["attributes"].get("http.target") == "/p/{token}"
    everything = json.dumps(spans)
    assert not [pid for pid, token in project.tokens.items() if token in everything]
    assert "@example.org" not in everything
    launch = next(
        s for s in spans if s["service"] == "alliance-api" and s["name"] == "POST /projects"
    )
    in_trace = [s for s in spans if s["trace_id"] == launch["trace_id"]]
    names = {(s["service"], s["name"]) for s in in_trace}
    assert ("alliance-api", "StartWorkflow:ProjectWorkflow") in names, names
    assert ("alliance-worker", "RunWorkflow:ProjectWorkflow") in names, names
    assert ("alliance-worker", "RunActivity:notify_now") in names, names
    # A partner's action: a trace of its own from the request through the update's call; the
    # workflow handles the update within the project's trace, linked to that caller.
    answer_traces = {
        s["trace_id"]
        for s in spans
        if s["service"] == "alliance-api" and s["name"] == "PUT /projects/{project_id}/answer"
    }
    assert len(answer_traces) == 4
    calls = [s for s in spans if s["name"] == "StartWorkflowUpdate:answer"]
    assert {s["trace_id"] for s in calls} == answer_traces
    handled = [s for s in spans if s["name"] == "HandleUpdate:answer"]
    assert handled and all(s["trace_id"] == launch["trace_id"] for s in handled)
    assert {t for s in handled for t in s["links"]} <= answer_traces
    assert len({t for s in handled for t in s["links"]}) == 3  # the refused one never ran


async def test_log_lines_keep_no_address_and_bind_nothing_outside_a_request(json_logs):
    log = structlog.get_logger("alliance.test")
    log.warning("delivery refused", reply="550 <camille.martin@example.org> unknown")
    line = json.loads(json_logs.getvalue().splitlines()[-1])
    assert line["reply"] == "550 <[e-mail]> unknown"
    assert "request_id" not in line and line["level"] == "warning"


async def test_a_bug_answers_500_with_the_request_id_and_logs_it_by_route(json_logs, tmp_path):
    settings = make_harness_settings(tmp_path)
    app = create_app(api_settings(SimpleNamespace(settings=settings)))

    async def broken(token: str) -> None:
        raise ZeroDivisionError("a bug")

    app.add_api_route("/casse/{token}", broken)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="http://alliance.test",
    ) as http:
        answer = await http.get("/casse/SECRET-TOKEN-123", headers={"X-Request-ID": "req-12345678"})
    assert answer.status_code == 500 and answer.json()["code"] == "internal_error"
    assert answer.headers["X-Request-ID"] == "req-12345678"
    written = json_logs.getvalue()
    assert "SECRET-TOKEN-123" not in written
    error = next(json.loads(line) for line in written.splitlines() if "unexpected error" in line)
    assert error["request_id"] == "req-12345678" and error["route"] == "/casse/{token}"
    assert "ZeroDivisionError" in error["exception"]
    await app.state.gateway.close()
