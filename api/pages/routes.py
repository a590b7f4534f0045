"""The participants' pages: a personal link, the project page, its forms, the report, the
accessibility statement.

A thin client of the same workflow updates and queries as the JSON API: a form POST takes the
same straight line (form → command → update with its validator → events → fold → page).
A GET never changes a project. Every action is a POST with a CSRF token.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, PackageLoader, select_autoescape
from markdown_it import MarkdownIt
from pydantic import ValidationError

from api.contacts import personal_data
from api.deps import update_id
from api.errors import ApiError
from api.gateway import ProjectGateway
from api.routes.charter_files import attachment
from api.routes.projects import archive_of, download, evaluation_closed, people_register_of
from archive import charter_file
from domain import commands as cmd
from domain.actions import role_refusal
from domain.cooperation import CooperationFigures
from domain.models import Role
from domain.report import charter_fact
from domain.views import ActionResult, PageData, ProjectView
from texts import charter as charter_texts
from texts import steps, words
from texts.diff import word_diff
from texts.glossary import Glosser
from texts.i18n import DEFAULT_LANGUAGE, LANGUAGES, Texts, texts
from texts.links import TokenSigner

from . import forms
from .sessions import PageSession, Visit

router = APIRouter(include_in_schema=False)
# The register's files on the pages, by name: for people's spreadsheets.
REGISTER_FORMATS = {"registre.csv": "excel", "registre.xlsx": "xlsx"}
STATIC = StaticFiles(directory=Path(__file__).parent / "static")

SESSION_COOKIE = "alliance_session"
LANGUAGE_COOKIE = "alliance_lang"
# The report is escaped Markdown (domain.views.md); raw HTML stays text all the same.
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")

templates = Environment(
    loader=PackageLoader("api.pages", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    # Templates ship with the code: checking their files' dates before every render was a
    # quarter of composing a message (py-spy).
    auto_reload=False,
)

# Pages carry a personal session: never cached (never sent on as a Referer, nor run what
# they did not load from us: api/headers.py, for every response).
PAGE_HEADERS = {"Cache-Control": "no-store"}


def _sessions(request: Request) -> URLSafeSerializer:
    secret = request.app.state.settings.token_secret.get_secret_value()
    return URLSafeSerializer(secret, salt="alliance-page-session")


def _gateway(request: Request) -> ProjectGateway:
    return request.app.state.gateway


def _language(request: Request, preferred: str | None) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else (preferred or DEFAULT_LANGUAGE)


def _secure(request: Request) -> bool:
    """Secure cookies, except over plain http on this machine's loopback (the local run).
    Always when Alliance is published over https (ALLIANCE_API_URL): in production a request
    that claims to come to localhost over http cannot unset it."""
    if request.app.state.settings.api_url.startswith("https://"):
        return True
    local = request.url.hostname in ("localhost", "127.0.0.1", "::1")
    return not (request.url.scheme == "http" and local)


def _render(
    request: Request, name: str, t: Texts, status: int = 200, **context: Any
) -> HTMLResponse:
    # Where the language switch comes back to: a page someone can GET.
    context.setdefault("here", request.url.path)
    # Links can be sent again by e-mail ("M'envoyer mon lien") when mail is on.
    context.setdefault("links_by_mail", request.app.state.settings.notifications == "email")
    body = templates.get_template(name).render(
        t=t, _=t.gettext, ngettext=t.ngettext, words=words, **context
    )
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def not_found_page(request: Request) -> HTMLResponse:
    return _render(request, "not_found.html", texts(_language(request, None), None), status=404)


def _link_gone(request: Request, t: Texts) -> HTMLResponse:
    return _render(request, "link_gone.html", t, status=403)


def _no_session(request: Request, t: Texts) -> HTMLResponse:
    """No session for this project in this browser (it closed, or never opened the link)."""
    return _render(request, "no_session.html", t, status=403)


# -- the personal link ---------------------------------------------------------------------


@router.get("/p/{token}")
async def personal_link(request: Request, token: str, answer: str | None = None) -> Response:
    """Exchanges the link's token for a session cookie and leaves the token out of the URL.
    Changes nothing in the project (mail scanners open links too)."""
    try:
        return await _personal_link(request, token, answer)
    except Unavailable as e:
        return _unavailable(request, e.error)


async def _personal_link(request: Request, token: str, answer: str | None) -> Response:
    signer: TokenSigner = request.app.state.authenticator.signer
    claims = signer.read(token)
    t = texts(_language(request, None), None)
    if claims is None:
        # Not a link Alliance made (cut short when copied, or mistyped): not "replaced".
        return _render(request, "link_invalid.html", t, status=404)
    try:
        request.app.state.link_limiter.use(claims)
    except ApiError as too_often:
        response = _render(request, "link_too_often.html", t, status=429)
        response.headers["Retry-After"] = (too_often.headers or {})["Retry-After"]
        return response
    data = await _page(request, claims.project_id, claims.participant_id)
    if data is None or not data.me.active or data.me.token_version != claims.version:
        if data is not None:
            t = texts(_language(request, data.me.language), data.me.time_zone)
        return _link_gone(request, t)
    session = PageSession(
        project_id=claims.project_id,
        participant_id=claims.participant_id,
        role=claims.role,
        version=claims.version,
        csrf=secrets.token_urlsafe(24),
    )
    target = f"/projets/{quote(claims.project_id)}"
    if answer in words.ANSWERS:
        # The charter is answered on its page, a decision on the project's.
        target += "/charte" if data.view.phase == "charter" else ""
        target += f"?reponse={answer}#repondre"
    response = RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)
    if request.cookies.get(LANGUAGE_COOKIE) not in LANGUAGES:
        # The participant's own language, for the pages outside its project too.
        response.set_cookie(
            LANGUAGE_COOKIE, data.me.language, path="/", samesite="lax", secure=_secure(request)
        )
    response.set_cookie(
        SESSION_COOKIE,
        _sessions(request).dumps(session.model_dump(mode="json")),
        path=f"/projets/{quote(claims.project_id)}",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


class Unavailable(Exception):
    """The project cannot be read now (Temporal or the worker): said on a page, not in JSON."""

    def __init__(self, error: ApiError) -> None:
        self.error = error


async def _page(request: Request, project_id: str, participant_id: str) -> PageData | None:
    try:
        return await _gateway(request).page(project_id, participant_id)
    except ApiError as e:
        if e.status == 404:
            return None
        raise Unavailable(e) from None


def _unavailable(request: Request, error: ApiError) -> HTMLResponse:
    t = texts(_language(request, None), None)
    response = _render(
        request, "unavailable.html", t, status=error.status, reason=words.refusal(t, error.code)
    )
    if error.headers and "Retry-After" in error.headers:
        response.headers["Retry-After"] = error.headers["Retry-After"]
    return response


async def _visit(request: Request, project_id: str) -> Visit | HTMLResponse:
    """The session of this browser for this project, checked against the project's state on
    every request: a removed participant or a re-sent link ends it."""
    try:
        return await _checked_visit(request, project_id)
    except Unavailable as e:
        return _unavailable(request, e.error)


async def _checked_visit(request: Request, project_id: str) -> Visit | HTMLResponse:
    raw = request.cookies.get(SESSION_COOKIE)
    t = texts(_language(request, None), None)
    if raw is None:
        return _no_session(request, t)
    try:
        session = PageSession.model_validate(_sessions(request).loads(raw))
    except (BadSignature, ValidationError):
        return _link_gone(request, t)
    if session.project_id != project_id:
        return _no_session(request, t)
    data = await _page(request, project_id, session.participant_id)
    if data is None or not data.me.active or data.me.token_version != session.version:
        if data is not None:  # told in the language the participant reads
            t = texts(_language(request, data.me.language), data.me.time_zone)
        response = _link_gone(request, t)
        response.delete_cookie(SESSION_COOKIE, path=f"/projets/{quote(project_id)}")
        return response
    t = texts(_language(request, data.me.language), data.me.time_zone)
    return Visit(session, data, t, await cooperation_of(request, data.view))


async def cooperation_of(request: Request, view: ProjectView) -> CooperationFigures | None:
    """The questionnaire's figures, once the evaluation is closed (none before: figures that
    move as people answer would tell who said what)."""
    if not evaluation_closed(view):
        return None
    return await _gateway(request).cooperation_figures(view)


# -- the project page ----------------------------------------------------------------------


@router.get("/projets/{project_id}")
async def project_page(
    request: Request,
    project_id: str,
    reponse: str | None = None,
    fait: str | None = None,
    recu: str | None = None,
) -> Response:
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    values: dict[str, Any] = {}
    if reponse in words.ANSWERS:
        values["answer"] = {"kind": reponse}  # ticked; the click still decides
    return _project(request, visit, values=values, done=fait, received=recu)


def _project(
    request: Request,
    visit: Visit,
    *,
    values: dict[str, Any] | None = None,
    errors: forms.Errors | None = None,
    done: str | None = None,
    received: str | None = None,
    status: int = 200,
    here: str | None = None,
    action_base: str | None = None,
    console: Any = None,
    webhook_secret: str | None = None,
) -> HTMLResponse:
    data, t = visit.data, visit.t
    return _render(
        request,
        "project.html",
        t,
        status=status,
        here=here or f"/projets/{quote(data.view.id)}",
        action_base=action_base or f"/projets/{quote(data.view.id)}",
        console=console,
        data=data,
        view=data.view,
        me=data.me,
        names=(names := {p.id: p.organisation_name for p in data.view.participants}),
        pending=[names.get(pid, pid) for pid in data.view.pending],
        expected=words.expected_of(t, data.view, data.me),
        closed_early=words.closed_early(t, data.view),
        timeline=words.timeline(t, data.view, data.events),
        # The project's own steps, and the open decision's approvals, in words.
        step_label=steps.step_label(t, data.view),
        project_steps=steps.step_lines(t, data.view),
        approvals=steps.approval_lines(t, data.view, data.me),
        one_approval=steps.one_approval(data.view),
        rule_origin=steps.rule_origin(t, data.view),
        decisions=steps.decision_summaries(t, data.view),
        standing=steps.standing_objections(data.view),
        word_diff=word_diff,
        judgement_in_words=steps.judgement_in_words,
        judgement_questions=words.JUDGEMENT_QUESTIONS.items(),
        judgements=words.JUDGEMENTS.items(),
        # A validated term's first use on the page links to its glossary entry.
        gloss=Glosser.of(
            data.view.glossary, (action_base or f"/projets/{quote(data.view.id)}") + "/glossaire"
        ),
        cooperation=visit.cooperation,
        questions=words.COOPERATION_QUESTIONS,
        scale=words.COOPERATION_SCALE,
        forms=forms.FORMS,
        values=values or {},
        errors=errors or forms.Errors(),
        done=done if done in forms.FORMS else None,
        received=received if received in forms.FORMS else None,
        csrf=visit.session.csrf,
        action_key=uuid.uuid4().hex,
        webhook_secret=webhook_secret,
    )


def glossary_page(
    request: Request,
    visit: Visit,
    *,
    action_base: str,
    console: bool = False,
    values: dict[str, Any] | None = None,
    errors: forms.Errors | None = None,
    done: str | None = None,
    status: int = 200,
    **_: Any,
) -> HTMLResponse:
    """The project's common language: its terms, their definitions and comments, and the
    forms to propose, comment, validate and merge."""
    data, t = visit.data, visit.t
    return _render(
        request,
        "glossary.html",
        t,
        status=status,
        here=f"{action_base}/glossaire",
        action_base=action_base,
        console=console,
        data=data,
        view=data.view,
        glossary=data.view.glossary,
        names={p.id: p.organisation_name for p in data.view.participants},
        gloss=Glosser.of(data.view.glossary, f"{action_base}/glossaire"),
        values=values or {},
        errors=errors or forms.Errors(),
        done=done if done in forms.GLOSSARY_FORMS else None,
        csrf=visit.session.csrf,
        action_key=uuid.uuid4().hex,
    )


@router.get("/projets/{project_id}/glossaire")
async def glossary(request: Request, project_id: str, fait: str | None = None) -> Response:
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return glossary_page(request, visit, action_base=f"/projets/{quote(project_id)}", done=fait)


def charter_page(
    request: Request,
    visit: Visit,
    *,
    action_base: str,
    console: bool = False,
    values: dict[str, Any] | None = None,
    errors: forms.Errors | None = None,
    done: str | None = None,
    status: int = 200,
    **_: Any,
) -> HTMLResponse:
    """The partnership charter: the version being answered (or in force), each section with
    its comments and proposed wordings, the answer form, the signatures and every version;
    the facilitator's form for the next version, from the latest one or the model."""
    data, t = visit.data, visit.t
    view = data.view
    names = {p.id: p.organisation_name for p in view.participants}
    document = charter_fact(view.charter, names)
    latest = view.charter.versions[-1] if view.charter.versions else None
    amending = view.phase != "charter"
    basis = view.charter.in_force if amending else latest
    return _render(
        request,
        "charter.html",
        t,
        status=status,
        here=f"{action_base}/charte",
        action_base=action_base,
        console=console,
        data=data,
        view=view,
        me=data.me,
        names=names,
        document=document,
        shown=document.shown if document else None,
        latest=latest,
        # The next version starts from the latest (an amendment from the charter in force),
        # or from the model in the project's language.
        draft=basis.sections
        if basis
        else charter_texts.model(view.language.value, view.title, view.territory),
        draft_governance=view.charter.governance
        if amending
        else (basis.governance if basis else None),
        section_titles=charter_texts.SECTION_TITLES,
        joining=charter_texts.JOINING,
        governance_in_words=charter_texts.governance_in_words,
        version_label=charter_texts.version_label,
        amended=view.charter.version(view.amendment.version) if view.amendment else None,
        approvals=steps.approval_lines(t, view, data.me, phase="charter"),
        gloss=Glosser.of(view.glossary, f"{action_base}/glossaire"),
        values=values or {},
        errors=errors or forms.Errors(),
        done=done if done in forms.FORMS else None,
        csrf=visit.session.csrf,
        action_key=uuid.uuid4().hex,
    )


