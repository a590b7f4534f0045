from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Gateway

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Ready: Temporal is reachable and an Alliance worker polled lately",
    responses={503: {"description": "not ready: the message says why"}},
)
async def readyz(gateway: Gateway) -> JSONResponse:
    address = gateway.settings.temporal_address
    if not await gateway.ready():
        return _not_ready("temporal_unavailable", f"Temporal is not reachable at {address}")
    if not await gateway.worker_running():
        return _not_ready(
            "no_worker",
            f"no Alliance worker has polled the task queue {gateway.settings.task_queue!r} in "
            "the last two minutes; actions are kept (202) until one runs, reads wait",
        )
    return JSONResponse({"status": "ready"})


def _not_ready(code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status": "not_ready", "code": code, "message": message},
        status_code=503,
        headers={"Retry-After": "5"},
    )
