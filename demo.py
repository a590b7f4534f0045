"""Walk a realistic project through every phase on a running Alliance (./scripts/run).

    .venv/bin/python demo.py                 # the whole story, down to the final report
    .venv/bin/python demo.py --stop-at decision

A shared-gardens project in Lyon 8e: the Maison des Associations coordinates, a neutral
facilitator keeps the process fair, the municipality, an inhabitants' association and a
university lab are partners, the Métropole watches as funder.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from datetime import timedelta

import temporal_client
from domain import commands as cmd
from domain.models import Participant, PhaseSettings, Process, ProjectSpec
from settings import Settings
from workflows.project import ProjectWorkflow

PEOPLE = [
    Participant(
        id="mda",
        name="Maison des Associations du 8e",
        organisation_id="mda-lyon8",
        organisation_kind="association",
        role="coordinator",
        email="contact@mda8.example",
    ),
    Participant(
        id="facil",
        name="Camille Martin (médiatrice)",
        organisation_id="coop-facil",
        organisation_kind="company",
        role="facilitator",
        email="camille@coop.example",
    ),
    Participant(
        id="mairie",
        name="Mairie du 8e arrondissement",
        organisation_id="mairie-lyon8",
        organisation_kind="local_authority",
        role="partner",
        email="dev-local@mairie8.example",
    ),
    Participant(
        id="habitants",
        name="Association des habitants des Étas-Unis",
        organisation_id="assoc-etats-unis",
        organisation_kind="inhabitants",
        role="partner",
        email="bureau@habitants.example",
    ),
    Participant(
        id="labo",
        name="Laboratoire EVS, Université Lyon 2",
        organisation_id="univ-lyon2-evs",
        organisation_kind="university",
        role="partner",
        language="en",
        email="evs@univ.example",
    ),
    Participant(
        id="metropole",
        name="Métropole de Lyon (financeur)",
        organisation_id="metropole-lyon",
        organisation_kind="public_body",
        role="observer",
    ),
]
PARTNERS = ["mairie", "habitants", "labo"]
ORDER = ["diagnosis", "co_design", "decision", "action", "evaluation", "closed"]


def me(pid: str) -> cmd.Actor:
    return cmd.Actor(participant_id=pid, token_version=1)


async def main(stop_at: str) -> None:
    settings = Settings()
    client = await temporal_client.connect(settings)
    spec = ProjectSpec(
        id=f"jardins-{uuid.uuid4().hex[:6]}",
        title="Jardins partagés du quartier des États-Unis",
        territory="Lyon 8e",
        description="Transformer deux friches en jardins partagés, conçus avec les habitants.",
        coordinator_organisation="mda-lyon8",
        participants=PEOPLE,
        process=Process(
            diagnosis=PhaseSettings(duration=timedelta(days=21), reminders=["P7D", "P2D"]),
            co_design=PhaseSettings(duration=timedelta(days=28)),
            decision=PhaseSettings(duration=timedelta(days=14), reminders=["P3D"]),
            action=PhaseSettings(duration=timedelta(days=90)),
            evaluation=PhaseSettings(duration=timedelta(days=21)),
        ),
    )
    handle = await temporal_client.start_project(client, spec, task_queue=settings.task_queue)
    print(f"Project {spec.id} launched: workflow {handle.id}")
    print(f"Temporal UI: {settings.ui_url}/namespaces/{settings.namespace}/workflows/{handle.id}")

    async def act(update, command):
        return await temporal_client.execute_action(handle, update, command, key=uuid.uuid4().hex)

    def reached(phase: str) -> bool:
        if ORDER.index(phase) >= ORDER.index(stop_at):
            print(f"Stopped in {phase}, as asked.")
            return True
        return False

    W = ProjectWorkflow
    for pid, kind, text in [
        ("mairie", "resource", "Deux parcelles municipales en friche, rue Garon et rue Bataille"),
        ("habitants", "need", "Des familles sans jardin veulent cultiver et se retrouver"),
        ("labo", "observation", "Sols à analyser : anciens usages industriels possibles"),
    ]:
        result = await act(
            W.add_contribution, cmd.AddContribution(actor=me(pid), kind=kind, text=text)
        )
    print(f"Diagnosis shared: now in {result.phase}")
    if reached(result.phase):
        return
    proposal = (
        await act(
            W.submit_proposal,
            cmd.SubmitProposal(
                actor=me("habitants"),
                title="Deux jardins partagés en bacs",
                description="Bacs hors-sol, un composteur collectif, une permanence le samedi.",
                indicators=[
                    {"name": "Familles inscrites", "target": "40"},
                    {"name": "Ateliers tenus", "target": "12 par an"},
                ],
            ),
        )
    ).item_id
    await act(
        W.amend_proposal,
        cmd.AmendProposal(
            actor=me("labo"), proposal_id=proposal, text="Analyse des sols avant installation"
        ),
    )
    await act(W.endorse_proposal, cmd.EndorseProposal(actor=me("mairie"), proposal_id=proposal))
    result = await act(
        W.submit_plan,
        cmd.SubmitPlan(
            actor=me("facil"),
            proposal_ids=[proposal],
            summary="Jardins en bacs sur les deux parcelles",
        ),
    )
    print(f"Plan submitted: now in {result.phase}, round {result.round}")
    if reached(result.phase):
        return
    await act(
        W.answer,
        cmd.GiveAnswer(
            actor=me("mairie"),
            kind="object",
            reason="La parcelle rue Bataille est réservée à une école",
        ),
    )
    await act(W.answer, cmd.GiveAnswer(actor=me("habitants"), kind="consent"))
    result = await act(W.answer, cmd.GiveAnswer(actor=me("labo"), kind="consent"))
    print(f"An objection sent the plan back: now in {result.phase}, round {result.round}")
    result = await act(
        W.submit_plan,
        cmd.SubmitPlan(
            actor=me("facil"),
            proposal_ids=[proposal],
            summary="Un jardin rue Garon, extensible",
            objection_answers={"mairie": "Seule la parcelle rue Garon est retenue"},
        ),
    )
    for pid in PARTNERS:
        result = await act(W.answer, cmd.GiveAnswer(actor=me(pid), kind="consent"))
    await act(
        W.state_outcome,
        cmd.StateOutcome(actor=me("facil"), text="Plan adopté par consentement au 2e tour"),
    )
    print(f"Adopted: now in {result.phase}, round {result.round}")
    if reached(result.phase):
        return
    await act(
        W.note_progress,
        cmd.NoteProgress(actor=me("habitants"), text="30 bacs installés, 38 familles inscrites"),
    )
    result = await act(
        W.close_phase, cmd.ClosePhase(actor=me("facil"), reason="Installation terminée")
    )
    print(f"Implementation done: now in {result.phase}")
    if reached(result.phase):
        return
    view = await handle.query(W.view)
    for n, pid in enumerate(PARTNERS):
        await act(
            W.assess,
            cmd.Assess(
                actor=me(pid),
                scores=[
                    {"indicator_id": i.id, "score": 3 + (n % 3), "comment": "Bonne dynamique"}
                    for i in view.adopted_plan.indicators
                ],
            ),
        )
    summary = await handle.result()
    view = await handle.query(W.view)
    print(f"Project {summary.phase}: {summary.outcome}; report at {view.report.location}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stop-at", choices=ORDER, default="closed")
    asyncio.run(main(parser.parse_args().stop_at))
