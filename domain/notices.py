"""Who is told of which event: the routing of notifications, decided purely from the state.

One notice per event (not per recipient), so a fan-out costs one activity in history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain import events as ev
from domain.models import Role
from domain.state import ProjectState


@dataclass(frozen=True)
class Notice:
    kind: str
    recipients: list[str]
    facts: dict[str, str] = field(default_factory=dict)


def notice_for(state: ProjectState, event: ev.Event) -> Notice | None:
    everyone = [p.id for p in state.active()]
    facilitators = [p.id for p in state.active() if p.role == Role.facilitator]
    names = {pid: p.display_name for pid, p in state.participants.items()}
    data = event.data
    kind = data.type
    match data:
        case ev.ProjectLaunched(project=spec):
            return Notice(kind, everyone, {"territory": spec.territory})
        case ev.ParticipantInvited(participant=p):
            return Notice(kind, [p.id], {"role": p.role.value})
        case ev.LinkResent(participant_id=pid):
            return Notice(kind, [pid])
        case ev.ParticipantRemoved(participant_id=pid, reason=reason):
            return Notice(kind, [pid], {"reason": reason})
        case ev.PhaseOpened(phase=phase, round=round_, deadline=deadline):
            facts = {"phase": phase.value, "round": str(round_), "deadline": deadline.isoformat()}
            return Notice(kind, everyone, facts)
        case ev.ReminderSent(phase=phase, recipients=recipients, deadline=when):
            if not recipients:
                return None
            when = when or state.deadline
            deadline = when.isoformat() if when else ""
            return Notice(kind, list(recipients), {"phase": phase.value, "deadline": deadline})
        case ev.DeadlineEscalated(phase=phase, missing=missing):
            facts = {"phase": phase.value, "missing": ", ".join(names.get(m, m) for m in missing)}
            return Notice(kind, facilitators, facts)
        case ev.DeadlineExtended(phase=phase, deadline=deadline, reason=reason):
            facts = {"phase": phase.value, "deadline": deadline.isoformat(), "reason": reason}
            return Notice(kind, everyone, facts)
        case ev.DecisionReached(round=round_, outcome=outcome, tally=t):
            facts = {
                "round": str(round_),
                "outcome": outcome.value,
                "tally": f"{t.consents} consent, {t.objections} objection, "
                f"{t.abstentions} abstention, {t.silent} silent",
            }
            return Notice(kind, everyone, facts)
        case ev.OutcomeStated(text=text):
            return Notice(kind, everyone, {"text": text})
        case ev.ReportPublished(location=location):
            return Notice(kind, everyone, {"location": location})
        case ev.ProjectClosed(outcome=outcome):
            return Notice(kind, everyone, {"outcome": outcome.value})
        case ev.ProjectCancelled(reason=reason):
            return Notice(kind, everyone, {"reason": reason})
    return None
