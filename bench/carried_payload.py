"""How big is what a project carries across continue-as-new, per event?

    .venv/bin/python bench/carried_payload.py [--partners 20] [--text 300]

Builds a realistic project with the pure domain (no server), serialises the carried state with
the same data converter as the workflow, and prints bytes per event and the number of events
at which one carried payload reaches Temporal's 2 MB payload limit.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402

from domain import commands as cmd  # noqa: E402
from domain.models import Participant, Process, ProjectSpec  # noqa: E402
from domain.project import Project  # noqa: E402
from workflows.project import CarriedState, ProjectInput  # noqa: E402

LIMIT = 2 * 1024 * 1024


def build(partners: int, text_len: int) -> Project:
    text = ("Diagnostic partagé du quartier : " * 20)[:text_len]
    people = [
        Participant(
            id="coord",
            organisation_name="Maison des Associations",
            organisation_id="mda",
            role="coordinator",
        ),
        Participant(
            id="fac",
            organisation_name="Coop",
            person_name="Facilitatrice",
            organisation_id="coop",
            role="facilitator",
        ),
    ] + [
        Participant(
            id=f"p{n}",
            organisation_name=f"Partenaire {n}",
            organisation_id=f"org{n}",
            role="partner",
            email=f"p{n}@example.org",
        )
        for n in range(partners)
    ]
    spec = ProjectSpec(
        id="bench",
        title="Bench",
        territory="Lyon",
        coordinator_organisation="mda",
        participants=people,
        process=Process(),
    )
    now = datetime(2026, 1, 1, tzinfo=UTC)
    project = Project.launch(spec, now)
    me = lambda pid: cmd.Actor(participant_id=pid, token_version=1)  # noqa: E731
    # Diagnosis: several contributions each, the phase kept open by a late partner.
    for n in range(1, partners):
        for k in range(3):
            project.execute(
                cmd.AddContribution(actor=me(f"p{n}"), kind="need", text=text),
                now + timedelta(minutes=k),
            )
    project.execute(cmd.AddContribution(actor=me("p0"), kind="need", text=text), now)
    proposals = [
        project.execute(
            cmd.SubmitProposal(
                actor=me(f"p{n}"),
                title="Proposition",
                description=text,
                indicators=[{"name": "Participation"}],
            ),
            now,
        )[0].data.proposal.id
        for n in range(partners)
    ]
    for n in range(partners):
        project.execute(
            cmd.AmendProposal(actor=me(f"p{n}"), proposal_id=proposals[0], text=text), now
        )
    project.execute(cmd.SubmitPlan(actor=me("fac"), proposal_ids=proposals[:3], summary=text), now)
    for n in range(partners):
        project.execute(cmd.GiveAnswer(actor=me(f"p{n}"), kind="consent"), now)
    return project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, default=20)
    parser.add_argument("--text", type=int, default=300, help="characters per contribution")
    args = parser.parse_args()
    project = build(args.partners, args.text)
    carried = ProjectInput(spec=project.state.spec, carried=CarriedState(events=project.events))
    size = len(pydantic_data_converter.payload_converter.to_payloads([carried])[0].data)
    per_event = size / len(project.events)
    print(
        f"partners={args.partners} text={args.text} chars  events={len(project.events)}  "
        f"carried payload={size / 1024:.1f} KiB  bytes/event={per_event:.0f}  "
        f"2 MB reached at about {int(LIMIT / per_event):,} events"
    )


if __name__ == "__main__":
    main()
