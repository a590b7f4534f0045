"""What a project carries across continue-as-new, before and after segments, at 1,000 and
10,000 domain events.

    .venv/bin/python bench/carried_payload.py [--partners 20] [--text 300] [--events 1000 10000]

Builds a realistic long project with the pure domain (no server): a diagnosis with
contributions, proposals with amendments, a plan, then a decision that stays open while
partners change their answers (events that add nothing to the live state). It serialises
what a run carries with the workflow's own data converter:
- before: the whole log of domain events (how runs carried it until issue 13);
- after: the state, a pointer to the segments in the archive, and the events not yet in one
  (none right after a segment is written).
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


def build(partners: int, text_len: int, events: int) -> Project:
    text = ("Diagnostic partagé du quartier : " * 40)[:text_len]
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
    # The live state: three contributions each, a proposal each with an amendment, a plan.
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
    # Then a long decision: partners weigh it and change their minds; p0 has not answered,
    # so it stays open. Each answer replaces the last in the state, and adds an event.
    kinds = ["consent", "abstain", "object"]
    n = 0
    while len(project.events) < events:
        kind = kinds[n % 3]
        pid = f"p{1 + n % (partners - 1)}"
        reason = text[:200] if kind == "object" else None
        project.execute(cmd.GiveAnswer(actor=me(pid), kind=kind, reason=reason), now)
        n += 1
    return project


def size(carried: CarriedState, spec: ProjectSpec) -> int:
    payload = ProjectInput(spec=spec, carried=carried)
    return len(pydantic_data_converter.payload_converter.to_payloads([payload])[0].data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--partners", type=int, default=20)
    parser.add_argument("--text", type=int, default=300, help="characters per text")
    parser.add_argument("--events", type=int, nargs="+", default=[1000, 10_000])
    args = parser.parse_args()
    print(f"partners={args.partners} text={args.text} chars")
    print(f"{'domain events':>14} {'before (whole log)':>20} {'after (state + pointer)':>24}")
    for count in args.events:
        project = build(args.partners, args.text, count)
        spec = project.state.spec
        assert spec is not None
        before = size(CarriedState(events=project.events), spec)
        after = size(
            CarriedState(events=[], state=project.state, archived_through=project.state.last_seq),
            spec,
        )
        per_event = before / len(project.events)
        print(
            f"{len(project.events):>14,} {before / 1024:>17,.1f} KiB {after / 1024:>21,.1f} KiB"
            f"   before: bytes/event={per_event:.0f}, 2 MB reached at about "
            f"{int(LIMIT / per_event):,} events"
        )


if __name__ == "__main__":
    main()
