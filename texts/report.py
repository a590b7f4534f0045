"""The final report in words, in any of our languages, from its facts (domain/report.py): one
renderer for the project's page, the Markdown the API serves, the workflow's query, the
published file and the archive's `rapport.md` / `report.md`.

Markdown that renders in any viewer (headings, lists, pipe tables), every name and text people
typed escaped so that it shows as typed and never becomes markup; and a printable HTML page
of the same Markdown that keeps its layout on A4.
"""

from __future__ import annotations

from typing import Any

from domain.models import Phase, PhasePeriod, Statement
from domain.report import ApprovalFact, Objection, ReportFacts, Round
from texts import words
from texts.charter import charter_lines
from texts.i18n import Texts, texts
from texts.markdown import md, md_cell, md_item, md_quote, printable_page
from texts.steps import Judged, college_lines, judgement_in_words

N_ = words.N_


def reader_of(facts: ReportFacts, language: str | None = None) -> Texts:
    """The report's reader: the project's language unless another is asked, its time zone."""
    return texts(language or facts.language.value, facts.time_zone)


def heading(level: int, text: str) -> list[str]:
    return ["", "#" * level + " " + text, ""]


def fact(label: str, value: str) -> str:
    """A list item "**Label :** value" (the label carries its own colon and space)."""
    return f"- **{label}** {value}"


def row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def table_head(*titles: str) -> list[str]:
    return [row(*titles), row(*("---" for _ in titles))]


def report_markdown(facts: ReportFacts, t: Texts) -> str:
    _ = t.gettext
    lines = [f"# {md(facts.title)}", "", _("Final report of the co-construction project."), ""]
    lines.append(fact(_("Territory:"), md(facts.territory)))
    if facts.launched_at:
        lines.append(fact(_("Launched:"), t.when(facts.launched_at)))
    lines.append(fact(_("Outcome:"), outcome_in_words(facts, t)))
    if facts.template is not None:
        lines.append(
            fact(
                _("Process:"),
                _(
                    "%(name)s, version %(version)s",
                    name=md(facts.template.name.said_in(t.language)),
                    version=t.number(facts.template.version),
                ),
            )
        )
    if facts.one_approval:
        lines += [
            fact(_("Decision rule:"), _(words.RULES[facts.rule.value])),
            fact(_("Quorum:"), quorum_in_words(facts.quorum, t)),
        ]
    if facts.description:
        lines += [*heading(2, _("The project")), md(facts.description)]
    lines += members(facts, t)
    if facts.charter is not None:
        lines += heading(2, _("Partnership charter"))
        lines += charter_lines(t, facts.charter, level=3)
    if not facts.one_approval:
        lines += process_steps(facts, t)
    lines += course(facts, t)
    lines += decisions(facts, t)
    if facts.adopted_summary is not None and facts.adopted_round is not None:
        lines += heading(2, _("The adopted plan"))
        lines += [_("Adopted in %(round)s.", round=words.round_name(t, facts.adopted_round))]
        lines += ["", md(facts.adopted_summary)]
    lines += conclusion(facts, t)
    lines += reviews(facts, t)
    lines += results(facts, t)
    lines += cooperation(facts, t)
    lines += glossary(facts, t)
    if facts.progress:
        lines += heading(2, _("Progress of the implementation"))
        for note in facts.progress:
            said = _("%(who)s:", who=md(note.organisation))
            when = t.date(note.at) + ", " if note.at else ""
            lines.append(f"- {when}{said} {md_item(note.text)}")
    return "\n".join(lines) + "\n"


def outcome_in_words(facts: ReportFacts, t: Texts) -> str:
    if facts.outcome is None:
        return t.gettext("not decided yet")
    if facts.adopted_round is not None:
        adopted = t.gettext(
            "decision adopted in %(round)s", round=words.round_name(t, facts.adopted_round)
        )
        if facts.review_due is not None:  # not closed yet: it waits for its review
            return t.gettext("%(adopted)s; to be reviewed on %(when)s", adopted=adopted,
                             when=t.moment(facts.review_due))  # fmt: skip
        return adopted
    return t.gettext(words.PROJECT_OUTCOMES[facts.outcome.value])


