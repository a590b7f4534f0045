"""Process templates: the process as data (DESIGN.md, "Process templates").

A template is a versioned document that names a project's steps in order. Each step has an
id, a name in each language, a kind (the lifecycle's phases, and `wait`), a duration,
reminders and "close early when complete"; a decision step holds one or more approvals that
run at once, each with its approvers, rule and quorum, and says where the project goes when
it is not adopted.

The models are plain records, like every recorded model: a project keeps its own copy of its
template in its start input, and that copy must fold forever. The limits and the rules a
template must follow are checked by `parse` (a document people wrote) and `problems` (what
is wrong with one, each problem naming its step and field), never by the models themselves.

Pure: no I/O. Reading YAML and the built-in files is process_templates' business.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ValidationError

from domain.fields import MAX_PHASE
from domain.models import (
    Approval,
    Approvers,
    Completion,
    DecisionRule,
    LaunchedTemplate,
    LoopBack,
    Participant,
    Phase,
    Process,
    Role,
    Step,
    Template,
    TemplateRef,
    Words,
    weight_of,
)

__all__ = [
    "Approval",
    "Approvers",
    "Completion",
    "LaunchedTemplate",
    "LoopBack",
    "Step",
    "Template",
    "TemplateRef",
    "Words",
]

# The kinds a step may have: the lifecycle's timed phases, and a pause.
STEP_KINDS: tuple[Phase, ...] = (
    Phase.charter,
    Phase.diagnosis,
    Phase.co_design,
    Phase.decision,
    Phase.action,
    Phase.evaluation,
    Phase.wait,
    Phase.review,
)
# Who may approve: people who take part in the project's choices (observers read, the
# coordinator runs the project).
APPROVER_ROLES: tuple[Role, ...] = (Role.partner, Role.facilitator)

MAX_STEPS = 30
MAX_APPROVALS = 5
MAX_ROUNDS = 20
MAX_REMINDERS = 10
MAX_NAME = 200
MAX_DESCRIPTION = 2000
# What a YAML or JSON document may weigh: a template is a page of text, not a data set.
MAX_DOCUMENT_BYTES = 64 * 1024
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# A template's own id: lower case, so two spellings are never two templates.
_TEMPLATE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

# The template every 1.x launch that names none runs, and its version.
DEFAULT_TEMPLATE = "co-construction"
DEFAULT_VERSION = 1
# The one approval of co-construction's decision (also of every 1.x project's).
PARTNERS_APPROVAL = "partners"


# Fields added after templates were first published, left out of the canonical JSON while
# unset: a template written before them keeps its digest.
_LATER_APPROVAL_FIELDS = {"colleges": [], "preset": None}
_LATER_STEP_FIELDS = {"after": None, "amend_to": None}


def canonical_json(template: Template) -> str:
    document = template.model_dump(mode="json")
    for step in document.get("steps", []):
        for name, unset in _LATER_STEP_FIELDS.items():
            if name in step and step[name] == unset:
                del step[name]
        for approval in step.get("approvals", []):
            for name, unset in _LATER_APPROVAL_FIELDS.items():
                if name in approval and approval[name] == unset:
                    del approval[name]
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(template: Template) -> str:
    """The SHA-256 of the template's canonical JSON: the same content, however it was written
    (YAML or JSON, defaults left out or given, keys in any order), has the same digest."""
    return hashlib.sha256(canonical_json(template).encode()).hexdigest()


# -- co-construction version 1, as every 1.x project ran it ------------------------------------

_LEGACY_NAMES = {
    Phase.diagnosis: Words(fr="Diagnostic partagé", en="Shared diagnosis"),
    Phase.co_design: Words(fr="Co-conception", en="Co-design"),
    Phase.decision: Words(fr="Décision", en="Decision"),
    Phase.action: Words(fr="Mise en œuvre", en="Implementation"),
    Phase.evaluation: Words(fr="Évaluation", en="Evaluation"),
}


def usual_name(kind: Phase) -> Words | None:
    """The name co-construction gives a step of this kind (None for a pause)."""
    return _LEGACY_NAMES.get(kind)


def named_apart(step: Step) -> bool:
    """Whether a step's name is not its kind's usual one (a French name alone, « Décision »,
    is still the usual one): messages and pages then say the step by its name."""
    usual = usual_name(step.kind)
    if usual is None:
        return True
    return step.name.fr != usual.fr or bool(step.name.en and step.name.en != usual.en)


def co_construction(process: Process | None = None) -> Template:
    """`co-construction` version 1 with a 1.x process's settings: the five phases, one approval
    by the partners (and the facilitator when it votes), back to co-design when not adopted.
    The workflow derives it for a project whose start input holds no template (launched
    before templates), across continue-as-new too."""
    process = process or Process()
    roles = [Role.partner, Role.facilitator] if process.facilitator_votes else [Role.partner]

    def step(phase: Phase, **more: Any) -> Step:
        settings = process.settings_for(phase)
        return Step(
            id=phase.value,
            name=_LEGACY_NAMES[phase],
            kind=phase,
            duration=settings.duration,
            reminders=list(settings.reminders),
            close_when_complete=settings.close_when_complete,
            **more,
        )

    return Template(
        id=DEFAULT_TEMPLATE,
        version=DEFAULT_VERSION,
        name=Words(fr="Co-construction", en="Co-construction"),
        description=Words(
            fr="Diagnostic partagé, co-conception, décision des partenaires, mise en œuvre, "
            "évaluation.",
            en="Shared diagnosis, co-design, the partners' decision, implementation, evaluation.",
        ),
        steps=[
            step(Phase.diagnosis),
            step(Phase.co_design),
            step(
                Phase.decision,
                approvals=[
                    Approval(
                        id=PARTNERS_APPROVAL,
                        name=Words(fr="Les partenaires", en="The partners"),
                        approvers=Approvers(roles=roles),
                        rule=process.rule,
                        quorum=process.quorum,
                    )
                ],
                if_not_adopted=LoopBack(to=Phase.co_design.value, max_rounds=process.max_rounds),
            ),
            step(Phase.action),
            step(Phase.evaluation),
        ],
    )


# A charter step with no approval of its own: every partner answers, and it is adopted when
# all have answered and none objects (each consent is a signature).
CHARTER_APPROVAL = Approval(
    id="charter",
    name=Words(fr="Les partenaires", en="The partners"),
    approvers=Approvers(roles=[Role.partner]),
    rule=DecisionRule.consent,
    quorum=1.0,
)
# Kinds of step whose approvals partners answer.
DECIDING = (Phase.decision, Phase.charter)


# A review step with no approval of its own: every partner answers, by the adopted charter's
# rule (consent and half of the partners, without one).
REVIEW_APPROVAL = Approval(
    id="review",
    name=Words(fr="Les partenaires", en="The partners"),
    approvers=Approvers(roles=[Role.partner]),
)


def approvals_of_step(step: Step) -> list[Approval]:
    if step.kind == Phase.charter and not step.approvals:
        return [CHARTER_APPROVAL]
    return list(step.approvals)


def review_approval(step: Step) -> Approval:
    """Who answers a review step, and by which rule."""
    return step.approvals[0] if step.approvals else REVIEW_APPROVAL


def reviewed_decision(template: Template, review_id: str) -> Step | None:
    """The decision step a review step looks at again: the last one before it."""
    before = template.steps[: template.index(review_id)]
    return next((s for s in reversed(before) if s.kind == Phase.decision), None)


def amended_in(template: Template, review: Step) -> Step | None:
    """Where a review's "amend" sends the project: the step it names, else the last co-design
    before the decision it reviews, else that decision (its text written anew)."""
    if review.amend_to is not None:
        return next((s for s in template.steps if s.id == review.amend_to), None)
    decision = reviewed_decision(template, review.id)
    if decision is None:
        return None
    before = template.steps[: template.index(decision.id)]
    return next((s for s in reversed(before) if s.kind == Phase.co_design), decision)


def reviews_after(template: Template, step_id: str) -> bool:
    """Whether a review step follows this step in the template (a plan's review date is then
    kept)."""
    return any(s.kind == Phase.review for s in template.steps[template.index(step_id) + 1 :])


def next_step(template: Template, step_id: str) -> Step | None:
    """The step that follows this one, an implementation lasting 0 skipped; None at the end."""
    for step in template.steps[template.index(step_id) + 1 :]:
        if step.kind == Phase.action and step.duration == timedelta(0):
            continue
        return step
    return None


def decided_again(template: Template, step_id: str) -> bool:
    """Whether a later decision step decides on the same plan (appel-a-projets: the local
    authorities', then the partners', a pause between them or not): adopted here, the plan is
    not adopted for good yet. A co-design makes a new plan: what follows it is another."""
    for step in template.steps[template.index(step_id) + 1 :]:
        if step.kind == Phase.decision:
            return True
        if step.kind == Phase.co_design:
            return False
    return False


def with_durations(template: Template, durations: dict[str, timedelta]) -> Template:
    """The template with some steps' durations changed at launch (ids checked before)."""
    if not durations:
        return template
    steps = [
        s.model_copy(update={"duration": durations[s.id]}) if s.id in durations else s
        for s in template.steps
    ]
    return template.model_copy(update={"steps": steps})


