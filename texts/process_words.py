"""A process template in words, for the console's pages: its steps in a line, how long each
lasts, who decides and how, where a decision not adopted goes back, and what is wrong with
a template (a Problem's code said in the reader's language, with its step and field)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from domain import templates
from domain.models import Approval, Phase, Step, Template, Words
from domain.steps.charter import CHARTER_VERSIONS
from domain.templates import Problem
from texts import words
from texts.i18n import Texts

DAY = timedelta(days=1)


class Named(Protocol):
    name: Words
    kind: Phase


def step_title(t: Texts, step: Named) -> str:
    return words.step_name(t, step.name, step.kind.value)


def steps_in_a_line(t: Texts, steps: Iterable[Named]) -> str:
    """ "Diagnostic partagé → Co-conception → Approbation du budget → …" """
    return " → ".join(step_title(t, s) for s in steps)


def kind_name(t: Texts, kind: str) -> str:
    return words.capitalised(t.gettext(words.PHASES.get(kind, words.N_("phase"))))


def kind_beside(t: Texts, step: Named) -> str | None:
    """The step's kind in words, to say beside its name (none when its name says it)."""
    kind = kind_name(t, step.kind.value)
    return None if kind.casefold() == step_title(t, step).casefold() else kind


def days(duration: timedelta) -> float:
    return duration / DAY


def days_typed(t: Texts, duration: timedelta | None) -> str:
    """A duration as the number of days a form shows ("21", "0,5")."""
    return t.number(days(duration)) if duration is not None else ""


def length(t: Texts, duration: timedelta) -> str:
    """ "21 jours", "1 jour", or "36 heures" when not whole days."""
    if duration % DAY == timedelta(0):
        n = duration // DAY
        return t.ngettext("%(num)s day", "%(num)s days", n)
    return t.duration(duration)


def step_length(t: Texts, step: Step) -> str:
    if step.kind == Phase.wait and step.until is not None:
        return t.gettext("until %(when)s", when=t.moment(step.until))
    if step.duration is None:
        return ""
    if step.kind == Phase.action and step.duration == timedelta(0):
        return t.gettext("0 days: skipped")
    return length(t, step.duration)


def reminders(t: Texts, step: Step) -> str | None:
    if not step.reminders:
        return None
    said = t.gettext(" and ").join(length(t, r) for r in sorted(step.reminders, reverse=True))
    return t.gettext("Reminders %(when)s before the deadline", when=said)


def closing(t: Texts, step: Step) -> str:
    """When the step closes, in words."""
    if step.kind == Phase.co_design:
        return t.gettext("Closes when the facilitator puts the plan to decision")
    early = words.EARLY_STEP_CLOSINGS.get(step.kind.value)
    if early is not None and step.close_when_complete:
        return t.gettext(early)
    return t.gettext("Lasts until its deadline (the facilitator may close it earlier)")


def who_approves(t: Texts, approval: Approval) -> str:
    named = approval.approvers.participants
    others = (
        [t.ngettext("%(num)s participant named", "%(num)s participants named", len(named))]
        if named
        else None
    )
    return words.approvers_in_words(t, approval.approvers, others) or t.gettext("nobody")


def quorum(t: Texts, share: float) -> str:
    if share == 0:
        return t.gettext("none: silence counts as consent")
    return t.gettext("%(share)s of them must answer", share=t.percent(share))


@dataclass(frozen=True)
class ApprovalWords:
    name: str
    who: str
    rule: str
    quorum: str
    # All of it in one sentence, for the launch form.
    line: str


def approval_name(t: Texts, approval: Approval) -> str:
    if approval.name is not None and approval.name.fr:
        return words.capitalised(approval.name.said_in(t.language))
    return words.capitalised(who_approves(t, approval))


def approvals(t: Texts, step: Step) -> list[ApprovalWords]:
    found = []
    given = (
        [templates.review_approval(step)]
        if step.kind == Phase.review
        else templates.approvals_of_step(step)
    )
    for a in given:
        who = who_approves(t, a)
        if a.rule is None or a.quorum is None:
            # Decided by the partnership charter's governance, once adopted.
            line = t.gettext(
                "Who decides: %(who)s, by the rule and quorum of the adopted charter (without one: by consent, half of them answering)",
                who=who,
            )
            found.append(
                ApprovalWords(
                    name=approval_name(t, a),
                    who=words.capitalised(who),
                    rule=t.gettext("The adopted charter's rule"),
                    quorum=t.gettext("The adopted charter's quorum"),
                    line=line,
                )
            )
            continue
        manner = t.gettext(words.RULE_MANNERS.get(a.rule.value, words.N_("by consent")))
        if a.quorum == 0:
            line = t.gettext(
                "Who decides: %(who)s, %(rule)s, silence counting as consent",
                who=who,
                rule=manner,
            )
        else:
            line = t.gettext(
                "Who decides: %(who)s, %(rule)s, with a quorum of %(quorum)s",
                who=who,
                rule=manner,
                quorum=t.percent(a.quorum),
            )
        found.append(
            ApprovalWords(
                name=approval_name(t, a),
                who=words.capitalised(who),
                rule=words.capitalised(t.gettext(words.RULES[a.rule.value])),
                quorum=words.capitalised(quorum(t, a.quorum)),
                line=line,
            )
        )
    return found


