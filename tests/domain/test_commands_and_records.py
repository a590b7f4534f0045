"""Limits live on commands, records fold whatever was recorded, and the action table is the
one place that says who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from domain import commands as cmd
from domain import events as ev
from domain.actions import ACTIONS, action_for
from domain.models import Process
from domain.project import Project, Rejected
from domain.state import fold
from domain.views import action_result
from tests.helpers import actor, make_spec

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def diagnosis_project(partners: int = 2) -> Project:
    return Project.launch(make_spec(partners), NOW)


# -- input a person would not mean to send ------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\x00\x07"])
def test_empty_or_blank_texts_are_refused_naming_the_field(text):
    with pytest.raises(ValidationError) as refused:
        cmd.ContributionFields(kind="need", text=text)
    assert refused.value.errors()[0]["loc"] == ("text",)
    assert "empty" in refused.value.errors()[0]["msg"]


def test_control_characters_are_dropped_but_newlines_and_tabs_kept():
    fields = cmd.ContributionFields(
        kind="need", text=" Un lieu\x00 couvert\r\n\tpour\x1b[31m tous "
    )
    assert fields.text == "Un lieu couvert\n\tpour[31m tous"
    name = cmd.ParticipantFields(
        organisation_name="Mairie\n du 8e\x07", organisation_id="m", role="partner"
    )
    assert name.organisation_name == "Mairie du 8e"  # a name is one line


def test_a_deadline_without_its_time_zone_is_refused():
    with pytest.raises(ValidationError) as refused:
        cmd.ExtensionFields(deadline="2026-12-12T18:00:00", reason="vacances")
    assert refused.value.errors()[0]["loc"] == ("deadline",)
    assert cmd.ExtensionFields(deadline="2026-12-12T18:00:00+01:00", reason="vacances")


def test_time_zones_are_checked_on_the_command_itself():
    with pytest.raises(ValidationError, match="unknown time zone"):
        cmd.UpdateMyContact(actor=actor("p1"), time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown time zone"):
        cmd.ParticipantDraft(
            organisation_name="x", organisation_id="x", role="partner", time_zone="Paris"
        )


@pytest.mark.parametrize(
    ("participants", "message", "code"),
    [
        ([("coordinator", None), ("partner", None)], "at least one facilitator", "no_facilitator"),
        ([("facilitator", None), ("partner", None)], "at least one coordinator", "no_coordinator"),
        (
            [("coordinator", None), ("facilitator", None), ("observer", None)],
            "one partner",
            "no_voter",
        ),
        (
            [("coordinator", None), ("facilitator", "a@x.fr"), ("partner", "A@x.fr")],
            "participants 2 and 3 have the same e-mail",
            "same_email",
        ),
    ],
)
def test_a_launch_needs_an_alliance(participants, message, code):
    people = [
        {"organisation_name": f"O{n}", "organisation_id": f"o{n}", "role": role, "email": email}
        for n, (role, email) in enumerate(participants)
    ]
    with pytest.raises(ValidationError, match=message) as refused:
        cmd.LaunchFields(title="t", territory="t", participants=people)
    # The pages say it in the reader's language by this code, never by the English text.
    assert refused.value.errors()[0]["type"] == code


def test_extensions_and_phases_obey_the_same_longest_duration():
    with pytest.raises(ValidationError, match="5 years") as refused:
        cmd.PhaseSettingsFields(duration="P1826D")
    assert refused.value.errors()[0]["type"] == "duration_too_long"
    project = diagnosis_project()
    with pytest.raises(Rejected) as refused:
        project.execute(
            cmd.ExtendDeadline(
                actor=actor("fac"), deadline=NOW + timedelta(days=1830), reason="très loin"
            ),
            NOW,
        )
    assert refused.value.code == "deadline_too_far"
    project.execute(
        cmd.ExtendDeadline(actor=actor("fac"), deadline=NOW + timedelta(days=800), reason="r"),
        NOW,
    )


# -- records fold whatever was recorded ----------------------------------------------------------


def test_an_old_event_over_todays_limits_or_with_a_removed_field_still_folds():
    spec = make_spec(1).model_dump(mode="json")
    spec["title"] = "T" * 10_000  # over today's 200 characters
    # Before the split, one `name` held the organisation: it still names it.
    spec["participants"][0]["name"] = spec["participants"][0].pop("organisation_name")
    spec["participants"][0]["fax"] = "+33 4 00 00 00 00"
    log = [
        {"seq": 1, "at": NOW.isoformat(), "actor": "coord", "legacy": 1,
         "data": {"type": "project_launched", "project": spec}},
        {"seq": 2, "at": NOW.isoformat(), "actor": "p1",
         "data": {"type": "contribution_added", "removed_field": True,
                  "contribution": {"id": "c1", "participant_id": "p1", "kind": "need",
                                   "text": "x" * 20_000}}},
    ]  # fmt: skip
    state = fold(ev.Event.model_validate(e) for e in log)
    assert len(state.spec.title) == 10_000 and len(state.contributions[0].text) == 20_000
    assert state.participants["coord"].organisation_name == "Maison des Associations"


def test_an_accepted_command_reads_back_whatever_todays_limits_say():
    """Temporal decodes an accepted update's payload again at every replay."""
    recorded = cmd.as_recorded(cmd.InviteParticipant).model_validate(
        {
            "actor": {"participant_id": "coord", "token_version": 1},
            "participant": {
                "organisation_name": "O" * 900,
                "organisation_id": "not an identifier",
                "role": "partner",
                "time_zone": "Gone/FromTheDatabase",
            },
        }
    )
    assert len(recorded.participant.organisation_name) == 900
    sent = cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="Trop cher")
    again = cmd.as_recorded(cmd.GiveAnswer).model_validate(sent.model_dump())
    assert cmd.fingerprint(again) == cmd.fingerprint(sent)  # idempotency keys still match


