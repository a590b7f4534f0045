"""The pages' forms: one per action of the action table that a participant takes on its page,
each turning the posted fields into its command's fields. Which forms a participant sees comes
from the table (`PageData.actions`); the limits come from the commands."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from domain.actions import ACTIONS
from domain.cooperation import QUESTIONS
from domain.models import CHARTER_SECTIONS
from texts import words
from texts.i18n import Texts

from .sessions import Visit

__all__ = ["ACTIONS", "FORMS", "Errors", "values_of"]


def values_of(form: FormData) -> dict[str, Any]:
    """The posted fields, lists for repeated names (checkboxes)."""
    values: dict[str, Any] = {}
    for key in form:
        if key in ("csrf_token", "action_key"):
            continue
        found = form.getlist(key)
        values[key] = found if key.endswith("[]") else found[-1]
    return values


def _text(values: dict[str, Any], name: str) -> str:
    return str(values.get(name, ""))


def _optional(values: dict[str, Any], name: str) -> str | None:
    return str(values[name]) if values.get(name) not in (None, "") else None


def _indicators(values: dict[str, Any]) -> list[dict[str, str]]:
    indicators = []
    for n in (1, 2, 3):
        name = _text(values, f"indicator_{n}").strip()
        if name:
            indicators.append({"name": name, "target": _text(values, f"target_{n}")})
    return indicators


def _proposal(values: dict[str, Any], visit: Visit) -> dict[str, Any]:
    return {
        "title": _text(values, "title"),
        "description": _text(values, "description"),
        "indicators": _indicators(values),
    }


def _plan(values: dict[str, Any], visit: Visit) -> dict[str, Any]:
    answers = {
        key.removeprefix("objection_"): str(value)
        for key, value in values.items()
        if key.startswith("objection_")
    }
    return {
        "proposal_ids": values.get("proposal_ids[]", []),
        "summary": _text(values, "summary"),
        "objection_answers": answers,
        # A decision's text may carry indicators of its own (none comes from proposals).
        "indicators": _indicators(values),
        "review_on": _optional_moment(values, "review_on", visit),
    }


def _local_moment(values: dict[str, Any], name: str, visit: Visit) -> Any:
    """A datetime-local input's moment: it has no time zone, it is the reader's own (what
    cannot be read is passed on as typed, for the command to refuse it by name)."""
    typed = _text(values, name)
    try:
        moment = datetime.fromisoformat(typed)
    except ValueError:
        return typed
    return moment.replace(tzinfo=visit.t.zone) if moment.tzinfo is None else moment


def _optional_moment(values: dict[str, Any], name: str, visit: Visit) -> Any:
    return _local_moment(values, name, visit) if _text(values, name).strip() else None


def _deadline(values: dict[str, Any], visit: Visit) -> dict[str, Any]:
    return {"deadline": _local_moment(values, "deadline", visit), "reason": _text(values, "reason")}


def _assessment(values: dict[str, Any], visit: Visit) -> dict[str, Any]:
    plan = visit.data.view.adopted_plan
    scores = []
    for indicator in plan.indicators if plan else []:
        score = values.get(f"score_{indicator.id}")
        if score:
            scores.append(
                {
                    "indicator_id": indicator.id,
                    "score": score,
                    "comment": _text(values, f"comment_{indicator.id}"),
                }
            )
    return {"scores": scores}


def _charter(values: dict[str, Any], visit: Visit) -> dict[str, Any]:
    """A version of the charter from its form: a text per section, the governance (its quorum
    typed as a percentage), the changes one per line, an answer per objection."""
    typed = _text(values, "quorum").strip().rstrip("%").strip().replace(",", ".")
    try:
        quorum: Any = float(typed) / 100
    except ValueError:
        quorum = typed or None
    governance = {"rule": _optional(values, "rule"), "quorum": quorum,
                  "joining": _optional(values, "joining")}  # fmt: skip
    return {
        "sections": {s: _text(values, f"section_{s}") for s in CHARTER_SECTIONS},
        "governance": {k: v for k, v in governance.items() if v is not None},
        "changes": [line.strip() for line in _text(values, "changes").splitlines() if line.strip()],
        "objection_answers": {
            key.removeprefix("objection_"): str(value)
            for key, value in values.items()
            if key.startswith("objection_")
        },
    }


def _delegation(values: dict[str, Any], visit: Visit) -> dict[str, Any]:
    """A delegation from its form: the partner, and for a period its end (the reader's own
    time, as a datetime-local input gives it)."""
    until = _local_moment(values, "until", visit) if values.get("scope") == "period" else None
    return {"to": _text(values, "to"), "until": until}


def _amendment(values: dict[str, Any], visit: Visit) -> dict[str, Any]:
    """An amendment of the charter in force: its sections and governance as amended, the
    changes, and the days the partners have to answer."""
    typed = _text(values, "answer_days").strip().replace(",", ".")
    try:
        within: Any = f"PT{int(float(typed) * 24 * 60)}M"
    except (ValueError, OverflowError):
        within = typed or None
    fields = {k: v for k, v in _charter(values, visit).items() if k != "objection_answers"}
    return {**fields, **({"answer_within": within} if within is not None else {})}


def charter_complete(update: str, values: dict[str, Any], t: Texts) -> Errors | None:
    """Every section of a charter is written: each empty one is said beside its box."""
    if update not in ("publish_charter", "amend_charter"):
        return None
    errors = Errors(update, f"form-{update}")
    for section in CHARTER_SECTIONS:
        if not _text(values, f"section_{section}").strip():
            name = f"section_{section}"
            message = t.gettext("Write this section: every section of the charter is needed.")
            errors.fields[name] = message
            errors.summary.append((message, f"{update}-{name}"))
    return errors or None


def time_zone(values: dict[str, Any], name: str = "time_zone") -> str | None:
    """A time zone chosen in the list, or typed under "other"."""
    chosen = _optional(values, name)
    if chosen == words.OTHER_TIME_ZONE:
        return _text(values, f"{name}_other").strip() or chosen
    return chosen


def _contact(values: dict[str, Any], visit: Visit) -> dict[str, Any]:
    return {
        "email": _text(values, "email"),
        "webhook_url": _text(values, "webhook_url"),
        "language": _optional(values, "language"),
        "time_zone": time_zone(values),
        "notifications": _optional(values, "notifications"),
        "digest_hour": _optional(values, "digest_hour"),
    }


def slug(name: str) -> str:
    """An organisation id from its name, when the form gives none ("Mairie du 8e" →
    "mairie-du-8e")."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:64] or "organisation"


