"""An answer by e-mail names what its mail asked (step, round, charter version): the decider
refuses it once the project has moved on, atomically with the update (issue 28)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import commands as cmd
from domain.errors import Rejected
from domain.models import MailOrigin
from domain.project import Project
from tests.domain.test_templates import to_first_decision
from tests.helpers import actor, make_spec

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def by_mail(pid: str, kind: str, round_: int, step: str = "decision") -> cmd.GiveAnswer:
    return cmd.GiveAnswer(
        actor=actor(pid),
        kind=kind,
        reason="Trop cher" if kind == "object" else None,
        mail=MailOrigin(signed=False),
        asked=cmd.MailAsked(step=step, round=round_),
    )


def test_a_reply_to_round_1_never_answers_round_2():
    project = Project.launch(make_spec(3), NOW)
    to_first_decision(project)
    project.execute(by_mail("p1", "object", 1), NOW)
    assert project.events[-1].data.mail == MailOrigin(signed=False)
    for pid in ("p2", "p3"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
    from tests.helpers import judged

    project.execute(judged("p1"), NOW)  # valid: round 2
    assert project.state.round == 2
    project.execute(
        cmd.SubmitPlan(actor=actor("fac"), proposal_ids=list(project.state.proposals),
                       summary="Le plan revu", objection_answers={"p1": "Moins cher"}),
        NOW,
    )  # fmt: skip
    with pytest.raises(Rejected) as refused:
        project.execute(by_mail("p2", "consent", 1), NOW)
    assert refused.value.code == "reply_too_late"
    project.execute(by_mail("p2", "consent", 2), NOW)  # its own round's mail: taken
