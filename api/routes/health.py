from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

import startup
from api.deps import Gateway

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready: the data directory writable, Temporal reachable, an Alliance worker polled "
    "lately, the contact directory reachable",
    responses={503: {"description": "not ready: the code and message say what is missing"}},
)
async def readyz(gateway: Gateway) -> JSONResponse:
    settings = gateway.settings
    # What start-up checked (startup.py) and may have gone since: the API's own storage first.
    problem = await startup.readiness_problem(settings)
    if problem is not None:
        return _not_ready(problem.code, problem.message)
    if not await gateway.ready():
        return _not_ready(
            "temporal_unavailable", f"Temporal is not reachable at {settings.temporal_address}"
        )
    if not await gateway.worker_running():
        return _not_ready(
            "no_worker",
            f"no Alliance worker has polled the task queue {settings.task_queue!r} in "
            "the last two minutes; actions are kept (202) until one runs, reads wait",
        )
    # Last: the directory opens on first use, so it opens here only once the rest is there.
    problem = await startup.directory_problem(
        settings, gateway.contacts.directory, settings.rpc_timeout_seconds
    )
    if problem is not None:
        return _not_ready(problem.code, problem.message)
    return JSONResponse({"status": "ready"})


def _not_ready(code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status": "not_ready", "code": code, "message": message},
        status_code=503,
        headers={"Retry-After": "5"},
    )
