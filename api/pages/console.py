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
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, ValidationError

from api.deps import coordinator_of
from api.errors import ApiError
from api.routes.projects import archived_projects_of, launch_project, list_projects_of
from domain import commands as cmd
from domain.commands import alliance_problems
from domain.models import Phase, Role
from domain.project import short_phases
from texts import words
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
        return ConsoleSession.model_validate(_signer(request, "alliance-console").loads(raw))
    except (BadSignature, ValidationError):
        return None


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
        _signer(request, "alliance-console").dumps(session.model_dump()),
        path="/",
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
    return _render(
        request,
        "console_projects.html",
        t,
        session=session,
        csrf=session.csrf,
        listing=listing,
        archived=archived,
        phase=chosen.value if chosen else "",
        territory=territoire or "",
        now=_now(),
    )


def _now() -> datetime:
    return datetime.now(UTC)


# -- launching ------------------------------------------------------------------------------


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
    def blank(cls) -> LaunchForm:
        values: dict[str, Any] = {
            "language": "fr",
            "time_zone": "Europe/Paris",
            "preset": "consent",
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
async def launch_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    return _launch_form(request, session, LaunchForm.blank())


def _launch_form(
    request: Request,
    session: ConsoleSession,
    launch: LaunchForm,
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
        session=session,
        csrf=session.csrf,
        launch=launch,
        v=launch.values,
        errors=errors or forms.Errors(),
        notes=notes or {},
        presets=PRESET_NAMES,
        phases=PHASES,
        early=CLOSE_EARLY,
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
    values = {k: str(v) for k, v in form.items() if k not in ("csrf_token",)}
    rows = max(1, min(100, int(values.get("rows", "3") or 3)))
    launch = LaunchForm(values, rows, values.get("launch_key") or uuid.uuid4().hex)
    # Adding or removing a row, or applying a preset, re-renders the form (JavaScript off too).
    if "add_row" in values:
        launch.values.update({f"p{rows}-language": "fr", f"p{rows}-time_zone": "Europe/Paris"})
        launch.rows += 1
        return _launch_form(request, session, launch)
    if "remove_row" in values:
        _remove_row(launch, int(values["remove_row"]))
        return _launch_form(request, session, launch)
    if "apply_preset" in values:
        launch.values.update(_preset_values(values.get("preset", "consent")))
        return _launch_form(request, session, launch)
    notes = _same_organisations(launch, t)
    errors = _launch_problems(launch, t, request.app.state.settings.min_phase)
    if errors:
        return _launch_form(request, session, launch, errors, notes, status=422)
    body = cmd.LaunchFields.model_validate(_launch_body(launch))
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
        target = _field_id(field.split("."), launch.kept) if field else "launch"
        message = words.refusal(t, e.code)
        errors = forms.Errors("launch", "launch", [(message, target)], {target: message})
        return _launch_form(request, session, launch, errors, notes, status=422)
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


def _unreadable_numbers(launch: LaunchForm, t: Texts) -> dict[str, str]:
    """Numbers that are not numbers (a French comma is one): said before anything else, so
    an empty or mistyped field never becomes a default silently."""
    refused = {}
    for name in NUMBER_FIELDS:
        text = str(launch.values.get(name, "")).strip().replace(",", ".").replace(" ", "")
        try:
            float(text)
        except ValueError:
            refused[name] = t.gettext(words.FIELD_ERRORS["float_parsing"])
    return refused


def _launch_body(launch: LaunchForm) -> dict[str, Any]:
    v = launch.values
    launch.kept = [
        n
        for n in range(launch.rows)
        if v.get(f"p{n}-organisation_name", "").strip() or v.get(f"p{n}-email", "").strip()
    ]
    people = [forms.person(v, prefix=f"p{n}-") for n in launch.kept]
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
    return {
        "title": v.get("title", ""),
        "territory": v.get("territory", ""),
        "description": v.get("description", ""),
        "language": v.get("language", "fr"),
        "time_zone": forms.time_zone(v) or "Europe/Paris",
        "participants": people,
        "process": process,
    }


def _number(text: Any, default: float) -> Any:
    try:
        value = float(str(text).strip().replace(",", ".").replace(" ", ""))
    except ValueError:
        return default
    return int(value) if value.is_integer() else value


def _field_id(loc: list[str], kept: list[int]) -> str:
    """The launch form's element for an error's location."""
    if not loc:
        return "participants"
    if loc[0] == "participants" and len(loc) > 2 and loc[1].isdigit() and int(loc[1]) < len(kept):
        return f"p{kept[int(loc[1])]}-{loc[2]}"
    if loc[0] == "participants":
        return "participants"
    if loc[0] == "process" and len(loc) > 1:
        return f"{loc[1]}-days" if loc[1] in PHASES else loc[1]
    return loc[0]


def _launch_problems(launch: LaunchForm, t: Texts, min_phase: timedelta) -> forms.Errors:
    """Everything the form's launch would be refused for, all at once, each beside its field
    and in the summary at the top (the GOV.UK error summary): numbers that are not numbers,
    fields out of bounds, an alliance without a coordinator, a facilitator or a voter, the
    same e-mail twice, phases too short."""
    errors = forms.Errors("launch", "launch")

    def refused(target: str, message: str) -> None:
        if (message, target) in errors.summary:
            return
        errors.summary.append((message, target))
        shown = errors.fields.get(target)
        errors.fields[target] = f"{shown} {message}" if shown else message

    for target, message in _unreadable_numbers(launch, t).items():
        refused(target, message)
    body = _launch_body(launch)
    try:
        cmd.LaunchFields.model_validate(body)
    except ValidationError as e:
        for problem in e.errors():
            loc = [str(part) for part in problem["loc"]]
            refused(_field_id(loc, launch.kept), _launch_message(problem, t, launch.kept))
    # Checked by the model once its fields are valid: said now, with the rest.
    people = [
        (Role(p["role"]), p["email"]) for p in body["participants"] if p["role"] in Role.__members__
    ]
    for problem in alliance_problems(people, body["process"]["facilitator_votes"]):
        kind = problem.type
        target = "participants"
        if kind == "same_email":
            second = int(problem.context["second"]) - 1
            target = f"p{launch.kept[second]}-email" if second < len(launch.kept) else target
        refused(target, _launch_message({"type": kind, "ctx": problem.context}, t, launch.kept))
    durations = {
        Phase(phase): timedelta(days=_number(launch.values.get(f"{phase}-days"), 0))
        for phase in PHASES
        if f"{phase}-days" not in errors.fields
    }
    for short in short_phases(durations, min_phase):
        phase = (short.field or "").split(".")[1]
        refused(f"{phase}-days", words.refusal(t, short.code))
    return errors


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
    return Visit(page_session, data, t)


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
