"""Who is told of which event: the routing of notifications, decided purely from the state.

One notice per event (not per recipient), so a fan-out costs one activity in history. The facts
are codes, numbers and the project's own texts: the message is written in each reader's
language by the activity that delivers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain import events as ev
from domain import steps, templates
from domain.models import NotificationPreference, Outcome, Phase, PhasePeriod, Role, Step
from domain.state import ProjectState, step_id
from domain.steps import walk
from domain.steps.charter import versions_allowed

# Phase closings that come before the deadline: the calendar entry still open is withdrawn.
EARLY_CLOSINGS = ("complete", "plan_submitted", "facilitator")


@dataclass(frozen=True)
class Notice:
    kind: str
    recipients: list[str]
    facts: dict[str, str] = field(default_factory=dict)


def step_facts(state: ProjectState, phase: Phase, named: str | None) -> dict[str, str]:
    """A step the template names apart from its kind: its id when it is not its kind's (the
    calendar entry's: appel-a-projets decides twice in a round), and its names when they are
    not its kind's usual ones (a consultation's "Décision sur le texte"), for the message to
    say it. Co-construction's steps give neither: their messages read as in 1.x."""
    facts = {"step": named} if named is not None else {}
    if state.spec is None:
        return facts
    wanted = step_id(phase, named)
    step = next((s for s in state.template.steps if s.id == wanted), None)
    if step is not None and templates.named_apart(step):
        facts |= {"step_fr": step.name.fr, "step_en": step.name.en}
    return facts


