"""The console's process templates: the list (with the import of a YAML file), each template's
page (its steps in words, its versions, each version's file, "Dupliquer"), and for the
organisation's own templates a form to change the steps and a page to change the YAML itself.
Every save makes a new version (the directory numbers it): a project launched keeps its own.

Pages work without JavaScript: each button posts the form, which comes back with what was
typed kept; a save redirects to the template's page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from domain import templates as process
from domain.models import Phase, Role, Template
from domain.templates import MAX_DOCUMENT_BYTES, Problem, TemplateInvalid, parse
from process_templates.library import Library, TemplateDetail, is_builtin
from process_templates.yaml_io import read, written
from texts import process_words, words
from texts.i18n import Texts

from .console import (
    ConsoleSession,
    _number,
    _session,
    _t,
    _to_sign_in,
    library_of,
)
from .forms import Errors
from .routes import PAGE_HEADERS, _render, same_token

router = APIRouter(include_in_schema=False)

BASE = "/console/modeles"
# A pause's date, typed without its zone in the edit form, is read in this one.
FORM_ZONE = "Europe/Paris"
# What a form says otherwise than a file: the quorum is typed in %.
FORM_PROBLEMS = {"quorum_out_of_bounds": words.LAUNCH_ERRORS["quorum"]}
APPROVER_KINDS = list(words.KINDS)


def _now() -> datetime:
    return datetime.now(UTC)


def _href(template_id: str, rest: str = "") -> str:
    return f"{BASE}/{quote(template_id)}{rest}"


def _saved(template_id: str, version: int) -> RedirectResponse:
    return RedirectResponse(
        f"{_href(template_id)}?enregistre={version}", status_code=303, headers=PAGE_HEADERS
    )


def _refused(request: Request, t: Texts) -> HTMLResponse:
    return _render(request, "refused.html", t, status=403, here=BASE)


def _not_found(request: Request, t: Texts) -> HTMLResponse:
    return _render(request, "not_found.html", t, status=404, console=True)


def _problem_lines(t: Texts, problems: list[Problem]) -> list[str]:
    """Each problem with its step and field, for a file or the YAML typed."""
    lines = []
    for p in problems:
        place = process_words.problem_place(t, p)
        message = process_words.problem_message(t, p)
        lines.append(
            t.gettext("%(where)s: %(what)s", where=place, what=message) if place else message
        )
    return lines


# -- the list, and importing a file ------------------------------------------------------------


@dataclass
class Listed:
    id: str
    name: str
    description: str
    line: str
    builtin: bool
    version: int


async def _listing(t: Texts, books: Library) -> list[Listed]:
    return [
        Listed(
            id=s.id,
            name=s.name.said_in(t.language),
            description=s.description.said_in(t.language),
            line=process_words.steps_in_a_line(t, s.steps),
            builtin=s.builtin,
            version=s.version,
        )
        for s in await books.list()
    ]


@dataclass
class Conflict:
    """An imported file whose id is taken: kept, to be saved as a new version or under
    another id."""

    id: str
    name: str
    builtin: bool
    latest: int
    document: str
    new_id: str = ""


async def _list_page(
    request: Request,
    session: ConsoleSession,
    errors: Errors | None = None,
    problems: list[str] | None = None,
    conflict: Conflict | None = None,
    status: int = 200,
) -> HTMLResponse:
    t = _t(request)
    books = await library_of(request, session)
    return _render(
        request,
        "console_templates.html",
        t,
        status=status,
        csrf=session.csrf,
        templates=await _listing(t, books),
        errors=errors or Errors(),
        problems=problems or [],
        conflict=conflict,
        here=BASE,
    )


@router.get(BASE)
async def templates_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    return await _list_page(request, session)


async def _document(form: FormData) -> bytes | None:
    """The file sent, or the document kept from an earlier step of the import."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        return await upload.read(MAX_DOCUMENT_BYTES + 1)
    kept = form.get("document")
    if isinstance(kept, str) and kept.strip():
        return kept.encode()
    return None


