"""Errors a person can act on: a status, a stable code and a message, as JSON."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from texts.i18n import explicit_language, texts
from texts.words import REFUSALS


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[dict] | None = None


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        # Each problem of a refused document (a template's: step, field, code, message).
        self.details = details


# The error answers every route may give, for the OpenAPI.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no, bad or revoked token"},
    403: {
        "model": ErrorBody,
        "description": "this role may not do that (the message says who may)",
    },
    404: {"model": ErrorBody, "description": "no such project (or not yours)"},
    409: {"model": ErrorBody, "description": "refused by the project's rules (code and message)"},
    422: {
        "model": ErrorBody,
        "description": "the body is not valid JSON or not UTF-8, a field is missing, empty or out "
        "of bounds (`details` names it), or an idempotency key was reused with another body",
    },
    503: {
        "model": ErrorBody,
        "description": "Temporal could not be reached, or no worker runs (the message says "
        "which; nothing was recorded); retry after `Retry-After` seconds",
    },
}
# Writes may also be received but not yet recorded.
ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    202: {
        "model": ErrorBody,
        "description": "received, not yet recorded (no worker confirmed it in time): follow "
        "`Location` (`GET /projects/{id}/actions/{key}`) for the result",
        "headers": {"Location": {"schema": {"type": "string"}}},
    },
    **ERRORS,
}


def _in_language(request: Request, exc: ApiError) -> str:
    """A refusal's message in the language the client asks for (Accept-Language), by its
    code; English, with its details, otherwise."""
    language = explicit_language(request.headers.get("accept-language"))
    if language in (None, "en") or exc.code not in REFUSALS:
        return exc.message
    return texts(language, None).gettext(REFUSALS[exc.code])


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes on this path (Starlette's 405 names only the first
    route's), and OPTIONS."""
    methods = {"OPTIONS"}
    routes = list(request.app.router.routes)
    while routes:
        route = routes.pop()
        match, _ = route.matches(request.scope)
        if match == Match.NONE:
            continue
        methods |= getattr(route, "methods", None) or set()
        # An included router (FastAPI wraps them): look at its own routes.
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        routes += inner or []
    return sorted(methods)


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return request.method == "GET" and "text/html" in accept


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            ErrorBody(
                code=exc.code, message=_in_language(request, exc), details=exc.details
            ).model_dump(exclude_none=True),
            status_code=exc.status,
            # The message follows Accept-Language: caches must keep one per language.
            headers={**(exc.headers or {}), "Vary": "Accept-Language"},
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request", "type": ""}
        where = ".".join(str(part) for part in first["loc"] if part != "body") or "body"
        message = f"{where}: {first['msg']}"
        if first["type"] == "json_invalid":
            at = first["loc"][-1] if first["loc"] else "?"
            message = f"the body is not valid JSON (error at character {at})"
        elif first["loc"] == ["body"] and first["type"] in ("model_attributes_type", "dict_type"):
            message = "send a JSON object as the body, with 'Content-Type: application/json'"
        body = ErrorBody(code="invalid_request", message=message, details=details)
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and request.method in ("POST", "PUT", "PATCH", "DELETE"):
            # FastAPI's answer to a body it cannot decode (not UTF-8): invalid input, like
            # invalid JSON.
            body = ErrorBody(
                code="invalid_request",
                message="the body could not be read: send JSON encoded in UTF-8, with "
                "'Content-Type: application/json'",
            )
            return JSONResponse(body.model_dump(exclude_none=True), status_code=422)
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(request))
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allow})
            body = ErrorBody(
                code="method_not_allowed",
                message=f"{request.method} is not allowed on {request.url.path}; "
                f"allowed: {allow} (see /docs)",
            )
            return JSONResponse(
                body.model_dump(exclude_none=True), status_code=405, headers={"Allow": allow}
            )
        html_page = getattr(request.app.state, "html_not_found", None)
        if exc.status_code == 404 and html_page and _wants_html(request):
            # A person's browser on a path that is not one (a cut link, a typo): a page in
            # their language, not the API's JSON.
            return html_page(request)
        codes = {404: "not_found", 405: "method_not_allowed"}
        messages = {
            404: f"no such path {request.url.path}; see /docs for the API's paths",
            405: f"{request.method} is not allowed on {request.url.path}; see /docs",
        }
        body = ErrorBody(
            code=codes.get(exc.status_code, "http_error"),
            message=messages.get(exc.status_code, str(exc.detail)),
        )
        return JSONResponse(
            body.model_dump(exclude_none=True),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug of ours, never the client's: say so in the same shape, and log it.
        # The route's template, not the path: a personal link carries its token in the path.
        route = getattr(request.scope.get("route"), "path", "unmatched")
        logging.getLogger("alliance.api").exception("unexpected error on %s", route)
        body = ErrorBody(
            code="internal_error",
            message="an unexpected error occurred; it was "
            "logged, and retrying will not help until it is fixed",
        )
        return JSONResponse(body.model_dump(exclude_none=True), status_code=500)