@router.get("/projets/{project_id}/charte")
async def charter(
    request: Request, project_id: str, fait: str | None = None, reponse: str | None = None
) -> Response:
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    values = {"answer": {"kind": reponse}} if reponse in words.ANSWERS else {}
    return charter_page(
        request, visit, action_base=f"/projets/{quote(project_id)}", done=fait, values=values
    )


@router.get("/projets/{project_id}/charte.html")
async def printable_charter(request: Request, project_id: str, lang: str | None = None) -> Response:
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return charter_document(request, visit, lang)


@router.get("/projets/{project_id}/charte-signee")
async def agreed_charter_file(request: Request, project_id: str) -> Response:
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await agreed_charter_download(request, visit)


async def agreed_charter_download(request: Request, visit: Visit) -> Response:
    """The file of the charter agreed before the project, as it was sent."""
    view = visit.data.view
    agreed = view.charter.agreed
    if agreed is None or agreed.document is None:
        return _render(request, "not_found.html", visit.t, status=404)
    data = await charter_file.content(
        _gateway(request).archivist.store, view.coordinator_organisation, agreed.document.sha256
    )
    if data is None:
        return _unavailable(
            request, ApiError(503, "charter_file_unavailable", "the archive store is not reachable")
        )
    return Response(
        data,
        media_type=agreed.document.media_type,
        headers={"Content-Disposition": attachment(agreed.document.name)},
    )


