"""The codec server: the Temporal UI and CLI send it encrypted payloads (POST /decode) and get
them back readable, so ops see a project's history while Temporal stores none of it in clear.

Protocol (Temporal's remote codec): a JSON body {"payloads": [...]} in protobuf's JSON form,
the same shape back; the namespace in the X-Namespace header. The UI calls it from the ops
person's browser, so CORS lets the UI's origin in. Who may call it: with ALLIANCE_CODEC_TOKENS
set, a request carries one of them as a bearer token (the UI forwards its user's token, the
CLI sends --codec-auth); without, it answers loopback clients only (the local run, where the
dev server's UI cannot send a credential).

    python -m api.codec_server   # on ALLIANCE_CODEC_HOST:ALLIANCE_CODEC_PORT (the compose file's)
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import structlog
import uvicorn
from cryptography.exceptions import InvalidTag
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from codec import EncryptionCodec, MissingKey
from settings import Settings
from telemetry import configure_logging

log = structlog.get_logger("alliance.codec")


def ui_origins(ui_url: str) -> list[str]:
    """The UI's origin, and its loopback twin (localhost and 127.0.0.1 are two origins)."""
    parts = urlsplit(ui_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    twins = {"localhost": "127.0.0.1", "127.0.0.1": "localhost"}
    if parts.hostname in twins:
        port = f":{parts.port}" if parts.port else ""
        return [origin, f"{parts.scheme}://{twins[parts.hostname]}{port}"]
    return [origin]


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_codec_app(settings: Settings) -> FastAPI:
    codec = EncryptionCodec(settings.plain_codec_keys())
    tokens = [token.get_secret_value() for token in settings.codec_tokens]
    app = FastAPI(title="Alliance codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=ui_origins(settings.ui_url),
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )

    def refusal(request: Request) -> Response | None:
        if tokens:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not any(hmac.compare_digest(given.encode(), t.encode()) for t in tokens):
                log.warning("codec request refused: no valid token")
                return JSONResponse({"detail": "a valid bearer token is required"}, status_code=401)
        elif not _loopback(request):
            return JSONResponse(
                {"detail": "this codec server answers loopback only (ALLIANCE_CODEC_TOKENS)"},
                status_code=403,
            )
        namespace = request.headers.get("x-namespace")
        if namespace and namespace != settings.namespace:
            return JSONResponse(
                {"detail": f"this codec server serves namespace {settings.namespace!r}"},
                status_code=403,
            )
        return None

    async def transform(
        request: Request, step: Callable[[list[Payload]], Awaitable[list[Payload]]]
    ) -> Response:
        refused = refusal(request)
        if refused is not None:
            return refused
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except (json_format.ParseError, UnicodeDecodeError):
            return JSONResponse(
                {"detail": 'the body is {"payloads": [...]} in protobuf JSON'}, status_code=400
            )
        try:
            done = await step(list(payloads.payloads))
        except MissingKey as e:
            return JSONResponse({"detail": str(e)}, status_code=422)
        except InvalidTag:
            return JSONResponse(
                {"detail": "a payload does not decrypt with its key: altered, or a wrong key"},
                status_code=422,
            )
        return Response(
            json_format.MessageToJson(Payloads(payloads=done)), media_type="application/json"
        )

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await transform(request, codec.encode)

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await transform(request, codec.decode)

    return app


def main() -> None:
    """The codec server as a process of its own, with Alliance's log lines (the local run serves
    it inside run_local.py instead)."""
    settings = Settings()
    configure_logging(settings)
    uvicorn.run(
        create_codec_app(settings),
        host=settings.codec_host,
        port=settings.codec_port,
        # Alliance's logging, not uvicorn's; no access log: the request carries a bearer token.
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
