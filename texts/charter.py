"""The partnership charter in words: its sections' titles, the French model the facilitator
starts from, and the charter as a document (Markdown for the page, the printable page, the
report and the archive), written from its versions."""

from __future__ import annotations

from domain.models import CHARTER_SECTIONS, Governance
from domain.report import CharterFact
from texts import words
from texts.i18n import Texts
from texts.markdown import md, md_item, printable_page

N_ = words.N_

SECTION_TITLES = words.CHARTER_SECTION_TITLES
JOINING = {
    "consent": N_("a newcomer joins once the partners consent"),
    "invitation": N_("a newcomer joins at the coordinator's invitation"),
}

# The French model the facilitator starts from (a first draft, to be rewritten together).
MODEL_FR = {
    "purpose": "Les partenaires s’associent pour concevoir et mener ensemble le projet « {title} » "
    "sur le territoire {territory}, au service de ses habitants.",
    "partners": "Chaque organisation signataire désigne une personne qui la représente. La "
    "structure coordinatrice organise le projet ; le facilitateur, neutre, veille à l’équité "
    "de la démarche et au langage commun ; les partenaires contribuent, proposent et décident.",
    "commitments": "Chaque partenaire s’engage à participer aux étapes du projet, à partager "
    "les informations et les données utiles, et à dire ce qu’il peut apporter en temps et en "
    "moyens.",
    "governance": "Les décisions sur le plan d’action sont prises ensemble, selon la règle et "
    "le quorum indiqués ci-dessous. Le facilitateur anime les échanges et rend compte de "
    "chaque décision.",
    "confidentiality": "Les informations partagées restent entre les partenaires, sauf accord "
    "contraire. Le nom et le logo d’un partenaire ne sont utilisés qu’avec son accord.",
    "communication": "Les partenaires s’accordent sur ce qui est dit du projet, et par qui. "
    "Chaque communication mentionne l’ensemble des partenaires.",
    "membership": "Une organisation peut rejoindre le partenariat dans les conditions indiquées "
    "ci-dessous. Un partenaire peut se retirer à tout moment, en disant pourquoi.",
    "amendment": "Cette charte peut être modifiée à tout moment, par le consentement de tous "
    "les partenaires.",
}
MODEL_EN = {
    "purpose": "The partners join forces to design and run together the project “{title}” in "
    "{territory}, for the good of its inhabitants.",
    "partners": "Each signing organisation names a person who represents it. The coordinating "
    "organisation runs the project; the neutral facilitator keeps the process fair and the "
    "language common; the partners contribute, propose and decide.",
    "commitments": "Each partner commits to taking part in the project's steps, to sharing "
    "useful information and data, and to saying what time and means it can bring.",
    "governance": "Decisions on the action plan are taken together, by the rule and quorum "
    "below. The facilitator leads the discussions and reports each decision.",
    "confidentiality": "What is shared stays among the partners unless agreed otherwise. A "
    "partner's name and logo are used only with its consent.",
    "communication": "The partners agree on what is said of the project, and by whom. Every "
    "communication names all the partners.",
    "membership": "An organisation may join the partnership as set out below. A partner may "
    "leave at any time, saying why.",
    "amendment": "This charter may be amended at any time by the consent of every partner.",
}


def model(language: str, title: str, territory: str) -> dict[str, str]:
    texts = MODEL_EN if language == "en" else MODEL_FR
    return {s: texts[s].format(title=title, territory=territory) for s in CHARTER_SECTIONS}


def governance_in_words(t: Texts, governance: Governance) -> str:
    quorum = (
        t.gettext("none: silence counts as consent")
        if governance.quorum == 0
        else t.gettext("%(share)s of the approvers must answer", share=t.percent(governance.quorum))
    )
    return t.gettext(
        "Later decisions whose process sets no rule: %(rule)s; quorum: %(quorum)s; %(joining)s.",
        rule=t.gettext(words.RULES[governance.rule.value]),
        quorum=quorum,
        joining=t.gettext(JOINING[governance.joining.value]),
    )


