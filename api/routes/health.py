from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Gateway

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", summary="Temporal is reachable", responses={503: {"description": "not ready"}}
)
async def readyz(gateway: Gateway) -> JSONResponse:
    if await gateway.ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse(
        {
            "status": "not_ready",
            "code": "temporal_unavailable",
            "message": f"Temporal is not reachable at {gateway.settings.temporal_address}",
        },
        status_code=503,
        headers={"Retry-After": "5"},
    )