def notice_for(state: ProjectState, event: ev.Event) -> Notice | None:
    everyone = [p.id for p in state.active()]
    facilitators = [p.id for p in state.active() if p.role == Role.facilitator]
    names = {pid: p.display_name for pid, p in state.participants.items()}
    data = event.data
    kind = data.type
    match data:
        case ev.ProjectLaunched(project=spec):
            return Notice(kind, everyone, {"territory": spec.territory})
        case ev.ParticipantInvited(participant=p, replaces=replaced):
            facts = {"role": p.role.value}
            if replaced:
                facts["replaces"] = names.get(replaced, replaced)
            return Notice(kind, [p.id], facts)
        case ev.LinkResent(participant_id=pid):
            return Notice(kind, [pid])
        case ev.ParticipantRemoved(participant_id=pid, reason=reason, left=True):
            # Those who run the project hear who left, and why; the partner saw it done.
            coordinators = [p.id for p in state.active() if p.role == Role.coordinator]
            facts = {"who": names.get(pid, pid), "reason": reason}
            return Notice("participant_left", facilitators + coordinators, facts)
        case ev.ParticipantRemoved(participant_id=pid, reason=reason):
            if reason == "erased":
                return None  # their details are gone: there is no one to write to
            return Notice(kind, [pid], {"reason": reason})
        case ev.PhaseOpened(phase=phase, round=round_, deadline=deadline, step=named):
            step = state.template.step(step_id(phase, named))
            facts = {
                "phase": phase.value,
                "round": str(round_),
                "deadline": deadline.isoformat(),
                # Who the step waits for: their message asks, the others' informs.
                "expected": ",".join(p.id for p in steps.expected_in(state, step)),
            }
            plan = next((p for p in reversed(state.plans) if p.round == round_), None)
            if phase == Phase.decision and plan is not None:
                # What the partners decide on (none yet when the facilitator writes the text).
                facts["summary"] = plan.summary
            facts |= step_facts(state, phase, named)
            return Notice(kind, everyone, facts)
        case ev.PhaseClosed(phase=phase, round=round_, cause=cause, deadline=deadline, step=named):
            if cause not in EARLY_CLOSINGS or (deadline is not None and event.at >= deadline):
                return None  # closed at or after its deadline: its calendar entry is past
            return Notice(
                kind,
                everyone,
                {"phase": phase.value, "round": str(round_), "cause": cause,
                 "closed": event.at.isoformat(), **step_facts(state, phase, named)},
            )  # fmt: skip
        case ev.ReminderSent(phase=phase, recipients=recipients, deadline=when, step=named):
            if not recipients:
                return None
            when = when or state.deadline
            deadline = when.isoformat() if when else ""
            facts = {"phase": phase.value, "deadline": deadline, **step_facts(state, phase, named)}
            if state.phase == phase:  # the round it reminds of: a reply to it names that round
                facts["round"] = str(state.round)
            return Notice(kind, list(recipients), facts)
        case ev.ConclusionRequested():
            deadline = state.deadline.isoformat() if state.deadline else ""
            return Notice(kind, facilitators, {"phase": "evaluation", "deadline": deadline})
        case ev.DeadlineEscalated(phase=phase, missing=missing, step=named):
            facts = {"phase": phase.value, "missing": ", ".join(names.get(m, m) for m in missing)}
            return Notice(kind, facilitators, facts | step_facts(state, phase, named))
        case ev.DeadlineExtended(
            phase=phase, deadline=deadline, reason=reason, round=round_, step=named
        ):
            facts = {
                "phase": phase.value,
                "round": str(round_ if round_ is not None else state.round),
                "deadline": deadline.isoformat(),
                "reason": reason,
                **step_facts(state, phase, named),
            }
            return Notice(kind, everyone, facts)
        case ev.PlanSubmitted(plan=plan, answers_open=True, deadline=moved):
            # The text of a decision step: its approvers are asked to answer it now.
            step = _step_at(state, event)
            facts = {
                "round": str(plan.round),
                "summary": plan.summary,
                "answers_open": "yes",
                "phase": Phase.decision.value,
                "expected": ",".join(p.id for p in steps.expected_in(state, step))
                if step is not None
                else "",
                "deadline": (moved or _deadline_at(state, event)).isoformat()
                if (moved or _deadline_at(state, event))
                else "",
            }
            if step is not None:
                facts |= step_facts(state, step.kind, walk.named(step))
            return Notice(kind, everyone, facts)
        case ev.PlanSubmitted(plan=plan):
            return Notice(kind, everyone, {"round": str(plan.round), "summary": plan.summary})
        case ev.DecisionReached(round=round_, rule=rule, outcome=outcome, tally=t, step=named):
            facts = {
                "round": str(round_),
                "rule": rule.value,
                "outcome": outcome.value,
                "consents": str(t.consents),
                "objections": str(t.objections),
                "abstentions": str(t.abstentions),
                "silent": str(t.silent),
                "voters": str(t.voters),
            }
            plan = next((p for p in reversed(state.plans) if p.round == round_), None)
            if plan is not None:
                facts["summary"] = plan.summary
            facts |= what_follows(state, round_, outcome)
            facts |= step_facts(state, Phase.decision, named)
            step = state.template.step(step_id(Phase.decision, named))
            if len(data.approvals) > 1 or any(r.void for r in data.approvals):
                # Each approval's result, for the message to say them all (and the facilitator
                # to hear of one nobody was left to answer).
                facts |= approval_facts(step, data)
            return Notice(kind, everyone, facts)
        case ev.CharterPublished(version=version, deadline=moved):
            # The partners are asked to answer it now; the others told.
            step = _step_at(state, event)
            deadline = moved or _deadline_at(state, event)
            period = _period_at(state, event)
            facts = {
                "phase": Phase.charter.value,
                # The step's calendar entry (its UID is the phase's and round's) moves with it.
                "round": str(period.round if period is not None else state.round),
                "version": str(version.number),
                "changes": "\n".join(version.changes),
                "expected": ",".join(
                    p.id
                    for p in state.active()
                    if any(a.approvers.includes(p) for a in templates.approvals_of_step(step))
                )
                if step is not None
                else "",
                "deadline": deadline.isoformat() if deadline else "",
            }
            if step is not None:  # a reply to it names the step (a charter step may be named)
                facts |= {"step": step.id} if walk.named(step) else {}
            return Notice(kind, everyone, facts)
        case ev.CharterReviewed(version=number, objections=objections):
            step = _step_at(state, event)
            last = step is not None and number >= versions_allowed(step)
            facts = {
                "phase": Phase.charter.value,
                "version": str(number),
                "objectors": ", ".join(names.get(pid, pid) for pid in objections),
                "last": "yes" if last else "",
                "deadline": (_deadline_at(state, event) or event.at).isoformat(),
            }
            return Notice(kind, everyone, facts)
        case ev.CharterAdopted(version=number, signatures=signatures):
            return Notice(
                kind, everyone, {"version": str(number), "consents": str(len(signatures))}
            )
        case ev.CharterAmendmentProposed(version=version, until=until):
            # The partners are asked to answer it; the others told the step waits meanwhile.
            partners = [p.id for p in state.active() if p.role == Role.partner]
            facts = {"version": str(version.number), "until": until.isoformat(),
                     "changes": "\n".join(version.changes), "expected": ",".join(partners)}  # fmt: skip
            return Notice(kind, everyone, facts)
        case ev.CharterAmendmentClosed(cause="cancelled"):
            return None  # the cancellation's own message says the project ended
        case ev.CharterAmendmentClosed(version=number, adopted=adopted, deadline=moved) as closed:
            facts = {
                "version": str(number),
                "adopted": "yes" if adopted else "",
                "objectors": ", ".join(names.get(pid, pid) for pid in closed.objections),
                "missing": ", ".join(names.get(pid, pid) for pid in closed.missing),
            }
            if moved is not None:
                facts["deadline"] = moved.isoformat()
            return Notice(kind, everyone, facts)
        case ev.NewcomerProposed(newcomer=who, proposed_by=by):
            # The partners are asked (the proposing partner consented by proposing).
            partners = [p.id for p in state.active() if p.role == Role.partner and p.id != by]
            facts = {"newcomer": who.organisation_name, "kind": who.organisation_kind.value,
                     "proposed_by": names.get(by, by)}  # fmt: skip
            return Notice(kind, partners, facts)
        case ev.NewcomerRefused(newcomer_id=nid):
            found = state.newcomers.get(nid)
            if found is None:
                return None
            coordinators = [p.id for p in state.active() if p.role == Role.coordinator]
            told = list(dict.fromkeys([found.proposed_by, *coordinators, *facilitators]))
            # Refused at the first objection: its author and reason.
            objector = next((pid for pid, k in found.answers.items() if k == "object"), "")
            facts = {"newcomer": found.participant.organisation_name,
                     "objector": names.get(objector, objector),
                     "reason": found.reasons.get(objector, "")}  # fmt: skip
            return Notice(kind, [pid for pid in told if pid in state.participants], facts)
        case ev.StepReopened(phase=phase, round=round_, step=named, deadline=deadline,
                             reason=reason):  # fmt: skip
            facts = {"phase": phase.value, "round": str(round_), "deadline": deadline.isoformat(),
                     "reason": reason, **step_facts(state, phase, named)}  # fmt: skip
            return Notice(kind, everyone, facts)
        case ev.AnswerDelegated(delegation=d):
            facts = {"delegator": names.get(d.delegator, d.delegator)}
            if d.until is not None:
                facts["until"] = d.until.isoformat()
            return Notice(kind, [d.delegate], facts)
        case ev.DelegationEnded(delegation_id=did, why=why, participant_id=gone):
            found = state.delegations.get(did)
            if found is None:
                return None
            # The other one of the two is told (a revocation: the delegate).
            told = found.delegate if gone == found.delegator else found.delegator
            facts = {"why": why, "who": names.get(gone, gone),
                     "delegator": names.get(found.delegator, found.delegator)}  # fmt: skip
            return Notice(kind, [told], facts)
        case ev.ObjectionJudged(participant_id=pid, judgement=judged):
            # The objector hears how its objection was weighed, and why.
            facts = {"judgement": judged.judgement.value, "reason": judged.reason}
            return Notice(kind, [pid], facts)
        case ev.OutcomeStated(text=text, review_on=review_on):
            facts = {"text": text}
            if review_on is not None:
                facts["review_on"] = review_on.isoformat()
            return Notice(kind, everyone, facts)
        case ev.ReviewNoticeSent(opens_at=opens_at, recipients=told):
            # Every participant, not only the facilitator, a week before.
            return Notice(kind, [pid for pid in told if pid in state.participants],
                          {"opens_at": opens_at.isoformat()})  # fmt: skip
        case ev.DecisionReviewed(outcome=outcome, counts=counts, quorum_met=met):
            facts = {"outcome": outcome.value, "quorum_met": "yes" if met else "no"}
            return Notice(kind, everyone, facts | {k: str(n) for k, n in counts.items()})
        case ev.ReportPublished():
            # Published as the project closes: this one message says both.
            outcome = state.outcome.value if state.outcome else ""
            return Notice(kind, everyone, {"outcome": outcome})
        case ev.ProjectClosed(outcome=outcome):
            if state.report is not None:
                return None  # told with the report
            return Notice(kind, everyone, {"outcome": outcome.value})
        case ev.ProjectCancelled(
            reason=reason, open_phase=phase, open_round=round_, open_step=named
        ):
            facts = {"reason": reason}
            if phase is not None:
                facts |= {"phase": phase.value, "round": str(round_ or state.round)}
                facts |= step_facts(state, phase, named)
            return Notice(kind, everyone, facts)
    return None


