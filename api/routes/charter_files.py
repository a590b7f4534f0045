"""A charter agreed before the project: its file sent before the launch (the launch then
names it by the id answered), and read back by the project's participants."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from api.deps import CurrentCaller, Gateway, readable_view
from api.errors import ERRORS, ApiError
from api.security import Coordinator
from archive import charter_file
from domain.models import CHARTER_FILE_LIMIT

router = APIRouter(tags=["charter"])


class CharterFileOut(BaseModel):
    """The file kept: give its id as `charter_agreed.file.id` when launching."""

    id: str
    name: str
    size: int
    media_type: str


@router.post(
    "/charter-files",
    status_code=201,
    response_model=CharterFileOut,
    responses=ERRORS,
    summary="Send the file of a charter the partners agreed before the project (coordinator "
    "credential; a PDF, an OpenDocument text or a Word document, up to 10 MB); launch with "
    '`charter_agreed: {"agreed_on": ..., "file": {"id": <its id>}}`',
)
async def send_charter_file(
    file: Annotated[UploadFile, File(description="the charter's file: PDF, ODT or DOCX")],
    caller: CurrentCaller,
    gateway: Gateway,
) -> CharterFileOut:
    if not isinstance(caller, Coordinator) or caller.organisation_id is None:
        raise ApiError(
            403,
            "not_allowed",
            "only a coordinating organisation's credential may send a charter's file",
        )
    data = await file.read(CHARTER_FILE_LIMIT + 1)
    try:
        kept = await charter_file.keep(
            gateway.archivist.store, caller.organisation_id, file.filename or "", data
        )
    except charter_file.NotACharterFile as refused:
        status = 413 if len(data) > CHARTER_FILE_LIMIT else 422
        raise ApiError(status, "charter_file_refused", str(refused)) from None
    return CharterFileOut(
        id=kept.sha256, name=kept.name, size=kept.size, media_type=kept.media_type
    )


@router.get(
    "/projects/{project_id}/charter/document",
    responses={**ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    summary="The file of the charter agreed before the project, as it was sent",
)
async def charter_document(project_id: str, caller: CurrentCaller, gateway: Gateway) -> Response:
    view = await readable_view(gateway, caller, project_id)
    agreed = view.charter.agreed
    if agreed is None or agreed.document is None:
        raise ApiError(
            404,
            "no_charter_file",
            "this project's charter was not agreed before it with a file; its charter is at "
            f"/projects/{project_id}/charter",
        )
    document = agreed.document
    data = await charter_file.content(
        gateway.archivist.store, view.coordinator_organisation, document.sha256
    )
    if data is None:
        raise ApiError(
            503,
            "charter_file_unavailable",
            "the charter's file cannot be read from the archive store now; try again later, "
            "and tell the people running Alliance if it lasts",
        )
    return Response(
        data,
        media_type=document.media_type,
        headers={"Content-Disposition": attachment(document.name)},
    )


def attachment(name: str) -> str:
    """A download's header with its name as sent: an ASCII fallback, and the name itself
    encoded (RFC 6266), so "Charte cœur.pdf" arrives as it was."""
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
