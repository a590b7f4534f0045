"""Decisions reviewed (issue 27): a review step after the decision opens on the decision's
review date (or a period after its adoption), every participant told a week before; the
partners answer keep, amend or end by the step's rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import commands as cmd
from domain import events as ev
from domain import steps
from domain.errors import Rejected
from domain.models import Outcome, Phase, ReviewChoice
from domain.project import Project
from domain.state import fold
from domain.templates import parse
from process_templates.builtin import launched
from tests.domain.test_templates import minimal, problems_of
from tests.helpers import actor, make_spec
from workflows import search_attributes as sa

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
DAY = timedelta(days=1)


def reviewed_template(rule: str = "majority", quorum: float = 0.5, **review: object) -> dict:
    return {
        "id": "revue",
        "name": {"fr": "Avec revue"},
        "steps": [
            {"id": "co_design", "name": {"fr": "Co-conception"}, "kind": "co_design",
             "duration": "P10D"},
            {"id": "decision", "name": {"fr": "Décision"}, "kind": "decision", "duration": "P7D",
             "approvals": [{"id": "partners", "approvers": {"roles": ["partner"]},
                            "rule": "majority", "quorum": 0.5}],
             "if_not_adopted": {"to": "co_design", "max_rounds": 2}},
            {"id": "revue", "name": {"fr": "Revue de la décision"}, "kind": "review",
             "duration": "P14D", "after": "P30D",
             "approvals": [{"id": "revue", "approvers": {"roles": ["partner"]},
                            "rule": rule, "quorum": quorum}],
             **review},
        ],
    }  # fmt: skip


def project_with_review(**kw: object) -> Project:
    template = parse(reviewed_template(**kw))
    return Project.launch(make_spec(3, template=launched(template)), NOW)


def plan(project: Project, at: datetime, review_on: datetime | None = None) -> None:
    project.execute(
        cmd.SubmitPlan(actor=actor("fac"), summary="Le jardin, le samedi", review_on=review_on,
                       objection_answers={k: "Réponse" for k in project.state.objections_to_answer}),
        at,
    )  # fmt: skip


def adopt(project: Project, at: datetime, review_on: datetime | None = None) -> None:
    plan(project, at, review_on)
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), at)


def answer(project: Project, pid: str, choice: str, at: datetime) -> None:
    reason = None if choice == "keep" else f"{pid} : le samedi ne convient plus"
    project.execute(cmd.AnswerReview(actor=actor(pid), choice=choice, reason=reason), at)


def until_open(project: Project) -> datetime:
    """Time passes alarm after alarm until the review opens; the moment it opened."""
    while project.state.review_waiting:
        alarm = project.next_alarm()
        assert alarm is not None
        project.on_time(alarm.at)
    return project.state.periods[-1].opened_at


def test_the_review_waits_for_its_period_after_adoption_and_tells_everyone_a_week_before():
    project = project_with_review()
    adopt(project, NOW)
    state = project.state
    assert state.phase == Phase.review and state.review_waiting
    assert state.deadline == NOW + 30 * DAY  # the step's `after`, from the adoption
    assert state.outcome == Outcome.adopted and not project.awaiting_report  # not closed yet
    # The earliest date the project waits for, for ops.
    assert sa.values(state)[sa.DEADLINE] == NOW + 30 * DAY
    with pytest.raises(Rejected) as refused:
        answer(project, "p1", "keep", NOW + DAY)
    assert refused.value.code == "review_not_open"
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.ClosePhase(actor=actor("fac")), NOW + DAY)
    assert refused.value.code == "review_not_open"

    notice = project.next_alarm()
    assert notice is not None and (notice.kind, notice.at) == ("review_notice", NOW + 23 * DAY)
    told = project.on_time(notice.at)
    assert [e.type for e in told] == ["review_notice_sent"]
    assert set(told[0].data.recipients) == {"coord", "fac", "obs", "p1", "p2", "p3"}
    opened = project.on_time(NOW + 30 * DAY)
    assert [e.type for e in opened] == ["phase_opened"]
    assert not project.state.review_waiting
    assert project.state.deadline == NOW + 44 * DAY  # its own duration to answer
    assert project.next_alarm().kind == "deadline"


def test_amend_returns_to_co_design_with_the_adopted_plan_as_first_draft_and_keep_ends():
    project = project_with_review()
    adopt(project, NOW)
    at = until_open(project)
    answer(project, "p1", "amend", at)
    answer(project, "p2", "amend", at)
    answer(project, "p3", "keep", at)  # everyone answered: the review closes
    state = project.state
    reviewed = state.reviews[-1]
    assert (reviewed.outcome, reviewed.counts) == (ReviewChoice.amend, {"keep": 1, "amend": 2,
                                                                         "end": 0})  # fmt: skip
    assert (state.phase, state.round) == (Phase.co_design, 2)
    assert state.draft_plan is not None and state.draft_plan.summary == "Le jardin, le samedi"
    # The plan adopted before stays in force while it is amended.
    assert state.outcome == Outcome.adopted and state.adopted_plan is not None
    later = at + DAY
    adopt(project, later, review_on=later + 10 * DAY)  # the amended plan sets its own date
    assert project.state.review_waiting and project.state.deadline == later + 10 * DAY
    at = until_open(project)
    for pid in ("p1", "p2", "p3"):
        answer(project, pid, "keep", at)
    assert project.state.reviews[-1].outcome == ReviewChoice.keep
    assert project.awaiting_report  # the template's end: the report, then closed
    project.finish(ev.ReportPublished(location="x", digest="d"), at)
    assert project.state.outcome == Outcome.adopted
    assert fold(project.events).model_dump() == project.state.model_dump()


@pytest.mark.parametrize(
    ("rule", "quorum", "answers", "expected", "quorum_met"),
    [
        ("majority", 0.5, {"p1": "end", "p2": "end", "p3": "keep"}, ReviewChoice.end, True),
        ("majority", 0.5, {"p1": "end", "p2": "amend", "p3": "keep"}, ReviewChoice.amend, True),
        ("consent", 0.5, {"p1": "keep", "p2": "keep", "p3": "amend"}, ReviewChoice.amend, True),
        ("consent", 0.5, {"p1": "keep", "p2": "keep"}, ReviewChoice.keep, True),
        ("consensus", 0.5, {"p1": "end", "p2": "end", "p3": "end"}, ReviewChoice.end, True),
        ("majority", 1.0, {"p1": "end", "p2": "end"}, ReviewChoice.keep, False),
    ],
)
def test_keep_and_end_carry_by_the_steps_rule_and_neither_carrying_amends(
    rule, quorum, answers, expected, quorum_met
):
    project = project_with_review(rule=rule, quorum=quorum)
    adopt(project, NOW)
    at = until_open(project)
    for pid, choice in answers.items():
        answer(project, pid, choice, at)
    if project.state.phase == Phase.review:  # someone silent: the deadline closes it
        project.on_time(project.state.deadline)
    result = project.state.reviews[-1]
    assert (result.outcome, result.quorum_met) == (expected, quorum_met)
    if expected == ReviewChoice.end:
        assert project.awaiting_report


def test_the_outcome_moves_the_review_date_and_everyone_is_told_again():
    project = project_with_review()
    adopt(project, NOW)
    project.on_time(NOW + 23 * DAY)  # the first notice
    assert project.state.review_noticed
    project.execute(
        cmd.StateOutcome(actor=actor("fac"), text="Revoir au printemps",
                         review_on=NOW + 60 * DAY),
        NOW + 24 * DAY,
    )  # fmt: skip
    state = project.state
    assert state.deadline == NOW + 60 * DAY and not state.review_noticed
    assert project.next_alarm().at == NOW + 53 * DAY  # a week before the new date


def test_an_amendment_not_adopted_leaves_the_decision_in_force_and_the_project_goes_on():
    project = project_with_review()
    adopt(project, NOW)
    at = until_open(project)
    for pid in ("p1", "p2", "p3"):
        answer(project, pid, "amend", at)
    for round_ in (2, 3):  # two rounds, as the decision allows, counted from the amendment
        assert project.state.round == round_
        plan(project, at)
        for pid in ("p1", "p2", "p3"):
            project.execute(cmd.GiveAnswer(actor=actor(pid), kind="abstain"), at)
    state = project.state
    assert [d.outcome for d in state.decisions] == [Outcome.adopted, Outcome.not_adopted,
                                                    Outcome.not_adopted]  # fmt: skip
    assert project.awaiting_report and state.outcome == Outcome.adopted
    assert state.adopted_plan is not None and state.adopted_plan.round == 1


def test_review_dates_and_answers_are_checked():
    project = project_with_review()
    with pytest.raises(Rejected) as refused:
        plan(project, NOW, review_on=NOW - DAY)
    assert (refused.value.code, refused.value.field) == ("review_date_past", "review_on")
    adopt(project, NOW)
    at = until_open(project)
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.AnswerReview(actor=actor("p1"), choice="end"), at)
    assert refused.value.code == "reason_required"
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.StateOutcome(actor=actor("fac"), text="x", review_on=at + DAY), at)
    assert refused.value.code == "review_open"
    # A process without a review step keeps no review date.
    plain = Project.launch(make_spec(3), NOW)
    for pid in ("p1", "p2", "p3"):
        plain.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="x"), NOW)
    with pytest.raises(Rejected) as refused:
        plan(plain, NOW, review_on=NOW + DAY)
    assert refused.value.code == "no_review_step"


def test_a_review_step_is_checked_in_the_template():
    decision = {"kind": "decision", "duration": "P7D",
                "approvals": [{"id": "a", "approvers": {"roles": ["partner"]}}]}  # fmt: skip
    found = problems_of(
        minimal(
            early={"kind": "review", "duration": "P7D", "after": "P30D"},
            d=decision,
            late={"kind": "review", "duration": "P7D", "amend_to": "nowhere",
                  "approvals": [{"id": "r", "approvers": {"roles": ["partner"]},
                                 "rule": "majority", "colleges": [
                                     {"id": "x", "members": {"roles": ["partner"]},
                                      "weight": 100}]}]},
            act={"kind": "action", "duration": "P7D", "after": "P1D"},
        )
    )  # fmt: skip
    codes = {(p.code, p.step, p.field) for p in found}
    assert ("review_without_decision", "early", "kind") in codes
    assert ("review_needs_after", "late", "after") in codes
    assert ("amend_to_not_before", "late", "amend_to") in codes
    assert ("review_one_voice", "late", "approvals.0.colleges") in codes
    assert ("only_for_review", "act", "after") in codes


def test_an_amendment_of_the_charter_neither_suspends_nor_moves_a_review_date():
    template = reviewed_template()
    template["steps"].insert(0, {"id": "charte", "name": {"fr": "Charte"}, "kind": "charter",
                                 "duration": "P10D"})  # fmt: skip
    project = Project.launch(make_spec(3, template=launched(parse(template))), NOW)
    from tests.domain.test_templates import charter_body

    project.execute(cmd.PublishCharter(actor=actor("fac"), **charter_body()), NOW)
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
    adopt(project, NOW)
    assert project.state.review_waiting
    amended = charter_body(changes=["Une réunion par mois"])
    project.execute(cmd.AmendCharter(actor=actor("fac"), **amended), NOW + DAY)
    assert project.state.amendment is not None
    # The review's notice and date come as planned; the amendment's own day too.
    alarms = []
    while project.state.review_waiting:
        alarm = project.next_alarm()
        alarms.append(alarm.kind)
        project.on_time(alarm.at)
    assert project.state.periods[-1].opened_at == NOW + 30 * DAY
    assert "amendment" in alarms and "review_notice" in alarms


def test_a_decision_closed_by_mistake_and_reopened_no_longer_waits_for_its_review():
    project = project_with_review()
    plan(project, NOW)
    for pid in ("p1", "p2"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
    project.execute(cmd.ClosePhase(actor=actor("fac"), reason="Par erreur"), NOW)
    assert project.state.review_waiting
    project.execute(cmd.ReopenStep(actor=actor("fac"), reason="Fermée trop tôt"), NOW + DAY)
    state = project.state
    assert (state.phase, state.phase_open, state.review_waiting) == (Phase.decision, True, False)
    assert project.next_alarm().kind in ("deadline", "reminder")
    project.execute(cmd.GiveAnswer(actor=actor("p3"), kind="consent"), NOW + DAY)
    assert project.state.review_waiting  # adopted again: the review waits once more


# -- from a review of the change: the cases the first tests left out ---------------------------


def amended(project: Project) -> datetime:
    """Adopted, reviewed and sent back to be amended: the moment it was."""
    adopt(project, NOW)
    at = until_open(project)
    for pid in ("p1", "p2", "p3"):
        answer(project, pid, "amend", at)
    return at


def test_erasure_hides_the_reasons_of_a_closed_review_everywhere():
    from domain.report import report_facts
    from domain.state import redacted_event

    project = project_with_review()
    at = amended(project)
    project.execute(cmd.EraseParticipant(actor=actor("coord"), participant_id="p1",
                                         redact_texts=True), at)  # fmt: skip
    (reviewed,) = project.state.reviews
    reasons = {a.participant_id: a.reason for a in reviewed.answers}
    assert reasons["p1"] == ev.REDACTED and reasons["p2"] != ev.REDACTED
    said = [r for o, _, r in report_facts(project.state).reviews[0].answers]
    assert ev.REDACTED in said and not any("p1 :" in r for r in said)
    logged = next(e for e in project.events if e.type == "decision_reviewed")
    shown = redacted_event(logged, project.state.redacted)
    assert "p1 :" not in shown.model_dump_json()


def test_partners_who_chose_the_essentials_hear_of_the_review_and_its_result():
    from domain.notices import ESSENTIALS

    assert {"review_notice_sent", "decision_reviewed"} <= ESSENTIALS


def test_an_amended_plan_adopted_is_assessed_afresh():
    template = reviewed_template()
    template["steps"].insert(2, {"id": "evaluation", "name": {"fr": "Évaluation"},
                                 "kind": "evaluation", "duration": "P7D"})  # fmt: skip
    project = Project.launch(make_spec(3, template=launched(parse(template))), NOW)
    project.execute(cmd.SubmitProposal(actor=actor("p1"), title="Jardin", description="Bacs",
                                       indicators=[cmd.IndicatorDraft(name="Familles")]), NOW)  # fmt: skip
    chosen = list(project.state.proposals)

    def adopt_the_proposal(at: datetime) -> None:
        project.execute(cmd.SubmitPlan(actor=actor("fac"), proposal_ids=chosen, summary="Bacs"), at)
        for pid in ("p1", "p2", "p3"):
            project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), at)

    adopt_the_proposal(NOW)
    (indicator,) = project.state.adopted_plan.indicators
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.Assess(actor=actor(pid), scores=[cmd.Score(indicator_id=indicator.id,
                                                                         score=4)]), NOW)  # fmt: skip
    project.execute(cmd.StateOutcome(actor=actor("fac"), text="Bilan"), NOW)
    at = until_open(project)
    for pid in ("p1", "p2", "p3"):
        answer(project, pid, "amend", at)
    adopt_the_proposal(at)  # the same proposal, its indicator's id the same
    state = project.state
    assert state.phase == Phase.evaluation and not state.conclusion_requested
    assert sorted(p.id for p in steps.pending(state)) == ["p1", "p2", "p3"]


def test_an_amendment_not_adopted_ends_the_amendment_and_says_the_decision_stays():
    from domain.notices import what_follows

    project = project_with_review()
    at = amended(project)
    for _round in (2, 3):
        plan(project, at)
        for pid in ("p1", "p2", "p3"):
            project.execute(cmd.GiveAnswer(actor=actor(pid), kind="abstain"), at)
    state = project.state
    assert not state.amending and state.draft_plan is None and state.amendments_dropped == [3]
    assert "amendment_dropped" in [e.type for e in project.events]
    assert what_follows(state, 3, Outcome.not_adopted) == {"next_phase": "kept"}


def test_two_decisions_on_the_amended_plan_keep_the_one_in_force_when_the_second_refuses():
    template = reviewed_template()
    template["steps"].insert(2, {"id": "decision-2", "name": {"fr": "Seconde décision"},
                                 "kind": "decision", "duration": "P7D",
                                 "approvals": [{"id": "second", "approvers": {"roles": ["partner"]},
                                                "rule": "majority", "quorum": 0.5}]})  # fmt: skip
    project = Project.launch(make_spec(3, template=launched(parse(template))), NOW)
    adopt(project, NOW)
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
    at = until_open(project)
    for pid in ("p1", "p2", "p3"):
        answer(project, pid, "amend", at)
    adopt(project, at)  # the first decision adopts the amended plan...
    for pid in ("p1", "p2", "p3"):  # ...the second refuses it
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="abstain"), at)
    state = project.state
    assert state.outcome == Outcome.adopted and state.adopted_plan.round == 1
    assert project.awaiting_report


def test_a_reopened_step_keeps_the_amendment_and_the_review_date_it_had():
    project = project_with_review()
    at = amended(project)
    plan(project, at)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), at)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), at)
    project.execute(cmd.ClosePhase(actor=actor("fac"), reason="Par erreur"), at)
    project.execute(cmd.ReopenStep(actor=actor("fac"), reason="Trop tôt"), at + DAY)
    state = project.state
    assert state.amending and state.plan_in_force is not None and state.cycle_from == 2


def test_a_second_review_counts_from_the_first_and_is_told_a_week_before():
    template = reviewed_template()
    template["steps"].append({"id": "revue-2", "name": {"fr": "Seconde revue"}, "kind": "review",
                              "duration": "P14D", "after": "P365D"})  # fmt: skip
    project = Project.launch(make_spec(3, template=launched(parse(template))), NOW)
    adopt(project, NOW)
    at = until_open(project)
    for pid in ("p1", "p2", "p3"):
        answer(project, pid, "keep", at)
    state = project.state
    assert (state.step, state.review_waiting, state.deadline) == ("revue-2", True, at + 365 * DAY)


def test_an_outcome_restating_the_date_in_force_tells_nobody_again():
    project = project_with_review()
    adopt(project, NOW, review_on=NOW + 30 * DAY)
    project.on_time(NOW + 23 * DAY)
    same = (NOW + 30 * DAY).replace(second=0)
    project.execute(cmd.StateOutcome(actor=actor("fac"), text="Bilan", review_on=same),
                    NOW + 24 * DAY)  # fmt: skip
    assert project.state.review_noticed
    assert project.events[-1].data.review_on is None


def test_cancelled_while_waiting_the_project_waits_no_more_and_the_coordinator_may_change_the_review_length():
    project = project_with_review()
    adopt(project, NOW)
    project.execute(
        cmd.EditProject(actor=actor("coord"), durations={"revue": "P21D"}, reason="Plus long"),
        NOW + DAY,
    )
    at = until_open(project)
    assert project.state.deadline == at + 21 * DAY
    project.execute(cmd.Cancel(actor=actor("coord"), reason="Fin"), at)
    assert not project.state.review_waiting


def test_a_review_closed_by_hand_offers_no_reopening():
    from domain.actions import available

    project = project_with_review()
    adopt(project, NOW)
    at = until_open(project)
    answer(project, "p1", "keep", at)
    project.execute(cmd.ClosePhase(actor=actor("fac"), reason="Assez"), at)
    facilitator = project.state.participants["fac"]
    assert "reopen_step" not in [a.update for a in available(project.state, facilitator)]