# -- actions that change nothing, and people who take part once ---------------------------------


def test_an_unchanged_answer_or_contact_records_no_event():
    project = Project.launch(make_spec(2), NOW)
    for pid in ("p1", "p2"):
        project.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="x"), NOW)
    prop = project.execute(cmd.SubmitProposal(actor=actor("p1"), title="t", description="d"), NOW)
    pid = prop[0].data.proposal.id
    assert project.execute(cmd.EndorseProposal(actor=actor("p2"), proposal_id=pid), NOW)
    assert project.execute(cmd.EndorseProposal(actor=actor("p2"), proposal_id=pid), NOW) == []
    project.execute(cmd.SubmitPlan(actor=actor("fac"), proposal_ids=[pid], summary="s"), NOW)
    first = project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="non"), NOW)
    again = project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="object", reason="non"), NOW)
    assert [e.type for e in first] == ["answer_given"] and again == []
    result = action_result(project.state, again, "f")
    assert result.unchanged and result.seqs == []
    assert project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)  # a change
    same_contact = cmd.UpdateMyContact(actor=actor("p1"), language="fr")
    assert project.execute(same_contact, NOW) == []


def test_the_history_refuses_anyone_s_contact_details():
    """One e-mail per project is the directory's to keep; the project, whose history cannot
    forget, refuses to record a name, an address or a webhook at all."""
    project = diagnosis_project()
    for details in ({"email": "x@example.org"}, {"person_name": "Jean Dupuis"}):
        invitation = cmd.InviteParticipant(
            actor=actor("coord"),
            participant={
                "organisation_name": "Autre",
                "organisation_id": "autre",
                "role": "partner",
                **details,
            },
        )
        with pytest.raises(Rejected) as refused:
            project.execute(invitation, NOW)
        assert refused.value.code == "personal_data"
    with pytest.raises(Rejected) as refused:
        project.execute(
            cmd.UpdateMyContact(actor=actor("p2"), webhook_url="https://hooks.example/p2"), NOW
        )
    assert refused.value.code == "personal_data"


def test_the_same_organisation_twice_is_allowed_and_the_result_says_so():
    project = diagnosis_project()
    recorded = project.execute(
        cmd.InviteParticipant(
            actor=actor("coord"),
            participant={
                "organisation_name": "Partner 1 bis",
                "organisation_id": "org-1",
                "role": "partner",
            },
        ),
        NOW,
    )
    result = action_result(project.state, recorded, "f")
    assert [w.code for w in result.warnings] == ["same_organisation"]
    assert "p1" in result.warnings[0].message