def quorum_in_words(quorum: float, t: Texts) -> str:
    if quorum == 0:
        return t.gettext("none: silence counts as consent")
    return t.gettext("%(share)s of the voting partners must answer", share=t.percent(quorum))


def approval_name(t: Texts, approval: Any) -> str:
    """An approval's name (its view or its report's facts: both have a name and approvers)."""
    return words.approval_name(t, approval.name, approval.approvers)


def process_steps(facts: ReportFacts, t: Texts) -> list[str]:
    """The template's steps in order, each decision's approvals with who answers them, by
    which rule and quorum (where the template has more than one approval)."""
    _ = t.gettext
    lines = heading(2, _("The steps of the process"))
    for n, step in enumerate(facts.steps, start=1):
        name = words.step_name(t, step.name, step.kind.value)
        kind = t.gettext(words.PHASES[step.kind.value])
        # The kind in words where the name does not already say it.
        said_kind = "" if name.casefold() == kind.casefold() else f" ({kind})"
        lines.append(f"{n}. {md(name)}{said_kind}")
        for a in step.approvals:
            named, who = approval_name(t, a), words.approvers_in_words(t, a.approvers)
            said = _(
                "%(approval)s: %(who)s; %(rule)s; quorum: %(quorum)s",
                approval=md(named),
                who=who,
                rule=_(words.RULES[a.rule.value]),
                quorum=approvers_quorum(a.quorum, t),
            )
            if named.casefold() == who.casefold():
                said = _(
                    "%(approval)s; %(rule)s; quorum: %(quorum)s",
                    approval=md(named),
                    rule=_(words.RULES[a.rule.value]),
                    quorum=approvers_quorum(a.quorum, t),
                )
            lines.append(f"   - {said}")
    return lines


def approvers_quorum(quorum: float, t: Texts) -> str:
    if quorum == 0:
        return t.gettext("none: silence counts as consent")
    return t.gettext("%(share)s of the approvers must answer", share=t.percent(quorum))


def members(facts: ReportFacts, t: Texts) -> list[str]:
    _ = t.gettext
    lines = heading(2, _("The partners"))
    lines += table_head(_("Organisation"), _("Kind"), _("Role"))
    for m in facts.members:
        if m.active:
            kind, role = _(words.KINDS[m.kind.value]), _(words.ROLES[m.role.value])
            lines.append(row(md_cell(m.organisation), kind, role))
    gone = [m for m in facts.members if not m.active]
    if gone:
        names = ", ".join(md(m.organisation) for m in gone)
        lines += ["", _("No longer taking part: %(names)s.", names=names)]
    return lines


def course(facts: ReportFacts, t: Texts) -> list[str]:
    _ = t.gettext
    if not facts.periods:
        return []
    lines = heading(2, _("How the project went"))
    lines += table_head(_("Phase"), _("Round"), _("Opened"), _("Closed"), _("How it closed"))
    for p in facts.periods:
        closed = t.when(p.closed_at) if p.closed_at else _("still open")
        lines.append(
            row(
                md_cell(period_name(facts, p, t)),
                t.number(p.round),
                t.when(p.opened_at),
                closed,
                closing_in_words(t, p, facts),
            )
        )
    return lines


def period_name(facts: ReportFacts, period: PhasePeriod, t: Texts) -> str:
    step_id = period.step or period.phase.value
    step = next((s for s in facts.steps if s.id == step_id), None)
    return words.step_name(t, step.name if step else None, period.phase.value)


def closing_in_words(t: Texts, period: PhasePeriod, facts: ReportFacts) -> str:
    if period.cause is None:
        return ""
    if period.cause == "complete" and period.phase == Phase.evaluation and facts.conclusion:
        return t.gettext(words.EARLY_CLOSINGS["concluded"])
    return words.closing(t, period.phase.value, period.cause)