# -- what is wrong with a template --------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing to change in a template: where (the step's id, or its position when it has
    none; the field's path) and why, with a stable code and its parameters for the pages."""

    code: str
    message: str
    step: str | None = None
    field: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def said(self) -> str:
        where = f"step {self.step!r}: " if self.step else ""
        what = f"{self.field}: " if self.field else ""
        return f"{where}{what}{self.message}"


class TemplateInvalid(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.said() for p in problems))
        self.problems = problems


def parse(data: Any, now: datetime | None = None) -> Template:
    """A template from a document people wrote (YAML or JSON, already read): every problem
    at once, or the template."""
    if not isinstance(data, dict):
        raise TemplateInvalid(
            [Problem("not_a_template", "a template is a mapping with id, name and steps")]
        )
    # Every problem at once: unknown fields beside the values the models refuse, or beside
    # what the rules say of a template the models read.
    found = _unknown_fields(data, Template)
    try:
        template = Template.model_validate(data)
    except ValidationError as e:
        raise TemplateInvalid(found + [_from_pydantic(err, data) for err in e.errors()]) from None
    found += problems(template, now)
    if found:
        raise TemplateInvalid(found)
    return template


def _step_named(data: dict[str, Any], index: int) -> str:
    steps = data.get("steps")
    if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], dict):
        given = steps[index].get("id")
        if isinstance(given, str) and given:
            return given
    return f"#{index + 1}"


