"""Who a page is for: the session a personal link opens for one project, and one visit of a
page (that session, what the project shows it, the reader's texts). The routes make them, the
forms read them."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from domain.cooperation import CooperationFigures
from domain.models import Role
from domain.views import PageData
from texts.i18n import Texts


class PageSession(BaseModel):
    """Who this browser is for one project, set from a personal link."""

    project_id: str
    participant_id: str
    role: Role
    version: int
    csrf: str


@dataclass
class Visit:
    session: PageSession
    data: PageData
    t: Texts
    # The cooperation questionnaire's figures, once the evaluation closed (anonymous).
    cooperation: CooperationFigures | None = None