def decisions(facts: ReportFacts, t: Texts) -> list[str]:
    if not facts.rounds:
        return []
    lines = heading(2, t.gettext("The decisions"))[:-1]
    for r in facts.rounds:
        lines += heading(3, decision_title(r, t))
        if r.approvals:
            lines += [decided_on(r, t), ""]
            lines += [approval_line(a, t) for a in r.approvals]
        else:
            lines += [decided_in_words(r, t), "", "- " + words.tally_in_words(t, r.tally)]
        lines += ["- " + md(line) for line in college_lines(t, r.colleges)]
        if r.voided:
            lines.append("- " + t.gettext("This decision does not stand: its step was reopened."))
        lines += [
            "- "
            + t.gettext(
                "%(delegate)s answered for %(who)s, by delegation", delegate=md(by), who=md(who)
            )  # fmt: skip
            for who, by in r.delegated
        ]
        for o in r.objections:
            lines += objection_lines(o, r, t)
        for s in r.statements:
            lines += statement_lines(s, t)
    return lines


def decision_title(r: Round, t: Texts) -> str:
    round_name = words.capitalised(words.round_name(t, r.round))
    outcome = t.gettext(words.OUTCOMES[r.outcome.value])
    if r.step_name is not None:
        return t.gettext(
            "%(round)s, %(step)s: decision %(outcome)s",
            round=round_name,
            step=md(words.step_name(t, r.step_name, "decision")),
            outcome=outcome,
        )
    return t.gettext("%(round)s: decision %(outcome)s", round=round_name, outcome=outcome)


def decided_on(r: Round, t: Texts) -> str:
    if r.decided_at is None:
        return ""
    return t.gettext("Decided on %(when)s.", when=t.when(r.decided_at))


def approval_line(a: ApprovalFact, t: Texts) -> str:
    _ = t.gettext
    name = md(approval_name(t, a))
    if a.void:
        return "- " + _(
            "%(approval)s: none of its approvers was left; this approval did not count",
            approval=name,
        )
    return "- " + _(
        "%(approval)s, %(rule)s: %(tally)s; approval %(outcome)s",
        approval=name,
        rule=_(words.RULE_NAMES[a.rule.value]),
        tally=words.tally_in_words(t, a.tally),
        outcome=_(words.OUTCOMES[a.outcome.value]),
    )


def decided_in_words(r: Round, t: Texts) -> str:
    rule = t.gettext(words.RULE_MANNERS[r.rule.value])
    if r.decided_at is None:
        return t.gettext("Decided %(rule)s.", rule=rule)
    return t.gettext("Decided %(rule)s on %(when)s.", rule=rule, when=t.when(r.decided_at))


def judgement_said(o: Objection, t: Texts) -> str:
    """An objection's judgement as the record says it ("" when it was not judged)."""
    if o.judgement is None:
        return ""
    return words.capitalised(
        judgement_in_words(t, Judged("", o.reason, o.judgement, o.judged_because))
    )


def objection_lines(o: Objection, r: Round, t: Texts) -> list[str]:
    _ = t.gettext
    said = _("Objection of %(who)s:", who=md(o.organisation))
    lines = [f"- {said} {md_item(o.reason)}"]
    if o.judgement is not None:
        lines.append(f"  - {md_item(judgement_said(o, t), '    ')}")
    if o.answer:
        answered = _("The answer of the plan of %(round)s:", round=words.round_name(t, r.round + 1))
        lines.append(f"  - {answered} {md_item(o.answer, '    ')}")
    return lines


def statement_lines(s: Statement, t: Texts) -> list[str]:
    said = t.gettext("The outcome as the facilitator stated it, on %(when)s:", when=t.when(s.at))
    return ["- " + said, "", md_quote(s.text), ""]


def conclusion(facts: ReportFacts, t: Texts) -> list[str]:
    _ = t.gettext
    if not facts.conclusion and not facts.conclusion_missing:
        return []
    lines = heading(2, _("The conclusion of the facilitator"))
    if facts.conclusion_missing:
        return [*lines, _("The facilitator wrote no conclusion before the end of the evaluation.")]
    for s in facts.conclusion:
        lines += [_("Written on %(when)s:", when=t.when(s.at)), "", md_quote(s.text), ""]
    return lines


