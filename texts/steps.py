"""A project's steps and a decision's approvals in words, for the pages and the mail: the
template's own names in the reader's language, who approves, by which rule, and so far how."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from domain.models import Participant, Tally
from domain.views import ProjectView, StepView
from texts import words
from texts.i18n import Texts


@dataclass(frozen=True)
class StepLine:
    name: str
    kind: str
    current: bool
    # Already run at least once (a period of it opened).
    done: bool


@dataclass(frozen=True)
class ApprovalLine:
    id: str
    name: str
    # Who approves, as the template says it, and who that is in this project.
    who: str
    approvers: list[str]
    rule: str
    quorum: str
    tally: Tally | None
    mine: bool


def current_step(view: ProjectView) -> StepView | None:
    return next((s for s in view.steps if s.current), None)


def step_label(t: Texts, view: ProjectView) -> str:
    """The open step's name ("Approbation du budget"), or its kind's words."""
    step = current_step(view)
    if view.phase in ("closed", "cancelled") or step is None:
        return t.gettext(words.PHASES[view.phase])
    return words.step_name(t, step.name, step.kind.value)


def step_lines(t: Texts, view: ProjectView) -> list[StepLine]:
    ran = {p.step or p.phase.value for p in view.periods}
    return [
        StepLine(
            name=words.step_name(t, s.name, s.kind.value),
            kind=t.gettext(words.PHASES[s.kind.value]),
            current=s.current and view.phase_open,
            done=s.id in ran and not (s.current and view.phase_open),
        )
        for s in view.steps
    ]


def approval_name(t: Texts, approval: Any) -> str:
    """An approval's name (its view or its report's facts: both have a name and approvers)."""
    return words.approval_name(t, approval.name, approval.approvers)


def quorum_words(t: Texts, quorum: float) -> str:
    if quorum == 0:
        return t.gettext("none: silence counts as consent")
    return t.gettext("%(share)s of the approvers must answer", share=t.percent(quorum))


def approval_lines(
    t: Texts, view: ProjectView, me: Participant, phase: str = "decision"
) -> list[ApprovalLine]:
    """The open decision step's approvals (or the charter's): who answers each, by which
    rule, the tally so far, and whether this participant is one of its approvers."""
    step = current_step(view)
    if step is None or view.phase != phase or not view.phase_open:
        return []
    names = {p.id: p.organisation_name for p in view.participants}
    return [
        ApprovalLine(
            id=a.id,
            name=approval_name(t, a),
            who=words.approvers_in_words(t, a.approvers),
            approvers=[names.get(pid, pid) for pid in a.approver_ids],
            rule=t.gettext(words.RULES[a.rule.value]),
            quorum=quorum_words(t, a.quorum),
            tally=a.tally,
            mine=me.id in a.approver_ids,
        )
        for a in step.approvals
    ]


@dataclass(frozen=True)
class Judged:
    """An objection as the facilitator judged it (None: not judged, so valid)."""

    participant_id: str
    reason: str
    judgement: str | None = None
    because: str = ""


@dataclass(frozen=True)
class DecisionSummary:
    title: str
    lines: list[str]
    objections: dict[str, str]
    # Every objection of the decision with its judgement, concerns included.
    judged: list[Judged] = ()


def judged_objections(approvals: list[Any]) -> list[Judged]:
    """Each objection of a decision's approvals, with the facilitator's judgement."""
    out: list[Judged] = []
    for r in approvals:
        for pid, reason in r.objections.items():
            j = r.judgements.get(pid)
            out.append(Judged(pid, reason, j.judgement.value if j else None, j.reason if j else ""))
    return out


@dataclass(frozen=True)
class Standing(Judged):
    """An objection standing in the open decision: its key ("approval/participant") and its
    approval's id where the step has several."""

    key: str = ""
    approval: str | None = None


def standing_objections(view: ProjectView) -> list[Standing]:
    """The open consent decision's objections, each with its judgement so far."""
    if view.phase.value != "decision" or not view.phase_open or view.plan is None:
        return []
    step = next((s for s in view.steps if s.id == view.step), None)
    if step is None or not step.approvals:
        return []
    consent = {a.id for a in step.approvals if a.rule.value == "consent"}
    several = len(step.approvals) > 1
    out = []
    for a in view.answers:
        approval = a.approval or step.approvals[0].id
        if a.kind.value != "object" or approval not in consent:
            continue
        key = f"{approval}/{a.participant_id}"
        j = view.judgements.get(key)
        out.append(
            Standing(a.participant_id, a.reason or "", j.judgement.value if j else None,
                     j.reason if j else "", key=key, approval=approval if several else None)
        )  # fmt: skip
    return out


@dataclass(frozen=True)
class _Part:
    college: str
    name: Any
    weight: str
    tally: Tally
    contributes: float
    total: float | None