def charter_document(request: Request, visit: Visit, lang: str | None) -> Response:
    """The charter as a page of its own, to print or save as PDF, in the project's language
    unless the reader asks for the other one."""
    view = visit.data.view
    names = {p.id: p.organisation_name for p in view.participants}
    document = charter_fact(view.charter, names)
    if document is None:
        return _render(request, "not_found.html", visit.t, status=404)
    language = lang if lang in LANGUAGES else view.language.value
    page = charter_texts.charter_printable(texts(language, view.time_zone), view.title, document)
    return HTMLResponse(page, headers=PAGE_HEADERS)


def page_of(update: str, view: ProjectView) -> str:
    """The page a form stands on, after the project's address: an answer during the charter
    step is given on the charter's page."""
    if update in forms.GLOSSARY_FORMS:
        return "/glossaire"
    if update in forms.CHARTER_FORMS or (update == "answer" and view.phase == "charter"):
        return "/charte"
    return ""


@router.post("/projets/{project_id}/{update}")
async def act(request: Request, project_id: str, update: str) -> Response:
    """One form, one action: the same update (and validator) as the JSON API."""
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await perform_form(
        request, visit, update, f"/projets/{quote(project_id)}", extra_check=_leaving_confirmed
    )


def _leaving_confirmed(update: str, values: dict[str, Any], t: Texts) -> forms.Errors | None:
    """Leaving the project is confirmed by ticking a box: a slip of the finger changes
    nothing (the link stops working at once)."""
    if update == "leave_project" and values.get("confirm") != "yes":
        anchor = forms.form_id(update, values)
        message = t.gettext("Tick the box to confirm.")
        return forms.Errors(update, anchor, [(message, f"{anchor}-error")], message=message)
    return None


