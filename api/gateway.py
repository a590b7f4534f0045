"""The API's only way to Temporal: every write one update (or the start), every read one query
or one visibility look-up, each with a short RPC timeout and its errors put in words."""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

import temporal_client
from api.errors import ApiError
from domain import commands as cmd
from domain.models import ProjectSpec
from domain.views import ActionResult, ProjectView
from settings import Settings
from workflows.project import EventsQuery, ProjectWorkflow

RETRY_AFTER = "5"
# The server accepts 10 updates in flight per workflow and makes the client back off slowly
# past that: this process sends at most 8 at once per project and queues the rest.
UPDATES_IN_FLIGHT_PER_PROJECT = 8
# Several API processes can still exceed the limit together: back off with jitter, a bounded
# number of times (about 15 s in all), so a burst of partners is recorded rather than refused.
BUSY_ATTEMPTS = 12

# Refusal codes that mean the token no longer stands for an active participant.
_REVOKED = {"stale_token", "not_a_participant"}


def _unavailable(what: str) -> ApiError:
    return ApiError(
        503,
        "temporal_unavailable",
        f"{what}; try again in a few seconds",
        headers={"Retry-After": RETRY_AFTER},
    )


class ProjectGateway:
    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        secret = settings.token_secret.get_secret_value() if settings.token_secret else ""
        self._page_tokens = URLSafeSerializer(secret, salt="alliance-page-token")
        self._client = client
        self._connecting = asyncio.Lock()
        # Per project: a semaphore and how many requests hold or await it.
        self._in_flight: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}
        self.rpc_timeout = timedelta(seconds=settings.rpc_timeout_seconds)

    async def client(self) -> Client:
        # Connected lazily: the API starts (and says it is not ready) while Temporal is down.
        if self._client is None:
            async with self._connecting:
                if self._client is None:
                    try:
                        self._client = await asyncio.wait_for(
                            temporal_client.connect(self.settings),
                            self.settings.rpc_timeout_seconds,
                        )
                    except (RuntimeError, TimeoutError, OSError):
                        raise _unavailable(
                            f"Temporal is not reachable at {self.settings.temporal_address}"
                        ) from None
        return self._client

    async def handle(self, project_id: str) -> WorkflowHandle:
        client = await self.client()
        return client.get_workflow_handle(temporal_client.workflow_id(project_id))

    async def ready(self) -> bool:
        try:
            client = await self.client()
            return await client.service_client.check_health(timeout=self.rpc_timeout)
        except (ApiError, RPCError):
            return False

    @asynccontextmanager
    async def _errors(self, project_id: str | None = None) -> AsyncIterator[None]:
        try:
            yield
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND and project_id is not None:
                raise await self._missing_or_over(project_id) from None
            if e.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                # A query or update waits for a worker: with none polling, this is what it gets.
                raise _unavailable(
                    "Temporal or the project's worker did not answer in time"
                ) from None
            if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.RESOURCE_EXHAUSTED):
                raise _unavailable("Temporal is unavailable or overloaded") from None
            # Anything else (a project whose workflow task keeps failing, ...): ops must look.
            raise ApiError(
                503,
                "project_unavailable",
                f"Temporal could not serve this project now ({e.status.name.lower()}: {e.message}); "
                "ops can see why in the Temporal UI",
                headers={"Retry-After": RETRY_AFTER},
            ) from None
        except RPCTimeoutOrCancelledError:
            raise _unavailable("Temporal or the project's worker did not answer in time") from None
        except (WorkflowQueryRejectedError, WorkflowQueryFailedError) as e:
            raise ApiError(
                409, "project_unavailable", f"the project cannot be read now: {e}"
            ) from None

    async def _missing_or_over(self, project_id: str) -> ApiError:
        try:
            described = await (await self.handle(project_id)).describe(rpc_timeout=self.rpc_timeout)
        except RPCError:
            return ApiError(404, "project_not_found", f"no project {project_id!r}")
        if described.status != WorkflowExecutionStatus.RUNNING:
            return ApiError(
                409, "project_over", "the project is closed; nothing more can be recorded"
            )
        return ApiError(404, "project_not_found", f"no project {project_id!r}")

    # -- reads -----------------------------------------------------------------------------

    async def view(self, project_id: str) -> ProjectView:
        async with self._errors(project_id):
            handle = await self.handle(project_id)
            return await handle.query(ProjectWorkflow.view, rpc_timeout=self.rpc_timeout)

    async def events(self, project_id: str, after: int, limit: int) -> list[Any]:
        async with self._errors(project_id):
            handle = await self.handle(project_id)
            return await handle.query(
                ProjectWorkflow.events,
                EventsQuery(after=after, limit=limit),
                rpc_timeout=self.rpc_timeout,
            )

    async def report(self, project_id: str) -> str | None:
        async with self._errors(project_id):
            handle = await self.handle(project_id)
            return await handle.query(ProjectWorkflow.report, rpc_timeout=self.rpc_timeout)

    async def list(
        self, query: str, page_size: int, page_token: str | None
    ) -> tuple[list[Any], str | None]:
        """One page of projects. Page tokens are signed and bound to the query: a forged,
        garbled or borrowed token is refused here, without costing Temporal anything."""
        token = None
        if page_token:
            try:
                bound_query, raw = self._page_tokens.loads(page_token)
                if bound_query != query:
                    raise ValueError("token of another listing")
                token = base64.urlsafe_b64decode(raw.encode())
            except (BadSignature, ValueError, TypeError):
                raise ApiError(
                    422, "bad_page_token", "page_token is not one this API gave for this listing"
                ) from None
        async with self._errors():
            client = await self.client()
            pages = client.list_workflows(
                query, page_size=page_size, next_page_token=token, rpc_timeout=self.rpc_timeout
            )
            await pages.fetch_next_page()
            following = pages.next_page_token
            next_token = None
            if following:
                raw = base64.urlsafe_b64encode(following).decode()
                next_token = self._page_tokens.dumps([query, raw])
            return list(pages.current_page or []), next_token

    # -- writes ----------------------------------------------------------------------------

    async def launch(
        self, spec: ProjectSpec, request_fingerprint: str, launched_at: datetime
    ) -> bool:
        """Start the project; False when a project with this id already exists."""
        async with self._errors():
            client = await self.client()
            try:
                await temporal_client.start_project(
                    client,
                    spec,
                    task_queue=self.settings.task_queue,
                    continue_as_new_after_events=self.settings.continue_as_new_after_events,
                    memo={"request_fingerprint": request_fingerprint},
                    rpc_timeout=self.rpc_timeout,
                    launched_at=launched_at,
                )
            except WorkflowAlreadyStartedError:
                return False
            return True

    async def launch_fingerprint(self, project_id: str) -> str | None:
        async with self._errors(project_id):
            described = await (await self.handle(project_id)).describe(rpc_timeout=self.rpc_timeout)
            memo = await described.memo()
            return memo.get("request_fingerprint")

    async def act(
        self, project_id: str, update: Any, command: cmd.Command, key: str
    ) -> ActionResult:
        async with self._slot(project_id):
            return await self._act(project_id, update, command, key)

    @asynccontextmanager
    async def _slot(self, project_id: str) -> AsyncIterator[None]:
        semaphore, users = self._in_flight.setdefault(
            project_id, (asyncio.Semaphore(UPDATES_IN_FLIGHT_PER_PROJECT), [0])
        )
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._in_flight[project_id]

    async def _act(
        self, project_id: str, update: Any, command: cmd.Command, key: str
    ) -> ActionResult:
        handle = await self.handle(project_id)
        for attempt in range(BUSY_ATTEMPTS):
            try:
                async with self._errors(project_id):
                    try:
                        return await temporal_client.execute_action(
                            handle, update, command, key=key, rpc_timeout=self.rpc_timeout
                        )
                    except RPCError as e:
                        if (
                            e.status != RPCStatusCode.RESOURCE_EXHAUSTED
                            or attempt == BUSY_ATTEMPTS - 1
                        ):
                            raise
            except temporal_client.ActionRefused as refused:
                raise _refusal_error(refused) from None
            await asyncio.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
        raise _unavailable("the project is too busy right now")


def _refusal_error(refused: temporal_client.ActionRefused) -> ApiError:
    if refused.code in _REVOKED:
        return ApiError(401, refused.code, refused.message, headers={"WWW-Authenticate": "Bearer"})
    if refused.code == "not_allowed":
        return ApiError(403, refused.code, refused.message)
    if refused.code == "idempotency_conflict":
        return ApiError(422, refused.code, refused.message)
    return ApiError(409, refused.code, refused.message)
