"""The coordinator's console: sign-in with the organisation's credential, its projects, the
launch form, and each project's page with what only the coordinator may do and see.

The same templates, sessions and action table as the participants' pages; every action goes
through the same `perform_form` as theirs, as the project's coordinator participant.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from api.deps import coordinator_of
from api.errors import ApiError
from api.routes.projects import archived_projects_of, launch_project, list_projects_of
from archive import charter_file
from directory.cooperation import CooperationStore
from directory.templates import TemplateStore
from domain import commands as cmd
from domain import templates as process
from domain.commands import alliance_problems
from domain.models import CHARTER_FILE_LIMIT, Participant, Phase, Role, Step, Template
from domain.project import short_phases
from process_templates.library import Library
from texts import process_words, words
from texts.charter import JOINING
from texts.i18n import Texts, texts

from . import forms
from .routes import (
    PAGE_HEADERS,
    Unavailable,
    _gateway,
    _language,
    _page,
    _project,
    _render,
    _secure,
    _unavailable,
    agreed_charter_download,
    charter_document,
    charter_page,
    cooperation_of,
    glossary_page,
    perform_form,
    record_file,
    render_report,
    same_token,
)
from .sessions import PageSession, Visit

router = APIRouter(include_in_schema=False)
log = logging.getLogger("alliance.console")

CONSOLE_COOKIE = "alliance_console"
SIGN_IN_COOKIE = "alliance_signin"
LINKS_COOKIE = "alliance_links"
# Sign-in attempts: at most this many failures per address and per organisation in a window.
MAX_FAILURES = 5
WINDOW_SECONDS = 60.0
# A console session ends after a working day: a shared computer left signed in is not
# signed in for ever (the coordinator signs in again, and lands back on the page asked for).
CONSOLE_SESSION_SECONDS = 12 * 3600

PRESETS: dict[str, dict[str, Any]] = {
    "consent": {"rule": "consent", "quorum": 50, "max_rounds": 2, "days": 21},
    "majority": {"rule": "majority", "quorum": 50, "max_rounds": 3, "days": 14},
    "consensus": {"rule": "consensus", "quorum": 50, "max_rounds": 3, "days": 21},
}
PRESET_NAMES = {
    "consent": words.N_("Consent, 2 rounds, 3 weeks per phase"),
    "majority": words.N_("Majority with a quorum of half"),
    "consensus": words.N_("Consensus"),
}
PHASES = ("diagnosis", "co_design", "decision", "action", "evaluation")
# The template the launch form offers first: its latest version (2: the charter first).
DEFAULT_TEMPLATE = process.DEFAULT_TEMPLATE
# Co-construction as 1.x ran it (version 1, no charter), tuned by the process settings below:
# what a launch naming no template runs.
SETTINGS_OFFER = "co-construction-1"
# The phases that may close before their deadline once everyone expected has acted, and the
# launch form's words for that choice (co-design closes by its plan; nobody acts in action).
CLOSE_EARLY = {
    "diagnosis": words.N_("Close the diagnosis as soon as every partner has contributed"),
    "decision": words.N_("Close the decision as soon as every voter has answered"),
    "evaluation": words.N_(
        "Close the evaluation as soon as every partner has assessed and the facilitator has concluded"
    ),
}
ROW_FIELDS = (
    "organisation_name",
    "organisation_kind",
    "role",
    "person_name",
    "email",
    "language",
    "time_zone",
    "time_zone_other",
)


class ConsoleSession(BaseModel):
    organisation_id: str
    csrf: str


class SignInLimiter:
    """Failed sign-ins per address and per organisation, over a sliding minute. Kept in this
    process: several API processes each count their own."""

    def __init__(self, most: int = MAX_FAILURES, window: float = WINDOW_SECONDS) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self.most = most
        self.window = window

    def wait(self, *keys: str) -> int:
        """Seconds to wait before another attempt (0: go ahead)."""
        now = time.monotonic()
        longest = 0.0
        for key in keys:
            failures = self._failures.get(key)
            if failures is None:
                continue
            while failures and now - failures[0] > self.window:
                failures.popleft()
            if not failures:
                del self._failures[key]  # only keys with recent attempts are kept
                continue
            if len(failures) >= self.most:
                longest = max(longest, self.window - (now - failures[0]))
        return int(longest) + 1 if longest else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        if len(self._failures) > 10_000:  # many keys (made-up addresses): forget stale ones
            for stale in [
                k for k, f in self._failures.items() if not f or now - f[-1] > self.window
            ]:
                del self._failures[stale]
        for key in keys:
            self._failures[key].append(now)


def _signer(request: Request, salt: str) -> URLSafeSerializer:
    secret = request.app.state.settings.token_secret.get_secret_value()
    return URLSafeSerializer(secret, salt=salt)


def _limiter(request: Request) -> SignInLimiter:
    state = request.app.state
    if not hasattr(state, "sign_in_limiter"):
        state.sign_in_limiter = SignInLimiter()
    return state.sign_in_limiter


def _t(request: Request) -> Texts:
    return texts(_language(request, None), None)


def _session(request: Request) -> ConsoleSession | None:
    raw = request.cookies.get(CONSOLE_COOKIE)
    if raw is None:
        return None
    try:
        return ConsoleSession.model_validate(
            _console_signer(request).loads(raw, max_age=CONSOLE_SESSION_SECONDS)
        )
    except (BadSignature, ValidationError):  # SignatureExpired is one: signed in too long ago
        return None


def _whole_number(text: str | None, otherwise: int) -> int:
    """A count typed in a form, or `otherwise` for anything that is not one."""
    try:
        return int(text or otherwise)
    except ValueError:
        return otherwise


def _console_signer(request: Request) -> URLSafeTimedSerializer:
    secret = request.app.state.settings.token_secret.get_secret_value()
    return URLSafeTimedSerializer(secret, salt="alliance-console-timed")


def _to_sign_in(request: Request | None = None) -> RedirectResponse:
    """To the sign-in, which leads back to this console page afterwards."""
    target = "/connexion"
    if request is not None and request.method == "GET" and request.url.path != "/console":
        target += f"?suite={quote(request.url.path)}"
    return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)


def _next_page(value: str) -> str:
    """Only a console page of this site (never //elsewhere)."""
    if value.startswith("/console") and "//" not in value and "\\" not in value:
        return value
    return "/console"


# -- the front page, signing in and out ------------------------------------------------------


@router.get("/")
async def front_page(request: Request) -> Response:
    return _render(request, "front.html", _t(request))


@router.get("/connexion")
async def sign_in_page(request: Request, suite: str = "/console") -> Response:
    return _sign_in_form(request, _t(request), next_page=_next_page(suite))


def _sign_in_form(
    request: Request,
    t: Texts,
    error: str | None = None,
    organisation: str = "",
    status: int = 200,
    next_page: str = "/console",
) -> HTMLResponse:
    return with_nonce(
        request,
        "sign_in.html",
        t,
        status=status,
        error=error,
        organisation=organisation,
        next_page=next_page,
        mail=request.app.state.settings.notifications == "email",
    )


def with_nonce(
    request: Request, template: str, t: Texts, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page whose forms are sent before any session: a nonce in a signed cookie and in each
    form (double submit)."""
    nonce = secrets.token_urlsafe(24)
    response = _render(request, template, t, status=status, csrf=nonce, **context)
    response.set_cookie(
        SIGN_IN_COOKIE,
        _signer(request, "alliance-signin").dumps(nonce),
        path="/connexion",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return response


def nonce_matches(request: Request, form: Any) -> bool:
    try:
        nonce = _signer(request, "alliance-signin").loads(request.cookies.get(SIGN_IN_COOKIE, ""))
    except BadSignature:
        return False
    return bool(nonce) and same_token(form, str(nonce))


@router.post("/connexion")
async def sign_in(request: Request) -> Response:
    t = _t(request)
    form = await request.form()
    organisation = str(form.get("organisation", "")).strip()
    credential = str(form.get("credential", "")).strip()
    next_page = _next_page(str(form.get("suite", "/console")))
    if not nonce_matches(request, form):
        return _render(request, "refused.html", t, status=403, here="/connexion")
    address = request.client.host if request.client else "unknown"
    limiter = _limiter(request)
    keys = (f"address:{address}", f"organisation:{organisation.lower()}")
    wait = limiter.wait(*keys)
    if wait:
        message = t.ngettext(
            "Too many attempts: try again in %(num)s second.",
            "Too many attempts: try again in %(num)s seconds.",
            wait,
        )
        return _sign_in_form(request, t, message, organisation, status=429, next_page=next_page)
    if not organisation or not credential:
        message = t.gettext("Write your organisation's identifier and its access key.")
        return _sign_in_form(request, t, message, organisation, status=422, next_page=next_page)
    known: dict[str, str] = request.app.state.settings.coordinator_credentials
    matches = any(
        hmac.compare_digest(candidate.encode(), credential.encode()) and org == organisation
        for candidate, org in known.items()
    )
    if not matches:
        limiter.failed(*keys)
        # Logged without the credential.
        log.warning(
            "console sign-in refused", extra={"organisation": organisation, "address": address}
        )
        message = t.gettext("This organisation and access key do not match.")
        return _sign_in_form(request, t, message, organisation, status=401, next_page=next_page)
    return signed_in(request, organisation, next_page)


def signed_in(request: Request, organisation: str, next_page: str = "/console") -> Response:
    """A console session for this organisation, then on to the page asked for."""
    session = ConsoleSession(organisation_id=organisation, csrf=secrets.token_urlsafe(24))
    response = RedirectResponse(next_page, status_code=303, headers=PAGE_HEADERS)
    response.set_cookie(
        CONSOLE_COOKIE,
        _console_signer(request).dumps(session.model_dump()),
        path="/",
        max_age=CONSOLE_SESSION_SECONDS,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/connexion")
    return response


@router.post("/deconnexion")
async def sign_out(request: Request) -> Response:
    session = _session(request)
    form = await request.form()
    if session is None or not same_token(form, session.csrf):
        return _render(request, "refused.html", _t(request), status=403, here="/")
    response = RedirectResponse("/", status_code=303, headers=PAGE_HEADERS)
    response.delete_cookie(CONSOLE_COOKIE, path="/")
    return response


# -- the organisation's projects --------------------------------------------------------------


@router.get("/console")
async def projects(
    request: Request,
    phase: str | None = None,
    territoire: str | None = None,
    page: str | None = None,
) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    t = _t(request)
    chosen = Phase(phase) if phase in Phase.__members__ else None
    try:
        listing = await list_projects_of(
            _gateway(request),
            session.organisation_id,
            chosen,
            (territoire or "").strip() or None,
            page_size=20,
            page_token=page or None,
        )
    except ApiError as e:
        if e.status == 422:  # a page token from another listing: start again
            return RedirectResponse("/console", status_code=303, headers=PAGE_HEADERS)
        return _unavailable(request, e)
    try:
        archived = await archived_projects_of(
            _gateway(request), session.organisation_id, page_size=50
        )
    except ApiError:
        archived = None  # the store is down: the running projects still show
    directory = await _gateway(request).contacts.directory()
    cooperation = await CooperationStore(directory).organisation_figures(session.organisation_id)
    return _render(
        request,
        "console_projects.html",
        t,
        session=session,
        csrf=session.csrf,
        listing=listing,
        archived=archived,
        cooperation=cooperation,
        questions=words.COOPERATION_QUESTIONS,
        phase=chosen.value if chosen else "",
        territory=territoire or "",
        now=_now(),
    )


def _now() -> datetime:
    return datetime.now(UTC)


# -- launching ------------------------------------------------------------------------------


async def library_of(request: Request, session: ConsoleSession) -> Library:
    """The templates this organisation may launch from: built in, then its own."""
    directory = await _gateway(request).contacts.directory()
    return Library(TemplateStore(directory), session.organisation_id)


@dataclass
class StepOffer:
    """A step of a template offered on the launch form, in words, with its duration field."""

    step: Step
    title: str
    kind: str | None
    # The element standing for the step (its errors), and its days field (none: a pause
    # until a date).
    block: str
    field: str | None
    days: str
    length: str
    # (element id, the approval in one sentence).
    approvals: list[tuple[str, str]]
    loop: str | None


@dataclass
class Offer:
    """A template the launch form offers: its words, and its steps (co-construction's are the
    process settings)."""

    id: str
    version: int
    builtin: bool
    name: str
    description: str
    line: str
    template: Template
    steps: list[StepOffer]

    def step_of(self, step_id: str) -> StepOffer | None:
        return next((s for s in self.steps if s.step.id == step_id), None)


def _offer(t: Texts, template: Template, builtin: bool) -> Offer:
    steps = []
    for n, step in enumerate(template.steps):
        block = f"step-{template.id}-{n}"
        until = step.kind == Phase.wait and step.until is not None
        lines = process_words.approvals(t, step)
        steps.append(
            StepOffer(
                step=step,
                title=process_words.step_title(t, step),
                kind=process_words.kind_beside(t, step),
                block=block,
                field=None if until else f"d-{template.id}-{n}",
                days=process_words.days_typed(t, step.duration),
                length=process_words.step_length(t, step),
                approvals=[(f"{block}-a{m}", a.line) for m, a in enumerate(lines)],
                loop=process_words.loop(t, template, step)
                if step.kind in (Phase.decision, Phase.charter, Phase.review)
                else None,
            )
        )
    return Offer(
        id=template.id,
        version=template.version,
        builtin=builtin,
        name=template.name.said_in(t.language),
        description=template.description.said_in(t.language),
        line=process_words.steps_in_a_line(t, template.steps),
        template=template,
        steps=steps,
    )


async def _offers(request: Request, session: ConsoleSession, launch: LaunchForm) -> list[Offer]:
    """Every template to launch from, each at the version the form showed (its latest the
    first time), in the reader's words."""
    t = _t(request)
    books = await library_of(request, session)
    offers = []
    for summary in await books.list():
        shown = str(launch.values.get(f"version-{summary.id}", ""))
        found = None
        if shown.isdigit() and int(shown) != summary.version:
            found = await books.version(summary.id, int(shown))
        found = found or await books.version(summary.id, summary.version)
        if found is not None:
            offers.append(_offer(t, found.template, summary.builtin))
    # After the built-in templates: co-construction as 1.x ran it, tuned by its settings.
    legacy = _offer(t, process.co_construction(), True)
    legacy.id = SETTINGS_OFFER
    legacy.name = t.gettext("Co-construction without a charter (version 1)")
    legacy.description = t.gettext(
        "The five phases as in earlier versions, without a partnership charter: the decision rule and each phase's length are set below."
    )
    builtins = sum(1 for o in offers if o.builtin)
    return [*offers[:builtins], legacy, *offers[builtins:]]


@dataclass
class LaunchForm:
    """The launch form as typed: kept whole when something is refused."""

    values: dict[str, Any]
    rows: int
    key: str
    # The rows sent (blank ones are left out): a refusal about the i-th participant sent
    # stands beside row kept[i] of the form.
    kept: list[int] = field(default_factory=list)

    @classmethod
    def blank(cls, template: str = DEFAULT_TEMPLATE) -> LaunchForm:
        values: dict[str, Any] = {
            "language": "fr",
            "time_zone": "Europe/Paris",
            "preset": "consent",
            "template": template,
        }
        values.update({f"{phase}-early": "yes" for phase in CLOSE_EARLY})
        values.update(_preset_values("consent"))
        rows = [("coordinator", "association"), ("facilitator", "other"), ("partner", "other")]
        for n, (role, kind) in enumerate(rows):
            values[f"p{n}-role"] = role
            values[f"p{n}-organisation_kind"] = kind
            values[f"p{n}-language"] = "fr"
            values[f"p{n}-time_zone"] = "Europe/Paris"
        return cls(values, len(rows), uuid.uuid4().hex)

    @property
    def template(self) -> str:
        return str(self.values.get("template") or DEFAULT_TEMPLATE)


def _preset_values(name: str) -> dict[str, Any]:
    preset = PRESETS.get(name, PRESETS["consent"])
    values = {
        "rule": preset["rule"],
        "quorum": str(preset["quorum"]),
        "max_rounds": str(preset["max_rounds"]),
    }
    for phase in PHASES:
        values[f"{phase}-days"] = "0" if phase == "action" else str(preset["days"])
    values["action-days"] = "90"
    return values


@router.get("/console/lancer")
async def launch_page(request: Request, modele: str | None = None) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    launch = LaunchForm.blank()
    offers = await _offers(request, session, launch)
    if modele and any(o.id == modele for o in offers):
        launch.values["template"] = modele
    return await _launch_form(request, session, launch, offers)


async def _launch_form(
    request: Request,
    session: ConsoleSession,
    launch: LaunchForm,
    offers: list[Offer],
    errors: forms.Errors | None = None,
    notes: dict[int, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    t = _t(request)
    return _render(
        request,
        "console_launch.html",
        t,
        status=status,
        kinds=[(code, t.gettext(label)) for code, label in words.KINDS.items()],
        roles=[(code, t.gettext(label)) for code, label in words.ROLES.items()],
        rules=[(code, t.gettext(label)) for code, label in words.RULES.items()],
        joinings=[(code, words.capitalised(t.gettext(label))) for code, label in JOINING.items()],
        session=session,
        csrf=session.csrf,
        launch=launch,
        v=launch.values,
        errors=errors or forms.Errors(),
        notes=notes or {},
        presets=PRESET_NAMES,
        phases=PHASES,
        early=CLOSE_EARLY,
        offers=offers,
        chosen=launch.template,
        settings_offer=SETTINGS_OFFER,
    )


@router.post("/console/lancer")
async def launch(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    t = _t(request)
    form = await request.form()
    if not same_token(form, session.csrf):
        return _render(request, "refused.html", t, status=403, here="/console/lancer")
    values = {
        k: str(v)
        for k, v in form.items()
        if k not in ("csrf_token",) and not isinstance(v, UploadFile)
    }
    rows = max(1, min(100, _whole_number(values.get("rows"), 3)))
    launch = LaunchForm(values, rows, values.get("launch_key") or uuid.uuid4().hex)
    file_refused = await _keep_charter_file(request, session.organisation_id, form, launch, t)
    offers = await _offers(request, session, launch)
    chosen = next((o for o in offers if o.id == launch.template), None)
    if chosen is None:  # a template deleted meanwhile, or a form made up: back to the default
        launch.values["template"] = DEFAULT_TEMPLATE
        chosen = next(o for o in offers if o.id == DEFAULT_TEMPLATE)
    chosen_settings = chosen.id == SETTINGS_OFFER
    # Adding or removing a row, applying a preset or choosing a template re-renders the form
    # (JavaScript off too).
    if "add_row" in values:
        launch.values.update({f"p{rows}-language": "fr", f"p{rows}-time_zone": "Europe/Paris"})
        launch.rows += 1
        return await _launch_form(request, session, launch, offers)
    if "remove_row" in values:
        _remove_row(launch, int(values["remove_row"]))
        return await _launch_form(request, session, launch, offers)
    if "apply_preset" in values:
        launch.values.update(_preset_values(values.get("preset", "consent")))
        return await _launch_form(request, session, launch, offers)
    if "choose_template" in values:
        return await _launch_form(request, session, launch, offers)
    template = None if chosen_settings else chosen
    notes = _same_organisations(launch, t)
    errors = _launch_problems(launch, t, request.app.state.settings.min_phase, template)
    if file_refused:
        errors.summary.insert(0, (file_refused, "charter_file"))
        errors.fields["charter_file"] = file_refused
    if errors:
        return await _launch_form(request, session, launch, offers, errors, notes, status=422)
    body = cmd.LaunchFields.model_validate(_launch_body(launch, template))
    try:
        launched = await launch_project(
            _gateway(request),
            request.app.state.authenticator.signer,
            request.app.state.settings,
            session.organisation_id,
            body,
            launch.key,
        )
    except ApiError as e:
        if e.status != 422:
            return _unavailable(request, e)
        field = e.message.split(":", 1)[0] if ":" in e.message else None
        target = _field_id(field.split("."), launch.kept, template) if field else "launch"
        own = words.LAUNCH_TEMPLATE_REFUSALS.get(e.code)
        message = t.gettext(own) if own else words.refusal(t, e.code)
        errors = forms.Errors("launch", "launch", [(message, target)], {target: message})
        return await _launch_form(request, session, launch, offers, errors, notes, status=422)
    # Invited by e-mail where an address was given (and mail is on): the rest by hand.
    mail = request.app.state.settings.notifications == "email"
    links = [
        {"name": p.organisation_name, "person": p.person_name, "role": p.role, "link": p.link,
         "mailed": mail and drafted.email is not None}
        for p, drafted in zip(launched.participants, body.participants, strict=True)
    ]  # fmt: skip
    response = RedirectResponse(
        f"/console/projets/{quote(launched.project_id)}?lance=1",
        status_code=303,
        headers=PAGE_HEADERS,
    )
    _flash_links(request, response, launched.project_id, links, list(notes.values()))
    return response


async def _keep_charter_file(
    request: Request, organisation: str, form: FormData, launch: LaunchForm, t: Texts
) -> str | None:
    """A charter's file sent with the form: kept in the archive store at once, so that the
    form shown again (a row added, a mistake to fix) carries it by its id; why not if not."""
    upload = form.get("charter_file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(CHARTER_FILE_LIMIT + 1)
    try:
        kept = await charter_file.keep(
            _gateway(request).archivist.store, organisation, upload.filename, data
        )
    except charter_file.NotACharterFile:
        return words.refusal(t, "charter_file_refused")
    launch.values.update(
        {"charter_file_id": kept.sha256, "charter_file_name": kept.name, "charter_agreed": "yes"}
    )
    return None


def _remove_row(launch: LaunchForm, row: int) -> None:
    values = launch.values
    for n in range(row, launch.rows - 1):
        for name in ROW_FIELDS:
            values[f"p{n}-{name}"] = values.get(f"p{n + 1}-{name}", "")
    for name in ROW_FIELDS:
        values.pop(f"p{launch.rows - 1}-{name}", None)
    launch.rows = max(1, launch.rows - 1)


def _same_organisations(launch: LaunchForm, t: Texts) -> dict[int, str]:
    """Rows that stand for an organisation an earlier row stands for: flagged, allowed."""
    seen: dict[str, int] = {}
    notes = {}
    for n in range(launch.rows):
        name = launch.values.get(f"p{n}-organisation_name", "").strip()
        if not name:
            continue
        key = forms.slug(name)
        if key in seen:
            notes[n] = t.gettext(
                "Row %(row)s stands for the same organisation as row %(other)s: both will take part.",
                row=n + 1,
                other=seen[key] + 1,
            )
        else:
            seen[key] = n
    return notes


NUMBER_FIELDS = ("quorum", "max_rounds", *(f"{phase}-days" for phase in PHASES))


def _number_fields(template: Offer | None) -> list[str]:
    if template is None:
        return list(NUMBER_FIELDS)
    return [s.field for s in template.steps if s.field is not None]


def _unreadable_numbers(launch: LaunchForm, t: Texts, template: Offer | None) -> dict[str, str]:
    """Numbers that are not numbers (a French comma is one): said before anything else, so
    an empty or mistyped field never becomes a default silently."""
    refused = {}
    for name in _number_fields(template):
        text = str(launch.values.get(name, "")).strip().replace(",", ".").replace(" ", "")
        try:
            float(text)
        except ValueError:
            refused[name] = t.gettext(words.FIELD_ERRORS["float_parsing"])
    return refused


def _typed_durations(launch: LaunchForm, template: Offer) -> dict[str, timedelta]:
    """The steps' durations the form changed from the template's (in days, as typed)."""
    changed = {}
    for s in template.steps:
        if s.field is None or s.step.duration is None:
            continue
        typed = launch.values.get(s.field, s.days)
        if _number(typed, None) == _number(s.days, None):
            continue
        changed[s.step.id] = timedelta(minutes=int(_number(typed, 0) * 24 * 60))
    return changed


def _launch_body(launch: LaunchForm, template: Offer | None = None) -> dict[str, Any]:
    v = launch.values
    launch.kept = [
        n
        for n in range(launch.rows)
        if v.get(f"p{n}-organisation_name", "").strip() or v.get(f"p{n}-email", "").strip()
    ]
    people = [forms.person(v, prefix=f"p{n}-") for n in launch.kept]
    body: dict[str, Any] = {
        "title": v.get("title", ""),
        "territory": v.get("territory", ""),
        "description": v.get("description", ""),
        "language": v.get("language", "fr"),
        "time_zone": forms.time_zone(v) or "Europe/Paris",
        "participants": people,
    }
    if v.get("charter_agreed") == "yes":
        body["charter_agreed"] = _agreed_charter(v)
    if template is not None:
        # A template's steps carry their own settings: only the durations changed are sent.
        body["template"] = {"id": template.id, "version": template.version}
        body["durations"] = {
            step_id: f"PT{int(length.total_seconds() // 60)}M"
            for step_id, length in _typed_durations(launch, template).items()
        }
        return body
    process: dict[str, Any] = {
        "rule": v.get("rule", "consent"),
        "quorum": _number(v.get("quorum"), 50) / 100,
        "max_rounds": _number(v.get("max_rounds"), 3),
        "facilitator_votes": v.get("facilitator_votes") == "yes",
    }
    for phase in PHASES:
        days = v.get(f"{phase}-days", "")
        process[phase] = {"duration": f"PT{int(_number(days, 0) * 24 * 60)}M"}
        if phase in CLOSE_EARLY:
            process[phase]["close_when_complete"] = v.get(f"{phase}-early") == "yes"
    return {**body, "process": process}


def _agreed_charter(v: dict[str, str]) -> dict[str, Any]:
    """The charter the partners agreed before the project, from the launch form: its day,
    its file (kept already) or its text, and its governance if the form gives its rule."""
    agreed: dict[str, Any] = {"agreed_on": v.get("charter_agreed_on", "").strip() or None}
    if v.get("charter_file_id"):
        agreed["file"] = {"id": v["charter_file_id"]}
    if v.get("charter_text", "").strip():
        agreed["text"] = v["charter_text"]
    if v.get("charter_rule"):
        agreed["governance"] = {
            "rule": v["charter_rule"],
            "quorum": _number(v.get("charter_quorum"), 50) / 100,
            "joining": v.get("charter_joining") or "invitation",
        }
    return agreed


def _number(text: Any, default: Any) -> Any:
    try:
        value = float(str(text).strip().replace(",", ".").replace(" ", ""))
    except ValueError:
        return default
    return int(value) if value.is_integer() else value


def _field_id(loc: list[str], kept: list[int], template: Offer | None = None) -> str:
    """The launch form's element for an error's location."""
    if not loc:
        return "participants"
    if loc[0] == "participants" and len(loc) > 2 and loc[1].isdigit() and int(loc[1]) < len(kept):
        return f"p{kept[int(loc[1])]}-{loc[2]}"
    if loc[0] == "participants":
        return "participants"
    if loc[0] == "process" and len(loc) > 1:
        return f"{loc[1]}-days" if loc[1] in PHASES else loc[1]
    if loc[0] in ("durations", "steps") and len(loc) > 1 and template is not None:
        found = template.step_of(loc[1])
        if found is not None:
            return found.field if loc[0] == "durations" and found.field else found.block
    if loc[0] in ("template", "durations", "steps"):
        return "template"
    if loc[0] == "charter_agreed" and len(loc) > 1:
        named = {"agreed_on": "charter_agreed_on", "file": "charter_file", "text": "charter_text"}
        return named.get(loc[1], f"charter_{loc[2]}" if loc[1] == "governance" and len(loc) > 2
                         else "charter_agreed")  # fmt: skip
    return loc[0]


def _launch_problems(
    launch: LaunchForm, t: Texts, min_phase: timedelta, template: Offer | None = None
) -> forms.Errors:
    """Everything the form's launch would be refused for, all at once, each beside its field
    and in the summary at the top (the GOV.UK error summary): numbers that are not numbers,
    fields out of bounds, an alliance without a coordinator, a facilitator or a voter, the
    same e-mail twice, phases too short; with a template, its steps too short, an approval
    nobody among the participants can answer, a pause whose date is past."""
    errors = forms.Errors("launch", "launch")

    def refused(target: str, message: str) -> None:
        if (message, target) in errors.summary:
            return
        errors.summary.append((message, target))
        shown = errors.fields.get(target)
        errors.fields[target] = f"{shown} {message}" if shown else message

    for target, message in _unreadable_numbers(launch, t, template).items():
        refused(target, message)
    body = _launch_body(launch, template)
    try:
        cmd.LaunchFields.model_validate(body)
    except ValidationError as e:
        for problem in e.errors():
            loc = [str(part) for part in problem["loc"]]
            if loc[:1] == ["durations"] and problem["type"] == "value_error":
                message = words.refusal(t, "phase_too_short")  # a negative number of days
            else:
                message = _launch_message(problem, t, launch.kept)
            refused(_field_id(loc, launch.kept, template), message)
    # Checked by the model once its fields are valid: said now, with the rest.
    agreed = body.get("charter_agreed")
    if agreed is not None and not agreed.get("file") and not agreed.get("text"):
        refused("charter_agreed", t.gettext(words.LAUNCH_ERRORS["charter_text_or_file"]))
    people = [
        (Role(p["role"]), p["email"]) for p in body["participants"] if p["role"] in Role.__members__
    ]
    votes = body["process"]["facilitator_votes"] if template is None else True
    for problem in alliance_problems(people, votes, decides=template is None):
        kind = problem.type
        target = "participants"
        if kind == "same_email":
            second = int(problem.context["second"]) - 1
            target = f"p{launch.kept[second]}-email" if second < len(launch.kept) else target
        refused(target, _launch_message({"type": kind, "ctx": problem.context}, t, launch.kept))
    if template is None:
        durations = {
            Phase(phase): timedelta(days=_number(launch.values.get(f"{phase}-days"), 0))
            for phase in PHASES
            if f"{phase}-days" not in errors.fields
        }
        for short in short_phases(durations, min_phase):
            phase = (short.field or "").split(".")[1]
            refused(f"{phase}-days", words.refusal(t, short.code))
        return errors
    for target, message in _template_problems(launch, t, min_phase, template, body):
        refused(target, message)
    return errors


def _template_problems(
    launch: LaunchForm, t: Texts, min_phase: timedelta, offer: Offer, body: dict[str, Any]
) -> list[tuple[str, str]]:
    """What keeps the chosen template from running with this form: (element, message)."""
    found = []
    typed = {
        s.step.id: timedelta(days=_number(launch.values.get(s.field, s.days), 0))
        for s in offer.steps
        if s.field is not None and s.step.duration is not None
    }
    kinds = {s.step.id: s.step.kind for s in offer.steps}
    for short in short_phases(typed, min_phase, kinds, "durations.{}"):
        step = offer.step_of((short.field or "").split(".", 1)[1])
        if step is not None and step.field is not None:
            found.append((step.field, words.refusal(t, short.code)))
    content = process.with_durations(offer.template, _typed_durations(launch, offer))
    for problem in process.problems(content, _now()):
        step = offer.step_of(problem.step or "")
        if problem.code == "date_past" and step is not None:
            found.append((step.block, words.refusal(t, "date_past")))
    participants = []
    for n, person in enumerate(body["participants"]):
        try:
            participants.append(Participant.model_validate({"id": f"row-{n}", **person}))
        except ValidationError:
            continue  # said beside its row already
    for problem in process.participant_problems(content, participants):
        step = offer.step_of(problem.step or "")
        if step is None:
            continue
        parts = problem.field.split(".")
        m = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        target = step.approvals[m][0] if m < len(step.approvals) else step.block
        if problem.code == "approvers_empty":
            approval = step.step.approvals[m]
            who = process_words.who_approves(t, approval)
            if approval.name is not None and approval.name.fr:
                message = t.gettext(
                    "Nobody among the participants can answer “%(approval)s” (%(who)s): invite an organisation that can, or choose another process.",
                    approval=process_words.approval_name(t, approval),
                    who=who,
                )
            else:
                message = t.gettext(
                    "Nobody among the participants can answer the approval of %(who)s: invite an organisation that can, or choose another process.",
                    who=who,
                )
        else:
            message = process_words.problem_message(t, problem)
        found.append((target, message))
    return found


def _launch_message(problem: dict[str, Any], t: Texts, kept: list[int]) -> str:
    """A launch refusal in the reader's language, by the error's code."""
    kind = problem["type"]
    if kind == "same_email":
        ctx = problem.get("ctx", {})
        rows = [
            kept[ctx[k] - 1] + 1 if ctx[k] - 1 < len(kept) else ctx[k] for k in ("first", "second")
        ]
        return t.gettext(words.LAUNCH_ERRORS[kind], first=rows[0], second=rows[1])
    if list(problem.get("loc", ())) == ["process", "quorum"]:
        return t.gettext(words.LAUNCH_ERRORS["quorum"])
    if kind in words.LAUNCH_ERRORS:
        return t.gettext(words.LAUNCH_ERRORS[kind])
    loc = [str(part) for part in problem.get("loc", ())]
    return forms.field_error(t, problem, loc[-1] if loc else "")


def _flash_links(
    request: Request,
    response: Response,
    project_id: str,
    links: list[dict[str, Any]],
    notes: list[str] | None = None,
) -> None:
    """Personal links are shown once: carried to the next page in a short-lived signed cookie
    that the page deletes."""
    response.set_cookie(
        LINKS_COOKIE,
        _signer(request, "alliance-links").dumps({"links": links, "notes": notes or []}),
        path=f"/console/projets/{quote(project_id)}",
        max_age=300,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


# -- one project ------------------------------------------------------------------------------


async def _console_visit(request: Request, project_id: str) -> Visit | Response:
    """The project as its coordinator sees it, if it is this organisation's (and the sign-in
    first, without a session)."""
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    gateway = _gateway(request)
    try:
        view = await gateway.view(project_id)
    except ApiError as e:
        if e.status == 404:
            return _render(request, "not_found.html", _t(request), status=404, console=True)
        return _unavailable(request, e)
    if view.coordinator_organisation != session.organisation_id:
        # Not this organisation's: the same answer as a project that does not exist.
        return _render(request, "not_found.html", _t(request), status=404, console=True)
    chosen = coordinator_of(view, session.organisation_id)
    if chosen is None:
        return _render(request, "not_found.html", _t(request), status=404, console=True)
    try:
        data = await _page(request, project_id, chosen.id)
    except Unavailable as e:
        return _unavailable(request, e.error)
    assert data is not None
    page_session = PageSession(
        project_id=project_id,
        participant_id=chosen.id,
        role=Role.coordinator,
        version=chosen.token_version,
        csrf=session.csrf,
    )
    t = texts(_language(request, data.me.language), data.me.time_zone)
    return Visit(page_session, data, t, await cooperation_of(request, data.view))


async def _console(request: Request, project_id: str, flashed: dict[str, Any]) -> dict[str, Any]:
    try:
        people = await _gateway(request).participants(project_id)
    except ApiError:
        people = []
    return {
        "people": people,
        "links": flashed.get("links", []),
        "notes": flashed.get("notes", []),
        "project_id": project_id,
    }


@router.get("/console/projets/{project_id}")
async def project(
    request: Request, project_id: str, fait: str | None = None, recu: str | None = None
) -> Response:
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    flashed: dict[str, Any] = {}
    raw = request.cookies.get(LINKS_COOKIE)
    if raw:
        try:
            flashed = _signer(request, "alliance-links").loads(raw)
        except BadSignature:
            flashed = {}
    base = f"/console/projets/{quote(project_id)}"
    response = _project(
        request,
        visit,
        done=fait,
        received=recu,
        here=base,
        action_base=base,
        console=await _console(request, project_id, flashed),
    )
    if raw:
        response.delete_cookie(LINKS_COOKIE, path=base)  # shown once
    return response


CONFIRMED = {"cancel", "remove_participant", "erase_participant"}


def _confirmation(update: str, values: dict[str, Any], t: Texts) -> forms.Errors | None:
    """A cancellation or a removal is confirmed by ticking a box: a slip of the finger
    changes nothing."""
    if update in CONFIRMED and values.get("confirm") != "yes":
        anchor = forms.form_id(update, values)
        message = t.gettext("Tick the box to confirm.")
        return forms.Errors(update, anchor, [(message, f"{anchor}-error")], message=message)
    return None


@router.post("/console/projets/{project_id}/{update}")
async def act(request: Request, project_id: str, update: str) -> Response:
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    base = f"/console/projets/{quote(project_id)}"

    async def show_new_link(
        update: str, result: Any, values: dict[str, Any], done: RedirectResponse
    ) -> None:
        if result.token_version is None or result.item_id is None or result.role is None:
            return
        signer = request.app.state.authenticator.signer
        token = signer.sign(project_id, result.item_id, result.role, result.token_version)
        people = {p.id: p for p in await _gateway(request).participants(project_id)}
        who = people.get(result.item_id)
        link = {
            "name": who.organisation_name if who else result.item_id,
            "person": who.person_name if who else "",
            "role": result.role,
            "link": f"{request.app.state.settings.api_url}/p/{token}",
            "mailed": request.app.state.settings.notifications == "email"
            and bool(who and who.email),
        }
        _flash_links(request, done, project_id, [link])

    return await perform_form(
        request,
        visit,
        update,
        base,
        console=await _console(request, project_id, {}),
        after=show_new_link,
        extra_check=_confirmation,
    )


@router.get("/console/projets/{project_id}/glossaire")
async def console_glossary(request: Request, project_id: str, fait: str | None = None) -> Response:
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    base = f"/console/projets/{quote(project_id)}"
    return glossary_page(request, visit, action_base=base, done=fait, console=True)


@router.get("/console/projets/{project_id}/charte")
async def console_charter(request: Request, project_id: str, fait: str | None = None) -> Response:
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    base = f"/console/projets/{quote(project_id)}"
    return charter_page(request, visit, action_base=base, done=fait, console=True)


@router.get("/console/projets/{project_id}/charte-signee")
async def console_agreed_charter_file(request: Request, project_id: str) -> Response:
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await agreed_charter_download(request, visit)


@router.get("/console/projets/{project_id}/charte.html")
async def console_printable_charter(
    request: Request, project_id: str, lang: str | None = None
) -> Response:
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return charter_document(request, visit, lang)


@router.get("/console/projets/{project_id}/rapport")
async def report(request: Request, project_id: str, lang: str | None = None) -> Response:
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await render_report(request, visit, f"/console/projets/{quote(project_id)}", lang)


@router.get("/console/projets/{project_id}/rapport.html")
async def printable_report(request: Request, project_id: str, lang: str | None = None) -> Response:
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await render_report(request, visit, "", lang, printable=True)


@router.get("/console/projets/{project_id}/registre.{extension}")
async def decision_register(request: Request, project_id: str, extension: str) -> Response:
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await record_file(request, visit, f"registre.{extension}")


@router.get("/console/projets/{project_id}/archive.zip")
async def archive(request: Request, project_id: str) -> Response:
    """The archive once written; before, the project exported now (provisional)."""
    visit = await _console_visit(request, project_id)
    if not isinstance(visit, Visit):
        return visit
    return await record_file(request, visit, "archive.zip")


@router.get("/console/projets/{project_id}/{update}")
async def action_address(project_id: str, update: str) -> Response:
    """A refused form leaves its address in the bar: opening it again shows the page."""
    return RedirectResponse(
        f"/console/projets/{quote(project_id)}", status_code=303, headers=PAGE_HEADERS
    )
