"""The pure domain, without a server: decision rules, the fold, who is expected, each close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import commands as cmd
from domain import rules, steps
from domain.models import AnswerKind, DecisionRule, PhaseSettings, Process, Tally
from domain.project import Project, Rejected, spec_for
from domain.state import fold
from tests.helpers import actor, judged, launch_fields, make_spec

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def tally(consents=0, objections=0, abstentions=0, silent=0) -> Tally:
    voters = consents + objections + abstentions + silent
    return Tally(
        voters=voters,
        consents=consents,
        objections=objections,
        abstentions=abstentions,
        silent=silent,
    )


@pytest.mark.parametrize(
    ("rule", "t", "quorum", "outcome"),
    [
        # The quorum comes first, for every rule.
        (DecisionRule.consent, tally(consents=1, silent=4), 0.5, "no_quorum"),
        (DecisionRule.consent, tally(silent=1), 0.5, "no_quorum"),  # nobody took part
        (DecisionRule.consent, tally(consents=1, silent=4), 0.2, "adopted"),
        (DecisionRule.consent, tally(silent=5), 0, "adopted"),  # quorum 0: silence is consent
        (DecisionRule.consent, tally(consents=4, objections=1), 0.5, "not_adopted"),
        (DecisionRule.consent, tally(abstentions=3), 0.5, "adopted"),
        (DecisionRule.consensus, tally(consents=4, abstentions=1), 0.5, "adopted"),
        (DecisionRule.consensus, tally(consents=4, silent=1), 0.5, "not_adopted"),
        (DecisionRule.consensus, tally(consents=4, silent=1), 0, "adopted"),
        (DecisionRule.consensus, tally(consents=4, objections=1), 0.5, "not_adopted"),
        (DecisionRule.majority, tally(consents=3, objections=2), 0.5, "adopted"),
        (DecisionRule.majority, tally(consents=2, objections=1, abstentions=1), 0.5, "not_adopted"),
        (DecisionRule.majority, tally(consents=2, silent=3), 0.5, "no_quorum"),  # 2/5 < 0.5
        (DecisionRule.majority, tally(consents=2, silent=3), 0.4, "adopted"),  # 2/5 >= 0.4
        (DecisionRule.majority, tally(), 0.5, "no_quorum"),
    ],
)
def test_decision_rules(rule, t, quorum, outcome):
    assert rules.outcome_of(rule, t, quorum) == outcome


answer_kinds = st.sampled_from(list(AnswerKind))


@given(st.lists(st.one_of(st.none(), answer_kinds), min_size=1, max_size=12))
def test_consent_is_adopted_iff_no_objection_stands(answers):
    """Through the whole engine: partners answer (or stay silent), the facilitator closes."""
    project = decision_project(len(answers))
    for n, kind in enumerate(answers, start=1):
        if kind is not None:
            project.execute(cmd.GiveAnswer(actor=actor(f"p{n}"), kind=kind, reason="r"), NOW)
    if project.state.phase == "decision":  # not closed already by the last answer
        project.execute(cmd.ClosePhase(actor=actor("fac")), NOW)
    decision = project.state.decisions[-1]
    quorum_met = len(answers) - answers.count(None) >= len(answers) / 2
    adopted = quorum_met and AnswerKind.object not in answers
    assert (decision.outcome == "adopted") == adopted
    assert (decision.outcome == "no_quorum") == (not quorum_met)
    assert decision.tally.silent == answers.count(None)


def decision_project(
    partners: int, process: Process | None = None, rules_version: int = rules.RULES
) -> Project:
    project = Project.launch(make_spec(partners, process or Process()), NOW, rules_version)
    for n in range(1, partners + 1):
        project.execute(cmd.AddContribution(actor=actor(f"p{n}"), kind="need", text="x"), NOW)
    proposal = project.execute(
        cmd.SubmitProposal(
            actor=actor("p1"), title="t", description="d", indicators=[{"name": "i"}]
        ),
        NOW,
    )[0].data.proposal.id
    project.execute(cmd.SubmitPlan(actor=actor("fac"), proposal_ids=[proposal], summary="s"), NOW)
    assert project.state.phase == "decision"
    return project


commands = st.lists(
    st.one_of(
        st.builds(
            lambda n, k: cmd.AddContribution(actor=actor(f"p{n}"), kind=k, text="t"),
            st.integers(1, 4),
            st.sampled_from(["need", "resource", "observation", "constraint"]),
        ),
        st.builds(
            lambda n: cmd.SubmitProposal(
                actor=actor(f"p{n}"), title="t", description="d", indicators=[{"name": "i"}]
            ),
            st.integers(1, 4),
        ),
        st.builds(lambda: cmd.ClosePhase(actor=actor("fac"))),
        st.builds(
            lambda n, k: cmd.GiveAnswer(actor=actor(f"p{n}"), kind=k, reason="parce que"),
            st.integers(1, 4),
            answer_kinds,
        ),
        st.builds(lambda: cmd.SubmitPlan(actor=actor("fac"), proposal_ids=["prop-3"], summary="s")),
        st.builds(
            lambda n: cmd.RemoveParticipant(actor=actor("coord"), participant_id=f"p{n}"),
            st.integers(1, 4),
        ),
        st.builds(
            lambda n: cmd.ResendLink(actor=actor("coord"), participant_id=f"p{n}"),
            st.integers(1, 4),
        ),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(commands)
def test_folding_the_same_events_always_gives_the_same_state(sequence):
    project = Project.launch(make_spec(4), NOW)
    for n, command in enumerate(sequence):
        try:
            project.execute(command, NOW + timedelta(minutes=n))
        except Rejected:
            pass
    assert fold(project.events) == project.state
    assert fold(project.events) == fold(list(project.events))
    assert [e.seq for e in project.events] == list(range(1, len(project.events) + 1))


def test_a_refused_command_changes_nothing():
    project = Project.launch(make_spec(2), NOW)
    before = project.state.model_copy(deep=True)
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    assert refused.value.code == "wrong_phase"
    assert project.state == before and len(project.events) == 2


class TestEachWayAPhaseCloses:
    def test_diagnosis_closes_when_every_partner_contributed(self):
        project = Project.launch(make_spec(2), NOW)
        project.execute(cmd.AddContribution(actor=actor("p1"), kind="need", text="x"), NOW)
        assert project.state.phase == "diagnosis"
        project.execute(cmd.AddContribution(actor=actor("p2"), kind="need", text="x"), NOW)
        assert project.state.phase == "co_design"

    def test_diagnosis_stays_open_when_close_when_complete_is_off(self):
        process = Process(
            diagnosis=PhaseSettings(duration=timedelta(days=5), close_when_complete=False)
        )
        project = Project.launch(make_spec(1, process), NOW)
        project.execute(cmd.AddContribution(actor=actor("p1"), kind="need", text="x"), NOW)
        assert project.state.phase == "diagnosis"
        project.execute(cmd.ClosePhase(actor=actor("fac"), reason="assez d'éléments"), NOW)
        assert project.state.phase == "co_design"

    def test_diagnosis_closes_at_its_deadline(self):
        project = Project.launch(make_spec(2), NOW)
        alarm = project.next_alarm()
        assert alarm.kind == "deadline" and alarm.at == NOW + timedelta(days=21)
        project.on_time(alarm.at)
        assert project.state.phase == "co_design"
        assert [e.type for e in project.events[-3:]] == [
            "deadline_escalated",
            "phase_closed",
            "phase_opened",
        ]
        assert project.events[-3].data.missing == ["p1", "p2"]

    def test_co_design_closes_only_by_the_plan(self):
        project = Project.launch(make_spec(1), NOW)
        project.execute(cmd.AddContribution(actor=actor("p1"), kind="need", text="x"), NOW)
        with pytest.raises(Rejected) as refused:
            project.execute(cmd.ClosePhase(actor=actor("fac")), NOW)
        assert refused.value.code == "plan_required"
        project.on_time(project.state.deadline)
        assert project.state.phase == "co_design" and project.state.escalated
        assert project.next_alarm() is None  # alerted once, then waits for the plan

    def test_decision_closes_by_the_facilitator_with_the_answers_given(self):
        project = decision_project(3, Process(rule=DecisionRule.majority, quorum=0.6))
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
        project.execute(cmd.ClosePhase(actor=actor("fac")), NOW)
        decision = project.state.decisions[-1]
        assert decision.rule == "majority" and decision.outcome == "adopted"
        assert project.state.phase == "action"

    def test_action_closes_at_its_deadline_and_opens_evaluation(self):
        project = decision_project(1)
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
        assert project.state.phase == "action"
        project.on_time(project.state.deadline)
        assert project.state.phase == "evaluation"
        assert "deadline_escalated" not in [e.type for e in project.events]  # nobody was expected

    def test_under_the_first_rules_evaluation_closes_when_every_partner_scored(self):
        """Projects launched before 1.2 (rules 1) keep closing as they were recorded."""
        project = self.evaluating(rules_version=1)
        indicator = project.state.adopted_plan.indicators[0].id
        project.execute(
            cmd.Assess(actor=actor("p1"), scores=[{"indicator_id": indicator, "score": 2}]), NOW
        )
        assert project.state.phase_open
        with pytest.raises(Rejected) as refused:
            project.execute(
                cmd.Assess(actor=actor("p2"), scores=[{"indicator_id": "nope", "score": 2}]), NOW
            )
        assert refused.value.code == "unknown_indicator"
        project.execute(
            cmd.Assess(actor=actor("p2"), scores=[{"indicator_id": indicator, "score": 3}]), NOW
        )
        assert project.awaiting_report
        assert "conclusion_requested" not in [e.type for e in project.events]

    def test_evaluation_closes_when_the_facilitator_concludes_after_every_partner_scored(self):
        project = self.evaluating()
        indicator = project.state.adopted_plan.indicators[0].id
        for pid in ("p1", "p2"):
            assert [p.id for p in steps.pending(project.state)][-1] == "p2"
            project.execute(
                cmd.Assess(actor=actor(pid), scores=[{"indicator_id": indicator, "score": 4}]), NOW
            )
        # Every partner assessed: the facilitator is asked, once, and the phase stays open.
        assert project.state.phase_open and not project.awaiting_report
        assert [e.type for e in project.events].count("conclusion_requested") == 1
        assert [p.id for p in steps.pending(project.state)] == ["fac"]
        project.execute(cmd.StateOutcome(actor=actor("fac"), text="Les jardins vivent."), NOW)
        assert project.awaiting_report
        (conclusion,) = project.state.statements
        assert conclusion.conclusion and conclusion.round == 1

    def test_a_conclusion_written_early_closes_the_evaluation_with_the_last_score(self):
        project = self.evaluating()
        indicator = project.state.adopted_plan.indicators[0].id
        project.execute(cmd.StateOutcome(actor=actor("fac"), text="Bilan"), NOW)
        for pid in ("p1", "p2"):
            project.execute(
                cmd.Assess(actor=actor(pid), scores=[{"indicator_id": indicator, "score": 4}]), NOW
            )
        assert project.awaiting_report
        assert "conclusion_requested" not in [e.type for e in project.events]

    def test_an_evaluation_without_conclusion_closes_at_its_deadline(self):
        project = self.evaluating()
        project.on_time(project.state.deadline)
        assert project.awaiting_report and not project.state.concluded

    def test_the_outcome_of_a_round_is_written_until_the_next_decision_opens(self):
        project = decision_project(1, Process(max_rounds=2))
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="non"), NOW)
        assert project.state.phase == "decision"  # the facilitator judges the objection first
        project.execute(judged("p1"), NOW)
        assert project.state.phase == "co_design" and project.state.round == 2
        project.execute(cmd.StateOutcome(actor=actor("fac"), text="Pas encore"), NOW)
        assert project.state.statements[0].round == 1
        plan = cmd.SubmitPlan(
            actor=actor("fac"), proposal_ids=list(project.state.proposals), summary="s2",
            objection_answers={"p1": "revu"},
        )  # fmt: skip
        project.execute(plan, NOW)
        with pytest.raises(Rejected) as refused:
            project.check(cmd.StateOutcome(actor=actor("fac"), text="trop tard"), NOW)
        assert refused.value.code == "wrong_phase"
        old = decision_project(1, Process(max_rounds=2), rules_version=1)
        old.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="non"), NOW)
        old.execute(plan, NOW)
        assert old.state.phase == "decision"
        old.execute(cmd.StateOutcome(actor=actor("fac"), text="accepté sous les règles 1"), NOW)

    @staticmethod
    def evaluating(rules_version: int = rules.RULES) -> Project:
        process = Process(action=PhaseSettings(duration=timedelta(0)))
        project = decision_project(2, process, rules_version)
        for pid in ("p1", "p2"):
            project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
        assert project.state.phase == "evaluation"  # action lasting 0 is skipped
        return project


def test_facilitator_votes_only_when_the_process_says_so():
    project = decision_project(1)
    with pytest.raises(Rejected):
        project.check(cmd.GiveAnswer(actor=actor("fac"), kind="consent"), NOW)
    voting = decision_project(1, Process(facilitator_votes=True))
    voting.execute(cmd.GiveAnswer(actor=actor("fac"), kind="object", reason="non"), NOW)
    assert [p.id for p in steps.expected(voting.state)] == ["fac", "p1"]


def test_reminders_whose_moment_passed_are_not_armed():
    process = Process(
        diagnosis=PhaseSettings(
            duration=timedelta(days=2), reminders=[timedelta(days=3), timedelta(days=1)]
        )
    )
    project = Project.launch(make_spec(1, process), NOW)
    assert project.state.reminders_pending == [timedelta(days=1)]


def test_a_launch_refuses_a_phase_shorter_than_the_minimum():
    launch = launch_fields(process={"decision": {"duration": "PT30M"}})
    with pytest.raises(Rejected) as refused:
        spec_for(launch, "x", "mda-lyon8")
    assert refused.value.code == "phase_too_short"
    assert refused.value.field == "process.decision.duration"
    # The setting lowers the minimum (tests, benchmark); action may always be 0: skipped.
    skipping = launch_fields(process={"decision": {"duration": "PT30M"}, "action": {"duration": 0}})
    spec = spec_for(skipping, "x", "mda-lyon8", min_phase=timedelta(minutes=1))
    assert spec.process.action.duration == timedelta(0)


def test_nothing_is_recorded_while_the_report_is_published():
    project = decision_project(1, Process(action=PhaseSettings(duration=timedelta(0))))
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    indicator = project.state.adopted_plan.indicators[0].id
    project.execute(
        cmd.Assess(actor=actor("p1"), scores=[{"indicator_id": indicator, "score": 4}]), NOW
    )
    project.execute(cmd.StateOutcome(actor=actor("fac"), text="Conclusion"), NOW)
    assert project.awaiting_report
    for command in (
        cmd.Cancel(actor=actor("coord"), reason="trop tard"),
        cmd.StateOutcome(actor=actor("fac"), text="x"),
        cmd.ResendLink(actor=actor("coord"), participant_id="p1"),
    ):
        with pytest.raises(Rejected) as refused:
            project.execute(command, NOW)
        assert refused.value.code == "project_over" and "report" in refused.value.message


def test_finishing_twice_or_after_a_cancel_records_nothing():
    project = Project.launch(make_spec(1), NOW)
    project.execute(cmd.Cancel(actor=actor("coord"), reason="plus de financement"), NOW)
    from domain.events import ReportPublished

    assert project.finish(ReportPublished(location="x", digest="y"), NOW) == []
    assert project.state.phase == "cancelled"


def test_a_replacement_cannot_leave_a_project_without_its_coordinator():
    project = Project.launch(make_spec(1), NOW)
    with pytest.raises(Rejected) as refused:
        project.execute(
            cmd.ReplaceParticipant(
                actor=actor("coord"),
                participant_id="fac",
                replacement={
                    "organisation_name": "Un observateur",
                    "organisation_id": "x",
                    "role": "observer",
                },
            ),
            NOW,
        )
    assert refused.value.code == "last_of_role"
    project.execute(
        cmd.ReplaceParticipant(
            actor=actor("coord"),
            participant_id="fac",
            replacement={
                "id": "fac2",
                "organisation_name": "Nouvelle facilitatrice",
                "organisation_id": "x",
                "role": "facilitator",
            },
        ),
        NOW,
    )
    assert [p.id for p in steps.expected(project.state)] == ["p1"]


def test_reminders_overdue_at_the_deadline_are_dropped_not_sent_late():
    """A worker down past both reminder moments and the deadline sends no stale reminder."""
    project = Project.launch(
        make_spec(
            2,
            Process(
                diagnosis=PhaseSettings(
                    duration=timedelta(days=10), reminders=[timedelta(days=3), timedelta(days=1)]
                )
            ),
        ),
        NOW,
    )
    project.on_time(NOW + timedelta(days=12))
    types = [e.type for e in project.events]
    assert "reminder_sent" not in types
    assert types[-3:] == ["deadline_escalated", "phase_closed", "phase_opened"]


def test_a_reminder_carries_its_own_deadline():
    project = Project.launch(
        make_spec(
            2,
            Process(
                diagnosis=PhaseSettings(duration=timedelta(days=10), reminders=[timedelta(days=3)])
            ),
        ),
        NOW,
    )
    [reminder] = project.on_time(NOW + timedelta(days=7))
    assert reminder.data.deadline == NOW + timedelta(days=10)
    assert reminder.data.recipients == ["p1", "p2"]


@pytest.mark.parametrize("rules_version", [1, rules.RULES])
def test_an_evaluation_with_no_indicator_to_score_waits_only_for_the_conclusion(rules_version):
    project = Project.launch(
        make_spec(1, Process(action=PhaseSettings(duration=timedelta(0)))), NOW, rules_version
    )
    project.execute(cmd.AddContribution(actor=actor("p1"), kind="need", text="x"), NOW)
    proposal = project.execute(
        cmd.SubmitProposal(actor=actor("p1"), title="t", description="d"), NOW
    )[0].data.proposal.id
    project.execute(cmd.SubmitPlan(actor=actor("fac"), proposal_ids=[proposal], summary="s"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    if rules_version == 1:
        assert project.awaiting_report  # opened, complete, and closed in the same action
        return
    # No score to give: the facilitator is asked for the conclusion at once.
    assert project.events[-1].type == "conclusion_requested" and project.state.phase_open
    project.execute(cmd.StateOutcome(actor=actor("fac"), text="Rien à noter"), NOW)
    assert project.awaiting_report


def test_an_action_result_names_what_it_touched():
    from domain.views import item_of as _item_of

    project = decision_project(2)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    recorded = project.execute(
        cmd.RemoveParticipant(actor=actor("coord"), participant_id="p2"), NOW
    )
    assert [e.type for e in recorded][:2] == ["participant_removed", "phase_closed"]
    assert _item_of(recorded) == ("p2", None)
    replaced = project.execute(
        cmd.ReplaceParticipant(
            actor=actor("coord"),
            participant_id="p1",
            replacement={
                "id": "p9",
                "organisation_name": "Relève",
                "organisation_id": "o",
                "role": "partner",
            },
        ),
        NOW,
    )
    assert _item_of(replaced) == ("p9", 1)


@pytest.mark.parametrize(
    "settings",
    [
        {"duration": "P99999999D"},
        {"duration": "P10D", "reminders": ["P99999999D"]},
        {"duration": "P10D", "reminders": ["P1D"] * 11},
    ],
)
def test_a_process_refuses_durations_no_project_could_hold(settings):
    with pytest.raises(ValueError):
        cmd.PhaseSettingsFields(**settings)


def test_the_rule_returns_the_outcome_and_the_tally_behind_it():
    project = decision_project(3, Process(rule=DecisionRule.majority, quorum=0.6))
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="object", reason="trop cher"), NOW)
    step = project.state.current_step()
    result = steps.decision.result(project.state, step.approvals[0])
    outcome, counted = result.outcome, result.tally
    assert outcome == "not_adopted"  # 1 consent of 2 answers is not more than half
    assert (counted.voters, counted.consents, counted.objections, counted.silent) == (3, 1, 1, 1)
    project.execute(cmd.GiveAnswer(actor=actor("p3"), kind="consent"), NOW)
    assert project.state.decisions[-1].outcome == "adopted"  # 2 of 3, quorum met


class TestObjectionsWeighed:
    """Under consent (rules 3), the facilitator judges each objection before the close."""

    def test_a_concern_lets_the_decision_pass_and_goes_to_the_evaluation(self):
        project = decision_project(3)
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Risque"), NOW)
        for pid in ("p2", "p3"):
            project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
        state = project.state
        assert state.phase == "decision" and [p.id for p in steps.pending(state)] == ["fac"]
        with pytest.raises(Rejected) as refused:
            project.execute(judged("p2"), NOW)
        assert refused.value.code == "no_such_objection"
        project.execute(judged("p1", "concern", reason="Un risque à suivre"), NOW)
        (decision,) = state.decisions
        assert decision.outcome == "adopted" and decision.tally.concerns == 1
        assert decision.concerns == {"p1": "Risque"} and decision.objections == {}
        judgement = decision.approvals[0].judgements["p1"]
        assert (judgement.judgement, judgement.reason, judgement.safe_to_try) == (
            "concern", "Un risque à suivre", True
        )  # fmt: skip
        (point,) = state.concerns_to_check
        assert (point.participant_id, point.objection, point.reason) == (
            "p1", "Risque", "Un risque à suivre"
        )  # fmt: skip
        assert fold(project.events).model_dump() == state.model_dump()

    def test_a_valid_objection_blocks_and_the_next_plan_must_answer_it(self):
        project = decision_project(2, Process(max_rounds=2))
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Tort"), NOW)
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="object", reason="Doute"), NOW)
        project.execute(judged("p2", "concern"), NOW)
        project.execute(judged("p1", "valid"), NOW)
        assert (project.state.phase, project.state.round) == ("co_design", 2)
        # Only the valid objection is to be answered; the concern is recorded.
        assert project.state.objections_to_answer == {"p1": "Tort"}
        plan = cmd.SubmitPlan(actor=actor("fac"), proposal_ids=list(project.state.proposals),
                              summary="s2")  # fmt: skip
        with pytest.raises(Rejected) as refused:
            project.execute(plan, NOW)
        assert refused.value.code == "objection_unanswered" and "p1" in refused.value.message

    def test_a_changed_answer_is_judged_afresh_and_an_unjudged_one_counts_as_valid(self):
        project = decision_project(2)
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="A"), NOW)
        project.execute(judged("p1", "concern"), NOW)
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="B"), NOW)
        assert project.state.judgements == {}
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
        assert project.state.phase == "decision"  # waits for the judgement
        project.on_time(project.state.deadline)
        (decision,) = project.state.decisions
        assert decision.outcome == "not_adopted" and decision.objections == {"p1": "B"}

    def test_under_majority_or_rules_2_nothing_waits_for_a_judgement(self):
        old = decision_project(2, rules_version=2)
        old.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="A"), NOW)
        old.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
        assert old.state.decisions[0].outcome == "not_adopted"  # closed at once, as before
        majority = decision_project(2, Process(rule="majority"))
        majority.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="A"), NOW)
        with pytest.raises(Rejected) as refused:
            majority.execute(judged("p1"), NOW)
        assert refused.value.code == "not_under_consent"


class TestDelegation:
    """A partner's answer delegated to another partner: it counts for both, once each."""

    def test_a_delegated_answer_counts_for_both_and_the_partners_own_wins(self):
        project = decision_project(3)
        project.execute(cmd.DelegateAnswer(actor=actor("p1"), to="p2"), NOW)
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
        answers = {a.participant_id: (a.kind, a.by) for a in project.state.answers.values()}
        assert answers == {"p2": ("consent", None), "p1": ("consent", "p2")}
        with pytest.raises(Rejected) as refused:
            project.execute(cmd.RevokeDelegation(actor=actor("p1"),
                                                 delegation_id="delegation-" + "x"), NOW)  # fmt: skip
        assert refused.value.code == "unknown_delegation"
        (given,) = project.state.delegations.values()
        with pytest.raises(Rejected) as refused:
            project.execute(cmd.RevokeDelegation(actor=actor("p1"), delegation_id=given.id), NOW)
        assert refused.value.code == "delegation_used"
        # Its own answer always wins, and the delegate's later change leaves it be.
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="abstain"), NOW)
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="abstain"), NOW)
        answers = {a.participant_id: (a.kind, a.by) for a in project.state.answers.values()}
        assert answers["p1"] == ("abstain", None)
        project.execute(cmd.GiveAnswer(actor=actor("p3"), kind="consent"), NOW)
        decided = project.state.decisions[-1]
        assert (decided.tally.answers, decided.tally.abstentions) == (3, 2)
        assert fold(project.events).model_dump() == project.state.model_dump()

    def test_a_delegation_is_never_passed_on_nor_held_beyond_the_limit(self):
        project = decision_project(4)
        project.execute(cmd.DelegateAnswer(actor=actor("p1"), to="p2"), NOW)
        for command, code in (
            (cmd.DelegateAnswer(actor=actor("p2"), to="p3"), "delegation_chain"),  # A→B→C
            (cmd.DelegateAnswer(actor=actor("p2"), to="p1"), "delegation_chain"),  # A→B→A
            (cmd.DelegateAnswer(actor=actor("p3"), to="p1"), "delegation_chain"),  # C→A→B
            (cmd.DelegateAnswer(actor=actor("p1"), to="p3"), "already_delegated"),
            (cmd.DelegateAnswer(actor=actor("p3"), to="p3"), "unknown_delegate"),
        ):
            with pytest.raises(Rejected) as refused:
                project.execute(command, NOW)
            assert refused.value.code == code, command
        project.execute(cmd.DelegateAnswer(actor=actor("p3"), to="p2"), NOW)
        with pytest.raises(Rejected) as refused:  # p2 holds two: the most, by default
            project.execute(cmd.DelegateAnswer(actor=actor("p4"), to="p2"), NOW)
        assert refused.value.code == "too_many_delegations"

    def test_a_revoked_delegation_no_longer_counts_and_leaving_drops_them(self):
        project = decision_project(3)
        project.execute(cmd.DelegateAnswer(actor=actor("p1"), to="p2"), NOW)
        (given,) = project.state.delegations.values()
        project.execute(cmd.RevokeDelegation(actor=actor("p1"), delegation_id=given.id), NOW)
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
        assert [a.participant_id for a in project.state.answers.values()] == ["p2"]
        assert project.state.delegations[given.id].ended == "revoked"  # kept in the record
        project.execute(cmd.DelegateAnswer(actor=actor("p3"), to="p2"), NOW)
        # The delegate answered already: its answer counts for p3 at once.
        assert project.state.answers["partners/p3"].by == "p2"
        project.execute(cmd.LeaveProject(actor=actor("p2"), reason="Nous partons"), NOW)
        ended = [d for d in project.state.delegations.values() if d.ended == "left"]
        assert [d.delegator for d in ended] == ["p3"]
        assert "partners/p3" not in project.state.answers  # expected again
        assert fold(project.events).model_dump() == project.state.model_dump()


