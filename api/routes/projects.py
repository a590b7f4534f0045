"""Launch, list, follow, cancel: the coordinator's side, and reading for every participant."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.contacts import with_contacts, without_person
from api.deps import (
    AppSettings,
    CurrentCaller,
    Gateway,
    IdempotencyKey,
    Signer,
    readable_view,
    sees_contacts,
)
from api.errors import ERRORS, ApiError
from api.gateway import ProjectGateway
from api.schemas import (
    CharterOut,
    CooperationOut,
    EventsPage,
    LaunchResponse,
    Links,
    ParticipantToken,
    ProjectCreate,
    ProjectListItem,
    ProjectPage,
    SignatureOut,
)
from api.security import Caller, Coordinator
from archive import charter_file
from archive.archivist import zip_of
from archive.record import archive_files, register_from_events
from directory.templates import TemplateStore
from domain import commands as cmd
from domain.cooperation import CooperationFigures
from domain.fields import clean_line
from domain.models import GlossaryEntry, Language, Outcome, Phase, Role
from domain.project import Project, Rejected, spec_for
from domain.report import charter_fact
from domain.views import ProjectView
from domain.views import view as project_view
from process_templates.library import Library, UnknownTemplate
from settings import Settings
from texts.charter import charter_markdown, charter_printable
from texts.charter import model as charter_model
from texts.i18n import Texts, texts
from texts.links import ParticipantToken as Token
from texts.links import TokenSigner
from texts.register import register_csv, register_xlsx
from workflows import search_attributes as sa

router = APIRouter(prefix="/projects", tags=["projects"])


def _coordinator(caller: Caller, doing: str) -> Coordinator:
    if not isinstance(caller, Coordinator):
        raise ApiError(
            403,
            "not_allowed",
            f"only a coordinator credential (or, to list, an ops credential) may {doing}; a "
            "personal link acts only within its own project",
        )
    return caller


@router.post(
    "",
    status_code=201,
    response_model=LaunchResponse,
    responses=ERRORS,
    summary="Launch a project (coordinator credential)",
)
async def launch(
    body: ProjectCreate,
    caller: CurrentCaller,
    gateway: Gateway,
    signer: Signer,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> LaunchResponse:
    coordinator = _coordinator(caller, "launch a project")
    if coordinator.ops or coordinator.organisation_id is None:
        raise ApiError(
            403,
            "not_allowed",
            "only a coordinating organisation's credential may "
            "launch a project; ops credentials read",
        )
    return await launch_project(
        gateway, signer, settings, coordinator.organisation_id, body, idempotency_key
    )


async def launch_project(
    gateway: ProjectGateway,
    signer: TokenSigner,
    settings: Settings,
    organisation: str,
    body: cmd.LaunchFields,
    key: str | None,
) -> LaunchResponse:
    """Launch a project for a coordinating organisation: the JSON API's and the console's
    one way. The same key launches one project (a retried request, a double click)."""
    fingerprint = hashlib.sha256(body.model_dump_json().encode()).hexdigest()[:32]
    if key:
        # A retried launch finds the same project instead of starting a second one.
        project_id = hashlib.sha256(f"{organisation}\x00{key}".encode()).hexdigest()[:16]
    else:
        project_id = uuid.uuid4().hex[:16]
    launched_from = None
    if body.template is not None:
        directory = await gateway.contacts.directory()
        books = Library(TemplateStore(directory), organisation)
        try:
            launched_from = await books.launched(body.template.id, body.template.version)
        except UnknownTemplate as unknown:
            raise ApiError(422, "unknown_template", f"{unknown.field}: {unknown.message}") from None
    glossary = (
        await glossary_of(gateway, organisation, body.glossary_from) if body.glossary_from else []
    )
    agreed = body.charter_agreed
    document = (
        await charter_file.described(gateway.archivist.store, organisation, agreed.file.id)
        if agreed is not None and agreed.file is not None
        else None
    )
    try:
        spec = spec_for(
            body,
            project_id,
            organisation,
            settings.min_phase,
            template=launched_from,
            now=datetime.now(UTC),
            glossary=glossary,
            charter_document=document,
            max_delegations=settings.max_delegations,
            reopen_within=settings.reopen_within,
        )
    except Rejected as r:
        raise ApiError(422, r.code, f"{r.field}: {r.message}" if r.field else r.message) from None
    launched_at = datetime.now(UTC)
    # The directory first (a retried launch finds its rows); Temporal records no one's details.
    await gateway.contacts.launching(spec, write_key=f"launch-{project_id}")
    recorded = spec.model_copy(
        update={"participants": [without_person(p) for p in spec.participants]}
    )
    try:
        started = await gateway.launch(recorded, fingerprint, launched_at)
    except ApiError:
        if not key:  # nobody can retry this launch: its rows would be orphans
            await gateway.contacts.withdraw(project_id, f"launch-{project_id}")
        raise
    if started:
        # The same pure fold the workflow runs on its first task, from the same moment: the
        # same view, without a query round trip to a worker on the hot path of launching.
        view = project_view(Project.launch(recorded, launched_at).state)
    elif await gateway.launch_fingerprint(project_id) != fingerprint:
        raise ApiError(
            422,
            "idempotency_conflict",
            "this idempotency key was already used to launch a different project; use a new key",
        )
    else:
        view = await gateway.view(project_id)
    view = await gateway.named_view(view)
    tokens = [
        ParticipantToken(
            id=p.id,
            organisation_name=p.organisation_name,
            person_name=p.person_name,
            role=p.role,
            token=(token := signer.sign(project_id, p.id, p.role, p.token_version)),
            link=f"{settings.api_url}/p/{token}",
        )
        for p in spec.participants
    ]
    return LaunchResponse(
        project_id=project_id,
        view=view,
        participants=tokens,
        links=Links(
            api=f"{settings.api_url}/projects/{project_id}",
            ui=f"{settings.ui_url}/namespaces/{settings.namespace}/workflows/project-{project_id}",
        ),
    )


async def glossary_of(
    gateway: ProjectGateway, organisation: str, project_id: str
) -> list[GlossaryEntry]:
    """The validated terms of an earlier project of this organisation (running, or ended and
    archived), for a new project to start from."""
    refused = ApiError(
        422,
        "unknown_project",
        f"glossary_from: no project {project_id!r} of your organisation to take a glossary from",
    )
    try:
        view = await gateway.view(project_id)
    except ApiError as e:
        if e.status != 404:
            raise
        archived = await gateway.archived(project_id)
        if archived is None or archived.manifest.get("coordinator_organisation") != organisation:
            raise refused from None
        return archived.facts().glossary
    if view.coordinator_organisation != organisation:
        raise refused
    return (await gateway.report_facts(project_id, view.phase)).glossary


CONTACT_FIELDS = {"email", "webhook_url"}


def without_contacts(value: Any) -> Any:
    """Participants' contact details are for the coordinator: the log others read hides them,
    as the view does."""
    if isinstance(value, dict):
        return {
            k: ("(hidden)" if v is not None else None)
            if k in CONTACT_FIELDS
            else without_contacts(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [without_contacts(v) for v in value]
    return value


def public_event(event: dict[str, Any], sees_contacts: bool) -> dict[str, Any]:
    """An event as the API shows it: where the worker stored the report is no one's business
    (the report is served at /projects/{id}/report)."""
    if event["data"].get("type") == "report_published":
        event["data"].pop("location", None)
    return event if sees_contacts else without_contacts(event)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@router.get(
    "",
    response_model=ProjectPage,
    responses=ERRORS,
    summary="List projects through Temporal visibility, or with archived=true the archived "
    "ones from the archive's index (coordinator or ops credential)",
)
async def list_projects(
    caller: CurrentCaller,
    gateway: Gateway,
    phase: Phase | None = None,
    territory: Annotated[str | None, Query(max_length=200)] = None,
    outcome: Outcome | None = None,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
    page_token: Annotated[str | None, Query(max_length=4000)] = None,
    archived: bool = False,
) -> ProjectPage:
    coordinator = _coordinator(caller, "list projects")
    organisation = None if coordinator.ops else coordinator.organisation_id or ""
    if archived:
        return await archived_projects_of(gateway, organisation, outcome, page_size, page_token)
    return await list_projects_of(
        gateway, organisation, phase, territory, outcome, page_size, page_token
    )


async def list_projects_of(
    gateway: ProjectGateway,
    organisation: str | None,
    phase: Phase | None = None,
    territory: str | None = None,
    outcome: Outcome | None = None,
    page_size: int = 50,
    page_token: str | None = None,
) -> ProjectPage:
    """One page of an organisation's projects (None: every organisation's, for ops), from
    Temporal visibility: the JSON API's and the console's one way."""
    if territory is not None and clean_line(territory) != territory:
        # Territories are kept cleaned (no control character): none can match this one, and
        # Temporal's SQLite visibility fails on a NUL in a query.
        return ProjectPage(projects=[], next_page_token=None)
    clauses = ['WorkflowType = "ProjectWorkflow"']
    if organisation is not None:
        clauses.append(f"{sa.COORDINATOR.name} = {_quoted(organisation)}")
    if phase:
        clauses.append(f"{sa.PHASE.name} = {_quoted(phase.value)}")
    if territory:
        clauses.append(f"{sa.TERRITORY.name} = {_quoted(territory)}")
    if outcome:
        clauses.append(f"{sa.OUTCOME.name} = {_quoted(outcome.value)}")
    executions, following = await gateway.list(" AND ".join(clauses), page_size, page_token)
    items = []
    for e in executions:
        attrs = e.typed_search_attributes
        memo = await e.memo()
        items.append(
            ProjectListItem(
                id=e.id.removeprefix("project-"),
                title=memo.get("title"),
                status=e.status.name.lower() if e.status else "unknown",
                phase=attrs.get(sa.PHASE),
                territory=attrs.get(sa.TERRITORY),
                round=attrs.get(sa.ROUND),
                deadline=attrs.get(sa.DEADLINE),
                pending=attrs.get(sa.PENDING),
                outcome=attrs.get(sa.OUTCOME),
            )
        )
    return ProjectPage(projects=items, next_page_token=following)


async def archived_projects_of(
    gateway: ProjectGateway,
    organisation: str | None,
    outcome: Outcome | None = None,
    page_size: int = 50,
    page_token: str | None = None,
) -> ProjectPage:
    """One page of an organisation's archived projects, latest closed first, from the
    archive's index: Temporal may have forgotten them."""
    start = 0
    if page_token:
        if not page_token.startswith("archived-") or not page_token[9:].isdigit():
            raise ApiError(
                422, "bad_page_token", "page_token is not one this API gave for this listing"
            )
        start = int(page_token[9:])
    try:
        entries = await gateway.archivist.listed(organisation)
    except OSError:
        raise ApiError(
            503, "archive_unavailable", "the archive store could not be reached; try again",
            headers={"Retry-After": "5"},
        ) from None  # fmt: skip
    if outcome:
        entries = [e for e in entries if e.get("outcome") == outcome.value]
    shown = entries[start : start + page_size]
    following = start + page_size
    return ProjectPage(
        projects=[
            ProjectListItem(
                id=e["project_id"],
                title=e.get("title"),
                status="archived",
                phase=e.get("phase"),
                territory=None,
                round=None,
                deadline=None,
                pending=None,
                outcome=e.get("outcome"),
                closed_at=e.get("closed_at"),
            )
            for e in shown
        ],
        next_page_token=f"archived-{following}" if following < len(entries) else None,
    )


