"""The messages of a project run from a template: a step said by its own name, the facilitator
asked for a decision's text, the approvers asked once it is written, one calendar entry per
decision step, and the facilitator told of an approval nobody was left to answer."""

from __future__ import annotations

from email import message_from_bytes, policy

from activities.mail.compose import Sender, compose, wire_bytes
from activities.notifications import Notification, Recipient
from domain import commands as cmd
from domain.models import Language, Role
from domain.notices import notice_for
from domain.project import Project
from process_templates.builtin import builtin, launched
from tests.domain.test_templates import NOW, aap_project, to_first_decision
from tests.helpers import actor, make_spec

SENDER = Sender("Alliance <alliance@example.org>", "https://alliance.example.org")
LINK = "https://alliance.example.org/p/TOKEN"


def mail_of(project: Project, kind: str, to: str, role: Role, nth: int = -1):
    """The message the engine's notice of the nth event of this kind sends to one reader."""
    event = [e for e in project.events if e.type == kind][nth]
    notice = notice_for(project.state, event)
    assert notice is not None and to in notice.recipients
    recipient = Recipient(
        participant_id=to, organisation_name="Ville de Lyon", role=role,
        language=Language.fr, time_zone="Europe/Paris", token_version=1,
    )  # fmt: skip
    notification = Notification(
        key=f"project-x/{event.seq}/{kind}", project_id="x", project_title="Jardins",
        kind=kind, event_seq=event.seq, at=event.at, recipients=[recipient], facts=notice.facts,
    )  # fmt: skip
    built = compose(notification, recipient, "zoe@example.org", "Zoé", LINK, SENDER)
    return message_from_bytes(wire_bytes(built), policy=policy.default)


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def calendar_of(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_content()
    raise AssertionError("no calendar entry")


def test_a_consultation_asks_the_facilitator_for_the_text_then_the_partners_to_answer():
    project = Project.launch(make_spec(2, template=launched(builtin("consultation"))), NOW)
    for pid in ("p1", "p2"):
        project.execute(cmd.AddContribution(actor=actor(pid), kind="need", text="Un besoin"), NOW)
    asked = mail_of(project, "phase_opened", "fac", Role.facilitator)
    assert "le texte soumis à décision est attendu de votre part" in asked["Subject"]
    assert asked["Subject"].startswith("[Jardins] Décision sur le texte\u00a0:")
    assert "Rédigez sur votre page le texte" in text_of(asked)
    told = text_of(mail_of(project, "phase_opened", "p1", Role.partner))
    assert "?answer=consent" not in told  # nothing to answer yet
    project.execute(cmd.SubmitPlan(actor=actor("fac"), summary="Ouvrir le samedi"), NOW)
    answer = mail_of(project, "plan_submitted", "p1", Role.partner)
    assert "votre réponse est attendue au plus tard le" in answer["Subject"]
    body = text_of(answer)
    assert "Le facilitateur a rédigé le texte soumis à décision (1er tour)" in body
    assert "Ouvrir le samedi" in body and f"{LINK}?answer=object" in body
    assert "METHOD:REQUEST" in calendar_of(answer)


def test_each_decision_step_of_a_round_has_its_own_calendar_entry_and_name():
    project = aap_project()
    to_first_decision(project)
    budget = mail_of(project, "phase_opened", "p1", Role.partner, nth=-1)
    assert budget["Subject"].startswith("[Jardins] Approbation du budget\u00a0: votre réponse")
    assert "UID:x.budget.1@example.org" in calendar_of(budget)
    project.execute(cmd.GiveAnswer(actor=actor("p1"), kind="consent"), NOW)
    decided = text_of(mail_of(project, "decision_reached", "p2", Role.partner))
    assert "Étape\u00a0: «\u00a0Approbation du budget\u00a0»." in decided
    partners = mail_of(project, "phase_opened", "p2", Role.partner, nth=-1)
    # The partners' step is named by its kind: its entry is the decision's, as in 1.x.
    assert "UID:x.decision.1@example.org" in calendar_of(partners)


def test_the_facilitator_hears_of_an_approval_nobody_was_left_to_answer():
    project = aap_project()
    to_first_decision(project)
    project.execute(cmd.RemoveParticipant(actor=actor("coord"), participant_id="p1"), NOW)
    to_facilitator = text_of(mail_of(project, "decision_reached", "fac", Role.facilitator))
    assert "Plus personne ne pouvait répondre à «\u00a0Les collectivités\u00a0»" in to_facilitator
    to_partner = text_of(mail_of(project, "decision_reached", "p2", Role.partner))
    assert "Plus personne" not in to_partner


def test_a_decision_of_two_approvals_says_each_ones_tally_and_names_an_unnamed_one_in_words():
    from domain.templates import parse

    document = {
        "id": "deux",
        "name": {"fr": "Deux approbations"},
        "steps": [
            {
                "id": "vote",
                "name": {"fr": "Vote"},
                "kind": "decision",
                "duration": "P7D",
                "approvals": [
                    {"id": "partners", "name": {"fr": "Les partenaires"}},
                    {"id": "elus", "approvers": {"organisation_kinds": ["local_authority"]}},
                ],
            }
        ],
    }
    project = Project.launch(make_spec(2, template=launched(parse(document))), NOW)
    project.execute(cmd.SubmitPlan(actor=actor("fac"), summary="Le texte"), NOW)
    project.execute(cmd.RemoveParticipant(actor=actor("coord"), participant_id="p1"), NOW)
    project.execute(cmd.GiveAnswer(actor=actor("p2"), kind="consent", approval="partners"), NOW)
    text = text_of(mail_of(project, "decision_reached", "fac", Role.facilitator))
    assert (
        "«\u00a0Les partenaires\u00a0», consentement\u00a0: 1 consentement, 0 objection, "
        "0 abstention, 0 sans réponse, sur 1 votant\u202f; approbation adoptée." in text
    )
    # The local authorities' approval has no name: said by who approves it; nobody was left.
    assert "«\u00a0les partenaires de type collectivité\u00a0»\u00a0: plus personne" in text
    assert "sur 0 votant" not in text