def _from_pydantic(err: Any, data: dict[str, Any]) -> Problem:
    loc = list(err["loc"])
    step = None
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        step = _step_named(data, loc[1])
        loc = loc[2:]
    where = ".".join(str(part) for part in loc)
    if err["type"] == "enum" and loc and loc[-1] == "kind":
        kinds = ", ".join(k.value for k in STEP_KINDS)
        return Problem(
            "unknown_kind",
            f"unknown kind {err.get('input')!r}; a step is one of {kinds}",
            step,
            where,
            {"kind": str(err.get("input")), "kinds": kinds},
        )
    return Problem("invalid_field", err["msg"], step, where, {"detail": err["msg"]})


def _unknown_fields(data: Any, model: type[BaseModel], path: tuple[str, ...] = ()) -> list[Problem]:
    """Keys the models do not know: a typo in a hand-written file must not be ignored. The
    path is kept as parts (a step's id may hold a dot)."""
    if not isinstance(data, dict):
        return []
    found = []
    fields = model.model_fields
    for key, value in data.items():
        here = (*path, str(key))
        if key not in fields:
            # ("steps", "<id>", "approvals", "0", "nom"): the step said apart, the field in it.
            step, where = (here[1], here[2:]) if here[0] == "steps" else (None, here)
            known = ", ".join(fields)
            found.append(
                Problem(
                    "unknown_field",
                    f"unknown field {key!r} (known: {known})",
                    step,
                    ".".join(where),
                    {"name": str(key), "known": known},
                )
            )
            continue
        inner = _model_in(fields[key].annotation)
        if inner is None:
            continue
        if isinstance(value, list):
            for n, item in enumerate(value):
                label = str(n)
                if inner is Step:
                    given = item.get("id") if isinstance(item, dict) else None
                    label = given if isinstance(given, str) else f"#{n + 1}"
                found += _unknown_fields(item, inner, (*here, label))
        else:
            found += _unknown_fields(value, inner, here)
    return found