def reviews(facts: ReportFacts, t: Texts) -> list[str]:
    """Each review of the adopted decision: its result, its count and each answer."""
    _ = t.gettext
    if not facts.reviews:
        return []
    lines = heading(2, _("The reviews of the decision"))
    for r in facts.reviews:
        counted = _("keep: %(keep)s, amend: %(amend)s, end: %(end)s",
                    **{c: t.number(r.counts.get(c, 0)) for c in ("keep", "amend", "end")})  # fmt: skip
        if not r.quorum_met:
            said = _("too few answers, the decision stays as it is")
        else:
            said = _(words.REVIEW_RESULTS[r.outcome.value])
        when = t.date(r.at) if r.at else words.round_name(t, r.round)
        lines += heading(3, _("Review of %(when)s", when=when))
        lines += [_("Result: %(said)s (%(counted)s).", said=said, counted=counted), ""]
        if r.answers:
            lines += table_head(_("Organisation"), _("Answer"), _("Reason"))
            for organisation, choice, reason in r.answers:
                lines.append(row(md_cell(organisation), _(words.REVIEW_CHOICES[choice.value]),
                                 md_cell(reason) or "–"))  # fmt: skip
            lines.append("")
    return lines


def results(facts: ReportFacts, t: Texts) -> list[str]:
    _ = t.gettext
    if facts.adopted_round is None:
        return []
    lines = heading(2, _("Results"))
    if not facts.results:
        return [*lines, _("The adopted plan had no indicator to assess.")]
    lines += table_head(
        _("Indicator"), _("Target"), _("Mean score (out of 5)"), _("Number of scores")
    )
    for r in facts.results:
        mean = t.number(r.mean_score) if r.mean_score is not None else "–"
        target = md_cell(r.target) or "–"
        lines.append(row(md_cell(r.name), target, mean, t.number(r.count)))
    if facts.comments:
        lines += heading(3, _("Comments"))
        for c in facts.comments:
            said = _("%(indicator)s, %(who)s:", indicator=md(c.indicator), who=md(c.organisation))
            lines.append(f"- {said} {md_item(c.text)}")
    return lines


def cooperation(facts: ReportFacts, t: Texts) -> list[str]:
    """The cooperation questionnaire, anonymous: figures only from three answers, so that no
    answer can be told apart; the comments in no telling order."""
    _ = t.gettext
    figures = facts.cooperation
    if figures is None:
        return []
    lines = heading(2, _("The cooperation between the partners"))
    if figures.answers == 0:
        return [*lines, _("No partner answered the questionnaire on the cooperation.")]
    if not figures.shown:
        return [
            *lines,
            t.ngettext(
                "%(num)s partner answered the questionnaire on the cooperation: its figures are shown from three answers, so that no answer can be told apart.",
                "%(num)s partners answered the questionnaire on the cooperation: its figures are shown from three answers, so that no answer can be told apart.",
                figures.answers,
            ),
        ]
    lines += [
        t.ngettext(
            "%(num)s partner answered, anonymously, from 1 (not at all) to 5 (fully).",
            "%(num)s partners answered, anonymously, from 1 (not at all) to 5 (fully).",
            figures.answers,
        ),
        "",
    ]
    lines += table_head(_("Question"), _("Mean score (out of 5)"))
    for question, mean in figures.means.items():
        lines.append(row(_(words.COOPERATION_QUESTIONS[question]), t.number(mean)))
    if figures.comments:
        lines += heading(3, _("Their comments"))
        lines += [f"- {md_item(c)}" for c in figures.comments]
    return lines


def glossary(facts: ReportFacts, t: Texts) -> list[str]:
    """The project's common language: each validated term and its definition."""
    if not facts.glossary:
        return []
    lines = heading(2, t.gettext("The project's glossary"))
    for entry in sorted(facts.glossary, key=lambda e: e.term.casefold()):
        name = "**" + md(entry.term) + "**"
        said = t.gettext("%(term)s:", term=name)
        lines.append(f"- {said} {md_item(entry.definition)}")
    return lines


def printable(facts: ReportFacts, t: Texts) -> str:
    """The report as a page of its own, to print or save as PDF: the same Markdown, a layout
    that holds on A4 (margins, no table or heading split across pages)."""
    return printable_page(facts.title, report_markdown(facts, t), t.language)