def approval_facts(step: Step, decision: ev.DecisionReached) -> dict[str, str]:
    """A decision's approvals as facts: each one's names, who approves (codes the message puts
    in words), its rule, tally and outcome, and whether nobody was left to answer it."""
    facts = {"approvals": str(len(decision.approvals))}
    for n, r in enumerate(decision.approvals):
        approval = step.approval_by_id(r.approval)
        t = r.tally
        facts |= {
            f"approval_{n}_name_fr": approval.name.fr if approval.name else "",
            f"approval_{n}_name_en": approval.name.en if approval.name else "",
            f"approval_{n}_roles": ",".join(role.value for role in approval.approvers.roles),
            f"approval_{n}_kinds": ",".join(
                kind.value for kind in approval.approvers.organisation_kinds
            ),
            f"approval_{n}_rule": r.rule.value,
            f"approval_{n}_outcome": r.outcome.value,
            f"approval_{n}_void": "yes" if r.void else "",
            f"approval_{n}_consents": str(t.consents),
            f"approval_{n}_objections": str(t.objections),
            f"approval_{n}_abstentions": str(t.abstentions),
            f"approval_{n}_silent": str(t.silent),
            f"approval_{n}_voters": str(t.voters),
        }
    return facts


def _period_at(state: ProjectState, event: ev.Event) -> PhasePeriod | None:
    """The step period that was open when this event was recorded."""
    found = None
    for period in state.periods:
        if period.opened_at <= event.at and (
            period.closed_at is None or period.closed_at >= event.at
        ):
            found = period
    return found