def _model_in(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        inner = getattr(candidate, "__args__", ())
        for arg in inner:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return None


def _words_problems(words: Words | None, step: str | None, where: str, required: bool) -> list:
    if words is None:
        return []
    found = []
    if required and not words.fr.strip():
        found.append(Problem("name_required", "a name in French is required", step, f"{where}.fr"))
    for language in ("fr", "en"):
        text = getattr(words, language)
        limit = MAX_DESCRIPTION if where == "description" else MAX_NAME
        if len(text) > limit:
            found.append(
                Problem(
                    "too_long",
                    f"at most {limit} characters",
                    step,
                    f"{where}.{language}",
                    {"limit": limit},
                )
            )
    return found


def _duration_problems(step: Step) -> list[Problem]:
    found = []
    if step.kind == Phase.wait:
        if (step.duration is None) == (step.until is None):
            found.append(
                Problem(
                    "wait_needs_one_end",
                    "a wait step lasts a duration or lasts until a date: give one of the two",
                    step.id,
                    "duration",
                )
            )
        if step.until is not None and step.until.tzinfo is None:
            found.append(
                Problem(
                    "until_needs_time_zone",
                    "give the date with its time zone, e.g. 2027-01-15T09:00:00+01:00",
                    step.id,
                    "until",
                )
            )
        if step.duration is None:
            return found
    if step.duration is None:
        return [
            *found,
            Problem("duration_required", "a step needs a duration, e.g. P14D", step.id, "duration"),
        ]
    zero_allowed = step.kind == Phase.action
    if step.duration < timedelta(0) or (step.duration == timedelta(0) and not zero_allowed):
        found.append(
            Problem(
                "duration_out_of_bounds",
                "a step lasts more than 0 (only an implementation step may last 0: skipped)",
                step.id,
                "duration",
                {"duration": str(step.duration)},
            )
        )
    elif step.duration > MAX_PHASE:
        found.append(
            Problem(
                "duration_out_of_bounds",
                "a step lasts at most 5 years (P1825D)",
                step.id,
                "duration",
                {"duration": str(step.duration)},
            )
        )
    if len(step.reminders) > MAX_REMINDERS:
        found.append(
            Problem(
                "too_many_reminders", f"at most {MAX_REMINDERS} reminders", step.id, "reminders"
            )
        )
    for n, offset in enumerate(step.reminders):
        if offset <= timedelta(0) or offset >= max(step.duration, timedelta(0)):
            found.append(
                Problem(
                    "reminder_out_of_bounds",
                    "a reminder is a duration before the deadline, more than 0 and shorter "
                    "than the step",
                    step.id,
                    f"reminders.{n}",
                )
            )
    return found


def _approval_problems(step: Step, seen_approvals: set[str]) -> list[Problem]:
    found: list[Problem] = []
    if not step.approvals:
        return [
            Problem(
                "no_approval",
                "a decision step needs at least one approval (who approves, by which rule)",
                step.id,
                "approvals",
            )
        ]
    if len(step.approvals) > MAX_APPROVALS:
        found.append(
            Problem(
                "too_many_approvals",
                f"at most {MAX_APPROVALS} approvals in one step",
                step.id,
                "approvals",
            )
        )
    for n, approval in enumerate(step.approvals):
        where = f"approvals.{n}"
        if not _ID.match(approval.id):
            found.append(
                Problem(
                    "invalid_id",
                    "an approval's id is letters, digits and . _ : - (at most 64)",
                    step.id,
                    f"{where}.id",
                )
            )
        elif approval.id in seen_approvals:
            found.append(
                Problem(
                    "duplicate_approval",
                    f"two approvals have the id {approval.id!r}; give each its own",
                    step.id,
                    f"{where}.id",
                    {"approval": approval.id},
                )
            )
        seen_approvals.add(approval.id)
        found += _words_problems(approval.name, step.id, f"{where}.name", required=False)
        if approval.approvers.is_empty:
            found.append(
                Problem(
                    "no_approvers",
                    f"approval {approval.id!r} names no approvers: give roles, kinds of "
                    "organisation or participants",
                    step.id,
                    f"{where}.approvers",
                    {"approval": approval.id},
                )
            )
        wrong = [r for r in approval.approvers.roles if r not in APPROVER_ROLES]
        if wrong:
            found.append(
                Problem(
                    "role_cannot_approve",
                    f"{', '.join(r.value for r in wrong)} cannot approve: approvers are "
                    "partners or the facilitator",
                    step.id,
                    f"{where}.approvers.roles",
                    {"roles": ", ".join(r.value for r in wrong)},
                )
            )
        if approval.quorum is not None and not 0 <= approval.quorum <= 1:
            found.append(
                Problem(
                    "quorum_out_of_bounds",
                    "the quorum is a share between 0 and 1 (0.5: half the approvers)",
                    step.id,
                    f"{where}.quorum",
                )
            )
        found += college_problems(approval, step.id, where)
    return found


def college_problems(approval: Approval, step_id: str, where: str) -> list[Problem]:
    """A weighted majority's colleges: under majority only (consent and consensus stay one
    voice per partner), weights readable and summing to 100 %, the SCIC preset's bounds."""
    if not approval.colleges and approval.preset is None:
        return []
    found: list[Problem] = []

    def problem(code: str, message: str, field: str, **params: Any) -> None:
        found.append(Problem(code, message, step_id, f"{where}.{field}", params))

    if approval.preset not in (None, "scic"):
        problem("unknown_preset", "the only preset of colleges is scic", "preset")
    if approval.rule != DecisionRule.majority:
        problem(
            "colleges_need_majority",
            "colleges weigh a majority vote; under consent or consensus each partner is one "
            "voice: set rule: majority, or remove the colleges",
            "rule",
        )
    if not approval.colleges:
        problem("no_colleges", "the scic preset needs colleges", "colleges")
        return found
    ids = [c.id for c in approval.colleges]
    for n, college in enumerate(approval.colleges):
        if not _ID.match(college.id) or ids.count(college.id) > 1:
            problem("invalid_college", "each college has an id of its own (letters, digits and "
                    ". _ : -)", f"colleges.{n}.id")  # fmt: skip
        if college.members.is_empty:
            problem("no_college_members", f"college {college.id!r} names no members: give "
                    "kinds of organisation, roles or participants", f"colleges.{n}.members")  # fmt: skip
        scic_equal = approval.preset == "scic" and all(c.weight is None for c in approval.colleges)
        if not scic_equal:
            share = weight_of(college.weight)
            if share is None or share <= 0:
                problem(
                    "invalid_weight",
                    f"college {college.id!r}: a weight is a whole percentage (40) or an exact "
                    'fraction ("1/3")',
                    f"colleges.{n}.weight",
                    college=college.id,
                )
    weights = approval.weights()
    if all(w > 0 for w in weights.values()) and sum(weights.values()) != 1:
        total = sum(weights.values()) * 100
        problem(
            "weights_sum",
            f"the colleges' weights sum to {float(total):g} %: they must sum to 100 %",
            "colleges",
            total=f"{float(total):g}",
        )
    if approval.preset == "scic":
        for n, college in enumerate(approval.colleges):
            w = weights.get(college.id, Fraction(0))
            if w > Fraction(1, 2) or w < Fraction(1, 10):
                problem(
                    "scic_bounds",
                    f"college {college.id!r} holds {float(w * 100):g} % of the votes: in a SCIC "
                    "no college holds more than 50 % nor less than 10 %",
                    f"colleges.{n}.weight",
                    college=college.id,
                )
    return found


def problems(template: Template, now: datetime | None = None) -> list[Problem]:
    """Everything wrong with a template, all at once, each naming its step and field.
    With `now`, a wait step's date must be later (at launch, and when a template is saved)."""
    found: list[Problem] = []
    if not _TEMPLATE_ID.match(template.id):
        found.append(
            Problem(
                "invalid_template_id",
                "a template's id is lower-case letters, digits and dashes (at most 64), "
                "e.g. appel-a-projets",
                None,
                "id",
            )
        )
    if template.version < 1:
        found.append(Problem("invalid_version", "versions count from 1", None, "version"))
    found += _words_problems(template.name, None, "name", required=True)
    found += _words_problems(template.description, None, "description", required=False)
    if not template.steps:
        return [*found, Problem("no_steps", "a template has at least one step", None, "steps")]
    if len(template.steps) > MAX_STEPS:
        found.append(Problem("too_many_steps", f"at most {MAX_STEPS} steps", None, "steps"))
    ids = [s.id for s in template.steps]
    seen_approvals: set[str] = set()
    if not any(s.kind == Phase.decision for s in template.steps):
        found.append(
            Problem(
                "no_decision",
                "a template has at least one decision step: the partners decide something",
                None,
                "steps",
            )
        )
    for n, step in enumerate(template.steps):
        if not _ID.match(step.id):
            found.append(
                Problem(
                    "invalid_id",
                    "a step's id is letters, digits and . _ : - (at most 64)",
                    step.id or f"#{n + 1}",
                    "id",
                )
            )
        if ids.index(step.id) != n:
            found.append(
                Problem(
                    "duplicate_step",
                    f"two steps have the id {step.id!r}; give each its own",
                    step.id,
                    "id",
                    {"id": step.id},
                )
            )
        if step.kind not in STEP_KINDS:
            kinds = ", ".join(k.value for k in STEP_KINDS)
            found.append(
                Problem(
                    "unknown_kind",
                    f"unknown kind {step.kind.value!r}; a step is one of {kinds}",
                    step.id,
                    "kind",
                    {"kind": step.kind.value, "kinds": kinds},
                )
            )
            continue
        found += _words_problems(step.name, step.id, "name", required=True)
        found += _duration_problems(step)
        if step.kind == Phase.wait and step.until is not None and now is not None:
            if step.until.tzinfo is not None and step.until <= now:
                found.append(
                    Problem(
                        "date_past",
                        f"{step.until.isoformat()} is already past: a wait lasts until a "
                        "later date",
                        step.id,
                        "until",
                        {"until": step.until.isoformat()},
                    )
                )
        if step.kind != Phase.wait and step.until is not None:
            found.append(
                Problem(
                    "until_only_for_wait", "only a wait step lasts until a date", step.id, "until"
                )
            )
        if step.kind == Phase.charter:
            if step.approvals:
                found += _approval_problems(step, seen_approvals)
            loop = step.if_not_adopted
            if loop is not None and loop.to != step.id:
                found.append(
                    Problem(
                        "charter_loops_to_itself",
                        "a charter not adopted goes back to itself (a new version): "
                        f"if_not_adopted.to is {step.id!r}",
                        step.id,
                        "if_not_adopted.to",
                    )
                )
        elif step.kind == Phase.decision:
            found += _approval_problems(step, seen_approvals)
            loop = step.if_not_adopted
            if loop is not None:
                if loop.to not in ids:
                    found.append(
                        Problem(
                            "loop_to_missing_step",
                            f"if_not_adopted goes back to {loop.to!r}, which is no step of "
                            f"this template (steps: {', '.join(ids)})",
                            step.id,
                            "if_not_adopted.to",
                            {"target": loop.to},
                        )
                    )
                elif ids.index(loop.to) > n:
                    found.append(
                        Problem(
                            "loop_forward",
                            f"if_not_adopted goes back to {loop.to!r}, which comes later; "
                            "a decision not adopted goes back to an earlier step (or itself)",
                            step.id,
                            "if_not_adopted.to",
                            {"target": loop.to},
                        )
                    )
                if not 1 <= loop.max_rounds <= MAX_ROUNDS:
                    found.append(
                        Problem(
                            "rounds_out_of_bounds",
                            f"max_rounds is between 1 and {MAX_ROUNDS}",
                            step.id,
                            "if_not_adopted.max_rounds",
                        )
                    )
        elif step.kind == Phase.review:
            found += _review_problems(template, step, n, seen_approvals)
        elif step.kind not in DECIDING:
            if step.approvals:
                found.append(
                    Problem(
                        "approvals_only_for_decision",
                        "only a decision step has approvals",
                        step.id,
                        "approvals",
                    )
                )
            if step.if_not_adopted is not None:
                found.append(
                    Problem(
                        "loop_only_for_decision",
                        "only a decision step goes back when not adopted",
                        step.id,
                        "if_not_adopted",
                    )
                )
        if step.kind != Phase.review:
            for name in ("after", "amend_to"):
                if getattr(step, name) is not None:
                    found.append(
                        Problem(
                            "only_for_review",
                            f"only a review step has {name}",
                            step.id,
                            name,
                            {"name": name},
                        )
                    )
        before = template.steps[:n]
        if step.kind == Phase.evaluation and not any(s.kind == Phase.decision for s in before):
            found.append(
                Problem(
                    "evaluation_without_plan",
                    "an evaluation scores an adopted plan: put a decision step before it",
                    step.id,
                    "kind",
                )
            )
        if step.kind == Phase.co_design and not any(
            s.kind == Phase.decision for s in template.steps[n + 1 :]
        ):
            found.append(
                Problem(
                    "plan_never_decided",
                    "the plan of a co-design step is put to a decision: put a decision step "
                    "after it",
                    step.id,
                    "kind",
                )
            )
    return found


def _review_problems(
    template: Template, step: Step, n: int, seen_approvals: set[str]
) -> list[Problem]:
    """A review step looks at an adopted decision again: one comes before it; it opens a
    period after the adoption (unless the decision sets its date); "amend" goes back to a
    co-design (or a decision) before it; one approval at most, one voice per partner."""
    found: list[Problem] = []
    if not any(s.kind == Phase.decision for s in template.steps[:n]):
        found.append(
            Problem(
                "review_without_decision",
                "a review looks at an adopted decision again: put a decision step before it",
                step.id,
                "kind",
            )
        )
    if step.after is None:
        found.append(
            Problem(
                "review_needs_after",
                "say how long after the adoption the review opens (after, e.g. P180D); the "
                "plan or the outcome may set another date",
                step.id,
                "after",
            )
        )
    elif not timedelta(0) < step.after <= MAX_PHASE:
        found.append(
            Problem(
                "after_out_of_bounds",
                "a review opens more than 0 and at most 5 years (P1825D) after the adoption",
                step.id,
                "after",
            )
        )
    if step.amend_to is not None:
        target = next((s for s in template.steps[:n] if s.id == step.amend_to), None)
        if target is None or target.kind not in (Phase.co_design, Phase.decision):
            found.append(
                Problem(
                    "amend_to_not_before",
                    f"amend_to names {step.amend_to!r}: name a co-design or decision step "
                    "before the review",
                    step.id,
                    "amend_to",
                    {"target": step.amend_to},
                )
            )
    if step.if_not_adopted is not None:
        found.append(
            Problem(
                "loop_only_for_decision",
                "only a decision step goes back when not adopted",
                step.id,
                "if_not_adopted",
            )
        )
    if step.approvals:
        found += _approval_problems(step, seen_approvals)
        if len(step.approvals) > 1:
            found.append(
                Problem(
                    "one_review_approval",
                    "a review has one approval at most (who answers it, by which rule)",
                    step.id,
                    "approvals",
                )
            )
        if any(a.colleges for a in step.approvals):
            found.append(
                Problem(
                    "review_one_voice",
                    "a review counts one voice per partner: remove the colleges",
                    step.id,
                    "approvals.0.colleges",
                )
            )
    return found


def participant_problems(template: Template, participants: list[Participant]) -> list[Problem]:
    """What a template cannot do with these participants (checked at launch): an approval
    with no one to answer it, a participant named who is not in the project."""
    found = []
    known = {p.id: p for p in participants}
    for step in template.steps:
        for n, approval in enumerate(step.approvals):
            cannot = [
                pid
                for pid in approval.approvers.participants
                if pid in known and known[pid].role not in APPROVER_ROLES
            ]
            if cannot:
                found.append(
                    Problem(
                        "role_cannot_approve",
                        f"approval {approval.id!r} names {', '.join(cannot)}, who take part as "
                        "coordinator or observer: approvers are partners or the facilitator",
                        step.id,
                        f"approvals.{n}.approvers.participants",
                        {"roles": ", ".join(known[pid].role.value for pid in cannot)},
                    )
                )
            missing = [pid for pid in approval.approvers.participants if pid not in known]
            if missing:
                found.append(
                    Problem(
                        "unknown_approver",
                        f"approval {approval.id!r} names {', '.join(missing)}, who take no "
                        "part in this project",
                        step.id,
                        f"approvals.{n}.approvers.participants",
                        {"approval": approval.id, "who": ", ".join(missing)},
                    )
                )
            approvers_here = [p for p in participants if approval.approvers.includes(p)]
            for p in approvers_here if approval.colleges else []:
                if sum(1 for c in approval.colleges if c.members.includes(p)) != 1:
                    found.append(
                        Problem(
                            "approver_college",
                            f"{p.organisation_name} answers approval {approval.id!r} but belongs "
                            "to no college, or to several: each approver is in exactly one",
                            step.id,
                            f"approvals.{n}.colleges",
                            {"approval": approval.id, "who": p.organisation_name},
                        )
                    )
            for c in approval.colleges:
                if not any(approval.college_of(p) == c.id for p in approvers_here):
                    found.append(
                        Problem(
                            "college_empty",
                            f"college {c.id!r} of approval {approval.id!r} has nobody among "
                            "the participants: invite one of its members, or change the colleges",
                            step.id,
                            f"approvals.{n}.colleges",
                            {"approval": approval.id, "college": c.id},
                        )
                    )
            if not any(
                approval.approvers.includes(p) and p.role in APPROVER_ROLES for p in participants
            ):
                found.append(
                    Problem(
                        "approvers_empty",
                        f"no participant of this project approves {approval.id!r} "
                        f"({approvers_in_words(approval.approvers)}): invite one, or choose "
                        "another template",
                        step.id,
                        f"approvals.{n}.approvers",
                        {"approval": approval.id},
                    )
                )
    return found


def approvers_in_words(approvers: Approvers) -> str:
    """The approvers as the English API says them: "partners that are local_authority"."""
    parts = []
    roles = approvers.roles or ([Role.partner] if approvers.organisation_kinds else [])
    if roles:
        said = " or ".join(f"{r.value}s" for r in roles)
        if approvers.organisation_kinds:
            kinds = " or ".join(k.value for k in approvers.organisation_kinds)
            said += f" that are {kinds}"
        parts.append(said)
    if approvers.participants:
        parts.append("participants " + ", ".join(approvers.participants))
    return "; ".join(parts) or "nobody"


def roles_that_approve(template: Template, participants: list[Participant]) -> set[Role]:
    """Every role some approval of the template may answer with (the action table's check
    before the decision step says who exactly)."""
    roles: set[Role] = set()
    by_id = {p.id: p for p in participants}
    for step in template.steps:
        for approval in approvals_of_step(step):
            roles |= approval.approvers.roles_that_may()
            roles |= {by_id[pid].role for pid in approval.approvers.participants if pid in by_id}
    return roles
