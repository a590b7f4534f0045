"""Answers to the cooperation questionnaire, kept in the directory's database, anonymous.

An answer is written before the project records that its partner answered (pending), then
confirmed; the project refusing it (an answer given already) drops it. An answer left pending
by a crash or a worker down between the two is confirmed by `reconcile` when the project's
count of who answered says one is missing, so nothing acknowledged is lost, and a retry never
counts twice.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select, update

from directory.store import Directory, LazyDirectory
from directory.tables import CooperationAnswerRow
from domain.cooperation import (
    QUESTIONS,
    CooperationAnswer,
    CooperationFigures,
    FiguresOf,
    figures_of,
)


def figures_provider(directory: LazyDirectory) -> FiguresOf:
    async def figures(project_id: str, answered: int) -> CooperationFigures:
        store = CooperationStore(await directory.get())
        await store.reconcile(project_id, answered)
        return await store.project_figures(project_id)

    return figures


def _answer(row: CooperationAnswerRow) -> CooperationAnswer:
    return CooperationAnswer(
        scores={q: getattr(row, q) for q in QUESTIONS}, comment=row.comment or ""
    )


class CooperationStore:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    async def add_pending(
        self, project_id: str, organisation_id: str, scores: dict[str, int], comment: str
    ) -> str:
        # A random id: the table is kept in its order, which tells nothing of who or when.
        answer_id = secrets.token_hex(16)
        async with self.directory._writes.begin() as session:
            session.add(
                CooperationAnswerRow(
                    id=answer_id,
                    project_id=project_id,
                    organisation_id=organisation_id,
                    comment=comment,
                    confirmed=False,
                    **{q: scores[q] for q in QUESTIONS},
                )
            )
        return answer_id

    async def confirm(self, answer_id: str) -> None:
        async with self.directory._writes.begin() as session:
            await session.execute(
                update(CooperationAnswerRow)
                .where(CooperationAnswerRow.id == answer_id)
                .values(confirmed=True)
            )

    async def drop(self, answer_id: str) -> None:
        async with self.directory._writes.begin() as session:
            await session.execute(
                delete(CooperationAnswerRow).where(CooperationAnswerRow.id == answer_id)
            )

    async def reconcile(self, project_id: str, answered: int) -> None:
        """The project recorded `answered` answers: confirm pending ones while fewer are
        confirmed (one left pending between writing it and the project recording it)."""
        async with self.directory._writes.begin() as session:
            confirmed = await session.scalar(
                select(func.count())
                .select_from(CooperationAnswerRow)
                .where(
                    CooperationAnswerRow.project_id == project_id,
                    CooperationAnswerRow.confirmed.is_(True),
                )
            )
            missing = answered - (confirmed or 0)
            if missing <= 0:
                return
            pending = await session.scalars(
                select(CooperationAnswerRow.id)
                .where(
                    CooperationAnswerRow.project_id == project_id,
                    CooperationAnswerRow.confirmed.is_(False),
                )
                .order_by(CooperationAnswerRow.id)
                .limit(missing)
            )
            ids = list(pending)
            if ids:
                await session.execute(
                    update(CooperationAnswerRow)
                    .where(CooperationAnswerRow.id.in_(ids))
                    .values(confirmed=True)
                )

    async def project_figures(self, project_id: str) -> CooperationFigures:
        return figures_of(await self._confirmed(CooperationAnswerRow.project_id == project_id))

    async def organisation_figures(self, organisation_id: str) -> CooperationFigures:
        """Across every project the organisation coordinated: what makes its cooperations
        work (from three answers in all)."""
        return figures_of(
            await self._confirmed(CooperationAnswerRow.organisation_id == organisation_id)
        )

    async def _confirmed(self, where) -> list[CooperationAnswer]:
        async with self.directory._reads() as session:
            rows = await session.scalars(
                select(CooperationAnswerRow)
                .where(where, CooperationAnswerRow.confirmed.is_(True))
                .order_by(CooperationAnswerRow.id)
            )
            return [_answer(r) for r in rows]