# -- refusals that say what is true --------------------------------------------------------------


def test_an_observer_is_told_observers_read_only():
    project = diagnosis_project()
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.AddContribution(actor=actor("obs"), kind="need", text="x"), NOW)
    assert refused.value.message.endswith("only a partner may add a contribution")
    assert "facilitator" not in refused.value.message


def test_a_cancelled_project_says_it_was_cancelled():
    project = diagnosis_project()
    project.execute(cmd.Cancel(actor=actor("coord"), reason="Plus de financement"), NOW)
    with pytest.raises(Rejected) as refused:
        project.execute(cmd.AddContribution(actor=actor("p1"), kind="need", text="x"), NOW)
    assert "cancelled (Plus de financement)" in refused.value.message
    assert "closed" not in refused.value.message


def test_a_decision_nobody_took_part_in_goes_back_to_co_design():
    project = Project.launch(make_spec(1, Process(max_rounds=2)), NOW)
    project.execute(cmd.AddContribution(actor=actor("p1"), kind="need", text="x"), NOW)
    prop = project.execute(cmd.SubmitProposal(actor=actor("p1"), title="t", description="d"), NOW)
    project.execute(
        cmd.SubmitPlan(actor=actor("fac"), proposal_ids=[prop[0].data.proposal.id], summary="s"),
        NOW,
    )
    project.on_time(project.state.deadline)  # 0 of 1 voters answered
    assert project.state.decisions[-1].outcome == "no_quorum"
    assert (project.state.phase, project.state.round) == ("co_design", 2)


# -- one action table ----------------------------------------------------------------------------


def test_every_command_has_exactly_one_action_and_update():
    commands = {a.command for a in ACTIONS}
    assert len(commands) == len(ACTIONS) == len({a.update for a in ACTIONS})
    defined = {c for c in vars(cmd).values() if isinstance(c, type) and issubclass(c, cmd.Command)}
    assert defined - {cmd.Command} == commands
    assert action_for(cmd.GiveAnswer).update == "answer"


def test_the_workflow_defines_one_named_update_per_action():
    from temporalio.workflow import _Definition

    from workflows.project import ProjectWorkflow

    updates = _Definition.from_class(ProjectWorkflow).updates
    # And the group commit's, which carries several of them at once.
    assert set(updates) == {a.update for a in ACTIONS} | {"act_batch"}
    assert updates["act_batch"].validator is not None
    for action in ACTIONS:
        assert updates[action.update].arg_types == [cmd.as_recorded(action.command)]
        assert updates[action.update].validator is not None


def test_a_page_carries_no_one_s_own_settings_events():
    from domain.views import page_data

    project = Project.launch(make_spec(2), NOW)
    project.execute(cmd.UpdateMyContact(actor=actor("p2"), time_zone="America/Cayenne"), NOW)
    page = page_data(project.state, project.events, "p1")
    assert "participant_updated" not in [e.type for e in page.events]
    assert "America/Cayenne" not in page.model_dump_json()


def test_a_phase_closed_after_its_deadline_withdraws_no_calendar_entry():
    """A late plan closes co-design after its deadline: nothing "closed early" to tell."""
    from datetime import UTC, datetime, timedelta

    from domain import events as ev
    from domain.models import Phase
    from domain.notices import notice_for
    from domain.state import ProjectState

    deadline = datetime(2026, 12, 12, 17, tzinfo=UTC)

    def closed(at: datetime) -> ev.Event:
        data = ev.PhaseClosed(
            phase=Phase.co_design, round=1, cause="plan_submitted", deadline=deadline
        )
        return ev.Event(seq=9, at=at, actor="fac", data=data)

    assert notice_for(ProjectState(), closed(deadline + timedelta(days=1))) is None
    early = notice_for(ProjectState(), closed(deadline - timedelta(days=1)))
    assert early is not None and early.kind == "phase_closed"
