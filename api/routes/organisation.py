"""What a coordinating organisation learns across its projects (coordinator credential)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentCaller, Gateway
from api.errors import ERRORS, ApiError
from api.routes.projects import cooperation_out
from api.schemas import CooperationOut
from api.security import Coordinator
from directory.cooperation import CooperationStore

router = APIRouter(prefix="/organisation", tags=["organisation"])


@router.get(
    "/cooperation",
    response_model=CooperationOut,
    responses=ERRORS,
    summary="The cooperation questionnaire across the organisation's projects: what makes its "
    "cooperations work (each question's mean from three answers in all, anonymous)",
)
async def organisation_cooperation(caller: CurrentCaller, gateway: Gateway) -> CooperationOut:
    if not isinstance(caller, Coordinator) or caller.ops or caller.organisation_id is None:
        raise ApiError(
            403,
            "not_allowed",
            "only a coordinating organisation's credential reads its cooperations' figures",
        )
    store = CooperationStore(await gateway.contacts.directory())
    return cooperation_out(0, await store.organisation_figures(caller.organisation_id))
