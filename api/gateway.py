"""The API's only way to Temporal: every write one update (or the start), every read one query
or one visibility look-up, each with a short RPC timeout and its errors put in words."""

from __future__ import annotations

import asyncio
import base64
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import structlog
from itsdangerous import BadSignature, URLSafeSerializer
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    Interceptor,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

import temporal_client
from api.contacts import Contacts, no_action_result
from api.errors import ApiError
from api.observability import ApiMetrics
from archive.archivist import Archived, ArchiveUnreadable, Archivist
from archive.store import archive_store
from directory.cooperation import CooperationStore, figures_provider
from domain import commands as cmd
from domain.actions import action_for
from domain.cooperation import CooperationFigures
from domain.models import Outcome, Participant, Phase, ProjectSpec, Role
from domain.report import ReportFacts
from domain.views import (
    TIMELINE_LENGTH,
    UNDELIVERED_SHOWN,
    ActionResult,
    PageData,
    ProjectView,
    page_data,
    timeline,
    undelivered,
)
from domain.views import view as project_view
from settings import Settings
from texts.report import printable as printable_report
from texts.report import reader_of, report_markdown
from workflows import search_attributes as sa
from workflows.project import ActionBatch, BatchedAction, EventsQuery, ProjectWorkflow

log = structlog.get_logger("alliance.api")
T = TypeVar("T")

RETRY_AFTER = "5"
# Several API processes can still exceed the limit together: back off with jitter, a bounded
# number of times (about 15 s in all), so a burst of partners is recorded rather than refused.
BUSY_ATTEMPTS = 12
# Reads right after the worker that ran a project died (see _query): about 5 s in all.
STALE_WORKER_ATTEMPTS = 6

# At most this many actions in one act_batch update (far below Temporal's payload limit).
BATCH_MAX_ACTIONS = 25


class _BatchRefused(Exception):
    """The workflow refused a batch: one of its actions is refused."""


class _BatchPending(Exception):
    """Temporal holds the batch, but no worker took it in time."""


@dataclass
class _Pending:
    command: cmd.Command
    update_id: str
    key: str
    answer: asyncio.Future[ActionResult]

    def succeed(self, result: ActionResult) -> None:
        if not self.answer.done():
            self.answer.set_result(result)

    def fail(self, error: BaseException) -> None:
        if not self.answer.done():
            self.answer.set_exception(error)