def _step_at(state: ProjectState, event: ev.Event) -> Step | None:
    period = _period_at(state, event)
    if period is None:
        return None
    return state.template.step(step_id(period.phase, period.step))


def _deadline_at(state: ProjectState, event: ev.Event) -> datetime | None:
    period = _period_at(state, event)
    return period.deadline if period is not None else None


def what_follows(state: ProjectState, round_: int, outcome: Outcome) -> dict[str, str]:
    """What happens after a decision, for its message: the phase that opened next (and until
    when), or the end of the project. Read from the phases recorded, not the current one: the
    message says what followed this decision, whenever it is written."""
    for period in state.periods:
        follows = (
            period.round == round_ and period.phase in (Phase.action, Phase.evaluation)
            if outcome == Outcome.adopted
            else period.round == round_ + 1 and period.phase == Phase.co_design
        )
        if follows:
            return {"next_phase": period.phase.value, "next_round": str(period.round),
                    "next_deadline": period.deadline.isoformat()}  # fmt: skip
    if outcome != Outcome.adopted and round_ in state.amendments_dropped:
        return {"next_phase": "kept"}  # the amendment failed: the decision in force stays
    if outcome != Outcome.adopted:
        return {"next_phase": "closed"}
    return {}


# What reaches someone who chose the essentials only: being invited or removed, their link,
# their own reminders, decisions and the project's end.
ESSENTIALS = frozenset(
    {
        "project_launched",
        "participant_invited",
        "link_resent",
        "participant_removed",
        "participant_left",
        "reminder_sent",
        "conclusion_requested",
        "decision_reached",
        "review_notice_sent",
        "decision_reviewed",
        "charter_published",
        "charter_reviewed",
        "charter_adopted",
        "charter_amendment_proposed",
        "charter_amendment_closed",
        "report_published",
        "project_closed",
        "project_cancelled",
    }
)
# What reaches a digest reader at once all the same: their own reminders, what concerns them
# alone (their invitation, link, removal), and the project's end (no digest comes after it).
AT_ONCE_FOR_DIGESTS = frozenset(
    {
        "project_launched",
        "participant_invited",
        "link_resent",
        "participant_removed",
        "reminder_sent",
        "conclusion_requested",
        "report_published",
        "project_closed",
        "project_cancelled",
    }
)


@dataclass(frozen=True)
class Routing:
    now: list[str]
    digest: list[str]


def routing(state: ProjectState, notice: Notice) -> Routing:
    """Who of a notice's recipients is told at once, who in their next digest; those who
    chose the essentials only are left out of the rest (their page has it all)."""
    now: list[str] = []
    digest: list[str] = []
    alone = len(notice.recipients) == 1
    for pid in notice.recipients:
        who = state.participants.get(pid)
        preference = who.notifications if who else NotificationPreference.every
        if preference == NotificationPreference.essentials:
            if notice.kind in ESSENTIALS or alone:
                now.append(pid)
        elif preference == NotificationPreference.digest:
            if notice.kind in AT_ONCE_FOR_DIGESTS or alone:
                now.append(pid)
            else:
                digest.append(pid)
        else:
            now.append(pid)
    return Routing(now, digest)


def next_digest(after: datetime, hour: int, time_zone: str) -> datetime:
    """The first moment at `hour` o'clock, in that time zone, after `after`."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("Europe/Paris")
    local = after.astimezone(zone)
    day = local.date()
    for _ in range(3):
        moment = datetime.combine(day, time(hour), tzinfo=zone)
        if moment > local:
            return moment.astimezone(UTC)
        day += timedelta(days=1)
    raise AssertionError("a digest hour is always within two days")