def charter_lines(t: Texts, charter: CharterFact, level: int = 2) -> list[str]:
    """The charter (the version in force, else the latest) as Markdown lines, its headings
    from this level: its sections, its governance in words, its signatures, then every
    version with its changes and the objections that sent it back, each with its answer."""
    _ = t.gettext
    shown = charter.shown
    sub = "#" * level
    if charter.agreed is not None and charter.adopted is None:
        return agreed_lines(t, charter, level) + (
            versions_lines(t, charter, level) if shown else []
        )
    if shown is None:
        return []
    if charter.adopted == shown.number and charter.adopted_at is not None:
        status = _(
            "Version %(number)s, adopted on %(when)s.",
            number=t.number(shown.number),
            when=t.when(charter.adopted_at),
        )
    else:
        status = _("Version %(number)s, not adopted yet.", number=t.number(shown.number))
    lines = [status]
    if charter.agreed is not None:
        lines += ["", _("It amends the charter agreed before the project, on %(day)s.",
                        day=t.calendar_date(charter.agreed.agreed_on))]  # fmt: skip
    for section in CHARTER_SECTIONS:
        lines += [
            "",
            f"{sub} {_(SECTION_TITLES[section])}",
            "",
            md(shown.sections.get(section, "")),
        ]
        if section == "governance":
            lines += ["", governance_in_words(t, shown.governance)]
    if charter.adopted == shown.number and charter.signatures:
        lines += ["", f"{sub} {_('Signatures')}", ""]
        lines += [
            "- " + _("%(who)s consented on %(when)s", who=md(s.organisation), when=t.when(s.at))
            for s in charter.signatures
        ]
    return lines + versions_lines(t, charter, level)


def agreed_lines(t: Texts, charter: CharterFact, level: int) -> list[str]:
    """A charter agreed before the project: its date, its text or its file, its governance
    where the launch gave it, and the signatures of the partners who joined since."""
    _ = t.gettext
    agreed = charter.agreed
    assert agreed is not None
    sub = "#" * level
    lines = [_("Agreed by the partners before the project, on %(day)s.",
               day=t.calendar_date(agreed.agreed_on))]  # fmt: skip
    if agreed.text:
        lines += ["", md(agreed.text)]
    if agreed.document is not None:
        document = agreed.document
        lines += [
            "",
            _(
                "Its document: %(name)s (%(size)s), kept in the archive; its SHA-256 "
                "fingerprint: %(digest)s.",
                name=md(document.name),
                size=t.size(document.size),
                digest=f"`{document.sha256}`",
            ),
        ]
    if agreed.governance is not None:
        lines += ["", f"{sub} {_(SECTION_TITLES['governance'])}", ""]
        lines.append(governance_in_words(t, agreed.governance))
    if charter.signatures:
        lines += ["", f"{sub} {_('Signatures')}", ""]
        lines += [
            "- " + _("%(who)s consented on %(when)s", who=md(s.organisation), when=t.when(s.at))
            for s in charter.signatures
        ]
    return lines


def version_label(t: Texts, number: int, amendment: bool) -> str:
    if amendment:
        return t.gettext("Version %(number)s (amendment):", number=t.number(number))
    return t.gettext("Version %(number)s:", number=t.number(number))


def versions_lines(t: Texts, charter: CharterFact, level: int) -> list[str]:
    """Every version with its changes and the objections that sent it back, each answered."""
    _ = t.gettext
    sub = "#" * level
    lines: list[str] = []
    versions = charter.versions
    if versions and (len(versions) > 1 or versions[-1].objections or versions[-1].amendment):
        lines += ["", f"{sub} {_('Its versions')}", ""]
        for v in charter.versions:
            changes = "; ".join(md(c) for c in v.changes) or _("the first version")
            lines.append(f"- {version_label(t, v.number, v.amendment)} {md_item(changes)}")
            for o in v.objections:
                said = _("Objection of %(who)s:", who=md(o.organisation))
                lines.append(f"  - {said} {md_item(o.reason, '    ')}")
                if o.answer:
                    answered = _("Answered by the next version:")
                    lines.append(f"    - {answered} {md_item(o.answer, '      ')}")
    return lines


def charter_markdown(t: Texts, title: str, charter: CharterFact) -> str:
    """The charter as a document of its own (its page, its file in the archive)."""
    heading = f"# {t.gettext('Partnership charter')} – {md(title)}"
    return "\n".join([heading, "", *charter_lines(t, charter)]) + "\n"


def charter_printable(t: Texts, title: str, charter: CharterFact) -> str:
    """The charter as a page to print or save as PDF (A4)."""
    return printable_page(
        f"{t.gettext('Partnership charter')} – {title}",
        charter_markdown(t, title, charter),
        t.language,
    )
