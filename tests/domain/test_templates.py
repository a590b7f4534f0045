"""Process templates as documents: the built-in ones, what validation refuses (naming the step
and the field), YAML read safely, the digest; then the pure step machine, property-based: any
template the validator accepts runs to an end under a random order of people's actions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from domain import commands as cmd
from domain import events as ev
from domain import steps, templates
from domain.actions import available
from domain.errors import Rejected
from domain.models import (
    AgreedCharter,
    AnswerKind,
    OrganisationKind,
    Outcome,
    Participant,
    Phase,
    Process,
    ReviewChoice,
    Role,
)
from domain.project import Project, spec_for
from domain.state import fold, redacted_event
from domain.steps.decision import approvals_of
from domain.templates import Template, TemplateInvalid, parse
from domain.views import current_details
from process_templates.builtin import builtin, builtin_templates, launched
from process_templates.yaml_io import read, written
from tests.helpers import actor, judged, launch_fields, make_spec

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def problems_of(document: dict | str) -> list[templates.Problem]:
    with pytest.raises(TemplateInvalid) as refused:
        parse(read(document) if isinstance(document, str) else document, NOW)
    return refused.value.problems


def minimal(**steps_by_id: dict) -> dict:
    return {
        "id": "essai",
        "name": {"fr": "Essai"},
        "steps": [{"id": k, "name": {"fr": k}, **v} for k, v in steps_by_id.items()],
    }


DECISION = {
    "kind": "decision",
    "duration": "P7D",
    "approvals": [{"id": "partners", "approvers": {"roles": ["partner"]}}],
}


# -- the built-in templates ---------------------------------------------------------------------


def test_the_built_in_templates_are_valid_and_co_construction_v1_is_the_1x_lifecycle():
    assert set(builtin_templates()) == {
        ("co-construction", 1),
        ("co-construction", 2),
        ("appel-a-projets", 1),
        ("appel-a-projets", 2),
        ("consultation", 1),
    }
    # What every 1.x project runs, derived from its process: the same document, the same digest.
    assert builtin("co-construction", 1) == templates.co_construction(Process())
    assert templates.digest(builtin("co-construction", 1)) == templates.digest(
        templates.co_construction()
    )
    aap = builtin("appel-a-projets", 1)
    assert [s.id for s in aap.steps] == [
        "diagnosis",
        "co_design",
        "budget",
        "decision",
        "action",
        "evaluation",
    ]
    budget, partners = aap.step("budget").approvals[0], aap.step("decision").approvals[0]
    assert budget.approvers.organisation_kinds == [OrganisationKind.local_authority]
    assert (budget.rule, partners.rule) == ("consent", "majority")
    assert aap.step("budget").if_not_adopted.to == "co_design"
    consultation = builtin("consultation")
    assert [s.kind for s in consultation.steps] == [Phase.diagnosis, Phase.decision]


def test_a_template_written_out_in_yaml_reads_back_to_the_same_digest():
    for template in builtin_templates().values():
        again = parse(read(written(template)))
        assert again == template
        assert templates.digest(again) == templates.digest(template)
    # JSON, keys in another order, defaults spelled out: the same content, the same digest.
    aap = builtin("appel-a-projets", 1)
    shuffled = json.loads(json.dumps(aap.model_dump(mode="json"), sort_keys=True))
    assert templates.digest(parse(dict(reversed(list(shuffled.items()))))) == (
        templates.digest(aap)
    )


# -- what validation refuses ---------------------------------------------------------------------


def test_a_loop_to_a_missing_or_later_step_is_refused_naming_the_step():
    document = minimal(
        diagnosis={"kind": "diagnosis", "duration": "P7D"},
        vote={**DECISION, "if_not_adopted": {"to": "co-design"}},
    )
    (problem,) = problems_of(document)
    assert (problem.code, problem.step, problem.field) == (
        "loop_to_missing_step",
        "vote",
        "if_not_adopted.to",
    )
    assert "'co-design', which is no step of this template" in problem.said()
    forward = minimal(
        vote={**DECISION, "if_not_adopted": {"to": "after"}},
        after={"kind": "action", "duration": "P7D"},
    )
    assert [(p.code, p.step) for p in problems_of(forward)] == [("loop_forward", "vote")]


def test_every_problem_is_said_at_once_each_with_its_step_and_field():
    document = minimal(
        a={"kind": "diagnosis", "duration": "P7D"},
        b={"kind": "vote", "duration": "P7D"},
        c={"kind": "evaluation", "duration": "PT0S"},
        d={**DECISION, "approvals": [{"id": "x", "approvers": {}}]},
    )
    document["steps"].append({"id": "a", "name": {"fr": "A"}, "kind": "action", "duration": "P1D"})
    found = problems_of(document)
    # The unknown kind is found while reading (pydantic), before the rest.
    assert [(p.code, p.step, p.field) for p in found] == [("unknown_kind", "b", "kind")]
    assert "unknown kind 'vote'" in found[0].message
    document["steps"][1]["kind"] = "wait"
    found = {(p.code, p.step, p.field) for p in problems_of(document)}
    assert found == {
        ("duration_out_of_bounds", "c", "duration"),
        ("evaluation_without_plan", "c", "kind"),
        ("no_approvers", "d", "approvals.0.approvers"),
        ("duplicate_step", "a", "id"),
    }


def test_unknown_fields_and_bad_values_name_their_step():
    document = minimal(vote={**DECISION, "aprovals": []})
    (problem,) = problems_of(document)
    assert (problem.code, problem.step, problem.field) == ("unknown_field", "vote", "aprovals")
    document = minimal(vote={**DECISION, "duration": "P9000D"})
    assert [(p.code, p.step) for p in problems_of(document)] == [("duration_out_of_bounds", "vote")]
    document = minimal(
        vote={**DECISION, "approvals": [{"id": "x", "approvers": {"roles": ["observer"]}}]}
    )
    assert [p.code for p in problems_of(document)] == ["role_cannot_approve"]
    document = minimal(vote={**DECISION, "approvals": [{"id": "x", "quorum": 2}]})
    assert [(p.code, p.field) for p in problems_of(document)] == [
        ("quorum_out_of_bounds", "approvals.0.quorum")
    ]
    assert [p.code for p in problems_of(minimal(a={"kind": "diagnosis", "duration": "P1D"}))] == [
        "no_decision"
    ]
    co_design_last = minimal(v=DECISION, c={"kind": "co_design", "duration": "P1D"})
    assert [p.code for p in problems_of(co_design_last)] == ["plan_never_decided"]


def test_a_wait_lasts_a_duration_or_until_a_later_date_with_its_time_zone():
    past = minimal(pause={"kind": "wait", "until": "2026-01-15T09:00:00+01:00"}, v=DECISION)
    (problem,) = problems_of(past)
    assert (problem.code, problem.step, problem.field) == ("date_past", "pause", "until")
    later = minimal(pause={"kind": "wait", "until": "2027-01-15T09:00:00+01:00"}, v=DECISION)
    assert parse(later, NOW).step("pause").until == datetime.fromisoformat(
        "2027-01-15T09:00:00+01:00"
    )
    both = minimal(
        pause={"kind": "wait", "until": "2027-01-15T09:00:00+01:00", "duration": "P1D"}, v=DECISION
    )
    assert [p.code for p in problems_of(both)] == ["wait_needs_one_end"]
    naive = minimal(pause={"kind": "wait", "until": "2027-01-15T09:00:00"}, v=DECISION)
    assert [p.code for p in problems_of(naive)] == ["until_needs_time_zone"]


def test_yaml_is_read_safely():
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    (problem,) = problems_of(bomb)
    assert problem.code == "yaml_alias" and "line 2" in problem.message
    (problem,) = problems_of("id: !!python/object/apply:os.system ['true']\n")
    assert problem.code == "yaml_unreadable"
    (problem,) = problems_of("x" * (templates.MAX_DOCUMENT_BYTES + 1))
    assert problem.code == "document_too_large"
    (problem,) = problems_of("steps: [\n")
    assert problem.code == "yaml_unreadable" and problem.message.startswith("line ")
    assert problems_of("- a\n- b\n")[0].code == "not_a_template"


# -- at launch -----------------------------------------------------------------------------------


def test_a_launch_refuses_a_template_whose_approvers_are_not_in_the_project():
    aap = launched(builtin("appel-a-projets", 1))
    with pytest.raises(Rejected) as refused:
        spec_for(launch_fields(template={"id": "appel-a-projets"}), "x", "mda", template=aap)
    assert refused.value.code == "approvers_empty"
    assert "no participant of this project approves 'budget'" in refused.value.message
    fields = launch_fields(template={"id": "appel-a-projets"})
    fields.participants[2].organisation_kind = OrganisationKind.local_authority
    spec = spec_for(fields, "x", "mda", template=aap)
    assert spec.template.digest == templates.digest(builtin("appel-a-projets", 1))
    assert spec.template.content.steps[2].id == "budget"


def test_a_launch_takes_either_a_template_or_a_process_and_changes_durations_by_step():
    with pytest.raises(ValueError, match="either a template or a process"):
        launch_fields(template={"id": "consultation"}, process={})
    fields = launch_fields(template={"id": "consultation"}, durations={"decision": "P3D"})
    spec = spec_for(fields, "x", "mda", template=launched(builtin("consultation")))
    assert spec.template.content.step("decision").duration == timedelta(days=3)
    # The published version's digest: the project says which template it came from.
    assert spec.template.digest == templates.digest(builtin("consultation"))
    fields = launch_fields(template={"id": "consultation"}, durations={"vote": "P3D"})
    with pytest.raises(Rejected) as refused:
        spec_for(fields, "x", "mda", template=launched(builtin("consultation")))
    assert (refused.value.code, refused.value.field) == ("unknown_step", "durations.vote")
    # No template named: co-construction v1 with the launch's process, as in 1.x.
    spec = spec_for(launch_fields(process={"rule": "majority"}), "x", "mda")
    assert (spec.template.id, spec.template.version) == ("co-construction", 1)
    assert spec.template.content.step("decision").approvals[0].rule == "majority"


# -- running a template: appel-a-projets by hand -------------------------------------------------


def aap_project(**kinds: str) -> Project:
    spec = make_spec(3, template=launched(builtin("appel-a-projets", 1)))
    for p in spec.participants:
        if p.id in kinds:
            p.organisation_kind = OrganisationKind(kinds[p.id])
    return Project.launch(spec, NOW)


def to_first_decision(project: Project) -> None:
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="Un besoin"), NOW)
    project.execute(
        cmd.SubmitProposal(
            actor=actor("p1"),
            title="Jardin",
            description="Un jardin",
            indicators=[cmd.IndicatorDraft(name="Familles")],
        ),
        NOW,
    )
    plan = cmd.SubmitPlan(
        actor=actor("fac"),
        proposal_ids=list(project.state.proposals),
        summary="Le plan",
        objection_answers={k: "Réponse" for k in project.state.objections_to_answer},
    )
    project.execute(plan, NOW)


def test_appel_a_projets_asks_the_local_authorities_then_the_partners():
    # make_spec's p1 is a local authority, p2 and p3 are not.
    project = aap_project()
    to_first_decision(project)
    assert (project.state.phase, project.state.step) == (Phase.decision, "budget")
    assert [p.id for p in steps.expected(project.state)] == ["p1"]
    # The Temporal UI's details line names the step.
    assert current_details(project.state) == "decision (budget), round 1: waiting for 1 of 1 voters"
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    assert refused.value.code == "not_an_approver"
    assert "'budget': the partners that are local_authority (Partner 1)" in refused.value.message
    assert "answer" not in [
        a.update for a in available(project.state, project.state.participants["p2"])
    ]
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    # The budget approved: the partners decide, by majority, on the same plan.
    assert project.state.step == "decision"
    assert project.state.outcome is None  # not adopted for good yet
    assert [p.id for p in steps.expected(project.state)] == ["p1", "p2", "p3"]
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p3"), kind="object", reason="Trop cher"), NOW)
    budget, partners = project.state.decisions
    assert (budget.step, budget.outcome, budget.approvals[0].approval) == (
        "budget",
        Outcome.adopted,
        "budget",
    )
    assert (partners.step, partners.outcome, partners.approvals[0].tally.consents) == (
        None,
        Outcome.adopted,
        2,
    )
    assert (project.state.phase, project.state.outcome) == (Phase.action, Outcome.adopted)


def test_an_objection_in_the_budget_approval_loops_back_to_co_design_and_both_decide_again():
    project = aap_project()
    to_first_decision(project)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Budget"), NOW)
    project.execute(judged("p1"), NOW)
    assert (project.state.phase, project.state.round) == (Phase.co_design, 2)
    assert project.state.objections_to_answer == {"p1": "Budget"}
    plan = cmd.SubmitPlan(
        actor=actor("fac"),
        proposal_ids=list(project.state.proposals),
        summary="Le plan revu",
        objection_answers={"p1": "Réponse"},
    )
    project.execute(plan, NOW)
    assert (project.state.step, project.state.round) == ("budget", 2)
    assert project.state.plans[-1].objection_answers == {"p1": "Réponse"}


def test_an_approval_whose_approvers_all_left_is_void_and_the_step_goes_on():
    project = aap_project()
    to_first_decision(project)
    project.execute(cmd.RemoveParticipant(actor=actor("coord"), participant_id="p1"), NOW)
    # Nobody left to approve the budget: the step closes, void, and the partners decide.
    (budget,) = project.state.decisions
    assert budget.approvals[0].void and budget.outcome == Outcome.no_quorum
    assert project.state.phase == Phase.co_design  # no_quorum: back for round 2


def test_a_consultation_decides_on_the_facilitators_text():
    spec = make_spec(2, template=launched(builtin("consultation")))
    project = Project.launch(spec, NOW)
    for pid in ("p1", "p2"):
        project.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="Un besoin"), NOW)
    assert (project.state.phase, project.state.plan) == (Phase.decision, None)
    assert [p.id for p in steps.pending(project.state)] == ["fac"]
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    assert refused.value.code == "text_not_written"
    text = cmd.SubmitPlan(
        actor=actor("fac"),
        summary="Le texte",
        indicators=[cmd.IndicatorDraft(name="Participation")],
    )
    project.execute(text, NOW)
    assert project.state.phase_open and project.state.phase == Phase.decision
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Non"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    project.execute(judged("p1"), NOW)
    # Back to the decision itself, round 2: a new text answering the objection.
    assert (project.state.step, project.state.round, project.state.plan) == ("decision", 2, None)
    project.execute(text.model_copy(update={"objection_answers": {"p1": "Modifié"}}), NOW)
    for pid in ("p1", "p2"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
    # The template's end: the report is published next.
    assert project.awaiting_report and project.state.outcome == Outcome.adopted


def test_two_approvals_at_once_are_answered_each_by_name():
    document = minimal(
        v={
            **DECISION,
            "approvals": [
                {"id": "partners", "approvers": {"roles": ["partner"]}},
                {"id": "elus", "approvers": {"organisation_kinds": ["local_authority"]}},
            ],
        }
    )
    template = parse(document)
    project = Project.launch(make_spec(2, template=launched(template)), NOW)
    text = cmd.SubmitPlan(actor=actor("fac"), summary="Le texte")
    project.execute(text, NOW)
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    assert refused.value.code == "approval_required"
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent", approval="elus"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    assert [p.id for p in steps.pending(project.state)] == ["p1"]
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent", approval="partners"), NOW)
    (decision,) = project.state.decisions
    assert [(r.approval, r.tally.consents, r.outcome) for r in decision.approvals] == [
        ("partners", 2, Outcome.adopted),
        ("elus", 1, Outcome.adopted),
    ]


# -- property: every accepted template runs to an end ----------------------------------------------

KINDS_DRAWN = [
    Phase.charter,
    Phase.diagnosis,
    Phase.co_design,
    Phase.decision,
    Phase.action,
    Phase.evaluation,
    Phase.wait,
    Phase.review,
]
APPROVERS = [
    {"roles": ["partner"]},
    {"roles": ["facilitator"]},
    {"roles": ["partner", "facilitator"]},
    {"organisation_kinds": ["local_authority"]},
    {"organisation_kinds": ["association", "company"]},
]


@st.composite
def accepted_templates(draw) -> Template:
    kinds = draw(st.lists(st.sampled_from(KINDS_DRAWN), min_size=1, max_size=7))
    # The shape the validator asks for: a decision, after each co-design; an evaluation after one.
    if Phase.decision not in kinds:
        kinds.append(Phase.decision)
    if Phase.co_design in kinds and Phase.decision not in kinds[kinds.index(Phase.co_design) :]:
        kinds.append(Phase.decision)
    last_co_design = max((n for n, k in enumerate(kinds) if k == Phase.co_design), default=-1)
    if last_co_design > max(n for n, k in enumerate(kinds) if k == Phase.decision):
        kinds.append(Phase.decision)
    first_decision = kinds.index(Phase.decision)
    kinds = [
        Phase.diagnosis if k in (Phase.evaluation, Phase.review) and n < first_decision else k
        for n, k in enumerate(kinds)
    ]
    document_steps = []
    approval_ids = iter(range(100))
    for n, kind in enumerate(kinds):
        step: dict = {"id": f"s{n}", "name": {"fr": f"Étape {n}"}, "kind": kind.value}
        zero = kind == Phase.action and draw(st.booleans())
        step["duration"] = "PT0S" if zero else f"P{draw(st.integers(1, 30))}D"
        step["close_when_complete"] = draw(st.booleans())
        if kind == Phase.review:
            step["after"] = f"P{draw(st.integers(1, 60))}D"
            if draw(st.booleans()):
                step["approvals"] = [
                    {
                        "id": f"a{next(approval_ids)}",
                        "approvers": draw(st.sampled_from(APPROVERS)),
                        "rule": draw(st.sampled_from(["consent", "consensus", "majority"])),
                        "quorum": draw(st.sampled_from([0, 0.5, 1])),
                    }
                ]
        if kind == Phase.charter and draw(st.booleans()):
            step["if_not_adopted"] = {"to": f"s{n}", "max_rounds": draw(st.integers(1, 3))}
        if kind == Phase.decision:
            step["approvals"] = [
                {
                    "id": f"a{next(approval_ids)}",
                    "approvers": draw(st.sampled_from(APPROVERS)),
                    "rule": draw(st.sampled_from(["consent", "consensus", "majority"])),
                    "quorum": draw(st.sampled_from([0, 0.5, 1])),
                }
                for _ in range(draw(st.integers(1, 2)))
            ]
            step["completion"] = draw(st.sampled_from(["all", "any"]))
            if draw(st.booleans()):
                step["if_not_adopted"] = {
                    "to": f"s{draw(st.integers(0, n))}",
                    "max_rounds": draw(st.integers(1, 3)),
                }
        document_steps.append(step)
    document = {"id": "tire-au-sort", "name": {"fr": "Tiré au sort"}, "steps": document_steps}
    # The drawing respects every rule: the validator must accept it, whatever was drawn.
    return parse(document)


def people(kinds: list[str]) -> list[Participant]:
    found = [
        Participant(
            id="coord", organisation_name="MDA", organisation_id="mda", role=Role.coordinator
        ),
        Participant(
            id="fac", organisation_name="Coop", organisation_id="coop", role=Role.facilitator
        ),
    ]
    found += [
        Participant(
            id=f"p{n}",
            organisation_name=f"P{n}",
            organisation_id=f"o{n}",
            organisation_kind=kind,
            role=Role.partner,
        )
        for n, kind in enumerate(kinds, start=1)
    ]
    return found


def command_for(update: str, project: Project, who: Participant, draw) -> cmd.Command | None:
    state = project.state
    me = actor(who.id)
    match update:
        case "add_contribution":
            return cmd.AddContribution(actor=me, kind="need", text="Un besoin")
        case "submit_proposal":
            return cmd.SubmitProposal(
                actor=me,
                title="Une idée",
                description="La décrire",
                indicators=[cmd.IndicatorDraft(name="Un indicateur")],
            )
        case "submit_plan":
            return cmd.SubmitPlan(
                actor=me,
                proposal_ids=list(state.proposals)[-2:],
                summary="Le plan",
                objection_answers={k: "Réponse" for k in state.objections_to_answer},
            )
        case "answer":
            approval = draw(st.sampled_from(approvals_of(state, who)))
            kind = draw(st.sampled_from(list(AnswerKind)))
            return cmd.GiveAnswer(
                actor=me,
                kind=kind,
                reason="Parce que" if kind == AnswerKind.object else None,
                approval=approval.id,
            )
        case "state_outcome":
            return cmd.StateOutcome(actor=me, text="Notre conclusion")
        case "answer_review":
            # One amendment at most: partners who amend forever never end their project.
            choices = [c for c in ReviewChoice if c != ReviewChoice.amend or not state.reviews]
            choice = draw(st.sampled_from(choices))
            reason = None if choice == ReviewChoice.keep else "Parce que"
            return cmd.AnswerReview(actor=me, choice=choice, reason=reason)
        case "note_progress":
            return cmd.NoteProgress(actor=me, text="Ça avance")
        case "assess":
            ids = [i.id for i in state.adopted_plan.indicators] if state.adopted_plan else []
            if not ids:
                return None
            return cmd.Assess(
                actor=me,
                scores=[cmd.Score(indicator_id=i, score=draw(st.integers(1, 5))) for i in ids],
            )
        case "close_phase":
            return cmd.ClosePhase(actor=me)
        case "publish_charter":
            return cmd.PublishCharter(
                actor=me,
                **charter_body(
                    changes=["Un changement"] if state.charter.versions else [],
                    objection_answers={k: "Réponse" for k in state.charter_objections},
                ),
            )
        case "remove_participant":
            partners = [p for p in state.active() if p.role == Role.partner]
            if len(partners) < 2:
                return None
            leaving = draw(st.sampled_from(partners))
            return cmd.RemoveParticipant(actor=me, participant_id=leaving.id)
    return None


def possible(update: str, project: Project) -> bool:
    """Whether this action has something to act on now (the driver offers no empty move)."""
    state = project.state
    if update == "remove_participant":
        return len([p for p in state.active() if p.role == Role.partner]) >= 2
    if update == "assess":
        return bool(state.adopted_plan and state.adopted_plan.indicators)
    return True


TAKEN = {
    "publish_charter",
    "add_contribution",
    "submit_proposal",
    "submit_plan",
    "answer",
    "state_outcome",
    "answer_review",
    "note_progress",
    "assess",
    "close_phase",
    "remove_participant",
}


MOVES = 400


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    template=accepted_templates(),
    kinds=st.lists(
        st.sampled_from(["association", "local_authority", "company"]), min_size=1, max_size=4
    ),
    data=st.data(),
)
def test_any_accepted_template_runs_to_an_end_under_any_order_of_actions(template, kinds, data):
    participants = people(kinds)
    assume(not templates.participant_problems(template, participants))  # else refused at launch
    spec = make_spec(0).model_copy(
        update={"participants": participants, "template": launched(template)}
    )
    now = NOW
    project = Project.launch(spec, now)
    # A fair order: people act in any order, but time passes at least every few moves (a
    # project where partners only ever note progress never ends, whatever its template).
    since_time = 0
    for _ in range(MOVES):
        state = project.state
        if state.is_over:
            break
        if project.awaiting_report:
            project.finish(ev.ReportPublished(location="x", digest="d"), now)
            continue
        alarm = project.next_alarm()
        choices: list[tuple[str, cmd.Command | None]] = []
        if alarm is not None:
            choices.append(("time", None))  # first: what a failing example shrinks to
        # With no deadline left to pass (a co-design escalated, waiting for its plan), those
        # the step waits for act: fairness, not luck, ends such a step.
        acting = state.active() if alarm is not None else steps.pending(state)
        if alarm is None or since_time < 4:
            for who in acting:
                for a in available(state, who):
                    if a.update in TAKEN and possible(a.update, project):
                        choices.append((a.update, who))
        assert choices, f"stuck in {state.step} ({state.phase}): nothing to do, no deadline"
        update, who = data.draw(st.sampled_from(choices))
        if update == "time":
            now = max(now, alarm.at)
            project.on_time(now)
            since_time = 0
            continue
        since_time += 1
        command = command_for(update, project, who, data.draw)
        if command is None:
            continue
        try:
            project.execute(command, now)
        except Rejected as refused:
            # Offered by the action table, refused by its decider: only what the content says.
            assert refused.code in {
                "own_proposal",
                "last_of_role",
                "plan_required",
                "text_required",
            }, refused.message
    assert project.state.is_over, f"no end after {MOVES} moves: in {project.state.step}"
    # Event sourcing holds: the log folds to the state the aggregate kept.
    assert fold(project.events).model_dump() == project.state.model_dump()
    assert project.state.outcome in (Outcome.adopted, Outcome.not_adopted)
    event(f"ended {project.state.outcome.value} after {len(project.state.periods)} steps opened")
    event(f"reviewed {len(project.state.reviews)} times")


def test_the_readmes_template_example_is_valid():
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    section = readme[readme.index("## Process templates") :]
    example = section[
        section.index("```yaml\n") + 8 : section.index("```\n", section.index("```yaml"))
    ]
    template = parse(read(example), NOW)
    assert [s.kind for s in template.steps] == [Phase.diagnosis, Phase.wait, Phase.decision]
    project = Project.launch(make_spec(2, template=launched(template)), NOW)
    assert project.state.step == "idees"


def test_a_state_carried_before_templates_keeps_its_answers():
    """A 1.x project continued as new in the middle of a decision carried answers keyed by
    participant: they are the partners' approval's, and the decision counts them."""
    project = Project.launch(make_spec(2), NOW)
    for pid in ("p1", "p2"):
        project.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="Un besoin"), NOW)
    project.execute(cmd.SubmitPlan(actor=actor("fac"), summary="Le plan"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    carried = project.state.model_dump(mode="json")
    # As 1.x kept it: answers keyed by participant, no step, no template.
    carried["answers"] = {"p1": {"participant_id": "p1", "kind": "consent"}}
    del carried["step"]
    for period in carried["periods"]:
        del period["step"]
    carried["spec"]["template"] = None
    resumed = Project.resumed(type(project.state).model_validate(carried), [])
    assert (resumed.state.step, list(resumed.state.answers)) == ("decision", ["partners/p1"])
    assert [p.id for p in steps.pending(resumed.state)] == ["p2"]
    # Its deadline passes as before: the rule applied to the answers given.
    late = resumed.state.deadline + timedelta(minutes=1)
    resumed.on_time(late)
    assert resumed.state.decisions[-1].tally.consents == 1
    assert resumed.state.phase == Phase.action


def test_unknown_fields_are_said_with_the_other_problems():
    document = minimal(
        vote={**DECISION, "aprovals": [], "if_not_adopted": {"to": "nowhere"}},
        pause={"kind": "vote", "duration": "P1D"},
    )
    found = {(p.code, p.step) for p in problems_of(document)}
    assert found == {("unknown_field", "vote"), ("unknown_kind", "pause")}
    document["steps"][1]["kind"] = "wait"
    found = {(p.code, p.step) for p in problems_of(document)}
    assert found == {("unknown_field", "vote"), ("loop_to_missing_step", "vote")}


def test_a_step_shortened_at_launch_below_its_reminder_is_refused():
    template = parse(
        minimal(
            idees={"kind": "diagnosis", "duration": "P21D", "reminders": ["P7D"]},
            vote=DECISION,
        )
    )
    fields = launch_fields(template={"id": "essai"}, durations={"idees": "P5D"})
    with pytest.raises(Rejected) as refused:
        spec_for(fields, "x", "mda", template=launched(template))
    assert (refused.value.code, refused.value.field) == ("phase_too_short", "durations.idees")


def test_an_unknown_field_in_a_step_whose_id_holds_a_dot_names_that_step():
    document = minimal(**{"vote.1": {**DECISION, "quorom": 0.5}})
    (problem,) = problems_of(document)
    assert (problem.code, problem.step, problem.field) == ("unknown_field", "vote.1", "quorom")


def test_a_plan_adopted_before_a_pause_and_another_decision_is_not_adopted_for_good():
    document = minimal(
        budget={
            **DECISION,
            "approvals": [
                {"id": "budget", "approvers": {"organisation_kinds": ["local_authority"]}}
            ],
        },
        conseil={"kind": "wait", "duration": "P7D"},
        vote=DECISION,
    )
    project = Project.launch(make_spec(3, template=launched(parse(document))), NOW)
    project.execute(cmd.SubmitPlan(actor=actor("fac"), summary="Le texte"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    assert project.state.step == "conseil"
    assert project.state.outcome is None  # the partners have not decided yet


def test_an_observer_or_the_coordinator_named_as_approver_is_refused_at_launch():
    document = minimal(
        vote={**DECISION, "approvals": [{"id": "x", "approvers": {"participants": ["obs", "p1"]}}]}
    )
    with pytest.raises(Rejected) as refused:
        spec_for(
            launch_fields(template={"id": "essai"}),
            "x",
            "mda",
            template=launched(parse(document)),
        )
    # launch_fields' participants have no ids "obs" and "p1": named participants unknown.
    assert refused.value.code == "invalid_request"
    problems = templates.participant_problems(parse(document), make_spec(2).participants)
    assert [p.code for p in problems] == ["role_cannot_approve"]
    assert "obs, who take part as coordinator or observer" in problems[0].message


def test_a_decision_without_its_text_never_closes_complete():
    project = Project.launch(make_spec(2, template=launched(builtin("consultation"))), NOW)
    for pid in ("p1", "p2"):
        project.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="Un besoin"), NOW)
    state = project.state
    state.participants["fac"].active = False  # nobody left to write it (keeps_roles forbids it)
    assert steps.pending(state) == [] and not steps.is_complete(state)


def test_a_partner_who_leaves_during_a_decision_is_no_longer_waited_for():
    project = Project.launch(make_spec(3), NOW)
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="Un besoin"), NOW)
    project.execute(cmd.SubmitPlan(actor=actor("fac"), summary="Le plan"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="object", reason="Trop cher"), NOW)
    assert [p.id for p in steps.pending(project.state)] == ["p3", "fac"]  # fac: to judge it
    # p2 leaves: its objection no longer counts; p3 alone is awaited, then it decides.
    project.execute(cmd.LeaveProject(actor=actor("p2"), reason="Nous fusionnons"), NOW)
    left = project.events[-1].data
    assert (left.type, left.participant_id, left.reason, left.left) == (
        "participant_removed",
        "p2",
        "Nous fusionnons",
        True,
    )
    assert [p.id for p in steps.pending(project.state)] == ["p3"]
    project.execute(cmd.GiveAnswer(actor=actor("p3"), kind="consent"), NOW)
    decided = project.state.decisions[-1]
    assert (decided.outcome, decided.tally.voters, decided.tally.objections) == ("adopted", 2, 0)
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    assert refused.value.code == "not_a_participant"
    # The facilitator and the coordinator are told who left, and why.
    from domain.notices import notice_for

    notice = notice_for(project.state, left_event(project))
    assert notice.kind == "participant_left" and set(notice.recipients) == {"fac", "coord"}
    assert notice.facts == {"who": "Partner 2", "reason": "Nous fusionnons"}


def left_event(project: Project):
    return next(e for e in project.events if getattr(e.data, "left", False))


def test_the_glossary_is_built_proposed_commented_validated_and_merged():
    project = Project.launch(make_spec(2), NOW)
    project.execute(
        cmd.ProposeTerm(actor=actor("p1"), term="Tiers-lieu", definition="Un lieu partagé"), NOW
    )
    (term,) = project.state.glossary.values()
    with pytest.raises(Rejected) as refused:
        project.execute(
            cmd.ProposeTerm(actor=actor("p2"), term="tiers-lieu", definition="Autre"), NOW
        )
    assert refused.value.code == "term_exists"
    project.execute(
        cmd.ProposeDefinition(
            actor=actor("p2"), term_id=term.id, definition="Un lieu ouvert à tous, géré ensemble"
        ),
        NOW,
    )
    project.execute(cmd.CommentTerm(actor=actor("fac"), term_id=term.id, text="Précis"), NOW)
    with pytest.raises(Rejected) as refused:
        project.execute(
            cmd.ValidateTerm(actor=actor("p1"), term_id=term.id, definition_id="x"), NOW
        )
    assert refused.value.code == "not_allowed"  # the facilitator validates
    second = project.state.glossary[term.id].definitions[1].id
    project.execute(
        cmd.ValidateTerm(actor=actor("fac"), term_id=term.id, definition_id=second), NOW
    )
    assert project.state.glossary[term.id].definition().text.startswith("Un lieu ouvert")
    project.execute(
        cmd.ProposeTerm(actor=actor("p2"), term="Third place", definition="Same thing"), NOW
    )
    other = next(t for t in project.state.glossary.values() if t.term == "Third place")
    project.execute(cmd.MergeTerms(actor=actor("fac"), term_id=other.id, into=term.id), NOW)
    kept = project.state.glossary[term.id]
    assert project.state.glossary[other.id].merged_into == term.id
    assert [d.text for d in kept.definitions][-1] == "Same thing"
    # An observer reads the glossary, it does not write it.
    with pytest.raises(Rejected):
        project.execute(
            cmd.ProposeTerm(actor=actor("obs"), term="Budget", definition="L'argent"), NOW
        )
    # Erased, a participant's definitions read "[retiré]"; the words stay.
    project.execute(
        cmd.EraseParticipant(actor=actor("coord"), participant_id="p2", redact_texts=True), NOW
    )
    assert [d.text for d in project.state.glossary[term.id].definitions][1] == "[retiré]"
    assert fold(project.events).model_dump() == project.state.model_dump()


def charter_body(**more) -> dict:
    from domain.models import CHARTER_SECTIONS

    return {
        "sections": {s: f"Texte de la section {s}" for s in CHARTER_SECTIONS},
        "governance": {"rule": "majority", "quorum": 0.6, "joining": "consent"},
        **more,
    }


def test_a_charter_adopted_by_consent_after_an_objection_sets_the_later_decisions_rule():
    spec = make_spec(3, template=launched(builtin("co-construction")))
    project = Project.launch(spec, NOW)
    assert (project.state.phase, project.state.step) == (Phase.charter, "charter")
    assert [p.id for p in steps.pending(project.state)] == ["fac"]  # the first version
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    assert refused.value.code == "charter_not_published"
    project.execute(cmd.PublishCharter(actor=actor("fac"), **charter_body()), NOW)
    project.execute(
        cmd.NoteCharter(
            actor=actor("p2"), section="governance", text="Plutôt le consensus", wording=True
        ),
        NOW,
    )
    project.execute(
        cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="La majorité écrase les petits"),
        NOW,
    )
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p3"), kind="consent"), NOW)
    # Sent back: the step stays open, the facilitator writes version 2 answering p1.
    assert (project.state.phase, project.state.phase_open) == (Phase.charter, True)
    assert project.state.charter_objections == {"p1": "La majorité écrase les petits"}
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.PublishCharter(actor=actor("fac"), **charter_body()), NOW)
    assert refused.value.code == "charter_objection_unanswered"
    second = charter_body(
        governance={"rule": "consent", "quorum": 0.5, "joining": "consent"},
        changes=["Gouvernance : le consentement plutôt que la majorité"],
        objection_answers={"p1": "Nous décidons par consentement"},
    )
    project.execute(cmd.PublishCharter(actor=actor("fac"), **second), NOW)
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
    charter = project.state.charter
    assert charter.adopted == 2 and set(charter.signatures) == {"p1", "p2", "p3"}
    assert project.state.phase == Phase.diagnosis
    # The decision, whose template sets no rule, takes the adopted charter's.
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="Un besoin"), NOW)
    project.execute(cmd.SubmitPlan(actor=actor("fac"), summary="Le plan"), NOW)
    assert project.state.rules_in_force["partners"].source == "charter"
    assert project.state.rules_in_force["partners"].rule == "consent"
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Non"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p3"), kind="consent"), NOW)
    project.execute(judged("p1"), NOW)
    assert project.state.decisions[-1].rule == "consent"  # not adopted under consent
    assert project.state.decisions[-1].outcome == "not_adopted"
    assert fold(project.events).model_dump() == project.state.model_dump()


def test_a_charter_not_adopted_after_its_last_version_ends_the_project():
    document = minimal(
        charter={
            "kind": "charter",
            "duration": "P7D",
            "if_not_adopted": {"to": "charter", "max_rounds": 1},
        },
        vote=DECISION,
    )
    project = Project.launch(make_spec(2, template=launched(parse(document))), NOW)
    project.execute(cmd.PublishCharter(actor=actor("fac"), **charter_body()), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Non"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    assert (project.state.phase, project.state.outcome) == (Phase.closed, Outcome.not_adopted)


def adopted_charter_project(joining: str) -> Project:
    project = Project.launch(make_spec(3, template=launched(builtin("co-construction"))), NOW)
    body = charter_body(governance={"rule": "consent", "quorum": 0.5, "joining": joining})
    project.execute(cmd.PublishCharter(actor=actor("fac"), **body), NOW)
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
    assert project.state.charter.adopted == 1
    return project


def newcomer(pid: str = "p9") -> dict:
    return {"id": pid, "organisation_name": "Centre social Garon", "organisation_id": "cs-garon",
            "organisation_kind": "association", "role": "partner"}  # fmt: skip


def test_a_newcomer_joins_once_every_partner_consents_when_the_charter_says_so():
    project = adopted_charter_project("consent")
    # The coordinator's plain invitation is refused: the partners consent first.
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.InviteParticipant(actor=actor("coord"), participant=newcomer()), NOW)
    assert refused.value.code == "joining_by_consent"
    # An observer still comes at the coordinator's invitation.
    observer = {**newcomer("o2"), "role": "observer", "organisation_id": "financeur"}
    project.execute(cmd.InviteParticipant(actor=actor("coord"), participant=observer), NOW)
    # A partner proposes: its proposal is its consent.
    project.execute(cmd.ProposeNewcomer(actor=actor("p1"), participant=newcomer()), NOW)
    assert project.state.newcomers["p9"].answers == {"p1": "consent"}
    assert "p9" not in project.state.participants
    assert "answer_newcomer" in [
        a.update for a in available(project.state, project.state.participants["p2"])
    ]
    assert "answer_newcomer" not in [
        a.update for a in available(project.state, project.state.participants["p1"])
    ]
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.AnswerNewcomer(actor=actor("p2"), newcomer_id="p9", kind="object"), NOW)
    assert refused.value.code == "reason_required"
    project.execute(cmd.AnswerNewcomer(actor=actor("p2"), newcomer_id="p9", kind="consent"), NOW)
    assert "p9" not in project.state.participants
    # The last partner still waited for leaves: the newcomer joins, every other having consented.
    project.execute(cmd.LeaveProject(actor=actor("p3"), reason="Nous arrêtons."), NOW)
    assert project.state.participants["p9"].active
    assert project.state.newcomers["p9"].status == "joined"
    # Joining after the adoption, it is asked to consent to the charter in force: signed, dated.
    assert "consent_to_charter" in [
        a.update for a in available(project.state, project.state.participants["p9"])
    ]
    project.execute(cmd.ConsentToCharter(actor=actor("p9")), NOW + timedelta(days=2))
    assert project.state.charter.signatures["p9"] == NOW + timedelta(days=2)
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.ConsentToCharter(actor=actor("p9")), NOW)
    assert refused.value.code == "already_signed"
    assert fold(project.events).model_dump() == project.state.model_dump()


def test_an_objection_refuses_a_newcomer_and_invitation_stays_the_coordinators():
    project = adopted_charter_project("consent")
    project.execute(cmd.ProposeNewcomer(actor=actor("coord"), participant=newcomer()), NOW)
    assert project.state.newcomers["p9"].answers == {}  # the coordinator does not decide
    project.execute(
        cmd.AnswerNewcomer(actor=actor("p3"), newcomer_id="p9", kind="object",
                           reason="Un concurrent direct"),
        NOW,
    )  # fmt: skip
    assert project.state.newcomers["p9"].status == "refused"
    assert "p9" not in project.state.participants
    with pytest.raises(Rejected) as refused:
        project.execute(
            cmd.AnswerNewcomer(actor=actor("p1"), newcomer_id="p9", kind="consent"), NOW
        )
    assert refused.value.code == "unknown_newcomer"
    # A charter that leaves newcomers to the coordinator: no proposal, a plain invitation.
    invited = adopted_charter_project("invitation")
    with pytest.raises(Rejected) as refused:
        invited.execute(cmd.ProposeNewcomer(actor=actor("p1"), participant=newcomer()), NOW)
    assert refused.value.code == "joining_by_invitation"
    invited.execute(cmd.InviteParticipant(actor=actor("coord"), participant=newcomer()), NOW)
    assert invited.state.participants["p9"].active


def test_an_amendment_suspends_the_step_and_extends_its_deadline_by_the_time_taken():
    project = adopted_charter_project("invitation")
    state = project.state
    assert state.phase == Phase.diagnosis
    deadline = state.deadline
    project.execute(cmd.AddContribution(actor=actor("p1"), kind="need", text="Un besoin"), NOW)
    # The facilitator proposes an amendment: the rule becomes the majority.
    later = NOW + timedelta(days=2)
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.AmendCharter(actor=actor("fac"), **charter_body()), later)
    assert refused.value.code == "changes_required"
    amended = charter_body(
        governance={"rule": "majority", "quorum": 0.5, "joining": "invitation"},
        changes=["Gouvernance : la majorité"],
        answer_within="P7D",
    )
    project.execute(cmd.AmendCharter(actor=actor("fac"), **amended), later)
    assert state.amendment is not None and state.amendment.version == 2
    assert state.charter.versions[-1].amendment and state.charter.adopted == 1
    # The step waits: a contribution is refused, its deadline alarm gives way to the amendment's.
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.AddContribution(actor=actor("p2"), kind="need", text="X"), later)
    assert refused.value.code == "step_suspended"
    assert project.next_alarm().kind == "amendment"
    assert "suspended, an amendment of the charter waiting for 3 of 3" in current_details(state)
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.AmendCharter(actor=actor("fac"), **amended), later)
    assert refused.value.code == "amendment_open"
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.AnswerAmendment(actor=actor("p1"), kind="object"), later)
    assert refused.value.code == "reason_required"
    # Every partner consents three days later: adopted, each consent dated; the step resumes.
    answered = later + timedelta(days=3)
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.AnswerAmendment(actor=actor(pid), kind="consent"), answered)
    assert state.amendment is None and state.charter.adopted == 2
    assert state.charter.signatures == {"p1": answered, "p2": answered, "p3": answered}
    assert state.deadline == deadline + timedelta(days=3)
    project.execute(cmd.AddContribution(actor=actor("p2"), kind="need", text="X"), answered)
    # The decision to come takes the amended charter's rule.
    assert state.charter.governance.rule == "majority"
    assert fold(project.events).model_dump() == state.model_dump()


def test_an_amendment_objected_to_or_left_unanswered_keeps_the_charter_in_force():
    project = adopted_charter_project("invitation")
    state = project.state
    amended = charter_body(changes=["Gouvernance : la majorité"], answer_within="P7D")
    project.execute(cmd.AmendCharter(actor=actor("fac"), **amended), NOW)
    project.execute(cmd.AnswerAmendment(actor=actor("p1"), kind="consent"), NOW)
    project.execute(
        cmd.AnswerAmendment(actor=actor("p2"), kind="object", reason="Pas la majorité"), NOW
    )
    project.execute(cmd.AnswerAmendment(actor=actor("p3"), kind="consent"), NOW)
    assert state.amendment is None and state.charter.adopted == 1
    assert state.charter.versions[-1].objections == {"p2": "Pas la majorité"}
    # A second amendment nobody but p1 answers: at its day, not adopted; the step resumes.
    deadline = state.deadline
    project.execute(cmd.AmendCharter(actor=actor("fac"), **amended), NOW)
    project.execute(cmd.AnswerAmendment(actor=actor("p1"), kind="consent"), NOW)
    day = NOW + timedelta(days=7)
    assert project.next_alarm().at == day
    recorded = project.on_time(day)
    closed = recorded[0].data
    assert isinstance(closed, ev.CharterAmendmentClosed)
    assert (closed.adopted, closed.cause, closed.missing) == (False, "deadline", ["p2", "p3"])
    assert state.charter.adopted == 1 and state.deadline == deadline + timedelta(days=7)
    assert project.next_alarm().kind != "amendment"
    assert fold(project.events).model_dump() == state.model_dump()
    # Erased, p2's objection reads "[retiré]" in the state and in the events shown.
    project.execute(
        cmd.EraseParticipant(actor=actor("coord"), participant_id="p2", redact_texts=True), day
    )
    assert state.charter.versions[1].objections == {"p2": "[retiré]"}
    shown = [redacted_event(e, state.redacted).data for e in project.events]
    assert "Pas la majorité" not in json.dumps([d.model_dump(mode="json") for d in shown])


def test_a_charter_agreed_before_the_project_skips_its_step_and_can_be_amended():
    agreed = {"agreed_on": "2025-03-01", "text": "Notre charte",
              "governance": {"rule": "majority", "quorum": 0.6, "joining": "consent"}}  # fmt: skip
    fields = launch_fields(template={"id": "co-construction"}, charter_agreed=agreed)
    with pytest.raises(Rejected) as refused:  # agreed on a day to come
        spec_for(fields, "x", "org", template=launched(builtin("co-construction")),
                 now=datetime(2025, 2, 1, tzinfo=UTC))  # fmt: skip
    assert refused.value.code == "date_future"
    spec = make_spec(
        3,
        template=launched(builtin("co-construction")),
        charter_agreed=spec_for(
            fields, "x", "org", template=launched(builtin("co-construction")), now=NOW
        ).charter_agreed,
    )
    project = Project.launch(spec, NOW)
    state = project.state
    assert state.phase == Phase.diagnosis and state.charter.number_in_force == 0
    assert state.charter.governance.rule == "majority"
    project.execute(cmd.AmendCharter(actor=actor("fac"), **charter_body(changes=["Écrite"])), NOW)
    assert state.amendment.version == 1
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.AnswerAmendment(actor=actor(pid), kind="consent"), NOW)
    assert state.charter.adopted == 1 and state.charter.number_in_force == 1
    assert fold(project.events).model_dump() == state.model_dump()


def test_an_amendment_ends_with_a_cancellation_and_asks_only_the_partners_of_its_day():
    project = adopted_charter_project("invitation")
    state = project.state
    amended = charter_body(changes=["Gouvernance : la majorité"], answer_within="P7D")
    project.execute(cmd.AmendCharter(actor=actor("fac"), **amended), NOW)
    assert state.amendment.expected == ["p1", "p2", "p3"]
    # A partner invited meanwhile was not asked: the others' consents adopt it.
    project.execute(cmd.InviteParticipant(actor=actor("coord"), participant=newcomer()), NOW)
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.AnswerAmendment(actor=actor(pid), kind="consent"), NOW)
    assert state.amendment is None and state.charter.adopted == 2
    # Cancelled while an amendment is open: it ends too, not adopted.
    project.execute(cmd.AmendCharter(actor=actor("fac"), **amended), NOW)
    project.execute(cmd.Cancel(actor=actor("coord"), reason="Le financement s'arrête"), NOW)
    closed = [e.data for e in project.events if isinstance(e.data, ev.CharterAmendmentClosed)]
    assert (closed[-1].adopted, closed[-1].cause, closed[-1].deadline) == (False, "cancelled", None)
    assert state.amendment is None and state.phase == Phase.cancelled
    assert project.next_alarm() is None
    assert fold(project.events).model_dump() == state.model_dump()


def test_an_amendment_after_a_passed_deadline_does_not_move_it_again():
    project = adopted_charter_project("invitation")
    state = project.state
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="X"), NOW)
    assert state.phase == Phase.co_design
    passed = state.deadline + timedelta(hours=1)
    project.on_time(passed)  # no plan: the co-design stays open, the facilitator told
    assert state.escalated and state.phase == Phase.co_design
    deadline = state.deadline
    amended = charter_body(changes=["Communication"], answer_within="P2D")
    project.execute(cmd.AmendCharter(actor=actor("fac"), **amended), passed)
    for pid in ("p1", "p2", "p3"):
        project.execute(cmd.AnswerAmendment(actor=actor(pid), kind="consent"), passed)
    assert state.deadline == deadline and state.escalated
    escalations = [e for e in project.events if isinstance(e.data, ev.DeadlineEscalated)]
    assert len(escalations) == 1


def test_a_decision_looping_back_to_an_agreed_charter_reopens_the_step_after_it():
    document = minimal(
        charter={"kind": "charter", "duration": "P7D"},
        vote={**DECISION, "if_not_adopted": {"to": "charter", "max_rounds": 2}},
    )
    agreed = AgreedCharter(agreed_on=datetime(2025, 3, 1).date(), text="Notre charte")
    spec = make_spec(2, template=launched(parse(document)), charter_agreed=agreed)
    project = Project.launch(spec, NOW)
    assert project.state.step == "vote"
    project.execute(cmd.SubmitPlan(actor=actor("fac"), summary="Le texte"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Non"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    project.execute(judged("p1"), NOW)
    assert (project.state.step, project.state.round) == ("vote", 2)


def colleges_template(**approval) -> dict:
    colleges = [
        {"id": "collectivites", "members": {"organisation_kinds": ["local_authority"]},
         "weight": 40},
        {"id": "habitants", "members": {"organisation_kinds": ["inhabitants"]}, "weight": 20},
        {"id": "autres", "members": {"organisation_kinds": ["university", "company",
                                                             "association"]}, "weight": 40},
    ]  # fmt: skip
    vote = {
        "kind": "decision",
        "duration": "P7D",
        "approvals": [{"id": "partners", "approvers": {"roles": ["partner"]}, "rule": "majority",
                       "quorum": 0.5, "colleges": colleges, **approval}],
    }  # fmt: skip
    return minimal(vote=vote)


def test_a_weighted_majority_counts_each_college_by_its_weight():
    project = Project.launch(make_spec(5, template=launched(parse(colleges_template()))), NOW)
    project.execute(cmd.SubmitPlan(actor=actor("fac"), summary="Le texte"), NOW)
    answers = {"p1": "object", "p2": "consent", "p3": "consent", "p4": "consent",
               "p5": "object"}  # fmt: skip
    for pid, kind in answers.items():
        reason = "Non" if kind == "object" else None
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind=kind, reason=reason), NOW)
    (decision,) = project.state.decisions
    (result,) = decision.approvals
    # One voice each: 3 consents of 5, a majority. Weighted: 0 × 40 % + 1 × 20 % + 2/3 × 40 %
    # = 46.7 %: not adopted.
    assert result.tally.consents == 3 and result.tally.answers == 5
    assert decision.outcome == "not_adopted" and round(result.weighted, 4) == round(7 / 15, 4)
    parts = {c.college: (c.weight, c.tally.consents, c.tally.answers) for c in result.colleges}
    assert parts == {"collectivites": ("2/5", 0, 1), "habitants": ("1/5", 1, 1),
                     "autres": ("2/5", 2, 3)}  # fmt: skip
    # The report says each college's part, and the weighted result.
    from domain.report import report_facts
    from texts.i18n import texts
    from texts.report import report_markdown

    report = report_markdown(report_facts(project.state), texts("fr", "Europe/Paris"))
    report = report.replace("\\", "")
    assert "Collège autres (40\u00a0% des voix)\u00a0: 2 consentements" in report
    assert "Pondéré par collèges\u00a0: 47\u00a0% des voix consentent" in report


def test_a_college_emptied_gives_its_weight_to_the_others_in_proportion():
    project = Project.launch(make_spec(5, template=launched(parse(colleges_template()))), NOW)
    project.execute(cmd.LeaveProject(actor=actor("p2"), reason="Le conseil de quartier cesse"), NOW)
    emptied = [e.data for e in project.events if isinstance(e.data, ev.CollegeEmptied)]
    assert [(e.college, e.weights) for e in emptied] == [
        ("habitants", {"collectivites": "1/2", "habitants": "0", "autres": "1/2"})
    ]
    project.execute(cmd.SubmitPlan(actor=actor("fac"), summary="Le texte"), NOW)
    for pid in ("p1", "p3", "p4", "p5"):
        project.execute(cmd.GiveAnswer(actor=actor(pid), kind="consent"), NOW)
    assert project.state.decisions[0].outcome == "adopted"
    assert fold(project.events).model_dump() == project.state.model_dump()


def test_a_template_written_before_colleges_keeps_its_digest():
    # co-construction v1's digest as every 1.x project recorded it: new fields left unset
    # stay out of the canonical JSON.
    assert templates.digest(builtin("co-construction", 1)).startswith("6c936ce3c834")


def test_weightings_that_cannot_be_are_refused():
    def codes(document: dict) -> set[str]:
        try:
            parse(document, NOW)
        except TemplateInvalid as invalid:
            return {p.code for p in invalid.problems}
        return set()

    def with_approval(**approval) -> dict:
        return colleges_template(**approval)

    assert codes(with_approval()) == set()
    assert "colleges_need_majority" in codes(with_approval(rule="consent"))
    uneven = with_approval()
    uneven["steps"][0]["approvals"][0]["colleges"][0]["weight"] = 30
    assert "weights_sum" in codes(uneven)
    thirds = with_approval()
    for c in thirds["steps"][0]["approvals"][0]["colleges"]:
        c["weight"] = "1/3"
    assert codes(thirds) == set()  # exact thirds sum to 100 %
    unreadable = with_approval()
    unreadable["steps"][0]["approvals"][0]["colleges"][1]["weight"] = "un cinquième"
    assert "invalid_weight" in codes(unreadable)
    # The SCIC preset: no college above 50 % nor below 10 %; equal weights when none given.
    greedy = with_approval(preset="scic")
    greedy["steps"][0]["approvals"][0]["colleges"][0]["weight"] = 60
    greedy["steps"][0]["approvals"][0]["colleges"][2]["weight"] = 20
    assert "scic_bounds" in codes(greedy)
    equal = with_approval(preset="scic")
    for c in equal["steps"][0]["approvals"][0]["colleges"]:
        c.pop("weight")
    assert codes(equal) == set()
    assert parse(equal, NOW).steps[0].approvals[0].weights() == {
        "collectivites": Fraction(1, 3), "habitants": Fraction(1, 3), "autres": Fraction(1, 3)
    }  # fmt: skip


def test_a_delegated_answer_counts_in_the_delegators_approval_where_the_delegate_is_none():
    project = aap_project()
    to_first_decision(project)  # the budget: the local authority (p1) alone approves it
    project.execute(cmd.DelegateAnswer(actor=actor("p1"), to="p2"), NOW)
    with pytest.raises(Rejected) as refused:  # p2 answers no approval of its own here
        project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent", approval="budget"), NOW)
    assert refused.value.code == "not_an_approver"
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent"), NOW)
    (budget,) = project.state.decisions
    assert budget.outcome == "adopted" and budget.tally.consents == 1
    assert fold(project.events).model_dump() == project.state.model_dump()


def test_an_approver_in_no_college_is_refused_at_launch():
    document = colleges_template()
    colleges = document["steps"][0]["approvals"][0]["colleges"]
    colleges[2]["members"] = {"organisation_kinds": ["university"]}  # p4, p5 in none
    with pytest.raises(Rejected) as refused:
        spec_for(launch_fields(), "x", "org", template=launched(parse(document, NOW)), now=NOW)
    assert refused.value.code in ("approver_college", "college_empty")
