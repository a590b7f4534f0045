"""The cooperation's own evaluation: a short, fixed questionnaire each partner answers once in
the evaluation step, about the alliance itself (its success factors), not the plan.

The answers are anonymous. The project's history records only that a partner answered (so
each answers once); the scores and comments are kept apart from it, in the directory, with no
participant id, no date and in no telling order. Figures are shown only from three answers,
so that no answer can be told apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from statistics import fmean

from pydantic import BaseModel

# The questions, in the order they are asked (their words: texts/words.py).
QUESTIONS: tuple[str, ...] = (
    "roles",  # the roles of each partner were clear
    "constraints",  # each partner's constraints were respected
    "language",  # we built a shared language
    "decisions",  # decisions were really taken together
    "neutrality",  # the facilitator stayed neutral
    "again",  # I would work with these partners again
)
# Below this many answers no figure is shown: one answer could be told apart.
MIN_ANSWERS = 3


class CooperationAnswer(BaseModel):
    """One partner's answer, as kept: no one's id in it."""

    scores: dict[str, int]
    comment: str = ""


class CooperationFigures(BaseModel):
    """What may be shown of a set of answers: how many there are, and (from three) the mean
    of each question and the comments."""

    answers: int
    means: dict[str, float] = {}
    comments: list[str] = []

    @property
    def shown(self) -> bool:
        return self.answers >= MIN_ANSWERS


# What the report's writers ask of the directory, where the answers are kept: a project's
# figures, given how many of its partners the project recorded as having answered.
FiguresOf = Callable[[str, int], Awaitable["CooperationFigures"]]


def figures_of(answers: Iterable[CooperationAnswer]) -> CooperationFigures:
    given = list(answers)
    if len(given) < MIN_ANSWERS:
        return CooperationFigures(answers=len(given))
    return CooperationFigures(
        answers=len(given),
        means={
            q: round(fmean(a.scores[q] for a in given if q in a.scores), 2)
            for q in QUESTIONS
            if any(q in a.scores for a in given)
        },
        comments=[a.comment for a in given if a.comment],
    )