class TestReopening:
    """A step closed by mistake is reopened, as it was, with the time it had left."""

    def test_a_decision_closed_by_mistake_is_reopened_and_its_decision_is_void(self):
        project = decision_project(3, Process(max_rounds=2))
        state = project.state
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
        left = state.deadline - NOW
        project.execute(cmd.ClosePhase(actor=actor("fac"), reason="fini"), NOW)
        assert state.phase == "co_design" and state.decisions[-1].outcome == "no_quorum"
        later = NOW + timedelta(days=1)
        with pytest.raises(Rejected) as refused:
            project.execute(cmd.ReopenStep(actor=actor("p1"), reason="Oups"), later)
        assert refused.value.code == "not_allowed"
        project.execute(cmd.ReopenStep(actor=actor("fac"), reason="Clos par erreur"), later)
        assert (state.phase, state.round, state.phase_open) == ("decision", 1, True)
        assert state.deadline == later + left
        assert state.decisions[-1].voided
        assert [a.participant_id for a in state.answers.values()] == ["p1"]  # as it was
        assert [p.cause for p in state.periods][-2:] == ["reopened", None]
        for pid in ("p2", "p3"):
            project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), later)
        assert [d.outcome for d in state.decisions] == ["no_quorum", "adopted"]
        with pytest.raises(Rejected) as refused:  # nothing closed by hand since
            project.execute(cmd.ReopenStep(actor=actor("fac"), reason="Encore"), later)
        assert refused.value.code == "nothing_to_reopen"
        assert fold(project.events).model_dump() == state.model_dump()

    def test_no_reopening_once_someone_acted_after_or_past_the_window(self):
        project = Project.launch(make_spec(2), NOW)
        project.execute(cmd.AddContribution(actor=actor("p1"), kind="need", text="x"), NOW)
        project.execute(cmd.ClosePhase(actor=actor("fac"), reason="assez"), NOW)
        assert project.state.phase == "co_design"
        with pytest.raises(Rejected) as refused:
            project.execute(cmd.ReopenStep(actor=actor("fac"), reason="Oups"),
                            NOW + timedelta(days=8))  # fmt: skip
        assert refused.value.code == "reopen_window_passed"
        project.execute(cmd.SubmitProposal(actor=actor("p1"), title="t", description="d"), NOW)
        with pytest.raises(Rejected) as refused:
            project.execute(cmd.ReopenStep(actor=actor("fac"), reason="Oups"), NOW)
        assert refused.value.code == "nothing_to_reopen"