@router.post(f"{BASE}/importer")
async def import_file(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    t = _t(request)
    form = await request.form()
    if not same_token(form, session.csrf):
        return _refused(request, t)
    raw = await _document(form)
    if raw is None:
        message = t.gettext("Choose a YAML file to import.")
        errors = Errors("import", "import", [(message, "file")], {"file": message})
        return await _list_page(request, session, errors, status=422)
    try:
        template = parse(read(raw), _now())
    except TemplateInvalid as refused:
        lines = _problem_lines(t, refused.problems)
        message = t.gettext(
            "This file cannot be imported: change what is said below, then import it again."
        )
        errors = Errors("import", "import", [(line, "file") for line in lines], {"file": message})
        return await _list_page(request, session, errors, lines, status=422)
    document = raw.decode("utf-8-sig")
    books = await library_of(request, session)
    save_as = str(form.get("save_as", ""))
    if save_as == "new_id":
        new_id = str(form.get("new_id", "")).strip()
        template, message = await _under_new_id(t, books, template, new_id)
        if message is not None:
            conflict = await _conflict(books, template, document, new_id)
            errors = Errors("import", "conflict", [(message, "new_id")], {"new_id": message})
            return await _list_page(request, session, errors, conflict=conflict, status=422)
    elif await books.exists(template.id) and not (
        save_as == "version" and not is_builtin(template.id)
    ):
        conflict = await _conflict(books, template, document)
        return await _list_page(request, session, conflict=conflict, status=409)
    stored = await books.store.add_version(session.organisation_id, template)
    return _saved(stored.template_id, stored.version)


async def _conflict(
    books: Library, template: Template, document: str, new_id: str = ""
) -> Conflict:
    detail = await books.detail(template.id)
    return Conflict(
        id=template.id,
        name=template.name.fr,
        builtin=is_builtin(template.id),
        latest=detail.latest.version if detail else 0,
        document=document,
        new_id=new_id,
    )


async def _under_new_id(
    t: Texts, books: Library, template: Template, new_id: str
) -> tuple[Template, str | None]:
    """The template under an id of the organisation's choosing, or why not."""
    if not new_id:
        return template, t.gettext("Give the new identifier.")
    copy = template.model_copy(update={"id": new_id})
    if any(p.code == "invalid_template_id" for p in process.problems(copy)):
        return template, t.gettext(words.TEMPLATE_PROBLEMS["invalid_template_id"])
    if await books.exists(new_id):
        return template, t.gettext("A template already has this identifier: choose another one.")
    return copy, None


# -- one template -------------------------------------------------------------------------------


@dataclass
class StepWords:
    n: int
    title: str
    kind: str | None
    length: str
    reminders: str | None
    closing: str
    approvals: list[process_words.ApprovalWords]
    completion: str | None
    loop: str | None


def step_words(t: Texts, template: Template) -> list[StepWords]:
    return [
        StepWords(
            n=n + 1,
            title=process_words.step_title(t, s),
            kind=process_words.kind_beside(t, s),
            length=process_words.step_length(t, s),
            reminders=process_words.reminders(t, s),
            closing=process_words.closing(t, s),
            approvals=process_words.approvals(t, s),
            completion=process_words.completion(t, s),
            loop=process_words.loop(t, template, s)
            if s.kind in (Phase.decision, Phase.charter, Phase.review)
            else None,
        )
        for n, s in enumerate(template.steps)
    ]


async def _detail(request: Request, session: ConsoleSession, template_id: str) -> Any:
    books = await library_of(request, session)
    return await books.detail(template_id)


async def _template_page(
    request: Request,
    session: ConsoleSession,
    detail: TemplateDetail,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    saved: int | None = None,
    status: int = 200,
) -> HTMLResponse:
    t = _t(request)
    template = detail.latest.template
    versions = [
        {
            "version": v.version,
            "when": t.date(v.created_at) if v.created_at else None,
            "digest": v.digest[:12],
            "href": _href(detail.id, f"/versions/{v.version}.yaml"),
        }
        for v in reversed(detail.versions)
    ]
    name = template.name.said_in(t.language)
    return _render(
        request,
        "console_template.html",
        t,
        status=status,
        csrf=session.csrf,
        detail=detail,
        heading=name,
        description=template.description.said_in(t.language),
        steps=step_words(t, template),
        versions=versions,
        v=values or {"new_id": "", "name": t.gettext("%(name)s (copy)", name=template.name.fr)},
        errors=errors or Errors(),
        saved=saved,
        base=_href(detail.id),
    )


@router.get(BASE + "/{template_id}")
async def template_page(
    request: Request, template_id: str, enregistre: str | None = None
) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    detail = await _detail(request, session, template_id)
    if detail is None:
        return _not_found(request, _t(request))
    saved = int(enregistre) if enregistre and enregistre.isdigit() else None
    return await _template_page(request, session, detail, saved=saved)


@router.get(BASE + "/{template_id}/versions/{name}")
async def version_file(request: Request, template_id: str, name: str) -> Response:
    """One version as the YAML file people edit and share."""
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    number = name.removesuffix(".yaml")
    if not name.endswith(".yaml") or not number.isdigit():
        return _not_found(request, _t(request))
    found = await (await library_of(request, session)).version(template_id, int(number))
    if found is None:
        return _not_found(request, _t(request))
    return PlainTextResponse(
        written(found.template),
        media_type="application/yaml; charset=utf-8",
        headers={
            **PAGE_HEADERS,
            "Content-Disposition": f'attachment; filename="{found.id}.v{found.version}.yaml"',
        },
    )


@router.post(BASE + "/{template_id}/dupliquer")
async def duplicate(request: Request, template_id: str) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    t = _t(request)
    form = await request.form()
    if not same_token(form, session.csrf):
        return _refused(request, t)
    books = await library_of(request, session)
    detail = await books.detail(template_id)
    if detail is None:
        return _not_found(request, t)
    values = {
        "new_id": str(form.get("new_id", "")).strip(),
        "name": str(form.get("name", "")).strip(),
    }
    original = detail.latest.template
    copy, message = await _under_new_id(t, books, original, values["new_id"])
    errors = Errors("duplicate", "dupliquer")
    if message is not None:
        errors.summary.append((message, "new_id"))
        errors.fields["new_id"] = message
    if not values["name"]:
        message = t.gettext(words.TEMPLATE_PROBLEMS["name_required"])
        errors.summary.append((message, "name"))
        errors.fields["name"] = message
    elif len(values["name"]) > process.MAX_NAME:
        message = t.gettext(words.TEMPLATE_PROBLEMS["too_long"], limit=process.MAX_NAME)
        errors.summary.append((message, "name"))
        errors.fields["name"] = message
    if errors:
        return await _template_page(request, session, detail, values, errors, status=422)
    same_name = values["name"] == original.name.fr
    copy = copy.model_copy(
        update={
            "name": original.name
            if same_name
            else original.name.model_copy(update={"fr": values["name"], "en": ""})
        }
    )
    stored = await books.store.add_version(session.organisation_id, copy)
    return _saved(stored.template_id, stored.version)


# -- changing a template with a form ----------------------------------------------------------


@dataclass
class EditForm:
    """The edit form as typed: the template's words and its steps, each a dict of the fields
    as strings (the kinds of organisation a list), its approvals a list of such dicts."""

    values: dict[str, str]
    steps: list[dict[str, Any]] = field(default_factory=list)

    def index_of(self, step: str | None, duplicate: bool = False) -> int | None:
        if step is None:
            return None
        if step.startswith("#") and step[1:].isdigit():
            n = int(step[1:]) - 1
            return n if 0 <= n < len(self.steps) else None
        found = [n for n, s in enumerate(self.steps) if s["id"].strip() == step]
        if not found:
            return None
        return found[-1] if duplicate else found[0]


def _local_input(when: datetime | None) -> str:
    return when.astimezone(ZoneInfo(FORM_ZONE)).strftime("%Y-%m-%dT%H:%M") if when else ""


def _percent(t: Texts, share: float) -> str:
    return t.number(share * 100)


def edit_form_of(t: Texts, template: Template) -> EditForm:
    steps = []
    for s in template.steps:
        loop = s.if_not_adopted
        steps.append(
            {
                "id": s.id,
                "name_fr": s.name.fr,
                "name_en": s.name.en,
                "kind": s.kind.value,
                "days": process_words.days_typed(t, s.duration),
                "until": _local_input(s.until),
                "reminders": " ".join(
                    t.number(process_words.days(r)) for r in sorted(s.reminders, reverse=True)
                ),
                "early": "yes" if s.close_when_complete else "",
                "completion": s.completion.value,
                "loop_to": loop.to if loop else "",
                "max_rounds": str(loop.max_rounds) if loop else "3",
                "after": process_words.days_typed(t, s.after),
                "amend_to": s.amend_to or "",
                "approvals": [
                    {
                        "id": a.id,
                        "name_fr": a.name.fr if a.name else "",
                        "name_en": a.name.en if a.name else "",
                        "partner": "yes" if Role.partner in a.approvers.roles else "",
                        "facilitator": "yes" if Role.facilitator in a.approvers.roles else "",
                        "kinds": [k.value for k in a.approvers.organisation_kinds],
                        "participants": " ".join(a.approvers.participants),
                        # Empty: the adopted charter's rule and quorum.
                        "rule": a.rule.value if a.rule else "",
                        "quorum": _percent(t, a.quorum) if a.quorum is not None else "",
                    }
                    for a in s.approvals
                ],
            }
        )
    values = {
        "name_fr": template.name.fr,
        "name_en": template.name.en,
        "description_fr": template.description.fr,
        "description_en": template.description.en,
    }
    return EditForm(values, steps)


STEP_FIELDS = (
    "id", "name_fr", "name_en", "kind", "days", "until", "reminders", "early", "completion",
    "loop_to", "max_rounds", "after", "amend_to",
)  # fmt: skip
APPROVAL_FIELDS = (
    "id", "name_fr", "name_en", "partner", "facilitator", "participants", "rule", "quorum",
)  # fmt: skip


def _count(form: FormData, name: str, most: int) -> int:
    text = str(form.get(name, "0"))
    return max(0, min(most, int(text))) if text.isdigit() else 0


def edit_form_from(form: FormData) -> EditForm:
    values = {
        name: str(form.get(name, ""))
        for name in ("name_fr", "name_en", "description_fr", "description_en")
    }
    steps = []
    for n in range(_count(form, "steps", process.MAX_STEPS + 1)):
        step: dict[str, Any] = {name: str(form.get(f"s{n}-{name}", "")) for name in STEP_FIELDS}
        step["approvals"] = []
        for m in range(_count(form, f"s{n}-approvals", process.MAX_APPROVALS + 1)):
            prefix = f"s{n}-a{m}-"
            approval: dict[str, Any] = {
                name: str(form.get(prefix + name, "")) for name in APPROVAL_FIELDS
            }
            approval["kinds"] = [str(k) for k in form.getlist(prefix + "kinds")]
            step["approvals"].append(approval)
        steps.append(step)
    return EditForm(values, steps)


def _free_id(taken: set[str], stem: str) -> str:
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def new_step(edit: EditForm) -> dict[str, Any]:
    return {
        "id": _free_id({s["id"] for s in edit.steps}, "etape"),
        "name_fr": "",
        "name_en": "",
        "kind": Phase.diagnosis.value,
        "days": "14",
        "until": "",
        "reminders": "",
        "early": "yes",
        "completion": "all",
        "loop_to": "",
        "max_rounds": "3",
        "after": "",
        "amend_to": "",
        "approvals": [],
    }


def new_approval(edit: EditForm) -> dict[str, Any]:
    taken = {a["id"] for s in edit.steps for a in s["approvals"]}
    return {
        "id": _free_id(taken, "approbation"),
        "name_fr": "",
        "name_en": "",
        "partner": "yes",
        "facilitator": "",
        "kinds": [],
        "participants": "",
        "rule": "consent",
        "quorum": "50",
    }


def _changed(edit: EditForm, form: FormData) -> str | None:
    """A button that changes the form's rows (not a save): done here; the anchor to show."""
    steps = edit.steps

    def at(name: str) -> int | None:
        text = str(form.get(name, ""))
        return int(text) if text.isdigit() and int(text) < len(steps) else None

    if (n := at("refresh")) is not None:
        return f"s{n}"
    if "add_step" in form:
        steps.append(new_step(edit))
        return f"s{len(steps) - 1}"
    if (n := at("remove_step")) is not None:
        steps.pop(n)
        return "steps"
    if (n := at("up")) is not None:
        if n > 0:
            steps[n - 1], steps[n] = steps[n], steps[n - 1]
        return f"s{max(0, n - 1)}"
    if (n := at("down")) is not None:
        if n + 1 < len(steps):
            steps[n], steps[n + 1] = steps[n + 1], steps[n]
        return f"s{min(len(steps) - 1, n + 1)}"
    if (n := at("add_approval")) is not None:
        steps[n]["approvals"].append(new_approval(edit))
        return f"s{n}-a{len(steps[n]['approvals']) - 1}"
    if "remove_approval" in form:
        n_text, _, m_text = str(form.get("remove_approval", "")).partition("-")
        if n_text.isdigit() and m_text.isdigit() and int(n_text) < len(steps):
            approvals = steps[int(n_text)]["approvals"]
            if int(m_text) < len(approvals):
                approvals.pop(int(m_text))
            return f"s{n_text}"
        return "steps"
    return None


def _days(text: str) -> timedelta | None:
    value = _number(text, None)
    if value is None:
        return None
    return timedelta(minutes=round(value * 24 * 60))


def _iso(length: timedelta) -> str:
    if length % timedelta(days=1) == timedelta(0):
        return f"P{length.days}D"
    return f"PT{int(length.total_seconds() // 60)}M"


def document_of(
    t: Texts, template_id: str, edit: EditForm
) -> tuple[dict[str, Any], dict[str, str]]:
    """The template the form describes, as a document to parse, and the fields whose numbers
    or dates cannot be read (left out of the document, said beside their field)."""
    unreadable: dict[str, str] = {}
    number = t.gettext(words.FIELD_ERRORS["float_parsing"])
    steps = []
    for n, row in enumerate(edit.steps):
        kind = row["kind"]
        step: dict[str, Any] = {
            "id": row["id"].strip(),
            "name": {"fr": row["name_fr"].strip(), "en": row["name_en"].strip()},
            "kind": kind,
            "close_when_complete": row["early"] == "yes",
        }
        if row["days"].strip() or kind != Phase.wait.value:
            length = _days(row["days"])
            if length is None:
                unreadable[f"s{n}-days"] = number
            else:
                step["duration"] = _iso(length)
        if kind == Phase.wait.value and row["until"].strip():
            try:
                until = datetime.fromisoformat(row["until"].strip())
            except ValueError:
                unreadable[f"s{n}-until"] = t.gettext(words.FIELD_ERRORS["datetime_parsing"])
            else:
                if until.tzinfo is None:
                    until = until.replace(tzinfo=ZoneInfo(FORM_ZONE))
                step["until"] = until.isoformat()
        reminders = []
        for typed in row["reminders"].replace(";", " ").split():
            length = _days(typed)
            if length is None:
                unreadable[f"s{n}-reminders"] = number
            else:
                reminders.append(_iso(length))
        if reminders:
            step["reminders"] = reminders
        if kind == Phase.review.value:
            if row["after"].strip():
                after = _days(row["after"])
                if after is None:
                    unreadable[f"s{n}-after"] = number
                else:
                    step["after"] = _iso(after)
            if row["amend_to"]:
                step["amend_to"] = row["amend_to"]
        if kind in (Phase.decision.value, Phase.review.value):
            approvals = []
            for m, a in enumerate(row["approvals"]):
                roles = [r.value for r in (Role.partner, Role.facilitator) if a[r.value] == "yes"]
                approval: dict[str, Any] = {
                    "id": a["id"].strip(),
                    "approvers": {
                        "roles": roles,
                        "organisation_kinds": [k for k in a["kinds"] if k in APPROVER_KINDS],
                        "participants": a["participants"].split(),
                    },
                }
                if a["rule"]:
                    approval["rule"] = a["rule"]
                if a["name_fr"].strip():
                    approval["name"] = {"fr": a["name_fr"].strip(), "en": a["name_en"].strip()}
                quorum = _number(a["quorum"], None) if a["quorum"].strip() else None
                if a["quorum"].strip() and quorum is None:
                    unreadable[f"s{n}-a{m}-quorum"] = number
                elif quorum is not None:
                    approval["quorum"] = quorum / 100
                approvals.append(approval)
            step["approvals"] = approvals
        if kind == Phase.decision.value:
            if len(approvals) > 1:
                step["completion"] = row["completion"] or "all"
            if row["loop_to"]:
                rounds = _number(row["max_rounds"], None)
                if rounds is None:
                    unreadable[f"s{n}-max_rounds"] = number
                    rounds = 1
                step["if_not_adopted"] = {"to": row["loop_to"], "max_rounds": rounds}
        steps.append(step)
    document = {
        "id": template_id,
        "name": {"fr": edit.values["name_fr"].strip(), "en": edit.values["name_en"].strip()},
        "description": {
            "fr": edit.values["description_fr"].strip(),
            "en": edit.values["description_en"].strip(),
        },
        "steps": steps,
    }
    return document, unreadable


def problem_target(problem: Problem, edit: EditForm) -> str:
    """The edit form's element a problem stands beside."""
    n = edit.index_of(problem.step, duplicate=problem.code == "duplicate_step")
    where = problem.field
    if n is None:
        if where.startswith(("name.", "description.")):
            return where.replace(".", "_")
        return "steps"
    parts = where.split(".")
    if parts[0] == "approvals" and len(parts) > 1 and parts[1].isdigit():
        m = int(parts[1])
        rest = parts[2] if len(parts) > 2 else ""
        if m >= len(edit.steps[n]["approvals"]):
            return f"s{n}-approvals"
        if rest in ("quorum", "rule", "approvers"):
            return f"s{n}-a{m}-{rest}"
        if rest == "name":
            return f"s{n}-a{m}-name_{parts[3] if len(parts) > 3 else 'fr'}"
        return f"s{n}-a{m}"
    targets = {
        "id": "id",
        "name": "name_fr",
        "name.fr": "name_fr",
        "name.en": "name_en",
        "kind": "kind",
        "duration": "days",
        "reminders": "reminders",
        "approvals": "approvals",
        "completion": "completion",
        "if_not_adopted": "loop_to",
        "if_not_adopted.to": "loop_to",
        "if_not_adopted.max_rounds": "max_rounds",
    }
    if where == "until" and edit.steps[n]["kind"] == Phase.wait.value:
        return f"s{n}-until"
    key = targets.get(where) or targets.get(parts[0])
    return f"s{n}-{key}" if key else f"s{n}"


def edit_problems(t: Texts, edit: EditForm, template_id: str) -> tuple[Template | None, Errors]:
    """The template the form describes, or every problem beside its field."""
    document, unreadable = document_of(t, template_id, edit)
    errors = Errors("edit", "edit")

    def refused(target: str, message: str) -> None:
        if (message, target) in errors.summary:
            return
        errors.summary.append((message, target))
        shown = errors.fields.get(target)
        errors.fields[target] = f"{shown} {message}" if shown else message

    for target, message in unreadable.items():
        refused(target, message)
    names = {s["id"].strip(): s["name_fr"].strip() for s in edit.steps if s["name_fr"].strip()}
    try:
        template = parse(document, _now())
    except TemplateInvalid as invalid:
        for problem in invalid.problems:
            target = problem_target(problem, edit)
            if target in unreadable:
                continue  # its number is said already
            refused(target, process_words.problem_message(t, problem, FORM_PROBLEMS, names))
        return None, errors
    return (None if errors else template), errors


async def _own(
    request: Request, session: ConsoleSession, template_id: str
) -> TemplateDetail | Response:
    """One of the organisation's own templates (a built-in one is duplicated, not changed)."""
    detail = await _detail(request, session, template_id)
    if detail is None:
        return _not_found(request, _t(request))
    if detail.builtin:
        return RedirectResponse(_href(template_id), status_code=303, headers=PAGE_HEADERS)
    return detail


def _edit_page(
    request: Request,
    session: ConsoleSession,
    detail: TemplateDetail,
    edit: EditForm,
    errors: Errors | None = None,
    status: int = 200,
) -> HTMLResponse:
    t = _t(request)
    kinds = [(k.value, process_words.kind_name(t, k.value)) for k in process.STEP_KINDS]
    titles = [
        (s["id"], s["name_fr"].strip() or t.gettext("step without a name")) for s in edit.steps
    ]
    return _render(
        request,
        "console_template_edit.html",
        t,
        status=status,
        csrf=session.csrf,
        detail=detail,
        heading=detail.latest.template.name.said_in(t.language),
        edit=edit,
        v=edit.values,
        steps=edit.steps,
        titles=titles,
        step_kinds=kinds,
        rules=[("", t.gettext("The adopted charter's rule"))]
        + [(code, t.gettext(label)) for code, label in words.RULES.items()],
        completions=[(code, t.gettext(label)) for code, label in words.COMPLETIONS.items()],
        organisation_kinds=[(code, t.gettext(label)) for code, label in words.KINDS.items()],
        errors=errors or Errors(),
        base=_href(detail.id),
        most_steps=process.MAX_STEPS,
        most_approvals=process.MAX_APPROVALS,
    )


@router.get(BASE + "/{template_id}/modifier")
async def edit_page(request: Request, template_id: str) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    detail = await _own(request, session, template_id)
    if not isinstance(detail, TemplateDetail):
        return detail
    return _edit_page(request, session, detail, edit_form_of(_t(request), detail.latest.template))


@router.post(BASE + "/{template_id}/modifier")
async def edit(request: Request, template_id: str) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    t = _t(request)
    form = await request.form()
    if not same_token(form, session.csrf):
        return _refused(request, t)
    detail = await _own(request, session, template_id)
    if not isinstance(detail, TemplateDetail):
        return detail
    edit = edit_form_from(form)
    if _changed(edit, form) is not None:
        for step in edit.steps:  # a step just made a decision: one approval to start from
            if step["kind"] == Phase.decision.value and not step["approvals"]:
                step["approvals"].append(new_approval(edit))
        return _edit_page(request, session, detail, edit)
    template, errors = edit_problems(t, edit, detail.id)
    if template is None:
        return _edit_page(request, session, detail, edit, errors, status=422)
    books = await library_of(request, session)
    stored = await books.store.add_version(session.organisation_id, template)
    return _saved(stored.template_id, stored.version)


# -- changing the YAML itself ---------------------------------------------------------------


def _yaml_page(
    request: Request,
    session: ConsoleSession,
    detail: TemplateDetail,
    text: str,
    errors: Errors | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    t = _t(request)
    return _render(
        request,
        "console_template_yaml.html",
        t,
        status=status,
        csrf=session.csrf,
        detail=detail,
        heading=detail.latest.template.name.said_in(t.language),
        text=text,
        errors=errors or Errors(),
        problems=problems or [],
        base=_href(detail.id),
    )


@router.get(BASE + "/{template_id}/yaml")
async def yaml_page(request: Request, template_id: str) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    detail = await _own(request, session, template_id)
    if not isinstance(detail, TemplateDetail):
        return detail
    return _yaml_page(request, session, detail, written(detail.latest.template))


@router.post(BASE + "/{template_id}/yaml")
async def save_yaml(request: Request, template_id: str) -> Response:
    session = _session(request)
    if session is None:
        return _to_sign_in(request)
    t = _t(request)
    form = await request.form()
    if not same_token(form, session.csrf):
        return _refused(request, t)
    detail = await _own(request, session, template_id)
    if not isinstance(detail, TemplateDetail):
        return detail
    text = str(form.get("yaml", ""))
    try:
        data = read(text)
        if isinstance(data, dict):
            # The template's id is the page's: a version of this template, whatever it says.
            data = {**data, "id": detail.id}
        template = parse(data, _now())
    except TemplateInvalid as invalid:
        lines = _problem_lines(t, invalid.problems)
        message = t.gettext("This YAML cannot be saved: change what is said below.")
        errors = Errors("yaml", "yaml", [(line, "yaml") for line in lines], {"yaml": message})
        return _yaml_page(request, session, detail, text, errors, lines, status=422)
    books = await library_of(request, session)
    stored = await books.store.add_version(session.organisation_id, template)
    return _saved(stored.template_id, stored.version)