def completion(t: Texts, step: Step) -> str | None:
    if len(step.approvals) < 2:
        return None
    return words.capitalised(t.gettext(words.COMPLETIONS[step.completion.value]))


def loop(t: Texts, template: Template, step: Step) -> str:
    """Where a decision not adopted sends the project (a review: when it opens, and where
    an amendment goes)."""
    if step.kind == Phase.review:
        target = templates.amended_in(template, step)
        name = step_title(t, target) if target is not None else ""
        after = length(t, step.after) if step.after is not None else ""
        return t.gettext(
            "Opens %(after)s after the adoption, unless the decision sets its date; to amend: back to “%(step)s”",
            after=after,
            step=name,
        )
    back = step.if_not_adopted
    if step.kind.value == "charter":
        versions = back.max_rounds if back is not None else CHARTER_VERSIONS
        return t.ngettext(
            "When an objection stands: a new version, %(num)s version at most, then the project ends",
            "When an objection stands: a new version, %(num)s versions at most, then the project ends",
            versions,
        )
    if back is None:
        return t.gettext("When not adopted: the project ends")
    target = next((s for s in template.steps if s.id == back.to), None)
    name = step_title(t, target) if target is not None else back.to
    if target is step:
        return t.ngettext(
            "When not adopted: decided again, %(num)s round at most",
            "When not adopted: decided again, %(num)s rounds at most",
            back.max_rounds,
        )
    return t.ngettext(
        "When not adopted: back to “%(step)s”, %(num)s round at most",
        "When not adopted: back to “%(step)s”, %(num)s rounds at most",
        back.max_rounds,
        step=name,
    )


# -- what is wrong with a template -----------------------------------------------------------


def problem_message(
    t: Texts,
    problem: Problem,
    overrides: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
) -> str:
    """A problem in the reader's language, by its code; `overrides` says some codes otherwise
    (a form asks for a quorum in %, a file as a share), `names` says steps by their names
    rather than their ids (a form shows the names)."""
    message = (overrides or {}).get(problem.code) or words.TEMPLATE_PROBLEMS.get(problem.code)
    if message is None:
        return t.gettext(words.UNKNOWN_TEMPLATE_PROBLEM)
    params: dict[str, Any] = dict(problem.params)
    if names and params.get("target") in names:
        params["target"] = names[params["target"]]
    try:
        return t.gettext(message, **params) if "%(" in message else t.gettext(message)
    except (KeyError, TypeError, ValueError):
        if problem.code == "yaml_unreadable":
            return t.gettext("This is not readable YAML (check the indentation and the colons).")
        return t.gettext(words.UNKNOWN_TEMPLATE_PROBLEM)


def field_words(t: Texts, field: str) -> str:
    """ "approvals.0.quorum" → "approbation 1, quorum"; a field nobody knows as written."""
    if not field:
        return ""
    known = words.TEMPLATE_FIELDS
    if field in known:
        return t.gettext(known[field])
    parts = field.split(".")
    if parts[0] == "approvals" and len(parts) > 1 and parts[1].isdigit():
        said = t.gettext("approval %(n)s", n=int(parts[1]) + 1)
        rest = ".".join(parts[2:])
        for candidate in (rest, rest.split(".")[0], f"name.{rest.split('.')[-1]}"):
            if candidate in known:
                return f"{said}, {t.gettext(known[candidate])}"
        return said
    if parts[0] in known:
        return t.gettext(known[parts[0]])
    return f"“{field}”"


def problem_place(t: Texts, problem: Problem) -> str:
    """Where the problem is: "Étape « budget », durée"; "Le modèle, nom en français"."""
    if problem.step and problem.step.startswith("#") and problem.step[1:].isdigit():
        where = t.gettext("Step %(n)s", n=int(problem.step[1:]))
    elif problem.step:
        where = t.gettext("Step “%(step)s”", step=problem.step)
    elif problem.field:
        where = t.gettext("The template")
    else:
        return ""
    field = field_words(t, problem.field)
    return f"{where}, {field}" if field else where