ENDED = (Phase.closed, Phase.cancelled)


@router.get(
    "/{project_id}",
    response_model=ProjectView,
    responses=ERRORS,
    summary="The project's state view (any participant of it, its coordinator)",
)
async def get_project(project_id: str, caller: CurrentCaller, gateway: Gateway) -> ProjectView:
    return await gateway.named_view(await readable_view(gateway, caller, project_id))


@router.get(
    "/{project_id}/events",
    response_model=EventsPage,
    responses=ERRORS,
    summary="The project's domain events after seq N",
)
async def get_events(
    project_id: str,
    caller: CurrentCaller,
    gateway: Gateway,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventsPage:
    view = await readable_view(gateway, caller, project_id)
    events = await gateway.events(project_id, after, limit, view.phase)
    coordinator = sees_contacts(caller)
    contacts = await gateway.contacts.of(project_id) if coordinator else {}
    return EventsPage(
        events=[
            public_event(with_contacts(e.model_dump(mode="json"), contacts), coordinator)
            for e in events
        ],
        next_after=events[-1].seq if events else after,
    )


def evaluation_closed(view: ProjectView) -> bool:
    """The questionnaire's figures are shown once its step closed: no answer can then be
    guessed from the figures moving after someone answered."""
    return view.phase in ENDED or any(
        p.phase == Phase.evaluation and p.closed_at is not None for p in view.periods
    )


def cooperation_out(answered: int, figures: CooperationFigures | None) -> CooperationOut:
    if figures is None:
        return CooperationOut(answered=answered, shown=False, not_shown_because="evaluation_open")
    if not figures.shown:
        return CooperationOut(
            answered=figures.answers, shown=False, not_shown_because="fewer_than_three"
        )
    return CooperationOut(
        answered=figures.answers, shown=True, means=figures.means, comments=figures.comments
    )


@router.get(
    "/{project_id}/cooperation",
    response_model=CooperationOut,
    responses=ERRORS,
    summary="The cooperation questionnaire's figures, anonymous: shown once the evaluation is "
    "closed and from three answers (participants, the coordinator)",
)
async def cooperation(project_id: str, caller: CurrentCaller, gateway: Gateway) -> CooperationOut:
    view = await readable_view(gateway, caller, project_id)
    if not evaluation_closed(view):
        return cooperation_out(len(view.cooperation_answered), None)
    return cooperation_out(0, await gateway.cooperation_figures(view))


@router.get(
    "/{project_id}/charter",
    responses={
        **ERRORS,
        200: {"content": {"application/json": {}, "text/markdown": {}, "text/html": {}}},
    },
    summary="The partnership charter: its versions, notes, adoption and signatures (JSON); "
    "?format=md for the document in Markdown, ?format=html for a page to print on A4, in the "
    "project's language (?lang= for the other)",
)
async def get_charter(
    project_id: str,
    caller: CurrentCaller,
    gateway: Gateway,
    format: Literal["json", "md", "html"] = "json",
    lang: Language | None = None,
) -> Response:
    view = await readable_view(gateway, caller, project_id)
    language = (lang or view.language).value
    names = {p.id: p.organisation_name for p in view.participants}
    if format != "json":
        document = charter_fact(view.charter, names)
        if document is None:
            raise ApiError(
                409,
                "no_charter_yet",
                "no version of the charter is published yet: the facilitator writes the first "
                "one during the charter step",
            )
        t = texts(language, view.time_zone)
        if format == "html":
            page = charter_printable(t, view.title, document)
            return Response(page, media_type="text/html; charset=utf-8")
        markdown = charter_markdown(t, view.title, document)
        return PlainTextResponse(markdown, media_type="text/markdown; charset=utf-8")
    return JSONResponse(charter_out(view, language).model_dump(mode="json"))


def charter_out(view: ProjectView, language: str) -> CharterOut:
    charter = view.charter
    names = {p.id: p.organisation_name for p in view.participants}
    return CharterOut(
        project_id=view.id,
        step_open=view.phase == Phase.charter and view.phase_open,
        awaiting_version=view.phase == Phase.charter and view.charter_awaiting,
        objections_to_answer=view.charter_objections,
        versions=charter.versions,
        notes=charter.notes,
        adopted=charter.adopted,
        adopted_at=charter.adopted_at,
        signatures=[
            SignatureOut(participant_id=pid, organisation=names.get(pid, pid), at=at)
            for pid, at in sorted(charter.signatures.items(), key=lambda s: s[1])
        ],
        governance_in_force=charter.governance,
        agreed=charter.agreed,
        model=charter_model(language, view.title, view.territory),
    )


@router.get(
    "/{project_id}/report",
    responses={
        **ERRORS,
        200: {"content": {"application/json": {}, "text/markdown": {}, "text/html": {}}},
    },
    summary="The final report once the project is closed, in the project's language "
    "(?lang=fr or ?lang=en for the other; ?format=md for Markdown, ?format=html for a page "
    "to print on A4); from the archive once it is written",
)
async def get_report(
    project_id: str,
    caller: CurrentCaller,
    gateway: Gateway,
    format: Literal["json", "md", "html"] = "json",
    lang: Language | None = None,
) -> Response:
    view = await readable_view(gateway, caller, project_id)
    if view.report is None:
        raise ApiError(
            409,
            "no_report_yet",
            f"the report is published when the project closes "
            f"after its evaluation; the project is in {view.phase.value}",
        )
    language = (lang or view.language).value
    if format == "html":
        page = await gateway.report(project_id, view.phase, language, printable=True)
        return Response(page, media_type="text/html; charset=utf-8")
    markdown = await gateway.report(project_id, view.phase, language)
    if format == "md":
        return PlainTextResponse(markdown, media_type="text/markdown; charset=utf-8")
    return JSONResponse(
        {
            "project_id": project_id,
            "title": view.title,
            "outcome": view.outcome,
            "decisions": [d.model_dump(mode="json") for d in view.decisions],
            "results": [r.model_dump(mode="json") for r in view.results],
            "digest": view.report.digest,
            "language": language,
            "markdown": markdown,
        }
    )


async def decision_register_of(
    gateway: ProjectGateway, project_id: str, view: ProjectView
) -> bytes:
    """The decision register: as archived once the project ended, else from its events."""
    archived = await gateway.archived(project_id) if view.phase in ENDED else None
    if archived:
        return archived.files["decisions.csv"]
    return register_from_events(await gateway.all_events(project_id))


async def archive_of(
    gateway: ProjectGateway, project_id: str, view: ProjectView, may_export: bool
) -> tuple[bytes, str]:
    """The archive as a zip once written; before that, for the coordinator, an export of the
    same files marked provisional (read from the project, which is not disturbed)."""
    archived = await gateway.archived(project_id) if view.phase in ENDED else None
    if archived:
        return archived.zip(), f"alliance-{project_id}.zip"
    if not may_export:
        raise ApiError(
            403,
            "not_allowed",
            "only the project's coordinator can export it before it ends; its archive is open "
            "to every participant once written",
        )
    events = await gateway.all_events(project_id)
    files = archive_files(
        events,
        provisional=True,
        charter_document=await gateway.archivist.charter_document(events),
    )
    return zip_of(files, None), f"alliance-{project_id}-provisoire.zip"


def download(data: bytes, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The people's register's file name, by language.
REGISTER_NAMES = {"fr": "registre", "en": "register"}


async def people_register_of(
    gateway: ProjectGateway, project_id: str, view: ProjectView, format: str, t: Texts
) -> Response:
    """The register for people's spreadsheets, in the reader's language and time zone: CSV
    (`excel`) or a workbook (`xlsx`, built now: openpyxl stamps the time into the file)."""
    facts = await gateway.report_facts(project_id, view.phase)
    name = f"{REGISTER_NAMES[t.language]}-{project_id}"
    if format == "xlsx":
        return download(register_xlsx(facts, t), XLSX, f"{name}.xlsx")
    return download(register_csv(facts, t), "text/csv; charset=utf-8", f"{name}.csv")


@router.get(
    "/{project_id}/decisions",
    responses={**ERRORS, 200: {"content": {"text/csv": {}, XLSX: {}}}},
    summary="The decision register: each decision, each objection with the next round's "
    "answer, the outcome stated (from the archive once the project ended). As CSV for "
    "programs by default (as 1.0 wrote it); ?format=excel for people's spreadsheets (French: "
    "';', a BOM, local dates, words), ?format=xlsx as a workbook; ?lang= for the other "
    "language",
)
async def get_decision_register(
    project_id: str,
    caller: CurrentCaller,
    gateway: Gateway,
    format: Literal["csv", "excel", "xlsx"] = "csv",
    lang: Language | None = None,
) -> Response:
    view = await readable_view(gateway, caller, project_id)
    if format == "csv":
        register = await decision_register_of(gateway, project_id, view)
        return download(register, "text/csv; charset=utf-8", f"decisions-{project_id}.csv")
    t = texts((lang or view.language).value, view.time_zone)
    return await people_register_of(gateway, project_id, view, format, t)


@router.get(
    "/{project_id}/archive",
    responses={**ERRORS, 200: {"content": {"application/zip": {}}}},
    summary="The project's archive as a zip: events, final state, report, decision register "
    "and manifest. Before it ends, the coordinator's export of the same files, marked "
    "provisional",
)
async def get_archive(project_id: str, caller: CurrentCaller, gateway: Gateway) -> Response:
    view = await readable_view(gateway, caller, project_id)
    data, name = await archive_of(gateway, project_id, view, _coordinates(caller))
    return download(data, "application/zip", name)


def _coordinates(caller: Caller) -> bool:
    if isinstance(caller, Coordinator):
        return True
    return isinstance(caller, Token) and caller.role == Role.coordinator
