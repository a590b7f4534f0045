"""Process templates: the built-in ones and the organisation's own, as versions; read as
JSON or YAML, written as either (coordinator credential)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from api.deps import CurrentCaller, Gateway
from api.errors import ERRORS, ApiError
from api.security import Caller, Coordinator
from directory.templates import TemplateStore
from domain.fields import Identifier
from domain.models import Template
from domain.templates import MAX_DOCUMENT_BYTES, TemplateInvalid, parse
from process_templates.library import (
    Library,
    TemplateDetail,
    TemplateSummary,
    TemplateVersionOut,
    is_builtin,
)
from process_templates.yaml_io import read, too_deep, too_large, written

router = APIRouter(prefix="/templates", tags=["templates"])

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
# The request body as the OpenAPI says it: a template, as JSON or as YAML.
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Template"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


async def library(gateway: Any, caller: Caller) -> Library:
    if not isinstance(caller, Coordinator):
        raise ApiError(
            403,
            "not_allowed",
            "templates are read and written with a coordinator credential (ops read the "
            "built-in ones); a personal link reads its own project's template in its view",
        )
    directory = await gateway.contacts.directory()
    return Library(TemplateStore(directory), None if caller.ops else caller.organisation_id)


def invalid(refused: TemplateInvalid) -> ApiError:
    problems = refused.problems
    first = problems[0].said()
    more = f" (and {len(problems) - 1} more: see details)" if len(problems) > 1 else ""
    return ApiError(
        422,
        "invalid_template",
        f"{first}{more}",
        details=[
            {"step": p.step, "field": p.field, "code": p.code, "message": p.message}
            for p in problems
        ],
    )


async def document_of(request: Request) -> Template:
    """The template a request carries, as JSON or YAML, every problem said at once."""
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind in YAML_TYPES:
            data = read(raw)
        else:
            if len(raw) > MAX_DOCUMENT_BYTES:
                raise too_large(len(raw))
            try:
                data = json.loads(raw)
            except RecursionError:
                raise too_deep() from None
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ApiError(
                    422,
                    "invalid_request",
                    f"body: not JSON ({e}); send a template as JSON, or as YAML with "
                    "Content-Type: application/yaml",
                ) from None
        try:
            return parse(data, _now())
        except RecursionError:
            raise too_deep() from None
    except TemplateInvalid as refused:
        raise invalid(refused) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _writer(caller: Caller) -> str:
    if not isinstance(caller, Coordinator) or caller.ops or caller.organisation_id is None:
        raise ApiError(
            403,
            "not_allowed",
            "only a coordinating organisation's credential writes templates; ops credentials read",
        )
    return caller.organisation_id


@router.get(
    "",
    response_model=list[TemplateSummary],
    responses=ERRORS,
    summary="The templates to launch from: built in, then the organisation's own (latest "
    "version of each)",
)
async def list_templates(caller: CurrentCaller, gateway: Gateway) -> list[TemplateSummary]:
    return await (await library(gateway, caller)).list()


@router.post(
    "",
    status_code=201,
    response_model=TemplateDetail,
    responses=ERRORS,
    openapi_extra=DOCUMENT_BODY,
    summary="Save a new template as version 1 (JSON, or YAML with Content-Type: "
    "application/yaml); `new_id` saves an imported file under another id",
)
async def create_template(
    request: Request,
    caller: CurrentCaller,
    gateway: Gateway,
    new_id: Annotated[Identifier | None, Query(description="save it under this id")] = None,
) -> TemplateDetail:
    organisation = _writer(caller)
    template = await document_of(request)
    if new_id is not None:
        template = template.model_copy(update={"id": new_id})
        try:
            template = parse(template.model_dump(mode="json"), _now())
        except TemplateInvalid as refused:
            raise invalid(refused) from None
    books = await library(gateway, caller)
    if is_builtin(template.id):
        raise ApiError(
            409,
            "template_exists",
            f"{template.id!r} is a built-in template's id: save yours under another id "
            f"(?new_id=my-{template.id})",
        )
    if await books.exists(template.id):
        raise ApiError(
            409,
            "template_exists",
            f"a template {template.id!r} exists already: send it to "
            f"POST /templates/{template.id}/versions to make it a new version, or save it "
            "under another id (?new_id=...)",
        )
    await books.store.add_version(organisation, template)
    detail = await books.detail(template.id)
    assert detail is not None
    return detail


@router.post(
    "/{template_id}/versions",
    status_code=201,
    response_model=TemplateDetail,
    responses=ERRORS,
    openapi_extra=DOCUMENT_BODY,
    summary="Save a new version of one of the organisation's templates (projects launched "
    "from earlier versions keep theirs)",
)
async def add_version(
    template_id: Identifier, request: Request, caller: CurrentCaller, gateway: Gateway
) -> TemplateDetail:
    organisation = _writer(caller)
    if is_builtin(template_id):
        raise ApiError(
            409,
            "builtin_template",
            f"{template_id!r} is built in and ships with Alliance: duplicate it under an id "
            "of your own (POST /templates?new_id=...) to change it",
        )
    books = await library(gateway, caller)
    if not await books.exists(template_id):
        raise ApiError(404, "template_not_found", f"no template {template_id!r}: create it first")
    template = (await document_of(request)).model_copy(update={"id": template_id})
    await books.store.add_version(organisation, template)
    detail = await books.detail(template_id)
    assert detail is not None
    return detail


@router.get(
    "/{template_id}",
    response_model=TemplateDetail,
    responses=ERRORS,
    summary="A template: its latest version and the list of its versions",
)
async def get_template(
    template_id: Identifier, caller: CurrentCaller, gateway: Gateway
) -> TemplateDetail:
    detail = await (await library(gateway, caller)).detail(template_id)
    if detail is None:
        raise ApiError(404, "template_not_found", f"no template {template_id!r}")
    return detail


@router.get(
    "/{template_id}/versions/{version}",
    response_model=TemplateVersionOut,
    responses=ERRORS,
    summary="One version of a template (`?format=yaml`: the file to edit or share)",
)
async def get_version(
    template_id: Identifier,
    version: int,
    caller: CurrentCaller,
    gateway: Gateway,
    format: Annotated[str, Query(pattern="^(json|yaml)$")] = "json",
) -> Response:
    found = await (await library(gateway, caller)).version(template_id, version)
    if found is None:
        raise ApiError(
            404, "template_not_found", f"no version {version} of a template {template_id!r}"
        )
    if format == "yaml":
        return PlainTextResponse(
            written(found.template),
            media_type="application/yaml; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{template_id}.v{version}.yaml"'
            },
        )
    return Response(found.model_dump_json(), media_type="application/json")