class TestFromTheReview:
    """What a review of issue 27's first parts found, each kept from coming back."""

    def test_a_delegation_for_a_decision_runs_out_with_it(self):
        project = decision_project(3, Process(max_rounds=2))
        project.execute(cmd.DelegateAnswer(actor=actor("p1"), to="p2"), NOW)
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="object", reason="Non"), NOW)
        project.execute(cmd.GiveAnswer(actor=actor("p3"), kind="consent"), NOW)
        project.execute(judged("p2"), NOW)
        project.execute(judged("p1"), NOW)  # its delegate's objection, given for it
        assert project.state.phase == "co_design"  # round 2: the delegation ran out
        until = NOW + timedelta(days=30)
        project.execute(cmd.DelegateAnswer(actor=actor("p2"), to="p3", until=until), NOW)
        project.execute(cmd.DelegateAnswer(actor=actor("p1"), to="p3", until=until), NOW)

    def test_judgements_are_refused_under_the_rules_a_project_was_launched_with(self):
        old = decision_project(2, rules_version=2)
        old.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="A"), NOW)
        with pytest.raises(Rejected) as refused:
            old.execute(judged("p1", "concern"), NOW)
        assert refused.value.code == "judgements_not_in_these_rules"

    def test_an_erased_objectors_concern_reads_redacted(self):
        project = decision_project(2)
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Secret"), NOW)
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
        project.execute(judged("p1", "concern"), NOW)
        project.execute(cmd.EraseParticipant(actor=actor("coord"), participant_id="p1",
                                             redact_texts=True), NOW)  # fmt: skip
        state = project.state
        assert state.decisions[0].concerns == {"p1": "[retiré]"}
        assert state.concerns_to_check[0].objection == "[retiré]"


def test_a_partner_removed_between_a_close_and_its_reopening_stays_removed():
    project = decision_project(3)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="abstain"), NOW)
    project.execute(cmd.ClosePhase(actor=actor("fac"), reason="fini"), NOW)
    project.execute(cmd.RemoveParticipant(actor=actor("coord"), participant_id="p2",
                                          reason="parti"), NOW)  # fmt: skip
    project.execute(cmd.ReopenStep(actor=actor("fac"), reason="Clos trop tôt"), NOW)
    assert [a.participant_id for a in project.state.answers.values()] == ["p1"]
    assert fold(project.events).model_dump() == project.state.model_dump()