def person(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A participant's fields from a form (a launch row or an invitation)."""

    def get(name: str) -> str:
        return _text(values, f"{prefix}{name}").strip()

    return {
        "organisation_name": get("organisation_name"),
        "person_name": get("person_name"),
        "organisation_id": get("organisation_id") or slug(get("organisation_name")),
        "organisation_kind": get("organisation_kind") or "other",
        "role": get("role") or "partner",
        "email": get("email") or None,
        "language": get("language") or "fr",
        "time_zone": time_zone(values, f"{prefix}time_zone") or "Europe/Paris",
    }


@dataclass(frozen=True)
class FormSpec:
    # Where on the page the form stands (its section's id).
    anchor: str
    fields: Callable[[dict[str, Any], Visit], dict[str, Any]]


FORMS: dict[str, FormSpec] = {
    "add_contribution": FormSpec(
        "contribuer", lambda v, _: {"kind": _text(v, "kind"), "text": _text(v, "text")}
    ),
    "submit_proposal": FormSpec("proposer", _proposal),
    "amend_proposal": FormSpec(
        "propositions",
        lambda v, _: {"proposal_id": _text(v, "proposal_id"), "text": _text(v, "text")},
    ),
    "withdraw_proposal": FormSpec(
        "propositions",
        lambda v, _: {"proposal_id": _text(v, "proposal_id"), "reason": _text(v, "reason")},
    ),
    "endorse_proposal": FormSpec(
        "propositions", lambda v, _: {"proposal_id": _text(v, "proposal_id")}
    ),
    "submit_plan": FormSpec("plan", _plan),
    "answer": FormSpec(
        "repondre",
        lambda v, _: {
            "kind": _text(v, "kind"),
            "reason": _optional(v, "reason"),
            "approval": _optional(v, "approval"),
        },
    ),
    "state_outcome": FormSpec(
        "issue",
        lambda v, visit: {
            "text": _text(v, "text"),
            "review_on": _optional_moment(v, "review_on", visit),
        },
    ),
    "answer_review": FormSpec(
        "revue", lambda v, _: {"choice": _text(v, "choice"), "reason": _optional(v, "reason")}
    ),
    "extend_deadline": FormSpec("echeance", _deadline),
    "close_phase": FormSpec("echeance", lambda v, _: {"reason": _text(v, "reason")}),
    "reopen_step": FormSpec("echeance", lambda v, _: {"reason": _text(v, "reason")}),
    "note_progress": FormSpec("avancement", lambda v, _: {"text": _text(v, "text")}),
    "assess": FormSpec("evaluer", _assessment),
    "update_my_contact": FormSpec("preferences", _contact),
    # The coordinator's, on the console's project page.
    "invite_participant": FormSpec("inviter", lambda v, _: {"participant": person(v)}),
    "remove_participant": FormSpec(
        "participants",
        lambda v, _: {"participant_id": _text(v, "participant_id"), "reason": _text(v, "reason")},
    ),
    "replace_participant": FormSpec(
        "participants",
        lambda v, _: {
            "participant_id": _text(v, "participant_id"),
            "replacement": person(v),
            "reason": _text(v, "reason"),
        },
    ),
    "resend_link": FormSpec(
        "participants", lambda v, _: {"participant_id": _text(v, "participant_id")}
    ),
    "propose_newcomer": FormSpec("nouveaux", lambda v, _: {"participant": person(v)}),
    "answer_newcomer": FormSpec(
        "nouveaux",
        lambda v, _: {
            "newcomer_id": _text(v, "newcomer_id"),
            "kind": _text(v, "kind"),
            "reason": _optional(v, "reason"),
        },
    ),
    "consent_to_charter": FormSpec("signer", lambda v, _: {}),
    "cancel": FormSpec("annuler", lambda v, _: {"reason": _text(v, "reason")}),
    "leave_project": FormSpec("quitter", lambda v, _: {"reason": _text(v, "reason")}),
    # The charter's page.
    "publish_charter": FormSpec("charte", _charter),
    "amend_charter": FormSpec("charte", _amendment),
    "delegate_answer": FormSpec("deleguer", _delegation),
    "revoke_delegation": FormSpec(
        "deleguer", lambda v, _: {"delegation_id": _text(v, "delegation_id")}
    ),
    "judge_objection": FormSpec(
        "repondre",
        lambda v, _: {
            "participant_id": _text(v, "participant_id"),
            "approval": _optional(v, "approval"),
            "judgement": _text(v, "judgement"),
            **{
                q: {"yes": True, "no": False}.get(_text(v, q))
                for q in ("harm", "known", "safe_to_try")
            },
            "reason": _text(v, "reason"),
        },
    ),
    "answer_amendment": FormSpec(
        "repondre-modification",
        lambda v, _: {"kind": _text(v, "kind"), "reason": _optional(v, "reason")},
    ),
    "note_charter": FormSpec(
        "charte",
        lambda v, _: {
            "section": _text(v, "section"),
            "text": _text(v, "text"),
            "wording": v.get("wording") == "yes",
        },
    ),
    # The glossary's page.
    "propose_term": FormSpec(
        "glossaire", lambda v, _: {"term": _text(v, "term"), "definition": _text(v, "definition")}
    ),
    "propose_definition": FormSpec(
        "glossaire",
        lambda v, _: {"term_id": _text(v, "term_id"), "definition": _text(v, "definition")},
    ),
    "comment_term": FormSpec(
        "glossaire", lambda v, _: {"term_id": _text(v, "term_id"), "text": _text(v, "text")}
    ),
    "validate_term": FormSpec(
        "glossaire",
        lambda v, _: {"term_id": _text(v, "term_id"), "definition_id": _text(v, "definition_id")},
    ),
    "merge_terms": FormSpec(
        "glossaire", lambda v, _: {"term_id": _text(v, "term_id"), "into": _text(v, "into")}
    ),
    "answer_cooperation": FormSpec(
        "cooperation",
        lambda v, _: {
            **{q: _optional(v, q) for q in QUESTIONS},
            "comment": _text(v, "comment"),
        },
    ),
    "erase_participant": FormSpec(
        "participants",
        lambda v, _: {
            "participant_id": _text(v, "participant_id"),
            "redact_texts": v.get("redact_texts") == "yes",
        },
    ),
}


# The field a refusal is about, per form, so its message stands beside it.
REFUSAL_FIELDS: dict[str, dict[str, str]] = {
    "reason_required": {
        "answer": "reason",
        "extend_deadline": "reason",
        "answer_amendment": "reason",
        "answer_review": "reason",
    },
    "review_date_past": {"submit_plan": "review_on", "state_outcome": "review_on"},
    "review_date_too_far": {"submit_plan": "review_on", "state_outcome": "review_on"},
    "no_review_step": {"submit_plan": "review_on", "state_outcome": "review_on"},
    "nothing_to_review": {"state_outcome": "review_on"},
    "review_open": {"state_outcome": "review_on"},
    "phase_too_short": {"amend_charter": "answer_days"},
    "deadline_not_later": {"extend_deadline": "deadline", "delegate_answer": "until"},
    "unknown_delegate": {"delegate_answer": "to"},
    "no_decision_open": {"delegate_answer": "until"},
    "deadline_too_far": {"extend_deadline": "deadline"},
    "same_email": {"update_my_contact": "email", "invite_participant": "email"},
    "webhook_refused": {"update_my_contact": "webhook_url"},
    "objection_unanswered": {"submit_plan": "summary"},
    "charter_objection_unanswered": {"publish_charter": "objections"},
    "changes_required": {"publish_charter": "changes", "amend_charter": "changes"},
    "unknown_indicator": {"assess": "scores"},
}


# The glossary page's forms: one per term (or definition), and the page they come back to.
GLOSSARY_FORMS = {
    "propose_term": "form-propose_term",
    "propose_definition": "define-{term_id}",
    "comment_term": "comment-{term_id}",
    "validate_term": "validate-{definition_id}",
    "merge_terms": "merge-{term_id}",
}
GLOSSARY_KEYS = ("term_id", "definition_id")
# The charter page's forms: the next version, and a note per section.
CHARTER_FORMS = {
    "publish_charter": "form-publish_charter",
    "note_charter": "note-{section}",
    "consent_to_charter": "form-consent_to_charter",
    "amend_charter": "form-amend_charter",
    "answer_amendment": "form-answer_amendment",
}


def form_id(update: str, values: dict[str, Any]) -> str:
    """The id of the form element a submission came from (one form per proposal for
    amendments and endorsements)."""
    if update == "amend_proposal":
        return f"amend-{values.get('proposal_id', '')}"
    if update == "endorse_proposal":
        return f"endorse-{values.get('proposal_id', '')}"
    if update == "withdraw_proposal":
        return f"withdraw-{values.get('proposal_id', '')}"
    if update == "submit_proposal":
        return "proposer"
    if update == "invite_participant":
        return "inviter"
    if update in ("remove_participant", "replace_participant", "resend_link", "erase_participant"):
        return f"{update}-{values.get('participant_id', '')}"
    if update in GLOSSARY_FORMS:
        return GLOSSARY_FORMS[update].format(**{k: values.get(k, "") for k in GLOSSARY_KEYS})
    if update == "note_charter":
        return f"note-{values.get('section', '')}"
    if update == "answer_newcomer":
        return f"newcomer-{values.get('newcomer_id', '')}"
    if update == "judge_objection":
        # One form per objection, named by its key ("approval/participant").
        return "judge-" + str(values.get("key", "")).replace("/", "-")
    if update == "answer" and values.get("approval"):
        # One form per approval for a participant who answers several at once.
        return f"form-answer-{values['approval']}"
    return f"form-{update}"


# Forms whose fields are not one per page (one per proposal): their errors stand at the form.
_FORM_LEVEL = {
    "answer_newcomer",
    "withdraw_proposal",
    "revoke_delegation",
    "judge_objection",
    "amend_proposal",
    "endorse_proposal",
    "remove_participant",
    "replace_participant",
    "resend_link",
    "erase_participant",
}


@dataclass
class Errors:
    """What went wrong with one form: a summary at the top of the page, each field's message
    beside it, and a message at the form itself when no one field is at fault."""

    form: str | None = None
    # The id of the form element the submission came from.
    anchor: str = ""
    summary: list[tuple[str, str]] = field(default_factory=list)  # (message, element id)
    fields: dict[str, str] = field(default_factory=dict)
    message: str | None = None

    def __bool__(self) -> bool:
        return bool(self.summary)

    @classmethod
    def refused(cls, form: str, anchor: str, message: str, code: str | None = None) -> Errors:
        name = REFUSAL_FIELDS.get(code or "", {}).get(form)
        if name is None:
            return cls(form, anchor, [(message, f"{anchor}-error")], message=message)
        return cls(form, anchor, [(message, f"{form}-{name}")], {name: message})

    @classmethod
    def invalid(cls, form: str, anchor: str, error: ValidationError, t: Texts) -> Errors:
        errors = cls(form, anchor)
        for problem in error.errors():
            loc = [str(part) for part in problem["loc"] if part != "actor"]
            name = _field_name(form, loc)
            message = field_error(t, problem, name)
            if form in _FORM_LEVEL or name == "form":
                if errors.message is None:
                    errors.message = message
                    errors.summary.append((message, f"{anchor}-error"))
            elif name not in errors.fields:
                errors.fields[name] = message
                errors.summary.append((message, f"{form}-{name}"))
        return errors


def field_error(t: Texts, problem: Any, name: str) -> str:
    """A field's refusal in the reader's language, with the limit it broke where it has one."""
    limits = {k: v for k, v in problem.get("ctx", {}).items() if isinstance(v, int | float)}
    return t.gettext(_field_error(problem["type"], name), **limits)


def _field_error(error_type: str, name: str) -> str:
    if name == "time_zone":
        return words.FIELD_ERRORS["time_zone"]
    if error_type == "too_short" and name in ("proposal_ids", "scores"):
        return words.FIELD_ERRORS[f"{name}_empty"]
    return words.FIELD_ERRORS.get(error_type, words.UNKNOWN_FIELD_ERROR)


def _field_name(form: str, loc: list[str]) -> str:
    """The form's field for a command's error location."""
    if not loc:
        return "form"
    if form == "submit_plan" and loc[0] == "objection_answers" and len(loc) > 1:
        return f"objection_{loc[1]}"
    if form == "submit_plan" and loc[0] == "proposal_ids":
        return "proposal_ids"
    if form == "submit_proposal" and loc[0] == "indicators" and len(loc) > 2:
        n = int(loc[1]) + 1
        return f"{'indicator' if loc[2] == 'name' else 'target'}_{n}"
    if form in ("publish_charter", "amend_charter") and loc[0] == "governance":
        return loc[1] if len(loc) > 1 else "rule"
    if form in ("publish_charter", "amend_charter") and loc[0] == "sections" and len(loc) > 1:
        return f"section_{loc[1]}"
    if form == "amend_charter" and loc[0] == "answer_within":
        return "answer_days"
    if form == "publish_charter" and loc[0] == "objection_answers":
        return "objections"
    if form == "note_charter" and loc[0] == "section":
        return "form"
    if form == "assess" and loc[0] == "scores":
        return "scores"
    if form == "invite_participant" and loc[0] == "participant" and len(loc) > 1:
        return loc[1]
    return loc[0]