# What the console adds after an action (the new personal links to show once).
AfterAction = Callable[[str, ActionResult, dict[str, Any], RedirectResponse], Awaitable[None]]


async def perform_form(
    request: Request,
    visit: Visit,
    update: str,
    base: str,
    *,
    console: Any = None,
    after: AfterAction | None = None,
    extra_check: Callable[[str, dict[str, Any], Texts], forms.Errors | None] | None = None,
) -> Response:
    """A posted form, as its page's participant (or the console's coordinator): CSRF, the
    table's say, the command's limits, then the update; the page again with what went wrong,
    or a redirect to it."""
    project_id = visit.session.project_id

    def again(**kw: Any) -> HTMLResponse:
        page = page_of(update, visit.data.view)
        if page == "/glossaire":
            return glossary_page(request, visit, action_base=base, console=bool(console), **kw)
        if page == "/charte":
            return charter_page(request, visit, action_base=base, console=bool(console), **kw)
        return _project(request, visit, here=base, action_base=base, console=console, **kw)

    form = await request.form()
    if not same_token(form, visit.session.csrf):
        # A forged or stale form: refused, nothing recorded.
        return _render(request, "refused.html", visit.t, status=403, here=base)
    spec = forms.FORMS.get(update)
    if spec is None:
        return _render(request, "not_found.html", visit.t, status=404)
    values = forms.values_of(form)
    anchor = forms.form_id(update, values)
    if update not in visit.data.actions:
        # Why not, in the table's words: this role never may, or not in this phase.
        action = next(a for a in forms.ACTIONS if a.update == update)
        code, status = "wrong_phase", 409
        if role_refusal(action, visit.data.me.role, None) is not None and not (
            action.vote and visit.data.facilitator_votes
        ):
            code, status = "not_allowed", 403
        errors = forms.Errors.refused(update, anchor, words.refusal(visit.t, code))
        return again(errors=errors, status=status)
    for check in (forms.charter_complete, extra_check):
        errors = check(update, values, visit.t) if check is not None else None
        if errors:
            return again(values={update: values}, errors=errors, status=422)
    actor = cmd.Actor(
        participant_id=visit.session.participant_id, token_version=visit.session.version
    )
    command_type = action_for_update(update)
    key = str(form.get("action_key") or uuid.uuid4().hex)
    try:
        if update == "answer_cooperation":
            # Its answer goes to the directory, anonymously; the project hears only that this
            # partner answered.
            answer = cmd.CooperationFields(**spec.fields(values, visit))
        else:
            command = command_type(actor=actor, **spec.fields(values, visit))
    except ValidationError as e:
        errors = forms.Errors.invalid(update, anchor, e, visit.t)
        return again(values={update: values}, errors=errors, status=422)
    try:
        if update == "answer_cooperation":
            result = await _gateway(request).cooperate(
                project_id, actor, answer, update_id(actor, key), key
            )
        else:
            result = await _gateway(request).act(project_id, command, update_id(actor, key), key)
    except ApiError as e:
        if e.status == 202:
            return _after(base, update, "recu", visit.data.view)
        if e.status == 401:
            return _link_gone(request, visit.t)
        errors = forms.Errors.refused(update, anchor, words.refusal(visit.t, e.code), e.code)
        return again(values={update: values}, errors=errors, status=e.status)
    if result.webhook_secret:
        # Shown this once, on this answer (never in a URL or a cookie); the page is read again
        # so it shows the new address.
        refreshed = await _checked_visit(request, project_id)
        if isinstance(refreshed, Visit):
            visit = refreshed
        return again(done=update, webhook_secret=result.webhook_secret)
    done = _after(base, update, "fait", visit.data.view)
    if update == "update_my_contact" and values.get("language") in LANGUAGES:
        # The browser follows the participant's new language.
        done.set_cookie(
            LANGUAGE_COOKIE, values["language"], path="/", samesite="lax", secure=_secure(request)
        )
    if after is not None:
        await after(update, result, values, done)
    return done