def college_parts_of(step: StepView, decision: Any) -> list[_Part]:
    """The colleges' parts of a decision, named as the step's approvals name them."""
    names = {c.id: c.name for a in step.approvals for c in a.colleges}
    parts = []
    for r in decision.approvals:
        for n, c in enumerate(r.colleges):
            parts.append(_Part(c.college, names.get(c.college), c.weight, c.tally,
                               c.contributes, r.weighted if n == len(r.colleges) - 1 else None))  # fmt: skip
    return parts


def college_lines(t: Texts, parts: list[Any]) -> list[str]:
    """A weighted majority in words: each college, its weight, its tally and what it gives;
    then the weighted share of consents and what it decided."""
    _ = t.gettext
    lines = []
    for c in parts:
        name = c.name.said_in(t.language) if c.name is not None else c.college
        weight = Fraction(c.weight)
        lines.append(
            _(
                "College %(college)s (%(weight)s of the votes): %(tally)s; it gives %(share)s",
                college=name,
                weight=t.percent(float(weight)),
                tally=words.tally_in_words(t, c.tally),
                share=t.percent(c.contributes),
            )
        )
        if c.total is not None:
            lines.append(
                _(
                    "Weighted by colleges: %(share)s of the votes consent (adopted above half)",
                    share=t.percent(c.total),
                )
            )
    return lines


def judgement_in_words(t: Texts, judged: Judged) -> str:
    """ "judged a concern: <reason>", "judged valid: <reason>", or "not judged: it counted as
    valid"."""
    if judged.judgement is None and isinstance(judged, Standing):
        return t.gettext("not judged yet: unless judged, it counts as valid at the close")
    if judged.judgement is None:
        return t.gettext("not judged: it counted as valid")
    if judged.judgement == "concern":
        return t.gettext("judged a concern (it does not block): %(reason)s", reason=judged.because)
    return t.gettext("judged valid (the proposal must change): %(reason)s", reason=judged.because)


def one_approval(view: ProjectView) -> bool:
    """The template holds one approval (co-construction): the rule and quorum are the
    project's, said once."""
    return sum(len(s.approvals) for s in view.steps if s.kind.value == "decision") <= 1


def decision_summaries(t: Texts, view: ProjectView) -> list[DecisionSummary]:
    """Each decision reached: its round (and step, where the template has several decision
    steps) and outcome, then its tally, per approval where there were several."""
    _ = t.gettext
    steps = {s.id: s for s in view.steps}
    several_steps = sum(1 for s in view.steps if s.kind.value == "decision") > 1
    single = one_approval(view)
    out = []
    for d in view.decisions:
        round_name = words.capitalised(words.round_name(t, d.round))
        outcome = _(words.OUTCOMES[d.outcome.value])
        step = steps.get(d.step or "decision")
        if several_steps and step is not None:
            title = _(
                "%(round)s, %(step)s: decision %(outcome)s",
                round=round_name,
                step=words.step_name(t, step.name, step.kind.value),
                outcome=outcome,
            )
        else:
            title = _("%(round)s: decision %(outcome)s", round=round_name, outcome=outcome)
        if single or not d.approvals or step is None:
            lines = [words.capitalised(words.tally_in_words(t, d.tally)) + "."]
        else:
            by_id = {a.id: a for a in step.approvals}
            lines = []
            for r in d.approvals:
                view_of = by_id.get(r.approval)
                name = approval_name(t, view_of) if view_of else r.approval
                if r.void:
                    lines.append(
                        _(
                            "%(approval)s: none of its approvers was left; this approval did not count",
                            approval=name,
                        )
                    )
                    continue
                lines.append(
                    _(
                        "%(approval)s, %(rule)s: %(tally)s; approval %(outcome)s",
                        approval=name,
                        rule=_(words.RULE_NAMES[r.rule.value]),
                        tally=words.tally_in_words(t, r.tally),
                        outcome=_(words.OUTCOMES[r.outcome.value]),
                    )
                )
        if any(r.colleges for r in d.approvals) and step is not None:
            lines += college_lines(t, college_parts_of(step, d))
        if d.voided:
            lines.append(_("This decision does not stand: its step was reopened."))
        judged = judged_objections(d.approvals)
        out.append(
            DecisionSummary(title=title, lines=lines, objections=dict(d.objections),
                            judged=judged if any(j.judgement for j in judged) else [])
        )  # fmt: skip
    return out


def rule_origin(t: Texts, view: ProjectView) -> str | None:
    """Where the first decision's rule comes from, when it is not its template's: the adopted
    charter, or the default while the charter is not adopted."""
    for step in view.steps:
        if step.kind.value == "decision" and step.approvals:
            source = step.approvals[0].rule_source
            if source == "charter":
                return t.gettext("from the adopted charter")
            if source == "default":
                return t.gettext("until a charter gives another")
            return None
    return None