@dataclass
class _ProjectQueue:
    waiting: list[_Pending] = field(default_factory=list)
    in_flight: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


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
    def __init__(
        self,
        settings: Settings,
        client: Client | None = None,
        *,
        metrics: ApiMetrics | None = None,
        interceptors: Sequence[Interceptor] = (),
    ) -> None:
        self.settings = settings
        self.metrics = metrics or ApiMetrics()
        self._interceptors = interceptors
        secret = settings.token_secret.get_secret_value() if settings.token_secret else ""
        self._page_tokens = URLSafeSerializer(secret, salt="alliance-page-token")
        self._client = client
        self._connecting = asyncio.Lock()
        # Per project: a semaphore and how many requests hold or await it.
        self._queues: dict[str, _ProjectQueue] = {}
        self.rpc_timeout = timedelta(seconds=settings.rpc_timeout_seconds)
        # People's details live in the directory: written before an action, joined on reads.
        self.contacts = Contacts(settings)
        # A project's record once Temporal has forgotten it, and a long project's past runs.
        self.cooperation = figures_provider(self.contacts.lazy)
        self.archivist = Archivist(archive_store(settings), cooperation=self.cooperation)

    async def close(self) -> None:
        await self.contacts.close()
        await self.archivist.store.close()

    async def client(self) -> Client:
        # Connected lazily: the API starts (and says it is not ready) while Temporal is down.
        if self._client is None:
            async with self._connecting:
                if self._client is None:
                    try:
                        self._client = await asyncio.wait_for(
                            temporal_client.connect(self.settings, interceptors=self._interceptors),
                            self.settings.rpc_timeout_seconds,
                        )
                    except (RuntimeError, TimeoutError, OSError) as e:
                        # Down, or refused (TLS, a key, a certificate): ops read which here.
                        log.warning(
                            "temporal not reachable",
                            address=self.settings.temporal_address,
                            error=f"{type(e).__name__}: {e}"[:300],
                        )
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
        """Temporal's errors in words a client can act on; never Temporal's own text."""
        try:
            yield
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND and project_id is not None:
                raise await self._missing_or_over(project_id) from None
            if e.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED) or (
                e.status == RPCStatusCode.FAILED_PRECONDITION and "poller" in e.message
            ):
                raise await self._no_answer() from None
            if e.status == RPCStatusCode.UNAVAILABLE:
                raise _unavailable(
                    f"Temporal could not be reached at {self.settings.temporal_address}; "
                    "nothing was recorded"
                ) from None
            if e.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                raise _unavailable("Temporal is overloaded; nothing was recorded") from None
            # Anything else (a project whose workflow task keeps failing, ...): ops must look.
            raise ApiError(
                503,
                "project_unavailable",
                f"Temporal could not serve this project now ({e.status.name.lower()}); "
                "nothing was recorded; ops can see why in the Temporal UI",
                headers={"Retry-After": RETRY_AFTER},
            ) from None
        except RPCTimeoutOrCancelledError:
            raise await self._no_answer() from None
        except (WorkflowQueryRejectedError, WorkflowQueryFailedError):
            raise ApiError(
                409, "project_unavailable", "the project cannot be read now; ops can see why"
            ) from None

    async def _no_answer(self) -> ApiError:
        if not await self.worker_running():
            return ApiError(
                503,
                "no_worker",
                "no Alliance worker is running, so the project cannot be read or changed now; "
                "nothing was recorded; try again when it is back",
                headers={"Retry-After": RETRY_AFTER},
            )
        return ApiError(
            503,
            "worker_slow",
            "the project's worker did not answer in time; nothing was recorded; try again",
            headers={"Retry-After": RETRY_AFTER},
        )

    async def _missing_or_over(self, project_id: str) -> ApiError:
        try:
            described = await (await self.handle(project_id)).describe(rpc_timeout=self.rpc_timeout)
        except RPCError:
            return ApiError(404, "project_not_found", f"no project {project_id!r}")
        if described.status == WorkflowExecutionStatus.RUNNING:
            return ApiError(404, "project_not_found", f"no project {project_id!r}")
        if described.typed_search_attributes.get(sa.OUTCOME) == Outcome.cancelled:
            return ApiError(
                409, "project_over", "the project was cancelled; nothing more can be recorded"
            )
        return ApiError(409, "project_over", "the project is closed; nothing more can be recorded")

    # -- reads -----------------------------------------------------------------------------

    async def archived(self, project_id: str) -> Archived | None:
        """The project's archive as written, if it has one (every hash checked)."""
        try:
            return await self.archivist.archived(project_id)
        except ArchiveUnreadable:
            raise ApiError(
                503,
                "archive_unreadable",
                "this project's archive does not match its manifest now (a rewrite may be "
                "under way); try again in a moment, and tell ops if it lasts",
                headers={"Retry-After": RETRY_AFTER},
            ) from None
        except OSError:
            raise _unavailable("the archive store could not be reached") from None

    async def _archived_instead(self, project_id: str, error: ApiError) -> Archived:
        """Temporal no longer knows the project: its archive answers, or the same 404."""
        if error.code != "project_not_found":
            raise error
        archived = await self.archived(project_id)
        if archived is None:
            raise error
        return archived

    async def _archive_if_ended(self, project_id: str, phase: Phase) -> Archived | None:
        """Once a project has ended and its archive is written, the archive is its record: an
        erasure asked since then is there, not in Temporal's history."""
        if phase not in (Phase.closed, Phase.cancelled):
            return None
        return await self.archived(project_id)

    async def _query(self, project_id: str, query: Any, *args: Any) -> tuple[Any, Archived | None]:
        """The workflow's answer to a query, or, once Temporal has forgotten the project, its
        archive instead (the same 404 if there is none)."""
        try:
            async with self._errors(project_id):
                handle = await self.handle(project_id)
                for attempt in range(STALE_WORKER_ATTEMPTS):
                    try:
                        answer = await handle.query(
                            query, args=list(args), rpc_timeout=self.rpc_timeout
                        )
                        return answer, None
                    except RPCError as e:
                        # The worker that last ran the project died: Temporal sends its queries
                        # to that worker's own queue until it gives up on it (seconds). Another
                        # worker is polling: ask again rather than show an error.
                        stale = (
                            e.status == RPCStatusCode.FAILED_PRECONDITION and "poller" in e.message
                        )
                        if not stale or attempt == STALE_WORKER_ATTEMPTS - 1:
                            raise
                        if not await self.worker_running():
                            raise
                        await asyncio.sleep(1.0)
        except ApiError as e:
            return None, await self._archived_instead(project_id, e)
        raise AssertionError("unreachable")

    async def view(self, project_id: str) -> ProjectView:
        """The project as the workflow holds it (or, once ended, as archived): no one's name
        (those are joined from the directory where a view is shown, by `named_view`)."""
        live, archived = await self._query(project_id, ProjectWorkflow.view)
        if archived is None:
            archived = await self._archive_if_ended(project_id, live.phase)
        return project_view(archived.state()) if archived else live

    async def named_view(self, view: ProjectView) -> ProjectView:
        return await self.contacts.view(view)

    async def page(self, project_id: str, participant_id: str) -> PageData | None:
        data, archived = await self._query(project_id, ProjectWorkflow.page, participant_id)
        if archived is None and data is not None:
            archived = await self._archive_if_ended(project_id, data.view.phase)
        if archived:
            data = self._archived_page(archived, participant_id)
        elif data is not None and data.earlier_in_archive:
            data = await self._with_earlier_events(project_id, data)
        return await self.contacts.page(data) if data is not None else None

    async def _with_earlier_events(self, project_id: str, data: PageData) -> PageData:
        """A long project's page: the timeline goes on into the segments of its past runs."""
        try:
            past = await self.archivist.latest_segment_events(project_id, TIMELINE_LENGTH)
        except OSError:
            return data  # the latest events still show
        shown = (timeline(past, []) + data.events)[-TIMELINE_LENGTH:]
        sees_failures = data.me.role in (Role.facilitator, Role.coordinator)
        missed = undelivered(past) if sees_failures else []
        return data.model_copy(
            update={"events": shown, "undelivered": (data.undelivered + missed)[:UNDELIVERED_SHOWN]}
        )

    @staticmethod
    def _archived_page(archived: Archived, participant_id: str) -> PageData | None:
        return page_data(archived.state(), archived.events()[-TIMELINE_LENGTH:], participant_id)

    async def participants(self, project_id: str) -> list[Participant]:
        people, archived = await self._query(project_id, ProjectWorkflow.participants)
        if archived:
            people = list(archived.state().participants.values())
        return await self.contacts.participants(project_id, people)

    async def events(
        self, project_id: str, after: int, limit: int, phase: Phase | None = None
    ) -> list[Any]:
        """Events after seq `after`: the current run's from the workflow, a long project's
        earlier ones from its segments; all of them from the archive once the project ended
        (`phase`, when the caller knows it) or Temporal forgot it."""
        archived = await self._archive_if_ended(project_id, phase) if phase else None
        if archived is None:
            live, archived = await self._query(
                project_id, ProjectWorkflow.events, EventsQuery(after=after, limit=limit)
            )
        if archived:
            return [x for x in archived.events() if x.seq > after][:limit]
        if live and live[0].seq == after + 1:
            return live
        try:
            past = await self.archivist.segment_events(
                project_id, after, live[0].seq if live else None
            )
        except OSError:
            raise _unavailable("the archive store could not be reached") from None
        return (past + live)[:limit]

    async def all_events(self, project_id: str) -> list[Any]:
        """Every event of a project not archived yet, in order (a provisional export)."""
        events: list[Any] = []
        while True:
            page = await self.events(project_id, events[-1].seq if events else 0, 1000)
            if not page:
                return events
            events += page

    async def cooperate(
        self,
        project_id: str,
        actor: cmd.Actor,
        answer: cmd.CooperationFields,
        update_id: str,
        key: str,
    ) -> ActionResult:
        """A partner's answer to the cooperation questionnaire: kept in the directory with no
        one's id (pending), then the project records that this partner answered; refused,
        the answer is dropped; recorded, the directory confirms as many answers as the project
        counts (a retry never counts twice, an answer left pending by a crash is not lost)."""
        directory = await self.contacts.directory()
        store = CooperationStore(directory)
        view = await self.view(project_id)
        scores = answer.model_dump(exclude={"comment"})
        answer_id = await store.add_pending(
            project_id, view.coordinator_organisation, scores, answer.comment
        )
        command = cmd.AnswerCooperation(actor=actor)
        try:
            result = await self.act(project_id, command, update_id, key)
        except ApiError as e:
            if 400 <= e.status < 500 and e.status != 202:
                await store.drop(answer_id)
            raise
        answered = len((await self.view(project_id)).cooperation_answered)
        await store.reconcile(project_id, answered)
        return result

    async def cooperation_figures(self, view: ProjectView) -> CooperationFigures:
        """What may be shown of a project's cooperation answers (from three)."""
        return await self.cooperation(view.id, len(view.cooperation_answered))

    async def report_facts(self, project_id: str, phase: Phase | None = None) -> ReportFacts:
        """What the report and the people's register say: from the archive once the project
        ended, else from the workflow."""
        archived = await self._archive_if_ended(project_id, phase) if phase else None
        if archived is None:
            facts, archived = await self._query(project_id, ProjectWorkflow.report_facts)
        return archived.facts() if archived else facts

    async def report(
        self, project_id: str, phase: Phase | None, language: str, printable: bool = False
    ) -> str:
        """The final report in this language, in Markdown (or its printable page): as
        archived once the project ended, else written now from the workflow's facts (the
        one renderer either way)."""
        archived = await self._archive_if_ended(project_id, phase) if phase else None
        if archived is not None and (text := archived.report(language, printable)) is not None:
            return text
        if archived:
            facts = archived.facts()
        else:
            facts = await self.report_facts(project_id)
            figures = await self.cooperation(project_id, facts.cooperation_answered)
            facts = facts.model_copy(update={"cooperation": figures})
        t = reader_of(facts, language)
        return printable_report(facts, t) if printable else report_markdown(facts, t)

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
                    segment_after_events=self.settings.segment_after_events,
                    mail_window_seconds=self.settings.mail_window_seconds,
                    mail_task_queue=self.settings.mail_task_queue
                    if self.settings.mail_worker
                    else None,
                    notify_retry_max_seconds=self.settings.notify_retry_max_seconds,
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
        self, project_id: str, command: cmd.Command, update_id: str, key: str
    ) -> ActionResult:
        """A partner's action, measured: its outcome and how long its answer took."""
        action = action_for(type(command)).update
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await self._act_with_contacts(project_id, command, update_id, key)
            outcome = "recorded"
            return result
        except ApiError as e:
            outcome = "pending" if e.status == 202 else "refused" if e.status < 500 else "failed"
            raise
        finally:
            self.metrics.actions.labels(action, outcome).inc()
            if outcome in ("recorded", "refused"):
                self.metrics.action_latency.labels(action).observe(time.perf_counter() - started)

    async def _act_with_contacts(
        self, project_id: str, command: cmd.Command, update_id: str, key: str
    ) -> ActionResult:
        # The directory first: what the workflow records has no one's contact details.
        prepared = await self.contacts.before(project_id, command, update_id)
        secret = {"webhook_secret": prepared.webhook_secret} if prepared.webhook_secret else {}
        if prepared.command is None:
            result = no_action_result(await self.view(project_id), prepared.contact_changed)
            return result.model_copy(update=secret)
        try:
            result = await self._committed(project_id, prepared.command, update_id, key)
        except ApiError as e:
            if prepared.written and 400 <= e.status < 500:
                await self.contacts.withdraw(project_id, update_id)  # refused: not a participant
            raise
        await self.contacts.after(project_id, prepared.command)
        return result.model_copy(update=secret)

    # -- group commit ------------------------------------------------------------------------

    async def _committed(
        self, project_id: str, command: cmd.Command, update_id: str, key: str
    ) -> ActionResult:
        """The action as Temporal recorded it. Each process sends at most
        `updates_in_flight_per_project` updates at once to a project; the actions that wait
        meanwhile go together in the next one (act_batch), as databases group commits. A lone
        action goes at once, as its own named update."""
        queue = self._queues.get(project_id)
        if queue is None:
            queue = self._queues[project_id] = _ProjectQueue()
        pending = _Pending(command, update_id, key, asyncio.get_running_loop().create_future())
        queue.waiting.append(pending)
        self._pump(project_id, queue)
        # Shielded: a client that goes away does not cancel what its neighbours wait for.
        return await asyncio.shield(pending.answer)

    def _pump(self, project_id: str, queue: _ProjectQueue) -> None:
        while queue.waiting and queue.in_flight < self.settings.updates_in_flight_per_project:
            taken = queue.waiting[:BATCH_MAX_ACTIONS]
            del queue.waiting[:BATCH_MAX_ACTIONS]
            queue.in_flight += 1
            task = asyncio.create_task(self._send(project_id, queue, taken))
            queue.tasks.add(task)
            task.add_done_callback(queue.tasks.discard)

    async def _send(self, project_id: str, queue: _ProjectQueue, taken: list[_Pending]) -> None:
        try:
            if len(taken) > 1:
                try:
                    results = await self._act_batch(project_id, taken)
                except _BatchRefused:
                    pass  # one of them is refused: each goes alone, and gets its own answer
                except _BatchPending:
                    for pending in taken:
                        pending.fail(await self._not_yet_recorded(project_id, pending.key))
                    return
                except Exception as e:
                    for pending in taken:
                        pending.fail(e)
                    return
                else:
                    for pending, result in zip(taken, results, strict=True):
                        try:
                            pending.succeed(temporal_client.checked(result, pending.command))
                        except temporal_client.ActionRefused as refused:
                            pending.fail(_refusal_error(refused))
                    return
            for pending in taken:
                try:
                    pending.succeed(
                        await self._act(project_id, pending.command, pending.update_id, pending.key)
                    )
                except Exception as e:
                    pending.fail(e)
        finally:
            queue.in_flight -= 1
            self._pump(project_id, queue)
            if not queue.waiting and queue.in_flight == 0:
                self._queues.pop(project_id, None)

    async def _act_batch(self, project_id: str, taken: list[_Pending]) -> list[ActionResult]:
        handle = await self.handle(project_id)
        batch = ActionBatch(
            actions=[
                BatchedAction(
                    key=p.update_id,
                    update=action_for(type(p.command)).update,
                    command=p.command.model_dump(mode="json"),
                )
                for p in taken
            ]
        )

        async def send() -> list[ActionResult]:
            try:
                return await handle.execute_update(
                    ProjectWorkflow.act_batch,
                    batch,
                    id=uuid.uuid4().hex,
                    result_type=list[ActionResult],
                    rpc_timeout=self.rpc_timeout,
                )
            except WorkflowUpdateFailedError:
                raise _BatchRefused() from None
            except RPCTimeoutOrCancelledError:
                raise _BatchPending() from None

        return await self._sent(project_id, send, "batch")

    async def _act(
        self, project_id: str, command: cmd.Command, update_id: str, key: str
    ) -> ActionResult:
        handle = await self.handle(project_id)

        async def send() -> ActionResult:
            try:
                return await temporal_client.execute_action(
                    handle, command, key=update_id, rpc_timeout=self.rpc_timeout
                )
            except RPCTimeoutOrCancelledError:
                # Temporal keeps an update no worker has taken yet: say so, and where to
                # follow it.
                raise await self._not_yet_recorded(project_id, key) from None
            except temporal_client.ActionRefused as refused:
                raise _refusal_error(refused) from None

        return await self._sent(project_id, send, "action")

    async def _sent(self, project_id: str, send: Callable[[], Awaitable[T]], what: str) -> T:
        """One update to the project (an action or a batch), sent again with jitter while
        Temporal says the project has too many updates in flight."""
        for attempt in range(BUSY_ATTEMPTS):
            async with self._errors(project_id):
                try:
                    return await send()
                except RPCError as e:
                    if e.status != RPCStatusCode.RESOURCE_EXHAUSTED or attempt == BUSY_ATTEMPTS - 1:
                        raise
                    log.info(f"project busy, {what} sent again", attempt=attempt + 1)
            await asyncio.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
        raise _unavailable("the project is too busy right now; your request was not recorded")

    async def _not_yet_recorded(self, project_id: str, key: str) -> ApiError:
        location = f"/projects/{project_id}/actions/{quote(key, safe='')}"
        if await self.worker_running():
            why = "your request was received but not yet recorded (the worker is slow)"
        else:
            why = (
                "no Alliance worker is running; your request was kept and will be recorded "
                "when it is back"
            )
        return ApiError(
            202,
            "not_yet_recorded",
            f"{why}. Follow {location} for its result; if that answers 404, send the action "
            "again with the same Idempotency-Key, which is always safe",
            headers={"Location": location, "Retry-After": RETRY_AFTER},
        )

    async def action_result(self, project_id: str, update_id: str, key: str) -> ActionResult:
        """An action's result by its update id: 200 once recorded, 202 while it waits for a
        worker, 404 when Temporal does not have it (never received, refused, or dropped by a
        server restart before a worker took it)."""
        handle = await self.handle(project_id)
        async with self._errors(project_id):
            try:
                return await handle.get_update_handle(update_id, result_type=ActionResult).result(
                    rpc_timeout=self.rpc_timeout
                )
            except WorkflowUpdateFailedError as e:
                refused = temporal_client.refusal(e)
                if refused is None:
                    raise
                raise _refusal_error(refused) from None
            except RPCTimeoutOrCancelledError:
                raise await self._not_yet_recorded(project_id, key) from None
            except RPCError as e:
                if e.status != RPCStatusCode.NOT_FOUND:
                    raise
            # Not in this run: maybe recorded before a continue-as-new (a worker must say).
            recent = await handle.query(
                ProjectWorkflow.recent_action, update_id, rpc_timeout=self.rpc_timeout
            )
        if recent is None:
            raise ApiError(
                404,
                "action_not_found",
                "Temporal has no record of this action: it was never received, was refused, or "
                "was lost with a server restart before a worker took it. Send the action again "
                "with the same Idempotency-Key: that is always safe, and it is recorded once",
            )
        return recent

    async def worker_running(self) -> bool:
        """Whether a worker polled the task queue lately (an idle worker polls at least every
        70 s; a stopped one stays listed with the time of its last poll)."""
        client = await self.client()
        try:
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=self.settings.task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                ),
                timeout=self.rpc_timeout,
            )
        except RPCError:
            return False
        now = datetime.now(UTC)
        return any(
            now - poller.last_access_time.ToDatetime(tzinfo=UTC) < self.settings.worker_seen_within
            for poller in described.pollers
        )


def _refusal_error(refused: temporal_client.ActionRefused) -> ApiError:
    if refused.code in _REVOKED:
        return ApiError(401, refused.code, refused.message, headers={"WWW-Authenticate": "Bearer"})
    # Not this role, or not among the open decision's approvers (the message says who is).
    if refused.code in ("not_allowed", "not_an_approver"):
        return ApiError(403, refused.code, refused.message)
    if refused.code == "idempotency_conflict":
        return ApiError(422, refused.code, refused.message)
    return ApiError(409, refused.code, refused.message)