def same_token(form: Any, expected: str) -> bool:
    """The form's CSRF token is this session's (compared as bytes: any text, no timing)."""
    return hmac.compare_digest(str(form.get("csrf_token", "")).encode(), expected.encode())


def _after(base: str, update: str, what: str, view: ProjectView) -> RedirectResponse:
    anchor = forms.FORMS[update].anchor
    base += page_of(update, view)
    return RedirectResponse(
        f"{base}?{what}={update}#{anchor}", status_code=303, headers=PAGE_HEADERS
    )


def action_for_update(update: str) -> type[cmd.Command]:
    return next(a.command for a in forms.ACTIONS if a.update == update)


# -- the report, the language, the accessibility statement --------------------------------


@router.get("/projets/{project_id}/rapport")
async def report_page(request: Request, project_id: str, lang: str | None = None) -> Response:
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await render_report(request, visit, f"/projets/{quote(project_id)}", lang)


@router.get("/projets/{project_id}/rapport.html")
async def printable_report_page(
    request: Request, project_id: str, lang: str | None = None
) -> Response:
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await render_report(request, visit, "", lang, printable=True)


@router.get("/projets/{project_id}/mes-donnees")
async def my_data_page(request: Request, project_id: str) -> Response:
    """Everything Alliance holds about this participant, as a JSON file (right of access)."""
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    try:
        data = await personal_data(_gateway(request), project_id, visit.session.participant_id)
    except ApiError as e:
        return _unavailable(request, e)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json; charset=utf-8",
        headers={
            **PAGE_HEADERS,
            "Content-Disposition": f'attachment; filename="alliance-{project_id}-mes-donnees.json"',
        },
    )


@router.get("/projets/{project_id}/registre.{extension}")
async def decision_register_page(request: Request, project_id: str, extension: str) -> Response:
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await record_file(request, visit, f"registre.{extension}")


@router.get("/projets/{project_id}/archive.zip")
async def archive_page(request: Request, project_id: str) -> Response:
    visit = await _visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await record_file(request, visit, "archive.zip")


async def record_file(request: Request, visit: Visit, name: str) -> Response:
    """The decision register, for the reader's spreadsheet in their language and time zone
    (CSV or a workbook), or the archive (the coordinator's export before the end)."""
    gateway, view = _gateway(request), visit.data.view
    try:
        if name in REGISTER_FORMATS:
            response = await people_register_of(
                gateway, view.id, view, REGISTER_FORMATS[name], visit.t
            )
        elif name == "archive.zip":
            may_export = visit.data.me.role == Role.coordinator
            data, file_name = await archive_of(gateway, view.id, view, may_export)
            response = download(data, "application/zip", file_name)
        else:
            return _render(request, "not_found.html", visit.t, status=404)
    except ApiError as e:
        if e.status == 403:
            return _render(
                request, "refused.html", visit.t, status=403, here=f"/projets/{quote(view.id)}"
            )
        return _unavailable(request, e)
    response.headers.update(PAGE_HEADERS)
    return response


@router.get("/projets/{project_id}/{update}")
async def action_address(project_id: str, update: str) -> Response:
    """A refused form leaves its address in the bar: opening it again shows the page."""
    return RedirectResponse(f"/projets/{quote(project_id)}", status_code=303, headers=PAGE_HEADERS)


async def render_report(
    request: Request, visit: Visit, back: str, lang: str | None, printable: bool = False
) -> Response:
    """The final report, in the project's language unless the reader asks for the other one:
    within the site's pages, or as a page of its own to print on A4."""
    view = visit.data.view
    language = lang if lang in LANGUAGES else view.language.value
    markdown = None
    try:
        if view.report and printable:
            page = await _gateway(request).report(view.id, view.phase, language, printable=True)
            return HTMLResponse(page, headers=PAGE_HEADERS)
        if view.report:
            markdown = await _gateway(request).report(view.id, view.phase, language)
    except ApiError as e:
        return _unavailable(request, e)
    html = MARKDOWN.render(markdown) if markdown else None
    return _render(
        request, "report.html", visit.t, view=view, report_html=html, back=back,
        report_language=language, other_language="en" if language == "fr" else "fr",
    )  # fmt: skip


@router.get("/langue")
async def language(request: Request, vers: str = DEFAULT_LANGUAGE, retour: str = "/") -> Response:
    """Switches the pages' language for this browser (a preference, not a project change)."""
    if not retour.startswith("/") or retour.startswith("//"):
        retour = "/"
    response = RedirectResponse(retour, status_code=303, headers=PAGE_HEADERS)
    if vers in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, vers, path="/", samesite="lax", secure=_secure(request)
        )
    return response


@router.get("/accessibilite")
async def accessibility(request: Request) -> Response:
    return _render(request, "accessibility.html", texts(_language(request, None), None))
